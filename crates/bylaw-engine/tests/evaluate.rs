//! Evaluation semantics end to end through the engine API: policies and
//! inputs written to a temporary directory, compiled and run.

mod common;

use bylaw_engine::compile::{compile, CompileOptions};
use bylaw_engine::eval::{FileRef, RunOptions};
use bylaw_engine::loader;
use bylaw_engine::report::{Enforcement, FailOn, Finding, Report, Verdict};
use std::path::Path;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case { dir: tempfile::tempdir().unwrap() }
    }

    fn file(&self, name: &str, text: &str) -> &Self {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn run_with(&self, policy: &str, files: &[&str], env: Option<&str>, today: &str, ctx: serde_json::Value) -> Report {
        let ppath = self.dir.path().join("policy.yaml");
        std::fs::write(&ppath, policy).unwrap();
        let loaded = loader::load(&[ppath], self.dir.path());
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        let (set, diags) = compile(
            &loaded.policies,
            &loaded.sources,
            CompileOptions {
                environment: env.map(String::from),
                today: bylaw_engine::enforcement::parse_date(today).unwrap(),
                include_drafts: false,
            },
        );
        assert!(diags.is_empty(), "{diags:#?}");
        let files: Vec<FileRef> = files
            .iter()
            .map(|f| FileRef { path: f.to_string(), fs_path: self.dir.path().join(f), content: None, format: None })
            .collect();
        set.run(
            &files,
            &RunOptions {
                ctx,
                fail_on: FailOn::Blocking,
                parse_errors: Enforcement::Blocking,
                max_file_size: bylaw_engine::eval::DEFAULT_MAX_FILE_SIZE,
                format_of: false,
            },
        )
    }

    fn run(&self, policy: &str, files: &[&str]) -> Report {
        self.run_with(policy, files, None, "2026-06-01", serde_json::json!({}))
    }
}

fn policy(rules: &str) -> String {
    format!("apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: t\nspec:\n  rules:\n{rules}")
}

fn ids(r: &Report) -> Vec<(String, u32)> {
    r.findings.iter().map(|f| (f.rule_id.clone(), f.location.start_line)).collect()
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx:latest
      securityContext:
        privileged: true
    - name: sidecar
      image: ghcr.io/acme/side@sha256:abc
      securityContext: {}
    - name: bare
      image: busybox
      securityContext:
";

#[test]
fn missing_data_makes_a_cel_string_false() {
    let c = Case::new();
    c.file("pod.yaml", POD);
    let r = c.run(
        &policy(
            r#"    - id: DENY-MISSING
      each: "$.spec.containers[*]"
      deny: "item.securityContext.privileged == true"
      at: securityContext.privileged
    - id: REQUIRE-MISSING
      each: "$.spec.containers[*]"
      require: "item.securityContext.runAsNonRoot == true"
      at: securityContext.runAsNonRoot
    - id: NOT-MISSING
      each: "$.spec.containers[*]"
      deny:
        not: "item.securityContext.readOnlyRootFilesystem"
"#,
        ),
        &["pod.yaml"],
    );
    // deny fires only where the data is there and true
    let deny: Vec<u32> =
        r.findings.iter().filter(|f| f.rule_id == "DENY-MISSING").map(|f| f.location.start_line).collect();
    assert_eq!(deny, vec![10]);
    // require fires for every container: the field is missing everywhere (incl. `securityContext:` null)
    let req: Vec<&Finding> = r.findings.iter().filter(|f| f.rule_id == "REQUIRE-MISSING").collect();
    assert_eq!(req.len(), 3);
    // `at` points at the deepest node that exists: securityContext of each container
    assert_eq!(req.iter().map(|f| f.location.start_line).collect::<Vec<_>>(), vec![9, 13, 16]);
    assert_eq!(req[0].pointer, "/spec/containers/0/securityContext");
    // not(missing) is true
    assert_eq!(r.findings.iter().filter(|f| f.rule_id == "NOT-MISSING").count(), 3);
    assert!(r.findings.iter().all(|f| f.rule_id != "bylaw/eval-error"), "{:#?}", r.findings);
}

#[test]
fn trees_combine_and_messages_interpolate() {
    let c = Case::new();
    c.file("pod.yaml", POD);
    let r = c.run(
        &policy(
            r#"    - id: TREE
      each: "$.spec.containers[*]"
      require:
        any:
          - "item.image.contains('@sha256:')"
          - all: ["item.name == 'bare'", "params.allow_bare"]
      message: "{{ item.name }} uses {{ item.image }} ({{ item.nope }}) in {{ doc.metadata.name }}"
"#,
        )
        .replace("spec:\n  rules:", "spec:\n  params: { allow_bare: false }\n  rules:"),
        &["pod.yaml"],
    );
    let msgs: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(msgs, vec!["app uses nginx:latest (<missing>) in web", "bare uses busybox (<missing>) in web"]);
    assert_eq!(ids(&r), vec![("TREE".into(), 7), ("TREE".into(), 14)]);
    assert_eq!(r.findings[0].location.end_line, 10, "an each element spans its whole mapping");
}

#[test]
fn other_errors_are_eval_error_findings_at_the_rules_enforcement() {
    let c = Case::new();
    c.file("pod.yaml", POD);
    let r = c.run(
        &policy(
            r#"    - id: BAD-TYPE
      enforcement: advisory
      each: "$.spec.containers[*]"
      deny: "item.name + 1 == 2"
    - id: NOT-BOOL
      deny: "doc.metadata.name"
"#,
        ),
        &["pod.yaml"],
    );
    assert_eq!(r.findings.len(), 4, "{:#?}", r.findings);
    assert!(r.findings.iter().all(|f| f.rule_id == "bylaw/eval-error"));
    let bad: Vec<&Finding> = r.findings.iter().filter(|f| f.message.contains("BAD-TYPE")).collect();
    assert_eq!(bad.len(), 3);
    assert!(bad.iter().all(|f| f.enforcement == Enforcement::Advisory));
    let nb = r.findings.iter().find(|f| f.message.contains("NOT-BOOL")).unwrap();
    assert!(nb.message.contains("must evaluate to a bool"), "{}", nb.message);
    assert_eq!(nb.enforcement, Enforcement::Blocking);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.rule("bylaw/eval-error").is_some());
}

