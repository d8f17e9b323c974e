# OPA tests of the workload rules: `bylaw test examples/conftest/policy`
# (or `opa test`): each `test_` rule passes when it is true.
package main

import rego.v1

privileged_pod := {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "app", "image": "ghcr.io/acme/web:1.0", "securityContext": {"privileged": true}}],
	}}},
}

test_privileged_container_is_denied if {
	deny_privileged["container app of web runs privileged"] with input as privileged_pod
}

test_non_root_unprivileged_pod_passes if {
	pod := json.patch(privileged_pod, [{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext"}])
	count(deny_privileged) == 0 with input as pod
	count(deny_run_as_root) == 0 with input as pod
}

test_registry_from_data if {
	count(violation_registry) == 0 with input as privileged_pod with data.registries.allowed as ["ghcr.io/acme/"]
	count(violation_registry) == 1 with input as privileged_pod with data.registries.allowed as ["registry.k8s.io/"]
}
