# conftest exceptions: the names of rules (without deny_/warn_/violation_)
# that do not apply to an input. The findings are still reported, excepted.
package main

import rego.v1

exception contains rules if {
	input.metadata.name == "node-exporter"
	rules := ["privileged", "run_as_root"]
}
