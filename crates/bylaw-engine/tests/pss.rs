//! Pod Security Standards conformance: every case of
//! `../shared/conformance/pss/` (1,743 resources from the Kyverno and
//! Gatekeeper suites, README there) through the `kubernetes-baseline` and
//! `kubernetes-restricted` packs. A case agrees when a `fail` resource gets
//! a finding from the rule(s) implementing its control and a `pass` resource
//! gets none from them. Prints agreement per control (`cargo test -p
//! bylaw-engine --test pss -- --nocapture`) and fails on any disagreement
//! that is not listed in [`ARGUED`] with the PSS text that decides it.
//! Also the Kubernetes packs' semantics that the cases do not exercise
//! (Windows exemptions, best-practices scope).

mod common;

use bylaw_engine::eval::FileRef;
use common::{file, options};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The pack rule(s) implementing each PSS control.
const CONTROLS: &[(&str, &[&str])] = &[
    ("privileged", &["KB-001"]),
    ("host-namespaces", &["KB-002"]),
    ("hostpath-volumes", &["KB-003"]),
    ("host-ports", &["KB-004"]),
    ("capabilities-baseline", &["KB-005"]),
    ("proc-mount", &["KB-006"]),
    ("seccomp-baseline", &["KB-007"]),
    ("sysctls", &["KB-008"]),
    ("selinux", &["KB-009"]),
    ("hostprocess", &["KB-010"]),
    ("apparmor", &["KB-011", "KB-012"]),
    ("host-probes-lifecycle", &["KB-013"]),
    ("privilege-escalation", &["KR-001"]),
    ("run-as-non-root", &["KR-002"]),
    ("run-as-non-root-user", &["KR-003"]),
    ("seccomp-restricted", &["KR-004"]),
    ("capabilities-restricted", &["KR-005"]),
    ("volume-types", &["KR-006"]),
];

/// Cases where the peer's expectation contradicts the Pod Security
/// Standards, with the reason (file → why). Empty: every case agrees.
const ARGUED: &[(&str, &str)] = &[
    (
        "cases/selinux/fail/kycs-CronJob-badcronjob02-new.yaml",
        "container busybox02 sets seLinuxOptions.user \"1000\" and role \"foo\": PSS Baseline \"SELinux\" restricts spec.containers[*].securityContext.seLinuxOptions.user and .role to Undefined/\"\"; the case was relabelled pass for container_engine_t (allowed since 1.31) without looking at user and role",
    ),
    (
        "cases/apparmor/pass/gk-Pod-nginx-apparmor-allowed-4.yaml",
        "the pod-level appArmorProfile.type is Unconfined: PSS Baseline \"AppArmor\" restricts spec.securityContext.appArmorProfile.type itself to Undefined/nil, RuntimeDefault or Localhost (Pod Security Admission checks the pod field on its own); the containers overriding it does not make the pod field allowed",
    ),
];

fn conformance_dir() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pss");
    assert!(p.join("cases.json").is_file(), "the PSS cases are expected at {}", p.display());
    p
}

/// The baseline and restricted packs, compiled.
fn packs() -> bylaw_engine::compile::PolicySet {
    common::packs(&["kubernetes-baseline", "kubernetes-restricted"])
}

#[test]
fn windows_pods_are_exempt_from_the_linux_only_controls() {
    let set = packs();
    let pod = |os: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: w }}\nspec:\n  template:\n    spec:\n      {os}securityContext: {{ runAsNonRoot: true }}\n      containers: [{{ name: a, image: a:1 }}]\n")
    };
    let files = vec![
        FileRef {
            path: "windows.yaml".into(),
            fs_path: "windows.yaml".into(),
            content: Some(pod("os: { name: windows }\n      ")),
            format: None,
        },
        file("linux.yaml", &pod("")),
    ];
    let report = set.run(&files, &options());
    let rules = |path: &str| {
        let mut r: Vec<&str> =
            report.findings.iter().filter(|f| f.location.path == path).map(|f| f.rule_id.as_str()).collect();
        r.sort();
        r
    };
    // PSS: privilege escalation, seccomp and capabilities are "Linux only policy in v1.25+ (spec.os.name != windows)"
    assert_eq!(rules("windows.yaml"), Vec::<&str>::new());
    assert_eq!(rules("linux.yaml"), vec!["KR-001", "KR-004", "KR-005"]);
}