#[test]
fn kinds_when_files_and_multi_documents() {
    let c = Case::new();
    c.file(
        "deploy/all.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: kube-system\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: e\n  namespace: apps\n",
    );
    c.file("other/x.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: f}\n");
    let p = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: t}\nspec:\n  match:\n    files: ['deploy/**']\n    kinds: [Deployment]\n    when: \"doc.metadata.namespace != 'kube-system'\"\n  rules:\n    - id: HIT\n      deny: 'true'\n      message: '{{ doc.metadata.name }}'\n";
    let r = c.run(p, &["deploy/all.yaml", "other/x.yaml"]);
    assert_eq!(ids(&r), vec![("HIT".into(), 11)]);
    assert_eq!(r.findings[0].message, "e");
    assert_eq!(r.findings[0].document, Some(2));
    assert_eq!(r.findings[0].resource.as_ref().unwrap().name.as_deref(), Some("e"));
    assert_eq!(r.summary.files, 1, "other/x.yaml does not match the policy's files");
    assert_eq!(r.policies[0].targets, vec!["deploy/all.yaml"]);
}

#[test]
fn parse_errors_do_not_stop_other_files() {
    let c = Case::new();
    c.file("a.yaml", "kind: Pod\nspec: [1, 2\n");
    c.file("b.json", "{\"kind\": \"Pod\",}");
    c.file("c.yaml", "kind: Pod\n");
    let r = c.run(&policy("    - id: ANY\n      deny: \"doc.kind == 'Pod'\"\n"), &["a.yaml", "b.json", "c.yaml"]);
    let got: Vec<(String, String)> = r.findings.iter().map(|f| (f.rule_id.clone(), f.location.path.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("bylaw/parse-error".into(), "a.yaml".into()),
            ("bylaw/parse-error".into(), "b.json".into()),
            ("ANY".into(), "c.yaml".into()),
        ]
    );
    assert!(r.findings[0].message.starts_with("invalid YAML"));
    assert!(r.findings[1].message.starts_with("invalid JSON"));
    assert_eq!(r.findings[0].enforcement, Enforcement::Blocking);
    assert_eq!(r.summary.errors, 2);
}

