//! The `kubernetes-rbac` pack end to end: a realistic multi-document RBAC
//! manifest (an operator's roles and bindings, a least-privilege app, an
//! aggregated ClusterRole) through the loader, compiler and evaluator,
//! asserting exactly which rule fires on which line, and that the
//! least-privilege objects get nothing.

mod common;

use bylaw_engine::report::{Enforcement, Report};

/// Line numbers are those of this text (1-based), commented where a rule fires.
const MANIFEST: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata: { name: shop, namespace: shop }
automountServiceAccountToken: false
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: operator, namespace: ops }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: shop, namespace: shop }
rules:
  - apiGroups: [""]
    resources: ["configmaps", "services"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["shop-tls"]
    verbs: ["get"]
  - apiGroups: ["apps"]
    resources: ["deployments", "deployments/scale"]
    verbs: ["get", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: shop, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: shop }
subjects:
  - { kind: ServiceAccount, name: shop, namespace: shop }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: operator }
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["pods", "pods/exec"]
    verbs: ["create", "delete"]
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["clusterroles"]
    verbs: ["bind", "escalate"]
  - apiGroups: [""]
    resources: ["nodes/proxy", "nodes/metrics"]
    verbs: ["get"]
  - apiGroups: ["custom.metrics.k8s.io"]
    resources: ["*"]
    verbs: ["get", "list"]
  - nonResourceURLs: ["/metrics", "/healthz"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: { rbac.example.com/aggregate-to-monitoring: "true" }
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: operator-admin }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects:
  - { kind: ServiceAccount, name: operator, namespace: ops }
  - { apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:unauthenticated" }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: legacy, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
subjects:
  - { kind: ServiceAccount, name: default, namespace: shop }
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: alice }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: admin-in-namespace, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: cluster-admin }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:anonymous-like" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: shop, namespace: shop }
spec:
  template:
    spec:
      serviceAccountName: shop
      automountServiceAccountToken: false
      containers: [{ name: shop, image: shop:1 }]
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: report, namespace: shop }
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{ name: report, image: report:1 }]
"#;

fn run(manifest: &str) -> Report {
    common::run(&common::packs(&["kubernetes-rbac"]), &[common::file("rbac.yaml", manifest)])
}

/// (rule, line) of every finding, sorted.
fn fired(report: &Report) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> =
        report.findings.iter().map(|f| (f.rule_id.clone(), f.location.start_line)).collect();
    v.sort();
    v
}

#[test]
fn each_rule_fires_exactly_where_the_grant_is() {
    let report = run(MANIFEST);
    let expected: Vec<(&str, u32)> = vec![
        // ClusterRole operator, rule 1 (line 36): get on * in * — wildcard,
        // every Secret, and `get` on nodes/proxy and pods/exec
        ("KRB-001", 36),
        ("KRB-002", 36),
        ("KRB-004", 36),
        // rule 2 (line 39): create on pods and pods/exec
        ("KRB-004", 39),
        ("KRB-005", 39),
        // rule 3 (line 42): bind, escalate
        ("KRB-003", 42),
        // rule 4 (line 45): get on nodes/proxy
        ("KRB-004", 45),
        // ClusterRoleBinding operator-admin: roleRef.name (line 66), the
        // unauthenticated group (line 69)
        ("KRB-006", 66),
        ("KRB-007", 69),
        // RoleBinding legacy: the default service account (line 76)
        ("KRB-008", 76),
        // ServiceAccount operator (line 6) has no automount setting
        ("KRB-009", 6),
        // the CronJob's pod spec (`spec:`, line 104) does not set it either
        ("KRB-010", 104),
    ];
    let mut expected: Vec<(String, u32)> = expected.into_iter().map(|(r, l)| (r.to_owned(), l)).collect();
    expected.sort();
    let got = fired(&report);
    assert_eq!(
        got,
        expected,
        "messages:\n{}",
        report
            .findings
            .iter()
            .map(|f| format!("{} {}: {}", f.rule_id, f.location.start_line, f.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn messages_name_the_offending_values() {
    let report = run(MANIFEST);
    let message = |rule: &str, line: u32| {
        report
            .findings
            .iter()
            .find(|f| f.rule_id == rule && f.location.start_line == line)
            .map(|f| f.message.clone())
            .unwrap_or_else(|| panic!("no {rule} at line {line}"))
    };
    assert_eq!(
        message("KRB-001", 36),
        "ClusterRole operator grants '*' in apiGroups, resources (verbs get, list, watch on *)"
    );
    assert!(message("KRB-003", 42).contains("bind, escalate on clusterroles"), "{}", message("KRB-003", 42));
    assert!(message("KRB-004", 45).contains("get on nodes/proxy"), "{}", message("KRB-004", 45));
    assert!(message("KRB-006", 66).contains("ServiceAccount operator, Group system:unauthenticated"));
    assert!(message("KRB-007", 69).contains("Group system:unauthenticated"));
    assert!(message("KRB-008", 76).contains("namespace shop"));
    let advisory: Vec<&str> =
        report.findings.iter().filter(|f| f.enforcement == Enforcement::Advisory).map(|f| f.rule_id.as_str()).collect();
    assert_eq!(advisory, vec!["KRB-009", "KRB-010"], "the token-automount rules are advisory");
}

#[test]
fn null_and_missing_fields_count_as_unset() {
    // explicit nulls neither fire nor make an evaluation error; a null
    // automount setting is as good as none
    let report = run(r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: aggregated }
aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "true" } }] }
rules: null
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: partial, namespace: x }
rules:
  - { apiGroups: null, resources: ["secrets"], verbs: null }
  - { resources: ["*"] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: nobody }
roleRef: { kind: ClusterRole, name: view }
subjects: null
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: s, namespace: x }
automountServiceAccountToken: null
"#);
    assert_eq!(fired(&report), vec![("KRB-001".to_owned(), 12), ("KRB-009".to_owned(), 20)]);
}

#[test]
fn cluster_scoped_grants_are_judged_only_in_cluster_roles() {
    let manifest = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: ns-admin, namespace: a }\nrules:\n  - { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: all }\nrules:\n  - { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }\n";
    let report = run(manifest);
    let lines_of = |rule: &str| -> Vec<u32> {
        report.findings.iter().filter(|f| f.rule_id == rule).map(|f| f.location.start_line).collect()
    };
    // webhook configurations and CSRs are cluster-scoped: a Role cannot grant them
    assert_eq!(lines_of("KRB-011"), vec![11]);
    assert_eq!(lines_of("KRB-012"), vec![11]);
    // service account tokens are namespaced: both can
    assert_eq!(lines_of("KRB-013"), vec![5, 11]);
}