#[test]
fn pod_security_standards_conformance() {
    let dir = conformance_dir();
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let set = packs();
    let files: Vec<FileRef> = cases
        .iter()
        .map(|c| {
            let f = c["file"].as_str().unwrap();
            FileRef { path: f.to_owned(), fs_path: dir.join(f), content: None, format: None }
        })
        .collect();
    let report = set.run(&files, &options());
    let mut fired: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &report.findings {
        fired.entry(f.location.path.as_str()).or_default().push(f.rule_id.as_str());
    }
    let rules_of: BTreeMap<&str, &[&str]> = CONTROLS.iter().copied().collect();
    let mut per_control: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for c in cases {
        let control = c["control"].as_str().unwrap();
        let file = c["file"].as_str().unwrap();
        let expected_fail = c["expected"] == "fail";
        let rules = rules_of.get(control).copied().unwrap_or_else(|| panic!("unmapped control {control}"));
        let got_fail = fired.get(file).is_some_and(|ids| ids.iter().any(|id| rules.contains(id)));
        let entry = per_control.entry(control).or_default();
        entry.1 += 1;
        if got_fail == expected_fail {
            entry.0 += 1;
        } else if !ARGUED.iter().any(|(f, _)| *f == file) {
            let parse = fired.get(file).map(|ids| ids.join(",")).unwrap_or_default();
            wrong.push(format!("{control}: {file} expected {} got {} [{parse}]", c["expected"], !expected_fail));
        }
    }
    let (agree, total) = per_control.values().fold((0, 0), |(a, t), (x, y)| (a + x, t + y));
    println!("{:<26} {:>6} {:>6} {:>8}", "control", "agree", "cases", "percent");
    for (control, (a, t)) in &per_control {
        println!("{control:<26} {a:>6} {t:>6} {:>7.1}%", 100.0 * *a as f64 / *t as f64);
    }
    println!("{:<26} {agree:>6} {total:>6} {:>7.1}%", "all", 100.0 * agree as f64 / total as f64);
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn best_practices_ask_probes_of_long_running_workloads_and_accept_limits_as_requests() {
    let set = common::packs(&["kubernetes-best-practices"]);
    let workload = |kind: &str| {
        format!("apiVersion: v1\nkind: {kind}\nmetadata: {{ name: w, labels: {{ app.kubernetes.io/name: w, app.kubernetes.io/part-of: x }} }}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers: [{{ name: a, image: a:1.0, resources: {{ limits: {{ cpu: 1, memory: 1Gi }} }} }}]\n")
    };
    let files: Vec<FileRef> = ["Job", "Deployment"].iter().map(|k| file(&format!("{k}.yaml"), &workload(k))).collect();
    let report = set.run(&files, &options());
    let got: Vec<(&str, &str)> =
        report.findings.iter().map(|f| (f.location.path.as_str(), f.rule_id.as_str())).collect();
    // limits imply requests (KBP-002 silent); only the Deployment needs probes
    assert_eq!(got, vec![("Deployment.yaml", "KBP-003")]);
}

#[test]
fn custom_resources_with_a_pod_template_are_checked() {
    let set = packs();
    let rollout = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: { name: r }\nspec:\n  template:\n    spec:\n      containers: [{ name: a, image: a:1, securityContext: { privileged: true } }]\n";
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { containers: x }\n";
    let files = vec![file("rollout.yaml", rollout), file("cm.yaml", config)];
    let report = set.run(&files, &options());
    assert!(report.findings.iter().any(|f| f.location.path == "rollout.yaml" && f.rule_id == "KB-001"));
    assert!(!report.findings.iter().any(|f| f.location.path == "cm.yaml"), "{:#?}", report.findings);
}

#[test]
fn explicit_nulls_are_unset_not_evaluation_errors() {
    let set = packs();
    // what Helm renders for empty values
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d, labels: null }\nspec:\n  template:\n    metadata: { annotations: }\n    spec:\n      initContainers:\n      volumes: [{ name: t, emptyDir: {}, hostPath: null }]\n      containers:\n        - name: a\n          image: a:1\n          ports: [{ containerPort: 80, hostPort: null }]\n          securityContext: { capabilities: { add: , drop: null } }\n";
    let files = vec![file("d.yaml", deployment)];
    let report = set.run(&files, &options());
    let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    rules.sort();
    rules.dedup();
    // judged, not errored: no runAsNonRoot, no seccomp profile, no dropped capabilities, escalation allowed
    assert_eq!(rules, vec!["KR-001", "KR-002", "KR-004", "KR-005"], "{:#?}", report.findings);
}