#[test]
fn environments_lifecycle_and_enforce_from() {
    let c = Case::new();
    c.file("pod.yaml", POD);
    let p = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: t}\nspec:\n  environments: {dev: advisory, prod: mandatory}\n  rules:\n    - id: A\n      deny: 'true'\n    - id: B\n      deny: 'true'\n      enforce_from: 2027-01-31\n";
    let levels = |r: &Report| r.findings.iter().map(|f| (f.rule_id.clone(), f.enforcement)).collect::<Vec<_>>();
    let dev = c.run_with(p, &["pod.yaml"], Some("dev"), "2026-06-01", serde_json::json!({}));
    assert_eq!(levels(&dev), vec![("A".into(), Enforcement::Advisory), ("B".into(), Enforcement::Advisory)]);
    assert_eq!(dev.verdict, Verdict::Pass);
    let prod = c.run_with(p, &["pod.yaml"], Some("prod"), "2026-06-01", serde_json::json!({}));
    assert_eq!(levels(&prod), vec![("A".into(), Enforcement::Mandatory), ("B".into(), Enforcement::Advisory)]);
    assert!(
        prod.findings[1].notes.iter().any(|n| n.contains("becomes mandatory on 2027-01-31")),
        "{:?}",
        prod.findings[1].notes
    );
    let later = c.run_with(p, &["pod.yaml"], Some("prod"), "2027-02-01", serde_json::json!({}));
    assert_eq!(later.findings[1].enforcement, Enforcement::Mandatory);
    let audit = c.run_with(
        &p.replace("name: t}", "name: t, lifecycle: audit}"),
        &["pod.yaml"],
        None,
        "2026-06-01",
        serde_json::json!({}),
    );
    assert!(audit.findings.iter().all(|f| f.enforcement == Enforcement::Audit));
    assert_eq!(audit.verdict, Verdict::Pass);
}

#[test]
fn pipeline_policies_see_ctx_as_doc() {
    let c = Case::new();
    let p = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: t, type: operational}\nspec:\n  match: {target: pipeline}\n  rules:\n    - id: TICKET\n      require: \"ctx.pr.title.matches('[A-Z]+-[0-9]+')\"\n      message: 'PR #{{ doc.pr.number }} has no ticket in its title'\n";
    let r = c.run_with(p, &[], None, "2026-06-01", serde_json::json!({"pr": {"number": 7, "title": "fix stuff"}}));
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].message, "PR #7 has no ticket in its title");
    assert!(r.findings[0].location.path.ends_with("policy.yaml"));
    assert_eq!(r.findings[0].location.start_line, 7, "points at the rule");
    assert_eq!(r.policies[0].targets, vec!["<pipeline>"]);
    let ok = c.run_with(p, &[], None, "2026-06-01", serde_json::json!({"pr": {"number": 7, "title": "SEC-12 fix"}}));
    assert!(ok.findings.is_empty());
    let no_pr = c.run_with(p, &[], None, "2026-06-01", serde_json::json!({}));
    assert_eq!(no_pr.findings.len(), 1, "require on missing data fires");
}

#[test]
fn json_inputs_and_stable_fingerprints() {
    let c = Case::new();
    c.file("pkg.json", "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"left-pad\": \"*\"\n  }\n}\n");
    let p = policy("    - id: PIN\n      each: \"$.dependencies.*\"\n      deny: \"item == '*'\"\n      message: 'unpinned dependency'\n");
    let r1 = c.run(&p, &["pkg.json"]);
    assert_eq!(ids(&r1), vec![("PIN".into(), 4)]);
    assert_eq!(r1.findings[0].location.start_column, 5);
    assert_eq!(r1.findings[0].pointer, "/dependencies/left-pad");
    c.file(
        "pkg.json",
        "{\n\n  \"name\": \"x\",\n  \"version\": \"1\",\n  \"dependencies\": {\n    \"left-pad\": \"*\"\n  }\n}\n",
    );
    let r2 = c.run(&p, &["pkg.json"]);
    assert_eq!(r2.findings[0].location.start_line, 6);
    assert_eq!(r1.findings[0].fingerprint, r2.findings[0].fingerprint, "unrelated edits keep the fingerprint");
    assert!(Path::new(&r1.findings[0].location.path).ends_with("pkg.json"));
}

