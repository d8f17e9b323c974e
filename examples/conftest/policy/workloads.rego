# METADATA
# title: Workload hardening (conftest-style Rego)
# description: Deployments run as non-root, unprivileged, with pinned images.
# custom:
#   type: security
#   owners: ["@acme/platform"]
package main

import data.lib.k8s
import rego.v1

# METADATA
# title: Containers must not be privileged
# description: A privileged container has every capability of the node's root.
# custom:
#   id: CT-001
#   severity: critical
#   remediation: Remove `securityContext.privileged` or set it to false.
#   controls: [CIS-5.2.1]
deny_privileged contains msg if {
	some c in k8s.containers
	c.securityContext.privileged
	msg := sprintf("container %s of %s runs privileged", [c.name, k8s.name])
}

# METADATA
# title: Pods must not run as root
# custom:
#   id: CT-002
#   severity: high
#   remediation: Set `spec.template.spec.securityContext.runAsNonRoot` to true.
deny_run_as_root contains msg if {
	k8s.is_workload
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("%s %s may run as root", [input.kind, k8s.name])
}

# no METADATA: the rule id is main.warn_latest, advisory as every warn rule
warn_latest contains msg if {
	some c in k8s.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses the mutable tag latest", [c.name])
}

# a structured result: `msg`, and `_loc` says where the finding is
violation_registry contains {"msg": msg, "_loc": sprintf("spec.template.spec.containers[%d].image", [i])} if {
	some i, c in input.spec.template.spec.containers
	not allowed_registry(c.image)
	msg := sprintf("image %s is not from an allowed registry", [c.image])
}

# `data.registries` comes from `--data data/` (or `rego.data` in .bylaw.yaml)
allowed_registry(image) if {
	some prefix in data.registries.allowed
	startswith(image, prefix)
}
