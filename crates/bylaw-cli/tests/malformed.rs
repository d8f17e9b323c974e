//! Every kind of malformed input, in one table (issue 14, item 8; DESIGN §7
//! and §10): broken or hostile input files, broken policies, the other
//! files bylaw reads (exception lists, config, tests, audit logs), and
//! outputs that cannot be written. Each row builds a small repository in a
//! temporary directory, runs the binary once — killed after [`HANG_AFTER`],
//! so a hang fails the row instead of stalling CI — and asserts the exit
//! code and the exact located message bylaw prints, plus, where it matters,
//! what it wrote.
//!
//! Every row starts from the same repository: a `.bylaw.yaml` naming
//! `policies/`, one advisory rule (P-001, privileged containers) and
//! `good.yaml`, whose finding ([`GOOD`]) shows that the other files of a run
//! are still evaluated. The rule is advisory so the exit code says what the
//! malformed file did: 1 for a parse error (blocking), 0 for a file that is
//! skipped with a warning, 2 for a policy, config or usage error.
//!
//! Some kinds have their own, longer tests elsewhere (`inputs.rs`,
//! `realworld.rs`, unit tests beside the parsers); this table is the one
//! place that lists them all.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use support::cli::{command, run_bounded, Out};

/// How long one run may take before the row is failed as hung. Every run
/// here takes well under a second; the margin is for a loaded CI machine.
const HANG_AFTER: Duration = Duration::from_secs(20);

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: pods, type: security }
spec:
  enforcement: advisory
  rules:
    - id: P-001
      title: No privileged containers
      severity: high
      each: "$.spec.containers[*]"
      deny: "item.securityContext.privileged == true"
      at: securityContext.privileged
      message: "container {{ item.name }} runs privileged"
"#;

const POD: &str = "apiVersion: v1
kind: Pod
metadata: { name: good }
spec:
  containers:
    - name: a
      securityContext: { privileged: true }
";

/// The finding of `good.yaml`: the run went on past the malformed file.
const GOOD: &str = "- good.yaml:7:26: warning [P-001] container a runs privileged";

/// A policy file with one rule whose lines 9 and 10 are `body` (so every
/// CEL or JSONPath error below is on line 9 or 10).
fn policy(body: &str) -> String {
    format!(
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {{ name: bad, type: security }}\nspec:\n  rules:\n    - id: R-1\n      title: t\n      severity: high\n{body}"
    )
}

/// What a row puts in its repository.
enum Entry {
    Text(String),
    Bytes(Vec<u8>),
    #[cfg(unix)]
    Fifo,
    #[cfg(unix)]
    Symlink(&'static str),
}

type Check = Box<dyn Fn(&Path, &Out) -> Result<(), String> + Send + Sync>;
type Prepare = Box<dyn Fn(&Path) + Send + Sync>;

/// One row: the files, the command line, and what must come out.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Entry)>,
    prepare: Option<Prepare>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    /// Standard output goes here instead of being captured (`/dev/full`).
    stdout_to: Option<&'static str>,
    code: i32,
    stdout: Vec<String>,
    stderr: Vec<String>,
    then: Option<Check>,
}

/// A row on the common repository.
fn case(name: &'static str) -> Case {
    Case {
        name,
        files: vec![
            (".bylaw.yaml", Entry::Text("policies: [policies/]\n".into())),
            ("policies/pods.yaml", Entry::Text(POLICY.into())),
            ("good.yaml", Entry::Text(POD.into())),
        ],
        prepare: None,
        args: vec!["check".into()],
        stdin: None,
        stdout_to: None,
        code: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
        then: None,
    }
}

