//! The GitLab CI template (`gitlab/bylaw.gitlab-ci.yml`), the CI/CD component
//! (`gitlab/templates/bylaw.yml`) and the examples under `examples/gitlab/`:
//! GitLab's CI schema as vendored by PyPI's check-jsonschema, the jobs'
//! contract (inputs, variables, rules, artifacts), and the jobs' shell run
//! against a local fake release directory holding a stand-in `bylaw`.

mod support;

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::tools::{check_jsonschema, root, sh};

const TEMPLATE: &str = "gitlab/bylaw.gitlab-ci.yml";
const COMPONENT: &str = "gitlab/templates/bylaw.yml";
const OUTPUTS: [&str; 6] =
    ["--sarif", "bylaw.sarif", "--junit", "bylaw-junit.xml", "--codequality", "gl-code-quality-report.json"];

/// `check-jsonschema --builtin-schema vendor.gitlab-ci FILE…`: exit code and output.
fn gitlab_ci_schema(files: &[PathBuf]) -> (i32, String) {
    let (code, out, err) = sh(Command::new(check_jsonschema())
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(files)
        .current_dir(root()));
    (code, format!("{out}{err}"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn yaml_docs(text: &str) -> Vec<Value> {
    let parsed = bylaw_engine::input::yaml::parse(text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    parsed.documents.iter().map(|d| d.to_json()).collect()
}

fn yaml(text: &str) -> Value {
    let docs = yaml_docs(text);
    assert_eq!(docs.len(), 1);
    docs.into_iter().next().unwrap()
}

/// The component split at its `---` line: the `spec:` header and the jobs, as
/// GitLab reads them (two YAML documents; the jobs are interpolated later).
fn component_parts() -> (String, String) {
    let text = read(COMPONENT);
    let at = text.find("\n---\n").expect("the component has a `---` line after its spec");
    (text[..at + 1].to_owned(), text[at + 5..].to_owned())
}

fn component_spec() -> Map<String, Value> {
    let (header, _) = component_parts();
    let spec = yaml(&header);
    assert_eq!(spec.as_object().unwrap().keys().collect::<Vec<_>>(), ["spec"], "the header holds only `spec`");
    spec["spec"]["inputs"].as_object().unwrap().clone()
}

/// GitLab's interpolation of `$[[ inputs.NAME ]]` in every key and string of
/// the jobs document, with the inputs' defaults overridden by `given`. Like
/// GitLab, an input the spec does not declare, or a value outside an input's
/// `options`, is an error.
fn interpolate(given: &[(&str, &str)]) -> Value {
    let spec = component_spec();
    let mut values: Map<String, Value> = spec.iter().map(|(k, v)| (k.clone(), v["default"].clone())).collect();
    for (k, v) in given {
        let input = spec.get(*k).unwrap_or_else(|| panic!("unknown input `{k}`"));
        if let Some(options) = input["options"].as_array() {
            assert!(options.contains(&Value::from(*v)), "`{k}`: `{v}` is not one of {options:?}");
        }
        values.insert((*k).to_owned(), Value::from(*v));
    }
    fn text(s: &str, values: &Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("$[[") {
            let end = start + rest[start..].find("]]").expect("unclosed $[[");
            let expr = rest[start + 3..end].trim();
            let name = expr.strip_prefix("inputs.").unwrap_or_else(|| panic!("not an input: {expr}"));
            let value = values.get(name).unwrap_or_else(|| panic!("`$[[ {expr} ]]`: no such input"));
            out.push_str(&rest[..start]);
            out.push_str(value.as_str().unwrap_or_else(|| panic!("{name}: {value} is not a string")));
            rest = &rest[end + 2..];
        }
        out + rest
    }
    fn walk(v: &Value, values: &Map<String, Value>) -> Value {
        match v {
            Value::String(s) => Value::String(text(s, values)),
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, values)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (text(k, values), walk(v, values))).collect()),
            other => other.clone(),
        }
    }
    let (_, jobs) = component_parts();
    walk(&yaml(&jobs), &values)
}

/// The one job of the interpolated component: its name and body.
fn component_job(given: &[(&str, &str)]) -> (String, Value) {
    let jobs = interpolate(given);
    let map = jobs.as_object().unwrap();
    assert_eq!(map.len(), 1, "one job: {:?}", map.keys());
    let (name, job) = map.iter().next().unwrap();
    (name.clone(), job.clone())
}

/// GitLab's `extends`: hashes merged deeply, everything else replaced.
fn merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = out.get(k).map_or_else(|| v.clone(), |old| merge(old, v));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, over) => over.clone(),
    }
}

