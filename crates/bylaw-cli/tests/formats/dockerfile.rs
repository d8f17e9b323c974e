//! End-to-end tests of the `dockerfile` input (see main.rs).

use crate::support::cli::{bylaw_in, json_findings, write};
use serde_json::Value;
use std::path::Path;

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: images, type: security }
spec:
  match:
    when: "file.format == 'dockerfile'"
    kinds: [Dockerfile]
  rules:
    - id: IMG-001
      title: Images come from our registry
      severity: high
      each: "$.stages[?!@.base_stage]"
      require: "item.image.startsWith('ghcr.io/acme/') || item.image == 'scratch'"
      at: image
      message: "stage {{ item.index }} builds on {{ item.image }}"
    - id: IMG-002
      title: No root
      severity: high
      deny: "doc.final_stage.user == 'root'"
      at: "$.final_stage.user"
      message: "root"
    - id: IMG-003
      title: No wget
      severity: low
      each: "$.instructions[?@.instruction == 'RUN']"
      deny: "item.script.contains('wget')"
      message: "wget"
"#;

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/images.yaml", POLICY);
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

fn check(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["check", "--format", "json"];
    a.extend_from_slice(args);
    let out = bylaw_in(dir, &a, None);
    let v = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    (out.code, v)
}

fn f(rule: &str, path: &str, line: u64) -> (String, String, u64) {
    (rule.to_owned(), path.to_owned(), line)
}

const MULTI: &str = "# syntax=docker/dockerfile:1\n\
ARG GO=golang:1.22\n\
FROM ${GO} AS build\n\
RUN go build -o /app . \\\n    && wget -q https://x/y\n\
FROM ghcr.io/acme/base:1 AS runtime\n\
# bylaw:ignore IMG-003 -- fetched at build time, checked below\n\
RUN wget -q https://x/z && \\\n    sha256sum -c z.sha256\n\
USER root\n\
RUN echo \"# bylaw:ignore IMG-002 -- not a comment, shell text\"\n";

#[test]
fn findings_land_on_the_instruction_and_node_they_are_about() {
    let tmp = repo(&[("Dockerfile", MULTI), ("svc/api.dockerfile", "FROM ghcr.io/acme/base:1\nUSER app\n")]);
    let (code, v) = check(tmp.path(), &[]);
    assert_eq!(code, 1);
    let got = json_findings(&v.to_string());
    assert_eq!(
        got,
        vec![
            // the image of the first stage (from the global ARG), on its FROM line
            f("IMG-001", "Dockerfile", 3),
            // a multi-line RUN: on its first line
            f("IMG-003", "Dockerfile", 4),
            f("IMG-003", "Dockerfile", 8),
            f("IMG-002", "Dockerfile", 10),
        ]
    );
    let fs = v["findings"].as_array().unwrap();
    let loc = |i: usize| {
        let l = &fs[i]["location"];
        (l["start_line"].as_u64(), l["start_column"].as_u64(), l["end_line"].as_u64(), l["end_column"].as_u64())
    };
    assert_eq!(loc(0), (Some(3), Some(6), Some(3), Some(11)), "the `${{GO}}` text");
    assert_eq!(loc(1), (Some(4), Some(1), Some(5), Some(27)), "the whole RUN with its continuation");
    assert_eq!(loc(3), (Some(10), Some(6), Some(10), Some(10)), "the user name");
    assert_eq!(fs[0]["message"], "stage 0 builds on golang:1.22");
    assert_eq!(fs[0]["resource"], serde_json::json!({"kind": "Dockerfile", "name": "ghcr.io/acme/base:1"}));
    // the suppression on the line above the RUN holds; `#` in RUN text is no comment
    assert_eq!(fs[2]["exception"]["id"], "inline:Dockerfile:7", "{}", fs[2]);
    assert!(fs[3].get("exception").is_none_or(Value::is_null), "{}", fs[3]);
}

#[test]
fn file_format_names_the_files_a_policy_reads() {
    let files = [
        ("Dockerfile", "FROM nginx:1.27\n"),
        ("build/Containerfile", "FROM nginx:1.27\n"),
        ("Dockerfile.dev", "FROM nginx:1.27\n"),
        ("ops/web.Dockerfile", "FROM nginx:1.27\n"),
        // not Dockerfiles: its ignore file, a YAML manifest
        ("Dockerfile.dockerignore", "FROM nginx:1.27\n"),
        ("deploy.yaml", "image: nginx:1.27\n"),
    ];
    let tmp = repo(&files);
    let (code, v) = check(tmp.path(), &[]);
    assert_eq!(code, 1);
    let mut paths: Vec<String> = json_findings(&v.to_string()).into_iter().map(|(_, p, _)| p).collect();
    paths.sort();
    assert_eq!(paths, ["Dockerfile", "Dockerfile.dev", "build/Containerfile", "ops/web.Dockerfile"]);
}

#[test]
fn syntax_errors_are_located_and_the_rest_is_still_checked() {
    let src = "FROM ghcr.io/acme/base:1\nRUNN make\nUSER root\nRUN cat <<EOF\nunterminated\n";
    let tmp = repo(&[("Dockerfile", src)]);
    let (code, v) = check(tmp.path(), &[]);
    assert_eq!(code, 1);
    let got = json_findings(&v.to_string());
    assert_eq!(
        got,
        vec![
            f("bylaw/parse-error", "Dockerfile", 2),
            f("IMG-002", "Dockerfile", 3),
            f("bylaw/parse-error", "Dockerfile", 4)
        ]
    );
    let fs = v["findings"].as_array().unwrap();
    assert!(
        fs[0]["message"].as_str().unwrap().starts_with("invalid Dockerfile: unknown instruction `RUNN`"),
        "{}",
        fs[0]
    );
    assert_eq!(fs[2]["location"]["start_column"], 9, "at the `<<EOF` that is never closed");
}

#[test]
fn the_dockerfile_pack_checks_the_final_stage_and_every_base_image() {
    let src = "FROM golang:1.22 AS build\n\
RUN go build -o /app .\n\
FROM gcr.io/distroless/static:nonroot\n\
COPY --from=build /app /app\n\
ENV GITHUB_TOKEN=ghp_0123456789\n\
CMD [\"/app\"]\n";
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "svc/Dockerfile", src);
    let (code, v) = check(tmp.path(), &["-p", "pack:dockerfile"]);
    assert_eq!(code, 1);
    let got = json_findings(&v.to_string());
    assert_eq!(
        got,
        vec![
            f("DF-003", "svc/Dockerfile", 1),
            f("DF-006", "svc/Dockerfile", 3),
            f("DF-003", "svc/Dockerfile", 3),
            f("DF-005", "svc/Dockerfile", 5),
        ],
        "the distroless :nonroot final stage passes DF-001; the build stage's RUN is not judged as runtime"
    );
    let (code, _) = check(tmp.path(), &["-p", "pack:dockerfile", "--fail-on", "never"]);
    assert_eq!(code, 0);
}