impl Case {
    fn file(mut self, path: &'static str, text: impl Into<String>) -> Case {
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, Entry::Text(text.into())));
        self
    }
    fn bytes(mut self, path: &'static str, bytes: impl Into<Vec<u8>>) -> Case {
        self.files.push((path, Entry::Bytes(bytes.into())));
        self
    }
    #[cfg(unix)]
    fn fifo(mut self, path: &'static str) -> Case {
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, Entry::Fifo));
        self
    }
    #[cfg(unix)]
    fn symlink(mut self, path: &'static str, target: &'static str) -> Case {
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, Entry::Symlink(target)));
        self
    }
    /// Runs before the row's command (e.g. earlier runs that write a log).
    fn prepare(mut self, f: impl Fn(&Path) + Send + Sync + 'static) -> Case {
        self.prepare = Some(Box::new(f));
        self
    }
    fn args(mut self, args: &[&str]) -> Case {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(bytes.into());
        self
    }
    fn stdout_to(mut self, path: &'static str) -> Case {
        self.stdout_to = Some(path);
        self
    }
    fn code(mut self, code: i32) -> Case {
        self.code = code;
        self
    }
    /// A fragment standard output must hold.
    fn out(mut self, fragment: impl Into<String>) -> Case {
        self.stdout.push(fragment.into());
        self
    }
    /// A fragment standard error must hold.
    fn err(mut self, fragment: impl Into<String>) -> Case {
        self.stderr.push(fragment.into());
        self
    }
    /// More assertions on what the run left in the repository.
    fn then(mut self, f: impl Fn(&Path, &Out) -> Result<(), String> + Send + Sync + 'static) -> Case {
        self.then = Some(Box::new(f));
        self
    }

    /// Builds the repository, runs the row, and says what went wrong.
    fn run(&self) -> Result<(), String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = tmp.path();
        for (path, entry) in &self.files {
            let p = d.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).map_err(|e| e.to_string())?;
            match entry {
                Entry::Text(t) => std::fs::write(&p, t).map_err(|e| e.to_string())?,
                Entry::Bytes(b) => std::fs::write(&p, b).map_err(|e| e.to_string())?,
                #[cfg(unix)]
                Entry::Fifo => mkfifo(&p),
                #[cfg(unix)]
                Entry::Symlink(target) => std::os::unix::fs::symlink(target, &p).map_err(|e| e.to_string())?,
            }
        }
        if let Some(f) = &self.prepare {
            f(d);
        }
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut c = command(d, &args);
        match self.stdout_to {
            Some(to) => c.stdout(std::fs::OpenOptions::new().write(true).open(to).map_err(|e| e.to_string())?),
            None => c.stdout(std::process::Stdio::piped()),
        };
        let out = run_bounded(c, self.stdin.as_deref(), HANG_AFTER)?;
        let shown = || format!("exit {}\n--- stdout\n{}--- stderr\n{}", out.code, out.stdout, out.stderr);
        if out.code != self.code {
            return Err(format!("expected exit {}\n{}", self.code, shown()));
        }
        for f in &self.stdout {
            if !out.stdout.contains(f.as_str()) {
                return Err(format!("stdout lacks {f:?}\n{}", shown()));
            }
        }
        for f in &self.stderr {
            if !out.stderr.contains(f.as_str()) {
                return Err(format!("stderr lacks {f:?}\n{}", shown()));
            }
        }
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if text.contains("panicked") || text.contains("<error:") {
                return Err(format!("{stream} shows a panic or an `<error:` text\n{}", shown()));
            }
        }
        match &self.then {
            Some(f) => f(d, &out).map_err(|e| format!("{e}\n{}", shown())),
            None => Ok(()),
        }
    }
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo").arg(p).status().is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", p.display());
}

/// `bylaw ARGS` in `dir` (for a row's preparation), which must exit `code`.
fn bylaw(dir: &Path, args: &[&str], code: i32) {
    let mut c = command(dir, args);
    c.stdout(std::process::Stdio::piped());
    let out = run_bounded(c, None, HANG_AFTER).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(out.code, code, "{args:?}\n{}\n{}", out.stdout, out.stderr);
}

fn read(d: &Path, rel: &str) -> Result<String, String> {
    std::fs::read_to_string(d.join(rel)).map_err(|e| format!("{rel}: {e}"))
}

fn json(d: &Path, rel: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&read(d, rel)?).map_err(|e| format!("{rel}: {e}"))
}

fn ensure(ok: bool, what: impl std::fmt::Display) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// `depth` levels of block mappings, one key per line.
fn block_nesting(depth: usize) -> String {
    (0..depth).map(|i| format!("{}k:\n", "  ".repeat(i))).collect()
}

/// Nine anchors, each a list of nine aliases of the one before: 9^9 nodes
/// once expanded ("billion laughs").
fn yaml_bomb() -> String {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s
}

