# METADATA
# title: bench-k8s-workloads (Rego twin)
# description: >-
#   The Rego twin of bench/policy.yaml: the same 30 rules (K8S-001..K8S-030),
#   the same match (workload kinds, not in kube-system) and the same params,
#   in conftest style, so that bench/rego.sh compares bylaw's YAML/CEL engine,
#   bylaw's Rego engine (regorus) and Go OPA on one rule set. Keep it in sync
#   with bench/policy.yaml by hand.
# custom:
#   type: security
#   version: 1.3.0
#   owners: ["@acme/platform-security", "alice"]
package main

import rego.v1

# How the YAML policy's pieces are translated:
#
# - `each: JSONPATH` → an object of the nodes the path selects, keyed by
#   their paths (`..` descends level by level, see Selectors); one finding
#   per selected node whose condition holds, as in bylaw.
#   Findings are message strings in sets, so two nodes giving the same
#   message give one finding (the YAML policy would report two): the corpus
#   has one container per pod, so no message repeats.
# - CEL missing data (a missing key, a field of null) makes a CEL string
#   false: `deny: X` does not fire and `require: X` fires; optional chains
#   `a.?b.?c.orValue(d)` are `object.get(a, ["b", "c"], d)`.
# - `require` rules fire on `not ok(...)`; `any` trees are helper rules with
#   one body per branch.
# - Advisory rules (K8S-012, K8S-017, K8S-020) are `warn_` rules; K8S-026 is
#   advisory until its `enforce_from: 2099-01-01`, which Rego metadata cannot
#   say, so it is a `warn_` rule too.
# - Messages are the YAML messages; data they show that is missing shows as
#   `<missing>`, as bylaw renders it.

# ── The policy's params and match ─────────────────────────────────────────

allowed_registries := ["ghcr.io/acme/", "registry.acme.internal/", "registry.k8s.io/"]

dev_registries := {"localhost:5000", "kind.local"}

forbidden_capabilities := {"ALL", "SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "BPF"}

allowed_seccomp_profiles := {"RuntimeDefault", "Localhost"}

max_memory_limit := "8Gi"

max_replicas := 50

required_labels := ["app.kubernetes.io/name", "app.kubernetes.io/part-of"]

secret_env_pattern := `(?i)(password|passwd|secret|token|api_?key|private_?key|credentials?)`

token_mount_service_accounts := {"argo-workflow", "external-dns"}

safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
}

allowed_selinux_types := {"", "container_t", "container_init_t", "container_kvm_t"}

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

# match.kinds and match.when: "doc.metadata.?namespace.orValue('') != 'kube-system'"
# (a document without metadata is skipped: `doc.metadata` is missing data).
applies if {
	input.kind in workload_kinds
	object.get(input.metadata, "namespace", "") != "kube-system"
}

# ctx.environment (bylaw gives the pipeline context as data.bylaw.ctx).
environment := data.bylaw.ctx.environment

# "{{ doc.kind }} {{ doc.metadata.name }}"
workload := sprintf("%v %v", [input.kind, show(input.metadata, ["name"])])

# A value of a message, `<missing>` when it is not there.
show(obj, path) := object.get(obj, path, "<missing>")

# ── Selectors ─────────────────────────────────────────────────────────────

# Every node of the document, keyed by its path, one level at a time: what
# `walk(input, [path, node])` gives, down to 10 keys (a CronJob's pod spec
# is 5 keys down). bylaw builds regorus without its `graph` feature, so
# `walk` is not there (a rule calling it does not load); iterating the
# levels runs unchanged on OPA and on regorus.
level_1[[k]] := v if {
	collection(input)
	some k, v in input
}

level_2[array.concat(p, [k])] := v if {
	some p, node in level_1
	collection(node)
	some k, v in node
}

level_3[array.concat(p, [k])] := v if {
	some p, node in level_2
	collection(node)
	some k, v in node
}

level_4[array.concat(p, [k])] := v if {
	some p, node in level_3
	collection(node)
	some k, v in node
}

level_5[array.concat(p, [k])] := v if {
	some p, node in level_4
	collection(node)
	some k, v in node
}

level_6[array.concat(p, [k])] := v if {
	some p, node in level_5
	collection(node)
	some k, v in node
}