#[test]
fn named_selectors_reach_every_container_and_unknown_ones_are_located_errors() {
    let policy = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: p, type: security }\nspec:\n  rules:\n    - id: S-1\n      title: t\n      severity: high\n      each: \"@containers\"\n      deny: \"item.securityContext.privileged == true\"\n      at: securityContext.privileged\n      message: \"{{ item.name }}\"\n";
    let c = Case::new();
    c.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\nspec:\n  initContainers:\n    - name: init\n      securityContext: { privileged: true }\n  containers:\n    - name: app\n  ephemeralContainers:\n    - name: debug\n      securityContext: { privileged: true }\n",
    );
    let report = c.run(policy, &["pod.yaml"]);
    let got: Vec<(String, u32)> = report.findings.iter().map(|f| (f.message.clone(), f.location.start_line)).collect();
    assert_eq!(got, vec![("init".to_owned(), 7), ("debug".to_owned(), 12)]);

    let diags = common::compile_errors("p.yaml", &policy.replace("@containers", "@containerz"));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].location(), "p.yaml:9:13");
    assert!(diags[0].message.contains("unknown selector `@containerz`"), "{}", diags[0].message);
}

#[test]
fn an_error_in_a_message_is_an_eval_error_finding_not_message_text() {
    let policy = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: p, type: security }\nspec:\n  rules:\n    - id: M-1\n      title: t\n      severity: high\n      deny: \"doc.n == 1\"\n      message: \"ratio {{ doc.n / doc.z }}\"\n";
    let c = Case::new();
    c.file("a.yaml", "n: 1\nz: 0\n");
    let report = c.run(policy, &["a.yaml"]);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.rule_id, "bylaw/eval-error");
    assert!(f.message.starts_with("rule M-1 fired, but the message's `{{ doc.n / doc.z }}`"), "{}", f.message);
    assert!(!f.message.contains("<error"), "{}", f.message);
}

#[test]
fn an_empty_file_in_a_policy_directory_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "# nothing here yet\n").unwrap();
    let loaded = loader::load(&[dir.path().to_path_buf()], dir.path());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("empty (or only comments)") && d.file.ends_with("empty.yaml")),
        "{:#?}",
        loaded.diagnostics
    );
}

#[test]
fn constant_errors_are_located_load_errors() {
    let policy = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: p, type: security }\nspec:\n  rules:\n    - id: C-1\n      title: t\n      severity: high\n      deny: \"doc.image.matches('[a-z')\"\n      message: \"m {{ doc.n / 0 }}\"\n";
    let diags = common::compile_errors("p.yaml", policy);
    let got: Vec<(String, String)> = diags.iter().map(|d| (d.location(), d.message.clone())).collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, "p.yaml:9:32", "at the pattern's opening quote");
    assert!(got[0].1.starts_with("invalid regular expression `[a-z`"), "{got:#?}");
    assert!(got[1].1.contains("division by a constant zero"), "{got:#?}");
}