fn inputs() -> Vec<Case> {
    let parse_error = |at: &str, what: &str| format!("- {at}: error [bylaw/parse-error] {what}");
    vec![
        case("invalid YAML: a syntax error at its line and column")
            .file("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a: b\n")
            .code(1)
            .out(parse_error("bad.yaml:4:10", "invalid YAML: mapping values are not allowed in this context"))
            .out(GOOD),
        case("invalid JSON: located in characters, not bytes")
            .file("bad.json", "{\"kind\": \"Pöd\",\n \"métadata\": }\n")
            .code(1)
            .out(parse_error("bad.json:2:14", "invalid JSON: expected value"))
            .out(GOOD),
        case("a duplicate mapping key")
            .file("dup.yaml", "a: 1\nb: 2\na: 3\n")
            .code(1)
            .out(parse_error("dup.yaml:3:1", "invalid YAML: duplicate key `a` in this mapping (first defined at line 1)"))
            .out(GOOD),
        case("a document holding an unrendered template")
            .file("tmpl.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n")
            .err("warning: 1 document with unrendered `{{ }}` templates not evaluated (tmpl.yaml): render them and pipe the output to `bylaw check -`")
            .out("1 template")
            .out(GOOD),
        case("empty and comment-only files")
            .file("empty.yaml", "")
            .file("blank.json", " \n")
            .file("comment.yaml", "\n# nothing yet\n")
            .out("skipped 5 files: 3 empty, 2 bylaw's own file")
            .out(GOOD),
        case("an empty file named on the command line")
            .file("empty.yaml", "")
            .args(&["check", "empty.yaml"])
            .err("warning: empty.yaml: empty (no document, only blank lines or comments): nothing to check"),
        case("a file over max_file_size: bylaw/input-too-large")
            .file(".bylaw.yaml", "policies: [policies/]\nmax_file_size: 200\n")
            .file("big.yaml", "a: 1\n".repeat(100))
            .code(1)
            .out("- big.yaml:1:1: error [bylaw/input-too-large] not evaluated: the file is 500 bytes, over the limit of 200 bytes")
            .out("1 too large")
            .out(GOOD),
        case("standard input over max_file_size")
            .file(".bylaw.yaml", "policies: [policies/]\nmax_file_size: 200\n")
            .args(&["check", "-"])
            .stdin("a: 1\n".repeat(100))
            .code(2)
            .err("error: standard input is over the size limit of 200 bytes: not evaluated"),
        case("a YAML bomb: alias expansion is capped")
            .file("bomb.yaml", yaml_bomb())
            .code(1)
            .out(parse_error("bomb.yaml:6:10", "invalid YAML: alias expansion creates more than 100000 nodes in this file (possible \"billion laughs\" document)"))
            .out(GOOD),
        case("deep nesting: flow collections, block mappings, JSON")
            .file("flow.yaml", format!("a: {}{}\n", "[".repeat(300), "]".repeat(300)))
            .file("block.yaml", block_nesting(300))
            .file("deep.json", format!("{}1{}\n", "{\"a\": ".repeat(300), "}".repeat(300)))
            .code(1)
            .out(parse_error("flow.yaml:1:259", "invalid YAML: flow collections (`[`, `{`) nested deeper than 255 levels"))
            .out(parse_error("block.yaml:257:513", "invalid YAML: nesting deeper than 256 levels"))
            .out(parse_error("deep.json:1:1537", "invalid JSON: nesting deeper than 256 levels"))
            .out(GOOD),
        case("a mapping with 150,000 keys finishes")
            .file("many.yaml", (0..150_000).map(|i| format!("k{i}: {i}\n")).collect::<String>())
            .out("checked 2 files (2 documents)")
            .out(GOOD),
        case("a byte order mark: skipped at the start, an error inside")
            .file("bom.yaml", format!("\u{feff}{}", POD.replace("good", "bom")))
            .file("inside.yaml", "a: 1\n\u{feff}b: 2\n")
            .code(1)
            .out("- bom.yaml:7:26: warning [P-001] container a runs privileged")
            .out(parse_error("inside.yaml:2:1", "invalid YAML: a byte order mark must not appear inside a document"))
            .out(GOOD),
        case("invalid UTF-8 and UTF-16: located at the first bad byte")
            .bytes("latin1.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: { name: \"caf\xe9\" }\n".to_vec())
            .bytes("utf16.yaml", vec![0xff, 0xfe, b'a', 0, b':', 0, b' ', 0, b'1', 0, b'\n', 0])
            .code(1)
            .out(parse_error("latin1.yaml:3:23", "the file is not valid UTF-8: byte 0xE9 here is not part of a UTF-8 character (bylaw reads UTF-8: re-encode the file)"))
            .out(parse_error("utf16.yaml:1:1", "the file is UTF-16 (it starts with a UTF-16 byte order mark); bylaw reads UTF-8: re-encode it (`iconv -f UTF-16 -t UTF-8`)"))
            .out(GOOD),
        case("invalid UTF-8 on standard input")
            .args(&["check", "-"])
            .stdin(b"a: caf\xe9\n".to_vec())
            .code(2)
            .err("error: cannot read standard input: at line 1, column 7: it is not valid UTF-8: byte 0xE9 here is not part of a UTF-8 character (bylaw reads UTF-8: re-encode it)"),
        case("NUL bytes, in a plain and in a quoted scalar")
            .bytes("nul.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: { name: a\x00b }\n".to_vec())
            .code(1)
            .bytes("quoted.yaml", b"a: 1\nb: \"x\x00y\"\n".to_vec())
            .out(parse_error("nul.yaml:3:20", "invalid YAML: found unprintable character U+0000 (YAML allows no control characters but tab and line breaks)"))
            .out(parse_error("quoted.yaml:2:6", "invalid YAML: found unprintable character U+0000"))
            .out(GOOD),
        case("NEL, LS and PS: read as go-yaml does, located on the lines an editor shows")
            .file(
                "seps.yaml",
                "apiVersion: v1\nkind: Pod # x\u{85}metadata: { name: s }\u{2028}spec:\n  containers:\n    - name: a\u{2029}      securityContext: { privileged: true }\n",
            )
            .file("seps.json", "{\"kind\": \"Pod\\u2028\",\u{2028}\"spec\": {}}\n")
            .code(1)
            .out("- seps.yaml:4:40: warning [P-001] container a runs privileged")
            .out(parse_error("seps.json:1:22", "invalid JSON: key must be a string"))
            .out(GOOD),
        #[cfg(unix)]
        case("a FIFO, a symlink loop and a broken symlink among the inputs")
            .fifo("fifo.yaml")
            .symlink("loop.yaml", "loop.yaml")
            .symlink("broken.yaml", "nowhere.yaml")
            .out("skipped 5 files: 2 bylaw's own file, 2 unreadable, 1 not a regular file")
            .err("warning: broken.yaml: a broken symlink (its target nowhere.yaml does not exist): not read")
            .err("warning: loop.yaml: a symlink loop (the link leads back to itself): not read")
            .err("warning: fifo.yaml: a FIFO: not read")
            .out(GOOD),
        #[cfg(unix)]
        case("a FIFO named on the command line")
            .fifo("fifo.yaml")
            .args(&["check", "fifo.yaml", "good.yaml"])
            .code(2)
            .err("error: not a regular file: fifo.yaml (a FIFO)"),
        #[cfg(unix)]
        case("a device named on the command line, through a symlink")
            .symlink("zero.yaml", "/dev/zero")
            .args(&["check", "zero.yaml"])
            .code(2)
            .err("error: not a regular file: zero.yaml (a character device)"),
    ]
}