fn template_job(doc: &Value, name: &str) -> Value {
    let job = &doc[name];
    match job["extends"].as_str() {
        Some(base) => {
            let mut own = job.clone();
            own.as_object_mut().unwrap().remove("extends");
            merge(&template_job(doc, base), &own)
        }
        None => job.clone(),
    }
}

fn lines(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect()
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

// ---- GitLab's CI schema ----

#[test]
fn template_component_and_examples_fit_gitlabs_ci_schema() {
    let mut files = vec![root().join(TEMPLATE)];
    for e in std::fs::read_dir(root().join("examples/gitlab")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            files.push(p);
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let (code, out) = gitlab_ci_schema(&files);
    assert_eq!(code, 0, "{files:?}:\n{out}");

    let dir = tempfile::tempdir().unwrap();
    // The schema lets hidden jobs hold anything: check `.bylaw` as a real job too.
    let mut doc = yaml(&read(TEMPLATE));
    let base = doc[".bylaw"].clone();
    doc.as_object_mut().unwrap().insert("bylaw-base-as-a-job".into(), base);
    let visible = write_json(dir.path(), "template-visible.json", &doc);

    // the component: its header and its jobs, each a document of its own ...
    let (header, jobs) = component_parts();
    let header_file = dir.path().join("component-header.yml");
    let jobs_file = dir.path().join("component-jobs.yml");
    std::fs::write(&header_file, header).unwrap();
    std::fs::write(&jobs_file, jobs).unwrap();
    // ... and the jobs after interpolation, with the defaults and with other values
    let defaults = write_json(dir.path(), "component-defaults.json", &interpolate(&[]));
    let chosen = write_json(
        dir.path(),
        "component-chosen.json",
        &interpolate(&[
            ("job-name", "policy-check"),
            ("stage", "verify"),
            ("image", "registry.example.com/tools/bylaw:0.1.0"),
            ("fail-on", "never"),
            ("status", "false"),
            ("expire-in", "1 week"),
        ]),
    );
    let files = [visible, header_file, jobs_file, defaults, chosen];
    let (code, out) = gitlab_ci_schema(&files);
    assert_eq!(code, 0, "{files:?}:\n{out}");

    // a broken job is caught (the check is real)
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "bylaw:\n  script: [bylaw]\n  artifacts:\n    reports:\n      codequality: 3\n").unwrap();
    let (code, out) = gitlab_ci_schema(&[bad]);
    assert_ne!(code, 0, "{out}");
    let bad = dir.path().join("bad-key.yml");
    std::fs::write(&bad, "bylaw:\n  script: [bylaw]\n  artefacts:\n    paths: [bylaw.sarif]\n").unwrap();
    let (code, out) = gitlab_ci_schema(&[bad]);
    assert_ne!(code, 0, "{out}");
}

// ---- the contract: inputs, variables, rules, artifacts ----

#[test]
fn component_inputs_are_the_contract() {
    let spec = component_spec();
    let default = |name: &str| spec.get(name).unwrap_or_else(|| panic!("input {name} missing"))["default"].clone();
    for (name, value) in [
        ("job-name", "bylaw"),
        ("stage", "test"),
        ("image", "buildpack-deps:bookworm-scm"),
        ("version", env!("CARGO_PKG_VERSION")),
        ("releases-url", "https://github.com/bylaw-dev/bylaw/releases/download"),
        ("policies", ""),
        ("paths", ""),
        ("config", ""),
        ("env", ""),
        ("fail-on", ""),
        ("exceptions", ""),
        ("note", "on-failure"),
        ("status", "true"),
        ("policy-ref", "head"),
        ("args", ""),
        ("expire-in", "30 days"),
    ] {
        assert_eq!(default(name), value, "default of {name}");
    }
    assert_eq!(spec.len(), 16, "{:?}", spec.keys());
    for (name, input) in &spec {
        assert!(input["description"].as_str().is_some_and(|d| !d.is_empty()), "{name} has no description");
        if let Some(options) = input["options"].as_array() {
            assert!(options.contains(&input["default"]), "{name}: the default is one of the options");
        }
    }
    let options = |name: &str| spec[name]["options"].clone();
    assert_eq!(options("fail-on"), serde_json::json!(["", "blocking", "advisory", "never"]));
    assert_eq!(options("note"), serde_json::json!(["always", "on-failure", "never"]));
    assert_eq!(options("policy-ref"), serde_json::json!(["head", "base"]));
    assert_eq!(options("status"), serde_json::json!(["true", "false"]));

    // every input reaches the job, as the template's variable of the same name
    let (_, jobs) = component_parts();
    let raw = yaml(&jobs);
    let (name, job) = raw.as_object().unwrap().iter().next().unwrap();
    assert_eq!(name, "$[[ inputs.job-name ]]");
    assert_eq!(job["stage"], "$[[ inputs.stage ]]");
    assert_eq!(job["image"], "$[[ inputs.image ]]");
    assert_eq!(job["artifacts"]["expire_in"], "$[[ inputs.expire-in ]]");
    let vars = job["variables"].as_object().unwrap();
    let template = yaml(&read(TEMPLATE));
    let globals = template["variables"].as_object().unwrap();
    for name in spec.keys().filter(|n| !["job-name", "stage", "image", "expire-in"].contains(&n.as_str())) {
        let var = format!("BYLAW_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(vars[&var], format!("$[[ inputs.{name} ]]"), "{var}");
        assert_eq!(globals[&var], default(name), "the template's {var} has the component's default");
    }
    assert_eq!(globals["BYLAW_IMAGE"], default("image"));
    assert_eq!(template[".bylaw"]["image"], "$BYLAW_IMAGE");
    assert_eq!(vars.len(), 13, "{:?}", vars.keys());
    assert_eq!(globals.len(), 13, "{:?}", globals.keys());

    // the examples only use what the template and the component declare
    let example = yaml(&read("examples/gitlab/component.gitlab-ci.yml"));
    let includes = example["include"].as_array().unwrap();
    assert!(!includes.is_empty());
    for include in includes {
        assert_eq!(include["file"], COMPONENT);
        assert_eq!(include["ref"], format!("v{}", env!("CARGO_PKG_VERSION")), "pinned to this release");
        let given: Vec<(&str, &str)> =
            include["inputs"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        interpolate(&given); // panics on an unknown input or a value outside the options
    }
    let example = yaml(&read("examples/gitlab/include-template.gitlab-ci.yml"));
    let pinned = format!("/v{}/gitlab/bylaw.gitlab-ci.yml", env!("CARGO_PKG_VERSION"));
    assert!(example["include"][0]["remote"].as_str().unwrap().ends_with(&pinned), "pinned to this release");
    let mut used: Vec<&String> = example["variables"].as_object().unwrap().keys().collect();
    used.extend(example["bylaw-prod"]["variables"].as_object().unwrap().keys());
    for var in used {
        assert!(globals.contains_key(var), "{var} is not a variable of the template");
    }
}

#[test]
fn jobs_run_in_merge_request_and_branch_pipelines_and_publish_their_reports() {
    let template = yaml(&read(TEMPLATE));
    let job = template_job(&template, "bylaw");
    let (name, component) = component_job(&[]);
    assert_eq!(name, "bylaw");
    for (job, image) in [(&job, "$BYLAW_IMAGE"), (&component, "buildpack-deps:bookworm-scm")] {
        let rules = job["rules"].as_array().unwrap();
        assert_eq!(
            rules,
            &vec![
                serde_json::json!({"if": "$CI_PIPELINE_SOURCE == \"merge_request_event\""}),
                serde_json::json!({"if": "$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS", "when": "never"}),
                serde_json::json!({"if": "$CI_COMMIT_BRANCH"}),
            ],
            "merge request pipelines, and branch pipelines without an open merge request (no tags)"
        );
        let artifacts = &job["artifacts"];
        assert_eq!(artifacts["when"], "always");
        assert_eq!(artifacts["expire_in"], "30 days");
        assert_eq!(artifacts["reports"]["junit"], "bylaw-junit.xml");
        assert_eq!(artifacts["reports"]["codequality"], "gl-code-quality-report.json");
        assert_eq!(
            artifacts["paths"],
            serde_json::json!(["bylaw.sarif", "bylaw-junit.xml", "gl-code-quality-report.json"])
        );
        assert_eq!(job["stage"], "test");
        assert_eq!(job["image"], image);
        assert_eq!(job["variables"]["GIT_DEPTH"], "0", "--policy-ref base reads the diff base");
        assert_eq!(job["needs"], serde_json::json!([]));
        assert_eq!(job["interruptible"], true);
    }
}

#[test]
fn template_and_component_run_the_same_shell() {
    let template = yaml(&read(TEMPLATE));
    let job = template_job(&template, "bylaw");
    let (_, component) = component_job(&[]);
    for key in ["before_script", "script"] {
        assert_eq!(lines(&job[key]), lines(&component[key]), "{key} differs between {TEMPLATE} and {COMPONENT}");
        assert!(!lines(&job[key]).concat().contains("$[["), "{key} reads variables, never inputs");
    }
}

// ---- the jobs' shell against a fake release ----

fn target() -> String {
    let os = if cfg!(target_os = "macos") { "apple-darwin" } else { "unknown-linux-gnu" };
    format!("{}-{os}", std::env::consts::ARCH)
}

fn chmod_x(path: &Path) {
    let (code, _, err) = sh(Command::new("chmod").arg("+x").arg(path));
    assert_eq!(code, 0, "{err}");
}

/// A release directory `v0.1.0/` holding this machine's asset and
/// `SHA256SUMS`. The asset's `bylaw` is a stand-in that answers `--version`
/// like bylaw, and otherwise writes its arguments, one per line, to `argv`
/// and exits with `exit`: copying the real debug binary around would make
/// these tests slow, and the job's shell is what is under test.
struct Release {
    dir: tempfile::TempDir,
}

impl Release {
    fn new(exit: i32) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let rel = dir.path().join("v0.1.0");
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(&rel).unwrap();
        std::fs::create_dir_all(&stage).unwrap();
        let argv = dir.path().join("argv");
        Release::stand_in(&stage.join("bylaw"), &argv, exit);
        let asset = format!("bylaw-{}.tar.gz", target());
        let (code, _, err) =
            sh(Command::new("tar").arg("-czf").arg(rel.join(&asset)).arg("-C").arg(&stage).arg("bylaw"));
        assert_eq!(code, 0, "{err}");
        let (code, sums, err) = sh(Command::new("sha256sum").arg(&asset).current_dir(&rel));
        assert_eq!(code, 0, "{err}");
        // the other targets' lines come first: the job picks its own
        let other = format!("{}  bylaw-riscv64gc-unknown-linux-gnu.tar.gz\n", "ab".repeat(32));
        std::fs::write(rel.join("SHA256SUMS"), other + &sums).unwrap();
        Release { dir }
    }

    fn stand_in(path: &Path, argv: &Path, exit: i32) {
        std::fs::write(
            path,
            format!(
                "#!/bin/sh\n\
                 if [ \"$1\" = --version ]; then echo 'bylaw 0.1.0'; exit 0; fi\n\
                 printf '%s\\n' \"$@\" > '{}'\n\
                 exit {exit}\n",
                argv.display()
            ),
        )
        .unwrap();
        chmod_x(path);
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    fn asset(&self) -> PathBuf {
        self.dir.path().join("v0.1.0").join(format!("bylaw-{}.tar.gz", target()))
    }

    /// The arguments bylaw was run with; None when it did not run.
    fn argv(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join("argv")).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }
}

struct Run {
    code: i32,
    out: String,
}

/// Runs a job's `before_script` and `script` the way a GitLab runner does:
/// in one shell (`bash` with `set -eo pipefail`, or `sh` with `set -e`), in
/// the project directory, with CI variables and the job's `variables`.
fn run_job(job: &Value, shell: &str, vars: &[(&str, &str)], path: &str) -> Run {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(project.join("k8s")).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    // a file a shell glob would expand to: lists reach bylaw unexpanded
    std::fs::write(project.join("k8s/app.yaml"), "kind: Pod\n").unwrap();
    let set = if shell == "bash" { "set -eo pipefail" } else { "set -e" };
    let mut script = vec![set.to_owned()];
    script.extend(lines(&job["before_script"]));
    script.extend(lines(&job["script"]));
    let file = work.path().join("job.sh");
    std::fs::write(&file, script.join("\n")).unwrap();
    let mut c = Command::new(shell);
    c.arg(&file).current_dir(&project).env_clear();
    c.env("PATH", path)
        .env("HOME", work.path())
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_DIR", &project)
        .env("CI_API_V4_URL", "https://gitlab.example.com/api/v4")
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_MERGE_REQUEST_IID", "7")
        .env("BYLAW_GITLAB_TOKEN", "glpat-not-a-real-token");
    for (k, v) in job["variables"].as_object().unwrap() {
        c.env(k, v.as_str().unwrap());
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    let (code, stdout, stderr) = sh(&mut c);
    assert!(!stdout.contains("glpat-") && !stderr.contains("glpat-"), "the token is never printed");
    Run { code, out: format!("{stdout}{stderr}") }
}

/// The template's `bylaw` job with its global variables, overridden by `vars`
/// as a project's own `variables:` would.
fn run_template(release: &Release, shell: &str, vars: &[(&str, &str)]) -> Run {
    let template = yaml(&read(TEMPLATE));
    let mut job = template_job(&template, "bylaw");
    let mut variables = template["variables"].clone();
    variables.as_object_mut().unwrap().insert("BYLAW_RELEASES_URL".into(), release.url().into());
    for (k, v) in job["variables"].as_object().unwrap() {
        variables.as_object_mut().unwrap().insert(k.clone(), v.clone());
    }
    job["variables"] = variables;
    run_job(&job, shell, vars, "/usr/bin:/bin")
}

fn run_component(release: &Release, inputs: &[(&str, &str)]) -> Run {
    let url = release.url();
    let mut given = vec![("releases-url", url.as_str())];
    given.extend_from_slice(inputs);
    let (_, job) = component_job(&given);
    run_job(&job, "bash", &[], "/usr/bin:/bin")
}

fn command(args: &[&str]) -> Vec<String> {
    ["ci", "gitlab"].iter().chain(args).map(|s| s.to_string()).collect()
}

fn installed_and_verified(run: &Run) {
    assert!(run.out.contains(&format!("bylaw-{}.tar.gz: OK", target())), "{}", run.out);
    assert!(run.out.contains("bylaw: installed bylaw 0.1.0 at "), "{}", run.out);
}

#[test]
fn template_job_installs_the_verified_release_and_runs_what_the_variables_ask() {
    for shell in ["bash", "sh"] {
        // the defaults: everything else comes from .bylaw.yaml
        let release = Release::new(0);
        let run = run_template(&release, shell, &[]);
        assert_eq!(run.code, 0, "{shell}: {}", run.out);
        installed_and_verified(&run);
        let mut expected = command(&["--note", "on-failure", "--status", "true", "--policy-ref", "head"]);
        expected.extend(OUTPUTS.map(String::from));
        assert_eq!(release.argv().unwrap(), expected, "{shell}");

        // every variable set
        let release = Release::new(0);
        let run = run_template(
            &release,
            shell,
            &[
                ("BYLAW_POLICIES", "policies/base.yaml\n  policies/team rules\npack:kubernetes\n"),
                ("BYLAW_PATHS", "deploy, k8s/*.yaml"),
                ("BYLAW_CONFIG", "ci/bylaw.yaml"),
                ("BYLAW_ENV", "prod"),
                ("BYLAW_FAIL_ON", "advisory"),
                ("BYLAW_EXCEPTIONS", "exceptions.yaml exceptions/prod.yaml"),
                ("BYLAW_NOTE", "always"),
                ("BYLAW_STATUS", "false"),
                ("BYLAW_POLICY_REF", "base"),
                ("BYLAW_ARGS", "--changed-only  --expiring-days 30"),
                ("BYLAW_VERSION", "v0.1.0"),
            ],
        );
        assert_eq!(run.code, 0, "{shell}: {}", run.out);
        installed_and_verified(&run);
        let mut expected = command(&[
            "--policy",
            "policies/base.yaml",
            "--policy",
            "policies/team rules",
            "--policy",
            "pack:kubernetes",
            "--exceptions",
            "exceptions.yaml",
            "--exceptions",
            "exceptions/prod.yaml",
            "--config",
            "ci/bylaw.yaml",
            "--env",
            "prod",
            "--fail-on",
            "advisory",
            "--note",
            "always",
            "--status",
            "false",
            "--policy-ref",
            "base",
        ]);
        expected.extend(OUTPUTS.map(String::from));
        expected.extend(["--changed-only", "--expiring-days", "30", "deploy", "k8s/*.yaml"].map(String::from));
        assert_eq!(release.argv().unwrap(), expected, "{shell}");
        assert!(run.out.contains("bylaw: bylaw ci gitlab --policy policies/base.yaml"), "{}", run.out);
    }
}

#[test]
fn component_job_runs_what_the_inputs_ask() {
    let release = Release::new(0);
    let run = run_component(&release, &[]);
    assert_eq!(run.code, 0, "{}", run.out);
    installed_and_verified(&run);
    let mut expected = command(&["--note", "on-failure", "--status", "true", "--policy-ref", "head"]);
    expected.extend(OUTPUTS.map(String::from));
    assert_eq!(release.argv().unwrap(), expected);

    let release = Release::new(0);
    let run = run_component(
        &release,
        &[
            ("policies", "policies"),
            ("paths", "deploy\nk8s/app.yaml\n"),
            ("env", "staging"),
            ("fail-on", "never"),
            ("exceptions", "exceptions.yaml"),
            ("note", "never"),
            ("status", "false"),
            ("policy-ref", "base"),
            ("args", "--changed-only"),
            ("version", "0.1.0"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.out);
    installed_and_verified(&run);
    let mut expected = command(&[
        "--policy",
        "policies",
        "--exceptions",
        "exceptions.yaml",
        "--env",
        "staging",
        "--fail-on",
        "never",
        "--note",
        "never",
        "--status",
        "false",
        "--policy-ref",
        "base",
    ]);
    expected.extend(OUTPUTS.map(String::from));
    expected.extend(["--changed-only", "deploy", "k8s/app.yaml"].map(String::from));
    assert_eq!(release.argv().unwrap(), expected);
}

#[test]
fn a_tampered_or_missing_release_fails_the_job() {
    // the asset is not the one SHA256SUMS describes
    let release = Release::new(0);
    let evil = release.dir.path().join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    Release::stand_in(&evil.join("bylaw"), &release.dir.path().join("argv"), 0);
    let script = std::fs::read_to_string(evil.join("bylaw")).unwrap();
    std::fs::write(evil.join("bylaw"), script + "# and something else\n").unwrap();
    let (code, _, err) = sh(Command::new("tar").arg("-czf").arg(release.asset()).arg("-C").arg(&evil).arg("bylaw"));
    assert_eq!(code, 0, "{err}");
    for shell in ["bash", "sh"] {
        let run = run_template(&release, shell, &[]);
        assert_eq!(run.code, 1, "{shell}: {}", run.out);
        assert!(run.out.contains(&format!("checksum mismatch for bylaw-{}.tar.gz", target())), "{}", run.out);
        assert!(release.argv().is_none(), "bylaw never ran");
    }
    let run = run_component(&release, &[]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("checksum mismatch"), "{}", run.out);
    assert!(release.argv().is_none());

    // SHA256SUMS does not list this machine's asset
    let release = Release::new(0);
    let sums = release.dir.path().join("v0.1.0/SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, text.lines().next().unwrap().to_owned() + "\n").unwrap();
    let run = run_template(&release, "bash", &[]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains(&format!("SHA256SUMS of v0.1.0 lists no bylaw-{}.tar.gz", target())), "{}", run.out);
    assert!(release.argv().is_none());

    // no such release
    let release = Release::new(0);
    let run = run_template(&release, "bash", &[("BYLAW_VERSION", "9.9.9")]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("bylaw: cannot download file://"), "{}", run.out);
    assert!(release.argv().is_none());
}

#[test]
fn bylaws_exit_code_is_the_jobs() {
    for exit in [1, 2] {
        let release = Release::new(exit);
        let run = run_template(&release, "bash", &[]);
        assert_eq!(run.code, exit, "{}", run.out);
        assert!(release.argv().is_some(), "bylaw ran");
        let release = Release::new(exit);
        let run = run_component(&release, &[]);
        assert_eq!(run.code, exit, "{}", run.out);
        assert!(release.argv().is_some());
    }
}

#[test]
fn a_bylaw_on_path_is_used_without_downloading() {
    let release = Release::new(0);
    let bin = release.dir.path().join("image-bin");
    std::fs::create_dir_all(&bin).unwrap();
    Release::stand_in(&bin.join("bylaw"), &release.dir.path().join("argv"), 0);
    let template = yaml(&read(TEMPLATE));
    let mut job = template_job(&template, "bylaw");
    job["variables"] = template["variables"].clone();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let run = run_job(&job, "bash", &[("BYLAW_RELEASES_URL", "file:///nonexistent")], &path);
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(run.out.contains(&format!("bylaw: using {}/bylaw: bylaw 0.1.0", bin.display())), "{}", run.out);
    assert!(!run.out.contains("downloading"), "{}", run.out);
    assert_eq!(release.argv().unwrap()[..2], ["ci", "gitlab"]);
}

#[test]
fn bylaw_init_for_gitlab_and_jenkins_uses_the_template_and_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let init = |platform: &str| {
        let (code, out, err) = sh(Command::new(env!("CARGO_BIN_EXE_bylaw"))
            .args(["init", "--force", "--platform", platform])
            .current_dir(dir.path())
            .env_clear());
        assert_eq!(code, 0, "{out}{err}");
    };
    init("gitlab");
    let file = dir.path().join(".gitlab/bylaw.gitlab-ci.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(text.contains(&format!("/v{version}/{TEMPLATE}")), "{text}");
    let (code, out, err) =
        sh(Command::new(check_jsonschema()).args(["--builtin-schema", "vendor.gitlab-ci"]).arg(&file));
    assert_eq!(code, 0, "{out}{err}");
    init("jenkins");
    let text = std::fs::read_to_string(dir.path().join("Jenkinsfile.bylaw")).unwrap();
    assert!(text.contains("@Library('bylaw') _") && text.contains(&format!("bylaw(version: '{version}'")), "{text}");
}
