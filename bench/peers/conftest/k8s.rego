# The 30 rules of bench/policy.yaml, translated to Rego for conftest, so that
# bench/run.sh compares conftest and bylaw on the same rule set.
#
#   conftest test bench/corpus-1000 --policy bench/peers/conftest --all-namespaces
#
# Advisory rules of the bylaw policy (K8S-012, K8S-017, K8S-020, K8S-026) are
# `warn`; the others `deny`.
package main

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

forbidden_capabilities := {"ALL", "SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "BPF"}

allowed_registries := ["ghcr.io/acme/", "registry.acme.internal/", "registry.k8s.io/"]

allowed_seccomp_profiles := {"RuntimeDefault", "Localhost"}

required_labels := ["app.kubernetes.io/name", "app.kubernetes.io/part-of"]

token_mount_service_accounts := {"argo-workflow", "external-dns"}

safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
}

allowed_selinux_types := {"", "container_t", "container_init_t", "container_kvm_t"}

secret_env_pattern := `(?i)(password|passwd|secret|token|api_?key|private_?key|credentials?)`

max_memory_bytes := units.parse_bytes("8Gi")

max_replicas := 50

applies if {
	input.kind in workload_kinds
	object.get(input, ["metadata", "namespace"], "") != "kube-system"
}

name := sprintf("%s %s", [input.kind, object.get(input, ["metadata", "name"], "")])

# Every pod spec: any object with a `containers` member ($..[?@.containers]).
pod_specs contains spec if {
	applies
	walk(input, [_, spec])
	is_object(spec)
	is_array(spec.containers)
}

containers contains c if {
	some spec in pod_specs
	some c in spec.containers
}

all_containers contains c if {
	some spec in pod_specs
	some field in ["containers", "initContainers"]
	some c in object.get(spec, field, [])
}

sc(c, path, default_value) := object.get(c, array.concat(["securityContext"], path), default_value)

# K8S-001
deny contains msg if {
	some c in all_containers
	sc(c, ["privileged"], false) == true
	msg := sprintf("K8S-001: container %s runs privileged", [c.name])
}

# K8S-002
deny contains msg if {
	some c in all_containers
	sc(c, ["allowPrivilegeEscalation"], true) != false
	msg := sprintf("K8S-002: container %s allows privilege escalation", [c.name])
}

# K8S-003
runs_as_non_root(spec) if {
	object.get(spec, ["securityContext", "runAsNonRoot"], false) == true
	every c in spec.containers {
		sc(c, ["runAsNonRoot"], true) == true
	}
}

runs_as_non_root(spec) if {
	every c in spec.containers {
		sc(c, ["runAsNonRoot"], false) == true
	}
}

deny contains msg if {
	some spec in pod_specs
	not runs_as_non_root(spec)
	msg := sprintf("K8S-003: %s may run containers as root", [name])
}

# K8S-004
deny contains msg if {
	some c in all_containers
	sc(c, ["readOnlyRootFilesystem"], false) != true
	msg := sprintf("K8S-004: container %s has a writable root filesystem", [c.name])
}

# K8S-005
deny contains msg if {
	some c in all_containers
	some cap in sc(c, ["capabilities", "add"], [])
	cap in forbidden_capabilities
	msg := sprintf("K8S-005: container %s adds a forbidden capability", [c.name])
}

# K8S-006
deny contains msg if {
	some c in all_containers
	not "ALL" in sc(c, ["capabilities", "drop"], [])
	msg := sprintf("K8S-006: container %s does not drop ALL capabilities", [c.name])
}

# K8S-007
deny contains msg if {
	some spec in pod_specs
	spec.hostNetwork == true
	msg := sprintf("K8S-007: %s uses the host network namespace", [name])
}

# K8S-008
deny contains msg if {
	some spec in pod_specs
	some field in ["hostPID", "hostIPC"]
	spec[field] == true
	msg := sprintf("K8S-008: %s shares the host PID or IPC namespace", [name])
}

# K8S-009
deny contains msg if {
	some spec in pod_specs
	some v in object.get(spec, "volumes", [])
	v.hostPath
	msg := sprintf("K8S-009: volume %s mounts a host path", [v.name])
}

# K8S-010
allowed_registry(image) if {
	some r in allowed_registries
	startswith(image, r)
}

deny contains msg if {
	some c in all_containers
	not allowed_registry(c.image)
	msg := sprintf("K8S-010: image %s is not from an allowed registry", [c.image])
}