fn policies() -> Vec<Case> {
    let check_with = |file: &str| -> Vec<String> { ["check", "good.yaml", "-p", file].map(String::from).to_vec() };
    let failed = |c: Case| {
        let c = Case { args: check_with("bad.yaml"), ..c };
        c.code(2).err("nothing was evaluated")
    };
    vec![
        failed(case("policy YAML syntax error"))
            .file("bad.yaml", "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: syn\n  type: x\n")
            .err("error[yaml]: invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'\n --> bad.yaml:4:7\n"),
        failed(case("policy with an unknown field"))
            .file("bad.yaml", policy("      deny: \"true\"\n      mesage: m\n"))
            .err("error[schema]: unknown key `mesage` in `spec.rules[0]`\n  --> bad.yaml:10:7\n")
            .err("= hint: did you mean `message`?"),
        failed(case("CEL syntax error"))
            .file("bad.yaml", policy("      deny: \"doc.a == = 1\"\n      message: m\n"))
            .err("error[cel]: invalid CEL expression: token recognition error at: '= '\n --> bad.yaml:9:23\n"),
        failed(case("CEL nested deeper than the limit (200 parentheses)"))
            .file("bad.yaml", policy(&format!("      deny: \"{}true{}\"\n      message: m\n", "(".repeat(200), ")".repeat(200))))
            .err("error[cel]: CEL expression too complex: nested deeper than 64 levels\n --> bad.yaml:9:78\n"),
        failed(case("CEL expression longer than the limit"))
            .file("bad.yaml", policy(&format!("      deny: \"{}\"\n      message: m\n", vec!["doc.a == 1"; 2000].join(" || "))))
            .err("error[cel]: CEL expression too complex: 27996 bytes, the limit is 16384\n --> bad.yaml:9:16398\n"),
        failed(case("JSONPath nested deeper than the limit"))
            .file(
                "bad.yaml",
                policy(&format!("      each: \"$.a{}{}\"\n      deny: \"true\"\n      message: m\n", "[?@.b".repeat(100), "]".repeat(100))),
            )
            .err("error[jsonpath]: JSONPath too complex: nested deeper than 64 levels\n --> bad.yaml:9:337\n"),
        failed(case("an invalid constant regex in matches()"))
            .file("bad.yaml", policy("      deny: \"doc.metadata.name.matches('[a-')\"\n      message: m\n"))
            .err("error[cel]: invalid regular expression `[a-`: error: unclosed character class\n --> bad.yaml:9:40\n"),
        failed(case("division by a constant zero"))
            .file("bad.yaml", policy("      deny: \"doc.a / 0 == 1\"\n      message: m\n"))
            .err("error[cel]: division by a constant zero\n --> bad.yaml:9:20\n"),
        case("empty and comment-only policy files in a -p directory: a warning")
            .file("more/empty.yaml", "")
            .file("more/comment.yaml", "# TODO\n")
            .file("more/pods.yaml", POLICY)
            .args(&["check", "good.yaml", "-p", "more"])
            .err("warning[schema]: empty (or only comments): no policy in it, skipped\n --> more/comment.yaml\n")
            .err("warning[schema]: empty (or only comments): no policy in it, skipped\n --> more/empty.yaml\n")
            .out(GOOD),
        case("a message interpolation that fails at run time: an eval-error finding")
            .file(
                "bad.yaml",
                policy("      each: \"$.spec.containers[*]\"\n      deny: \"true\"\n      message: \"{{ item.name + 1 }}\"\n"),
            )
            .args(&["check", "good.yaml", "-p", "bad.yaml"])
            .code(1)
            .out("- good.yaml:6:7: error [bylaw/eval-error] rule R-1 fired, but the message's `{{ item.name + 1 }}`: "),
        #[cfg(unix)]
        Case { args: check_with("child.yaml"), ..case("extends: a FIFO") }
            .fifo("fifo.yaml")
            .file("child.yaml", POLICY.replace("spec:\n", "spec:\n  extends: [\"fifo.yaml\"]\n"))
            .code(2)
            .err("error[extends]: cannot read `fifo.yaml` (fifo.yaml): not a regular file (a FIFO): not read\n --> child.yaml:5:13\n"),
        Case { args: check_with("child.yaml"), ..case("extends: /dev/zero") }
            .file("child.yaml", POLICY.replace("spec:\n", "spec:\n  extends: [\"/dev/zero\"]\n"))
            .code(2)
            .err("error[extends]: cannot read `/dev/zero` (/dev/zero): not a regular file (a character device): not read\n --> child.yaml:5:13\n"),
        #[cfg(unix)]
        case("symlink loops and a broken symlink in a policy directory")
            .file("more/pods.yaml", POLICY)
            .symlink("more/sub/up", "..")
            .symlink("more/a.yaml", "b.yaml")
            .symlink("more/b.yaml", "a.yaml")
            .symlink("more/broken.yaml", "nowhere.yaml")
            .args(&["check", "good.yaml", "-p", "more"])
            .err("warning[io]: a symlink loop: this directory was already read, it is not read again\n --> more/sub/up\n")
            .err("warning[io]: a symlink loop (the link leads back to itself): skipped\n --> more/a.yaml\n")
            .err("warning[io]: a broken symlink (its target nowhere.yaml does not exist): skipped\n --> more/broken.yaml\n")
            .out(GOOD),
    ]
}

