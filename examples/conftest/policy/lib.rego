# Helpers shared by the packages: no deny/warn/violation rules, so no policy.
package lib.k8s

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

is_workload if input.kind in workload_kinds

name := input.metadata.name

containers contains c if {
	is_workload
	some c in input.spec.template.spec.containers
}