# K8S-011 (tag of the last path component; a registry port is not a tag)
image_tag(ref) := tag if {
	parts := split(split(ref, "@")[0], "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
} else := ""

deny contains msg if {
	some c in all_containers
	not contains(c.image, "@")
	image_tag(c.image) in {"", "latest"}
	msg := sprintf("K8S-011: image %s has no version tag (or uses latest)", [c.image])
}

# K8S-012
warn contains msg if {
	some c in all_containers
	not contains(c.image, "@sha256:")
	msg := sprintf("K8S-012: image %s is not pinned by digest", [c.image])
}

# K8S-013
deny contains msg if {
	some c in containers
	some r in ["cpu", "memory"]
	not c.resources.limits[r]
	msg := sprintf("K8S-013: container %s has no CPU or memory limit", [c.name])
}

# K8S-014
deny contains msg if {
	some c in containers
	units.parse_bytes(c.resources.limits.memory) > max_memory_bytes
	msg := sprintf("K8S-014: container %s asks for too much memory", [c.name])
}

# K8S-015
deny contains msg if {
	some c in containers
	some r in ["cpu", "memory"]
	not c.resources.requests[r]
	msg := sprintf("K8S-015: container %s has no CPU or memory request", [c.name])
}

# K8S-016
deny contains msg if {
	some c in containers
	units.parse(sprintf("%v", [c.resources.requests.cpu])) > units.parse(sprintf("%v", [c.resources.limits.cpu]))
	msg := sprintf("K8S-016: container %s requests more CPU than its limit", [c.name])
}

deny contains msg if {
	some c in containers
	units.parse_bytes(c.resources.requests.memory) > units.parse_bytes(c.resources.limits.memory)
	msg := sprintf("K8S-016: container %s requests more memory than its limit", [c.name])
}

# K8S-026 (advisory until 2099-01-01)
warn contains msg if {
	some c in containers
	not c.resources.limits["ephemeral-storage"]
	msg := sprintf("K8S-026: container %s has no ephemeral-storage limit", [c.name])
}

# K8S-017
warn contains msg if {
	applies
	input.kind != "Job"
	some c in input.spec.template.spec.containers
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	msg := sprintf("K8S-017: container %s lacks a liveness or readiness probe", [c.name])
}

# K8S-018
seccomp_ok(spec) if object.get(spec, ["securityContext", "seccompProfile", "type"], "") in allowed_seccomp_profiles

seccomp_ok(spec) if {
	every c in spec.containers {
		sc(c, ["seccompProfile", "type"], "") in allowed_seccomp_profiles
	}
}

deny contains msg if {
	some spec in pod_specs
	not seccomp_ok(spec)
	msg := sprintf("K8S-018: %s runs without a seccomp profile", [name])
}

# K8S-019
deny contains msg if {
	some spec in pod_specs
	object.get(spec, "automountServiceAccountToken", true) != false
	not object.get(spec, "serviceAccountName", "default") in token_mount_service_accounts
	msg := sprintf("K8S-019: %s mounts a Kubernetes API token", [name])
}

# K8S-020
warn contains msg if {
	applies
	input.metadata.namespace == "default"
	msg := sprintf("K8S-020: %s is in the default namespace", [name])
}

# K8S-021
deny contains msg if {
	some c in containers
	some p in object.get(c, "ports", [])
	p.hostPort > 0
	msg := sprintf("K8S-021: port %v is bound to host port %v", [p.containerPort, p.hostPort])
}

# K8S-022
deny contains msg if {
	some c in all_containers
	some e in object.get(c, "env", [])
	regex.match(secret_env_pattern, e.name)
	not endswith(e.name, "_FILE")
	is_string(e.value)
	e.value != ""
	msg := sprintf("K8S-022: env var %s holds a literal credential", [e.name])
}

# K8S-023
deny contains msg if {
	some c in all_containers
	sc(c, ["procMount"], "Default") != "Default"
	msg := sprintf("K8S-023: container %s uses a non-default procMount", [c.name])
}

# K8S-024
deny contains msg if {
	applies
	some l in required_labels
	not input.metadata.labels[l]
	msg := sprintf("K8S-024: %s lacks the label %s", [name, l])
}

# K8S-025
deny contains msg if {
	applies
	input.spec.replicas > max_replicas
	msg := sprintf("K8S-025: %s asks for %v replicas", [name, input.spec.replicas])
}

# K8S-027
deny contains msg if {
	some c in all_containers
	sc(c, ["runAsUser"], -1) == 0
	msg := sprintf("K8S-027: container %s runs as UID 0", [c.name])
}

# K8S-028
deny contains msg if {
	some spec in pod_specs
	some s in object.get(spec, ["securityContext", "sysctls"], [])
	not s.name in safe_sysctls
	msg := sprintf("K8S-028: %s sets the unsafe sysctl %s", [name, s.name])
}

# K8S-029
deny contains msg if {
	some c in all_containers
	sc(c, ["windowsOptions", "hostProcess"], false) == true
	msg := sprintf("K8S-029: container %s is a Windows HostProcess container", [c.name])
}

# K8S-030
deny contains msg if {
	some c in all_containers
	not sc(c, ["seLinuxOptions", "type"], "") in allowed_selinux_types
	msg := sprintf("K8S-030: container %s sets a custom SELinux type", [c.name])
}