level_7[array.concat(p, [k])] := v if {
	some p, node in level_6
	collection(node)
	some k, v in node
}

level_8[array.concat(p, [k])] := v if {
	some p, node in level_7
	collection(node)
	some k, v in node
}

level_9[array.concat(p, [k])] := v if {
	some p, node in level_8
	collection(node)
	some k, v in node
}

level_10[array.concat(p, [k])] := v if {
	some p, node in level_9
	collection(node)
	some k, v in node
}

# The root and its descendants (JSONPath's `$..`), level by level.
levels := [
	{[]: input},
	level_1, level_2, level_3, level_4, level_5,
	level_6, level_7, level_8, level_9, level_10,
]

# `some k, v in x` on a string or number is an error in regorus (undefined
# in OPA): iterate collections only.
collection(x) if is_object(x)

collection(x) if is_array(x)

# $..[NAME][*] for each NAME of names, keyed by path: the members of every
# node's member NAME.
named_items(names) := {array.concat(p, [name, i]): item |
	some level in levels
	some p, node in level
	is_object(node)
	some name in names
	collection(node[name])
	some i, item in node[name]
}

# $..['containers','initContainers'][*]
all_containers := named_items(["containers", "initContainers"]) if applies

# $..containers[*]
containers := named_items(["containers"]) if applies

# $..volumes[*]
volumes := named_items(["volumes"]) if applies

# $..[?@.containers]: every member or element of a node (the root is no
# node's member) that has a `containers` member, keyed by path.
pod_specs[p] := spec if {
	applies
	some level in array.slice(levels, 1, count(levels))
	some p, spec in level
	is_object(spec)
	_ = spec.containers
}

# item.?securityContext.?<path>.orValue(default)
sc(c, path, default_value) := object.get(c, array.concat(["securityContext"], path), default_value)

# ── Image references (bylaw's imageRegistry, imageTag, imageHasDigest) ────

image_has_digest(ref) if contains(ref, "@")