#[test]
fn field_messages_read_from_the_document_show_what_cel_shows() {
    // `{{ doc.a.b }}` is read straight from the document; `{{ [doc.a.b][0] }}`
    // is the same value through CEL: both halves of each message must agree,
    // for every kind of value, missing data and errors included
    let c = Case::new();
    c.file(
        "doc.yaml",
        "kind: Thing\ns: text\nq: \"quoted: yes\"\nn: 42\nneg: -7\nb: true\nz: null\nt: ~\nf: 1.5\n\
         l: [1, two]\nm: {x: 1, a: [true]}\nnested: {inner: {name: deep}}\nempty:\n\
         items:\n  - name: one\n    port: 80\n  - name: two\n",
    );
    let fields = [
        "s",
        "q",
        "n",
        "neg",
        "b",
        "z",
        "t",
        "f",
        "l",
        "m",
        "nested.inner.name",
        "nested.inner",
        "missing",
        "nested.nope.x",
        "empty.x",
    ];
    let mut rules = String::new();
    for (i, f) in fields.iter().enumerate() {
        rules.push_str(&format!(
            "    - id: F{i}\n      deny: \"true\"\n      message: \"{{{{ doc.{f} }}}}|{{{{ [doc.{f}][0] }}}}\"\n"
        ));
    }
    rules.push_str(
        "    - id: ITEM\n      each: \"$.items[*]\"\n      deny: \"true\"\n      message: \"{{ item.name }}|{{ [item.name][0] }} {{ item.port }}|{{ [item.port][0] }}\"\n",
    );
    rules.push_str("    - id: ERR\n      deny: \"true\"\n      message: \"{{ doc.s.x }}\"\n");
    let r = c.run(&policy(&rules), &["doc.yaml"]);
    for (i, f) in fields.iter().enumerate() {
        let found: Vec<&Finding> = r.findings.iter().filter(|x| x.rule_id == format!("F{i}")).collect();
        assert_eq!(found.len(), 1, "doc.{f}: {:#?}", r.findings);
        let (fast, cel) = found[0].message.split_once('|').unwrap();
        assert_eq!(fast, cel, "doc.{f}");
    }
    let msg = |id: &str| r.findings.iter().find(|x| x.rule_id == id).map(|x| x.message.clone()).unwrap_or_default();
    assert_eq!(msg("F0"), "text|text");
    assert_eq!(msg("F2"), "42|42");
    assert_eq!(msg("F5"), "null|null");
    assert_eq!(msg("F12"), "<missing>|<missing>");
    let items: Vec<&str> = r.findings.iter().filter(|x| x.rule_id == "ITEM").map(|x| x.message.as_str()).collect();
    assert_eq!(items, ["one|one 80|80", "two|two <missing>|<missing>"]);
    // a selection on a string is an error, not text in the message
    let err: Vec<&Finding> = r.findings.iter().filter(|x| x.rule_id == "bylaw/eval-error").collect();
    assert_eq!(err.len(), 1, "{:#?}", r.findings);
    assert!(err[0].message.starts_with("rule ERR fired, but the message's `{{ doc.s.x }}`"), "{}", err[0].message);
}

#[test]
fn an_at_path_to_nothing_points_at_its_deepest_part_that_exists() {
    let c = Case::new();
    c.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n");
    let r = c.run(
        &policy(
            "    - id: JP\n      deny: \"true\"\n      at: \"$.data.nonexistent.deeper\"\n    - id: DOTTED\n      deny: \"true\"\n      at: \"data.nonexistent\"\n    - id: WILD\n      deny: \"true\"\n      at: \"$.data.*.x\"\n",
        ),
        &["cm.yaml"],
    );
    let at = |id: &str| {
        let f = r.findings.iter().find(|f| f.rule_id == id).unwrap();
        (f.pointer.clone(), f.location.start_line)
    };
    assert_eq!(at("JP"), ("/data".to_owned(), 5));
    assert_eq!(at("DOTTED"), ("/data".to_owned(), 5));
    // a path that is not singular names no one place: the document
    assert_eq!(at("WILD"), (String::new(), 1));
}

#[test]
fn variables_and_params_are_read_from_the_cel_syntax_tree() {
    let policy = |rules: &str| {
        format!(
            "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: t\nspec:\n  params:\n    max: 3\n  rules:\n{rules}"
        )
    };
    // names bound by comprehensions (one and two variables) are known; a
    // `params.x` inside a string literal is text, not a read
    let ok = common::compile_errors(
        "p.yaml",
        &policy(
            "    - id: A\n      deny: \"doc.spec.containers.all(c, c.image != 'params.nope') && doc.metadata.labels.all(k, v, k != v) && size(doc.x) > params.max\"\n",
        ),
    );
    assert!(ok.is_empty(), "{ok:#?}");
    // every spelling of an undeclared parameter is found
    for read in ["params.nope", "params['nope']", "params.?nope.orValue(1)"] {
        let errs = common::compile_errors("p.yaml", &policy(&format!("    - id: A\n      deny: \"{read} == 1\"\n")));
        assert!(errs.iter().any(|d| d.message.contains("`params.nope` is not declared")), "{read}: {errs:#?}");
    }
    // an unknown variable, with a suggestion
    let errs = common::compile_errors("p.yaml", &policy("    - id: A\n      deny: \"docs.kind == 'Pod'\"\n"));
    assert!(errs.iter().any(|d| d.message.contains("unknown variable `docs`")), "{errs:#?}");
}