/// A policy test of P-001 that passes.
const POLICY_TEST: &str = r#"apiVersion: bylaw/v1
kind: PolicyTest
policy: pods
cases:
  - name: privileged
    input: { inline: "{ apiVersion: v1, kind: Pod, spec: { containers: [ { name: a, securityContext: { privileged: true } } ] } }" }
    expect: [ { rule: P-001 } ]
"#;

/// Two runs recorded in `audit.jsonl` (a run and a verdict event each: seq
/// 1–4), then the second run's lines deleted: the anchor
/// (`audit.jsonl.head`) still says seq 4.
fn truncated_audit_log(d: &Path) {
    bylaw(d, &["check", "--audit-log", "audit.jsonl"], 0);
    bylaw(d, &["check", "--audit-log", "audit.jsonl"], 0);
    let text = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_run = lines.iter().position(|l| l.contains("\"event\":\"verdict\"")).unwrap() + 1;
    std::fs::write(d.join("audit.jsonl"), lines[..first_run].join("\n") + "\n").unwrap();
}

fn readers() -> Vec<Case> {
    vec![
        #[cfg(unix)]
        case("--exceptions naming a FIFO")
            .fifo("exc.fifo")
            .args(&["check", "--exceptions", "exc.fifo"])
            .code(2)
            .err("error[io]: cannot read the exception list: not a regular file (a FIFO): not read\n --> exc.fifo\n")
            .err("error: 1 error in exception lists; nothing was evaluated"),
        case("a malformed exception list")
            .file("exc.yaml", "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EXC-1\n    rule: [P-001]\n")
            .args(&["check", "--exceptions", "exc.yaml"])
            .code(2)
            .err("error[schema]: missing required key `rules` in `exceptions[0]`\n --> exc.yaml:4:5\n")
            .err("error[schema]: unknown key `rule` in `exceptions[0]`\n --> exc.yaml:5:5\n")
            .err("error: 2 errors in exception lists; nothing was evaluated"),
        case("a malformed .bylaw.yaml")
            .file(".bylaw.yaml", "policies: [policies/]\nmax_file_size: lots\n")
            .code(2)
            .err("error[schema]: `max_file_size` must be a whole number, found a string\n --> .bylaw.yaml:2:16\n"),
        case("max_file_size that is not a whole number, or out of range")
            .file(".bylaw.yaml", "policies: [policies/]\nmax_file_size: 1.5\n")
            .code(2)
            .err("error[schema]: `max_file_size` must be a whole number, found 1.5\n --> .bylaw.yaml:2:16\n"),
        case("max_file_size below 1")
            .file(".bylaw.yaml", "policies: [policies/]\nmax_file_size: -1\n")
            .code(2)
            .err("error[schema]: `max_file_size` must be at least 1, found -1\n --> .bylaw.yaml:2:16\n"),
        // found and refused, not skipped: the run would go on without its
        // exceptions, targets and limits
        #[cfg(unix)]
        case(".bylaw.yaml that is a broken symlink")
            .symlink(".bylaw.yaml", "shared/bylaw.yaml")
            .args(&["check", "-p", "policies"])
            .code(2)
            .err("error[io]: cannot read the config file: a broken symlink (its target shared/bylaw.yaml does not exist)\n --> .bylaw.yaml\n"),
        #[cfg(unix)]
        case(".bylaw.yaml that is a FIFO")
            .fifo(".bylaw.yaml")
            .args(&["check", "-p", "policies"])
            .code(2)
            .err("error[io]: cannot read the config file: not a regular file (a FIFO): not read\n --> .bylaw.yaml\n"),
        #[cfg(unix)]
        case("bylaw test on a directory holding FIFOs")
            .file("t/pods.yaml", POLICY)
            .file("t/pods.test.yaml", POLICY_TEST)
            .fifo("t/input.yaml")
            .fifo("t/more.test.yaml")
            .args(&["test", "t"])
            .code(2)
            .err("warning[io]: not a regular file (a FIFO): skipped\n --> t/input.yaml\n")
            .err("error[io]: not a regular file (a FIFO): not read\n --> t/more.test.yaml\n")
            .err("error: 1 error in test files; no test was run"),
        case("audit verify on a truncated log")
            .prepare(truncated_audit_log)
            .args(&["audit", "verify", "audit.jsonl"])
            .code(1)
            .out("audit.jsonl:2: broken: truncated: the log ends at seq 2, its anchor records seq 4 (2 entries deleted from the end)"),
        #[cfg(unix)]
        case("audit verify on a FIFO")
            .fifo("audit.jsonl")
            .args(&["audit", "verify", "audit.jsonl"])
            .code(2)
            .err("error: cannot read audit.jsonl: not a regular file (a FIFO): not read"),
        #[cfg(unix)]
        case("check --audit-log naming a FIFO")
            .fifo("audit.jsonl")
            .args(&["check", "--audit-log", "audit.jsonl"])
            .code(2)
            .err("error: cannot append to the audit log audit.jsonl: not a regular file (a FIFO): not appended")
            .out(GOOD),
    ]
}

