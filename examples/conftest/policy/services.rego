# Another namespace, in Rego v0 (OPA before 1.0): selected with
# `--namespace services` or `--all-namespaces`.
package services

deny[msg] {
  input.kind == "Service"
  input.spec.type == "LoadBalancer"
  not data.services.public[input.metadata.name]
  msg := sprintf("service %v is exposed by a load balancer", [input.metadata.name])
}