# The tag of the last path component, "" when none (a registry port is not a tag).
image_tag(ref) := tag if {
	parts := split(split(ref, "@")[0], "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := substring(last, indexof(last, ":") + 1, -1)
} else := ""

# The first component when it names a registry (a `.` or `:`, or localhost), else docker.io.
image_registry(ref) := first if {
	parts := split(split(ref, "@")[0], "/")
	count(parts) > 1
	first := parts[0]
	registry_like(first)
} else := "docker.io"

registry_like(s) if contains(s, ".")

registry_like(s) if contains(s, ":")

registry_like(s) if s == "localhost"

# ── Kubernetes quantities (bylaw's quantity, quantityCompare) ─────────────

quantity(q) := q if is_number(q)

quantity(q) := units.parse(q) if is_string(q)

# ── Privileges ────────────────────────────────────────────────────────────

# METADATA
# title: Containers must not run privileged
# description: >-
#   A privileged container has every capability and access to all host
#   devices; escaping it is trivial.
# custom:
#   id: K8S-001
#   severity: critical
#   remediation: Remove securityContext.privileged or set it to false.
#   controls: ["CIS-K8S-5.2.2", "NIST-800-190-4.4.3", "NIST-800-53-AC-6", "SOC2-CC6.1"]
deny_privileged contains msg if {
	some c in all_containers
	sc(c, ["privileged"], false) == true
	msg := sprintf("container %v runs privileged", [show(c, ["name"])])
}

# METADATA
# title: Containers must set allowPrivilegeEscalation to false
# description: >-
#   Without it a process can gain more privileges than its parent
#   (setuid binaries, file capabilities). Kubernetes defaults it to true.
# custom:
#   id: K8S-002
#   severity: high
#   remediation: Set securityContext.allowPrivilegeEscalation to false.
#   controls: ["CIS-K8S-5.2.6", "NIST-800-190-4.4.3", "NIST-800-53-AC-6"]
deny_privilege_escalation contains msg if {
	some c in all_containers
	not sc(c, ["allowPrivilegeEscalation"], true) == false
	msg := sprintf("container %v allows privilege escalation", [show(c, ["name"])])
}

# Pod-level runAsNonRoot, or every container sets it; and no container
# turns it off again.
runs_as_non_root(spec) if {
	non_root_declared(spec)
	every c in spec.containers {
		sc(c, ["runAsNonRoot"], true) == true
	}
}

non_root_declared(spec) if object.get(spec, ["securityContext", "runAsNonRoot"], false) == true

non_root_declared(spec) if {
	every c in spec.containers {
		sc(c, ["runAsNonRoot"], false) == true
	}
}

# METADATA
# title: Pods must run as a non-root user
# custom:
#   id: K8S-003
#   severity: high
#   remediation: >-
#     Set spec.securityContext.runAsNonRoot: true (and a non-zero runAsUser)
#     in the pod template.
#   controls: ["CIS-K8S-5.2.7", "NIST-800-190-4.4.3", "NIST-800-53-AC-6"]
deny_run_as_root contains msg if {
	some spec in pod_specs
	not runs_as_non_root(spec)
	msg := sprintf("%v may run containers as root", [workload])
}

# METADATA
# title: Containers must use a read-only root filesystem
# custom:
#   id: K8S-004
#   severity: medium
#   remediation: >-
#     Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir
#     where the application must write (/tmp, caches).
#   controls: ["NIST-800-190-4.4.4"]
deny_writable_root_filesystem contains msg if {
	some c in all_containers
	not c.securityContext.readOnlyRootFilesystem == true
	msg := sprintf("container %v has a writable root filesystem", [show(c, ["name"])])
}

adds_forbidden_capability(c) if {
	some cap in c.securityContext.capabilities.add
	cap in forbidden_capabilities
}

# METADATA
# title: Containers must not add dangerous capabilities
# custom:
#   id: K8S-005
#   severity: high
#   remediation: >-
#     Remove SYS_ADMIN, NET_ADMIN, NET_RAW, ALL (and the other capabilities in
#     params.forbidden_capabilities) from securityContext.capabilities.add.
#   controls: ["CIS-K8S-5.2.9", "NIST-800-190-4.4.3", "NIST-800-53-AC-6"]
deny_dangerous_capabilities contains msg if {
	some c in all_containers
	adds_forbidden_capability(c)
	msg := sprintf("container %v adds a forbidden capability", [show(c, ["name"])])
}

drops_all(c) if {
	some cap in sc(c, ["capabilities", "drop"], [])
	cap == "ALL"
}

# METADATA
# title: Containers must drop all capabilities
# custom:
#   id: K8S-006
#   severity: medium
#   remediation: Set securityContext.capabilities.drop to ["ALL"] and add back only what is needed.
#   controls: ["CIS-K8S-5.2.8", "CIS-K8S-5.2.10", "NIST-800-53-CM-7"]
deny_capabilities_not_dropped contains msg if {
	some c in all_containers
	not drops_all(c)
	msg := sprintf("container %v does not drop ALL capabilities", [show(c, ["name"])])
}

# ── Host isolation ────────────────────────────────────────────────────────

# METADATA
# title: Pods must not use the host network
# custom:
#   id: K8S-007
#   severity: high
#   remediation: Remove hostNetwork (it defaults to false); expose ports with a Service.
#   controls: ["CIS-K8S-5.2.5", "NIST-800-190-4.4.3", "NIST-800-53-SC-39"]
deny_host_network contains msg if {
	some spec in pod_specs
	spec.hostNetwork == true
	msg := sprintf("%v uses the host network namespace", [workload])
}

shares_host_namespace(spec) if spec.hostPID == true

shares_host_namespace(spec) if spec.hostIPC == true

# METADATA
# title: Pods must not share the host PID or IPC namespace
# custom:
#   id: K8S-008
#   severity: high
#   remediation: Remove hostPID and hostIPC from the pod spec.
#   controls: ["CIS-K8S-5.2.3", "CIS-K8S-5.2.4", "NIST-800-190-4.4.3", "NIST-800-53-SC-39"]
deny_host_pid_ipc contains msg if {
	some spec in pod_specs
	shares_host_namespace(spec)
	msg := sprintf("%v shares the host PID or IPC namespace", [workload])
}

# METADATA
# title: Pods must not mount hostPath volumes
# custom:
#   id: K8S-009
#   severity: high
#   remediation: Use a PersistentVolumeClaim, emptyDir, configMap or CSI volume instead of hostPath.
#   controls: ["CIS-K8S-5.2.12", "NIST-800-190-4.5.5"]
deny_host_path contains msg if {
	some v in volumes
	is_object(v)
	_ = v.hostPath
	msg := sprintf("volume %v mounts host path %v", [show(v, ["name"]), show(v, ["hostPath", "path"])])
}

# METADATA
# title: Containers must not bind host ports
# custom:
#   id: K8S-021
#   severity: medium
#   remediation: Remove hostPort; use a Service (NodePort or LoadBalancer) to expose the port.
#   controls: ["CIS-K8S-5.2.13", "NIST-800-53-CM-7"]
deny_host_port contains msg if {
	some c in containers
	some p in c.ports
	is_number(p.hostPort)
	p.hostPort > 0
	msg := sprintf("port %v is bound to host port %v", [show(p, ["containerPort"]), p.hostPort])
}

# METADATA
# title: Containers must use the default /proc mount
# custom:
#   id: K8S-023
#   severity: high
#   remediation: Remove securityContext.procMount (or set it to Default).
#   controls: ["NIST-800-190-4.4.3"]
deny_proc_mount contains msg if {
	some c in all_containers
	sc(c, ["procMount"], "Default") != "Default"
	msg := sprintf("container %v uses procMount %v", [show(c, ["name"]), sc(c, ["procMount"], "<missing>")])
}

seccomp_ok(spec) if object.get(spec, ["securityContext", "seccompProfile", "type"], "") in allowed_seccomp_profiles

seccomp_ok(spec) if {
	every c in spec.containers {
		sc(c, ["seccompProfile", "type"], "") in allowed_seccomp_profiles
	}
}

# METADATA
# title: Pods must use the RuntimeDefault (or a Localhost) seccomp profile
# custom:
#   id: K8S-018
#   severity: medium
#   remediation: Set spec.securityContext.seccompProfile.type to RuntimeDefault in the pod template.
#   controls: ["CIS-K8S-5.7.2", "NIST-800-190-4.4.3", "NIST-800-53-CM-7"]
deny_seccomp contains msg if {
	some spec in pod_specs
	not seccomp_ok(spec)
	msg := sprintf("%v runs without a seccomp profile", [workload])
}

token_ok(spec) if object.get(spec, "automountServiceAccountToken", true) == false

token_ok(spec) if object.get(spec, "serviceAccountName", "default") in token_mount_service_accounts

# METADATA
# title: Pods must not mount a service account token unless they need it
# custom:
#   id: K8S-019
#   severity: medium
#   remediation: >-
#     Set spec.automountServiceAccountToken: false in the pod template, or add
#     the service account to params.token_mount_service_accounts.
#   controls: ["CIS-K8S-5.1.6", "NIST-800-53-AC-6"]
deny_service_account_token contains msg if {
	some spec in pod_specs
	not token_ok(spec)
	msg := sprintf("%v mounts a Kubernetes API token", [workload])
}

# ── Images ────────────────────────────────────────────────────────────────

registry_ok(image) if {
	some r in allowed_registries
	startswith(image, r)
}

registry_ok(image) if {
	environment == "dev"
	image_registry(image) in dev_registries
}

# METADATA
# title: Images come from an allowed registry
# custom:
#   id: K8S-010
#   severity: high
#   remediation: Push the image to ghcr.io/acme/ or registry.acme.internal/ and reference it from there.
#   controls: ["NIST-800-190-4.1.5", "NIST-800-53-CM-7(5)"]
deny_image_registry contains msg if {
	some c in all_containers
	not registry_ok(c.image)
	msg := sprintf("image %v of container %v is not from an allowed registry", [show(c, ["image"]), show(c, ["name"])])
}

# METADATA
# title: Images must have an explicit tag other than latest
# custom:
#   id: K8S-011
#   severity: medium
#   remediation: Reference an immutable version, e.g. ghcr.io/acme/app:1.4.2 (better, with @sha256:…).
#   controls: ["NIST-800-190-4.2.2", "NIST-800-53-CM-2"]
deny_image_tag contains msg if {
	some c in all_containers
	not image_has_digest(c.image)
	image_tag(c.image) in {"", "latest"}
	msg := sprintf("image %v has no version tag (or uses latest)", [c.image])
}

# METADATA
# title: Images should be pinned by digest
# custom:
#   id: K8S-012
#   severity: low
#   enforcement: advisory
#   remediation: Append the image digest, e.g. ghcr.io/acme/app:1.4.2@sha256:…, and let a bot bump it.
#   controls: ["NIST-800-190-4.2.2", "NIST-800-53-SI-7"]
warn_image_digest contains msg if {
	some c in all_containers
	not image_has_digest(c.image)
	msg := sprintf("image %v is not pinned by digest", [show(c, ["image"])])
}

# ── Resources ─────────────────────────────────────────────────────────────

has_limits(c) if {
	_ = c.resources.limits.memory
	_ = c.resources.limits.cpu
}

# METADATA
# title: Containers must set CPU and memory limits
# custom:
#   id: K8S-013
#   severity: medium
#   remediation: Set resources.limits.cpu and resources.limits.memory.
#   controls: ["NIST-800-53-SC-6"]
deny_missing_limits contains msg if {
	some c in containers
	not has_limits(c)
	msg := sprintf("container %v has no CPU or memory limit", [show(c, ["name"])])
}

# METADATA
# title: Memory limits stay under the per-container maximum
# custom:
#   id: K8S-014
#   severity: medium
#   remediation: Lower resources.limits.memory, or run the workload on a dedicated node pool with an exception.
#   controls: ["NIST-800-53-SC-6"]
deny_memory_limit contains msg if {
	some c in containers
	quantity(c.resources.limits.memory) > quantity(max_memory_limit)
	msg := sprintf("container %v asks for %v of memory (max %v)", [show(c, ["name"]), c.resources.limits.memory, max_memory_limit])
}

has_requests(c) if {
	_ = c.resources.requests.cpu
	_ = c.resources.requests.memory
}

# METADATA
# title: Containers must set CPU and memory requests
# custom:
#   id: K8S-015
#   severity: low
#   remediation: Set resources.requests.cpu and resources.requests.memory so the scheduler can place the pod.
#   controls: ["NIST-800-53-SC-6"]
deny_missing_requests contains msg if {
	some c in containers
	not has_requests(c)
	msg := sprintf("container %v has no CPU or memory request", [show(c, ["name"])])
}

requests_exceed_limits(c) if quantity(c.resources.requests.cpu) > quantity(c.resources.limits.cpu)

requests_exceed_limits(c) if quantity(c.resources.requests.memory) > quantity(c.resources.limits.memory)

# METADATA
# title: Requests must not exceed limits
# custom:
#   id: K8S-016
#   severity: low
#   remediation: Make resources.requests lower than or equal to resources.limits.
deny_requests_over_limits contains msg if {
	some c in containers
	requests_exceed_limits(c)
	msg := sprintf("container %v requests more than its limit", [show(c, ["name"])])
}

has_ephemeral_storage_limit(c) if "ephemeral-storage" in object.keys(c.resources.limits)

# METADATA
# title: Containers must limit ephemeral storage
# description: Announced in 1.3.0; advisory until 2099-01-01, then blocking.
# custom:
#   id: K8S-026
#   severity: low
#   enforcement: advisory
#   remediation: Set resources.limits.ephemeral-storage (e.g. 1Gi) so a full disk cannot evict the node's pods.
#   controls: ["NIST-800-53-SC-6"]
warn_ephemeral_storage_limit contains msg if {
	some c in containers
	not has_ephemeral_storage_limit(c)
	msg := sprintf("container %v has no ephemeral-storage limit", [show(c, ["name"])])
}

probes_ok(_) if input.kind == "Job"

probes_ok(c) if {
	_ = c.livenessProbe
	_ = c.readinessProbe
}

# METADATA
# title: Long-running containers should have liveness and readiness probes
# custom:
#   id: K8S-017
#   severity: info
#   enforcement: advisory
#   remediation: Add livenessProbe and readinessProbe (httpGet, tcpSocket or exec).
warn_probes contains msg if {
	applies
	some c in input.spec.template.spec.containers
	not probes_ok(c)
	msg := sprintf("container %v lacks a liveness or readiness probe", [show(c, ["name"])])
}

# ── Secrets, namespaces, metadata ─────────────────────────────────────────

# METADATA
# title: Credentials must not be written in env values
# custom:
#   id: K8S-022
#   severity: high
#   remediation: >-
#     Move the value to a Secret and use valueFrom.secretKeyRef (or mount it
#     as a file), then rotate the leaked credential.
#   controls: ["CIS-K8S-5.4.1", "NIST-800-53-IA-5(7)", "SOC2-CC6.1"]
deny_secret_env contains msg if {
	some c in all_containers
	some e in c.env
	regex.match(secret_env_pattern, e.name)
	not endswith(e.name, "_FILE")
	count(e.value) > 0
	msg := sprintf("env var %v holds a literal credential", [e.name])
}

# METADATA
# title: Workloads should not be deployed to the default namespace
# custom:
#   id: K8S-020
#   severity: low
#   enforcement: advisory
#   remediation: Deploy into a namespace owned by the team.
#   controls: ["CIS-K8S-5.7.4"]
warn_default_namespace contains msg if {
	applies
	input.metadata.namespace == "default"
	msg := sprintf("%v is in the default namespace", [workload])
}

labels_ok if {
	every l in required_labels {
		l in object.keys(input.metadata.labels)
	}
}

# METADATA
# title: Workloads carry the required labels
# custom:
#   id: K8S-024
#   severity: low
#   remediation: Add the labels app.kubernetes.io/name and app.kubernetes.io/part-of to metadata.labels.
#   controls: ["NIST-800-53-CM-8"]
deny_required_labels contains msg if {
	applies
	not labels_ok
	msg := sprintf("%v lacks a required label (%v)", [workload, concat(", ", required_labels)])
}

# METADATA
# title: Replica counts stay within the cluster's budget
# custom:
#   id: K8S-025
#   severity: low
#   remediation: Use a HorizontalPodAutoscaler, or ask platform-security for an exception.
deny_replicas contains msg if {
	applies
	is_number(input.spec.replicas)
	input.spec.replicas > max_replicas
	msg := sprintf("%v asks for %v replicas (max %v)", [workload, input.spec.replicas, max_replicas])
}

# ── Pod Security Standards ────────────────────────────────────────────────

# METADATA
# title: Containers must not run as UID 0
# custom:
#   id: K8S-027
#   severity: high
#   remediation: Set securityContext.runAsUser to a non-zero UID.
#   controls: ["CIS-K8S-5.2.7", "NIST-800-53-AC-6"]
deny_uid_0 contains msg if {
	some c in all_containers
	sc(c, ["runAsUser"], -1) == 0
	msg := sprintf("container %v runs as UID 0", [show(c, ["name"])])
}

sets_unsafe_sysctl(spec) if {
	some s in spec.securityContext.sysctls
	name := s.name
	not name in safe_sysctls
}

# METADATA
# title: Pods only set safe sysctls
# custom:
#   id: K8S-028
#   severity: medium
#   remediation: Remove the sysctl, or run the workload on a dedicated node pool with an exception.
deny_unsafe_sysctls contains msg if {
	some spec in pod_specs
	sets_unsafe_sysctl(spec)
	msg := sprintf("%v sets an unsafe sysctl", [workload])
}

# METADATA
# title: Containers must not be Windows HostProcess containers
# custom:
#   id: K8S-029
#   severity: critical
#   remediation: Remove securityContext.windowsOptions.hostProcess.
#   controls: ["CIS-K8S-5.2.11"]
deny_windows_host_process contains msg if {
	some c in all_containers
	sc(c, ["windowsOptions", "hostProcess"], false) == true
	msg := sprintf("container %v is a Windows HostProcess container", [show(c, ["name"])])
}

# METADATA
# title: Containers keep the default SELinux type
# custom:
#   id: K8S-030
#   severity: medium
#   remediation: Remove securityContext.seLinuxOptions.type.
deny_selinux_type contains msg if {
	some c in all_containers
	not sc(c, ["seLinuxOptions", "type"], "") in allowed_selinux_types
	msg := sprintf("container %v sets SELinux type %v", [show(c, ["name"]), sc(c, ["seLinuxOptions", "type"], "<missing>")])
}