/// SARIF's located notifications, as `uri:line:column: text`.
fn sarif_notifications(sarif: &serde_json::Value) -> Vec<String> {
    let inv = &sarif["runs"][0]["invocations"][0];
    inv["toolConfigurationNotifications"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    let loc = &n["locations"][0]["physicalLocation"];
                    format!(
                        "{}:{}:{}: {}",
                        loc["artifactLocation"]["uri"].as_str().unwrap_or("-"),
                        loc["region"]["startLine"],
                        loc["region"]["startColumn"],
                        n["message"]["text"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn outputs() -> Vec<Case> {
    let cel_error = policy("      deny: \"doc.a == = 1\"\n      message: m\n");
    vec![
        #[cfg(unix)]
        case("--json /dev/null: written in place").args(&["check", "--json", "/dev/null"]).out(GOOD).then(|_, _| {
            use std::os::unix::fs::FileTypeExt;
            let t = std::fs::metadata("/dev/null").map_err(|e| e.to_string())?.file_type();
            ensure(t.is_char_device(), "/dev/null is no longer a device")
        }),
        case("a usage error still writes the reports it names")
            .file("out/report.json", "{\"version\": \"1.1\", \"tool\": {\"name\": \"bylaw\"}, \"verdict\": \"pass\", \"findings\": []}\n")
            .args(&["check", "--json", "out/report.json", "--format=sarif=out/r.sarif", "--fail-on", "bogus"])
            .code(2)
            .err("error: invalid value 'bogus' for '--fail-on <LEVEL>'")
            .then(|d, _| {
                let report = json(d, "out/report.json")?;
                ensure(report["verdict"] == "error", format!("{report:#}"))?;
                let errors = report["errors"].to_string();
                ensure(errors.contains("invalid value 'bogus' for '--fail-on <LEVEL>'"), errors)?;
                let sarif = json(d, "out/r.sarif")?;
                ensure(sarif["runs"][0]["invocations"][0]["executionSuccessful"] == false, format!("{sarif:#}"))
            }),
        case("a usage error: -fFORMAT=FILE spellings and a machine format on stdout say why too")
            .file("out/r.sarif", "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"runs\": [{\"tool\": {\"driver\": {\"name\": \"bylaw\"}}}]}\n")
            .args(&["check", "-fsarif=out/r.sarif", "-f", "json", "--max-findings", "x"])
            .code(2)
            .out("\"verdict\": \"error\"")
            .then(|d, _| {
                let sarif = json(d, "out/r.sarif")?;
                ensure(sarif["runs"][0]["invocations"][0]["executionSuccessful"] == false, format!("{sarif:#}"))
            }),
        case("a usage error rewrites the config's report files too")
            .file(".bylaw.yaml", "policies: [policies/]\noutputs:\n  json: out/r.json\n")
            .file("out/r.json", "{\"version\": \"1.1\", \"tool\": {\"name\": \"bylaw\"}, \"verdict\": \"pass\", \"findings\": []}\n")
            .args(&["check", "--fail-on", "bogus"])
            .code(2)
            .then(|d, _| ensure(json(d, "out/r.json")?["verdict"] == "error", "out/r.json")),
        case("a usage error of bylaw ci rewrites its default reports")
            .file("bylaw.sarif", "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"runs\": [{\"tool\": {\"driver\": {\"name\": \"bylaw\"}}}]}\n")
            .file("gl-code-quality-report.json", "[]\n")
            .args(&["ci", "gitlab", "--fail-on", "bogus"])
            .code(2)
            .then(|d, _| {
                let sarif = json(d, "bylaw.sarif")?;
                ensure(sarif["runs"][0]["invocations"][0]["executionSuccessful"] == false, format!("{sarif:#}"))?;
                let cq = json(d, "gl-code-quality-report.json")?;
                ensure(cq[0]["check_name"] == "bylaw/usage", format!("{cq:#}"))
            }),
        case("--audit-log naming an input: refused, the input kept")
            .args(&["check", "--audit-log", "good.yaml"])
            .code(2)
            .err("error: refusing to write good.yaml: an existing YAML or JSON file that is not an audit log")
            .then(|dir, _| {
                let kept = std::fs::read_to_string(dir.join("good.yaml")).map_err(|e| e.to_string())?;
                ensure(kept == POD, "good.yaml was appended to")
            }),
        case("an audit log named *.json is bylaw's own file, not an input")
            .prepare(|d| bylaw(d, &["check", "--audit-log", "audit.json"], 0))
            .args(&["check", "--audit-log", "audit.json"])
            .out(GOOD),
        case("a report path that is an input: refused, the input kept")
            .args(&["check", "--sarif", "good.yaml"])
            .code(2)
            .err("error: refusing to write good.yaml: an existing YAML or JSON file that is not an earlier bylaw report: an input, or another tool's file")
            .then(|dir, _| {
                let kept = std::fs::read_to_string(dir.join("good.yaml")).map_err(|e| e.to_string())?;
                ensure(kept == POD, "good.yaml was overwritten")
            }),
        #[cfg(unix)]
        case("a report path that is a symlink to an input: refused, the input checked and kept")
            .symlink("reports/x.sarif", "../good.yaml")
            .args(&["check", "--sarif", "reports/x.sarif", "--json", "reports/r.json"])
            .code(2)
            .err("error: refusing to write reports/x.sarif: an existing YAML or JSON file (the symlink leads to ")
            .then(|dir, _| {
                let kept = std::fs::read_to_string(dir.join("good.yaml")).map_err(|e| e.to_string())?;
                ensure(kept == POD, "good.yaml was overwritten")?;
                // the other report says why
                ensure(json(dir, "reports/r.json")?["verdict"] == "error", "reports/r.json")
            }),
        case("a manifest dressed up as a report at the report path: refused")
            .file(
                "bylaw-report.json",
                "{\"version\": \"1.1\", \"tool\": {\"name\": \"bylaw\"}, \"verdict\": \"pass\", \"findings\": [], \"apiVersion\": \"v1\", \"kind\": \"Pod\"}\n",
            )
            .args(&["check", "--json", "bylaw-report.json"])
            .code(2)
            .err("error: refusing to write bylaw-report.json: an existing YAML or JSON file that is not an earlier bylaw report"),
        #[cfg(unix)]
        case("--sarif /dev/stdout beside the stdout report: refused")
            .args(&["check", "--format", "json", "--sarif", "/dev/stdout"])
            .code(2)
            .err("error: refusing to write /dev/stdout: it is standard output, where the run prints its report"),
        #[cfg(unix)]
        case("--sarif naming a symlink: the target is written, the link kept")
            .symlink("out/link.sarif", "real.sarif")
            .args(&["check", "--sarif", "out/link.sarif"])
            .out(GOOD)
            .then(|d, _| {
                let link = std::fs::symlink_metadata(d.join("out/link.sarif")).map_err(|e| e.to_string())?;
                ensure(link.file_type().is_symlink(), "the symlink was replaced")?;
                let sarif = json(d, "out/real.sarif")?;
                let r = &sarif["runs"][0]["results"][0];
                let loc = &r["locations"][0]["physicalLocation"];
                ensure(
                    r["ruleId"] == "P-001"
                        && loc["artifactLocation"]["uri"] == "good.yaml"
                        && loc["region"]["startLine"] == 7,
                    format!("{r:#}"),
                )
            }),
        #[cfg(unix)]
        case("an artifact path that is a FIFO: refused, the other artifacts written")
            .fifo("out.fifo")
            .args(&["check", "--sarif", "out.fifo", "--json", "report.json"])
            .code(2)
            .err("error: cannot write out.fifo: not a regular file (a FIFO): refusing to replace it")
            .out(GOOD)
            .then(|d, _| {
                use std::os::unix::fs::FileTypeExt;
                let t = std::fs::symlink_metadata(d.join("out.fifo")).map_err(|e| e.to_string())?.file_type();
                ensure(t.is_fifo(), "the FIFO was replaced")?;
                let report = json(d, "report.json")?;
                ensure(report["findings"][0]["rule_id"] == "P-001", format!("{report:#}"))
            }),
        #[cfg(target_os = "linux")]
        case("stdout to /dev/full: check")
            .stdout_to("/dev/full")
            .code(2)
            .err("error: cannot write to standard output: No space left on device (os error 28)"),
        #[cfg(target_os = "linux")]
        case("stdout to /dev/full: schema")
            .stdout_to("/dev/full")
            .args(&["schema"])
            .code(2)
            .err("error: cannot write to standard output: No space left on device (os error 28)"),
        #[cfg(target_os = "linux")]
        case("stdout to /dev/full: rules")
            .stdout_to("/dev/full")
            .args(&["rules"])
            .code(2)
            .err("error: cannot write to standard output: No space left on device (os error 28)"),
        #[cfg(target_os = "linux")]
        case("stdout to /dev/full: test")
            .file("policies/pods.test.yaml", POLICY_TEST)
            .stdout_to("/dev/full")
            .args(&["test"])
            .code(2)
            .err("error: cannot write to standard output: No space left on device (os error 28)"),
        #[cfg(target_os = "linux")]
        case("stdout to /dev/full: --version")
            .stdout_to("/dev/full")
            .args(&["--version"])
            .code(2)
            .err("error: cannot write to standard output: No space left on device (os error 28)"),
        case("a run stopped by a policy error still writes every artifact")
            .file("policies/pods.yaml", cel_error.clone())
            // an earlier run's report must not be left looking current
            .file("out/report.json", "{\"version\": \"1.1\", \"tool\": {\"name\": \"bylaw\"}, \"verdict\": \"pass\", \"findings\": []}\n")
            .args(&[
                "check",
                "--sarif",
                "out/bylaw.sarif",
                "--junit",
                "out/junit.xml",
                "--json",
                "out/report.json",
                "--format",
                "codequality=out/codequality.json",
            ])
            .code(2)
            .err("error[cel]: invalid CEL expression: token recognition error at: '= '\n --> policies/pods.yaml:9:23\n")
            .then(|d, _| {
                let sarif = json(d, "out/bylaw.sarif")?;
                let inv = &sarif["runs"][0]["invocations"][0];
                ensure(inv["executionSuccessful"] == false, format!("{inv:#}"))?;
                let notes = sarif_notifications(&sarif);
                let want = "policies/pods.yaml:9:23: invalid CEL expression: token recognition error at: '= '";
                ensure(notes.first().map(String::as_str) == Some(want), format!("{notes:#?}"))?;
                let junit = read(d, "out/junit.xml")?;
                let doc = roxmltree::Document::parse(&junit).map_err(|e| e.to_string())?;
                let error = doc.descendants().find(|n| n.has_tag_name("error"));
                ensure(
                    error.is_some_and(|e| {
                        e.attribute("message") == Some("bylaw could not run: 1 error")
                            && e.text()
                                .is_some_and(|t| t.starts_with("policies/pods.yaml:9:23: invalid CEL expression"))
                    }),
                    &junit,
                )?;
                let report = json(d, "out/report.json")?;
                let at = &report["errors"][0];
                ensure(
                    report["verdict"] == "error"
                        && at["path"] == "policies/pods.yaml"
                        && at["line"] == 9
                        && at["column"] == 23,
                    format!("{report:#}"),
                )?;
                let cq = json(d, "out/codequality.json")?;
                ensure(
                    cq[0]["location"]
                        == serde_json::json!({ "path": "policies/pods.yaml", "lines": { "begin": 9, "end": 9 } }),
                    format!("{cq:#}"),
                )
            }),
        case("a run stopped by a policy error: SARIF on stdout too")
            .file("policies/pods.yaml", cel_error)
            .args(&["check", "--format", "sarif"])
            .code(2)
            .out("\"executionSuccessful\": false")
            .out("\"startLine\": 9"),
    ]
}

#[test]
fn every_malformed_input_kind_has_its_located_message_and_exit_code() {
    let cases: Vec<Case> = [inputs(), policies(), readers(), outputs()].into_iter().flatten().collect();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "row names are unique");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                if let Err(e) = c.run() {
                    failures.lock().unwrap().push(format!("[{}] {e}", c.name));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} rows failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[cfg(unix)]
#[test]
fn a_run_that_hangs_is_killed_and_reported() {
    let mut c = std::process::Command::new("sleep");
    c.arg("30").stdout(std::process::Stdio::piped());
    let start = std::time::Instant::now();
    let e = run_bounded(c, None, Duration::from_millis(200)).err().expect("a hang is an error");
    assert!(e.starts_with("hung: killed after 200ms"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10), "killed, not waited for");
}
