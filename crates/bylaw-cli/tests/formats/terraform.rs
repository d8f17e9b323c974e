//! End-to-end tests of the `terraform` input (see main.rs).

use crate::support::cli::{bylaw_in, write};
use serde_json::Value;
use std::path::Path;

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: tf, type: security }
spec:
  match:
    files: ["*.tf", "*.tf.json"]
    kinds: [aws_s3_bucket, aws_security_group]
  rules:
    - id: TF-001
      title: Buckets are versioned
      severity: high
      require:
        any:
          - "doc.type != 'aws_s3_bucket'"
          - "doc.attributes.versioning.exists(v, v.enabled == true)"
      message: "{{ doc.address }} is not versioned"
    - id: TF-002
      title: No SSH from anywhere
      severity: high
      each: "$.attributes.ingress[*]"
      deny: "item.from_port <= 22 && item.to_port >= 22 && item.cidr_blocks.exists(c, c == '0.0.0.0/0')"
      at: cidr_blocks
      message: "SSH open to the world in {{ doc.address }}"
"#;

/// A policy without kinds, on `file.format`.
const VARS: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: vars, type: operational }
spec:
  rules:
    - id: TF-003
      title: Not in us-east-1
      severity: low
      deny: "file.format == 'terraform' && doc.block == 'tfvars' && doc.attributes.region == 'us-east-1'"
      message: "not in us-east-1"
"#;

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/tf.yaml", POLICY);
    write(tmp.path(), "policies/vars.yaml", VARS);
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

/// The exit code and the findings of `bylaw check --format json`.
fn check(dir: &Path) -> (i32, Vec<Value>) {
    let out = bylaw_in(dir, &["check", "--format", "json"], None);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    (out.code, v["findings"].as_array().unwrap().clone())
}

/// (rule, path, start line, start column, excepted) of each finding.
fn summary(findings: &[Value]) -> Vec<(String, String, u64, u64, bool)> {
    findings
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["location"]["start_column"].as_u64().unwrap(),
                f["exception"].is_object(),
            )
        })
        .collect()
}

fn s(rule: &str, path: &str, line: u64, col: u64, excepted: bool) -> (String, String, u64, u64, bool) {
    (rule.to_owned(), path.to_owned(), line, col, excepted)
}

const MAIN: &str = r##"resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket" "data" {
  bucket = "acme-data"
  versioning {
    enabled = true
  }
}

resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/8", "0.0.0.0/0"]
  }
}

# bylaw:ignore TF-001 -- legacy bucket, migrated in Q3
resource "aws_s3_bucket" "legacy" {
  bucket = "acme-legacy"
}

resource "aws_security_group" "bastion" {
  ingress {
    from_port   = 22
    to_port     = 22
    // bylaw:ignore TF-002 -- bastion host, allow-listed upstream
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket" "note" {
  bucket = "# bylaw:ignore TF-001 -- not a comment"
}
"##;

#[test]
fn findings_on_exact_lines_with_suppressions_in_both_comment_styles() {
    let tmp = repo(&[("infra/main.tf", MAIN)]);
    let (code, findings) = check(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(
        summary(&findings),
        vec![
            // a block with a missing attribute: the block's line
            s("TF-001", "infra/main.tf", 1, 1, false),
            // an attribute of a nested block: its line and column
            s("TF-002", "infra/main.tf", 22, 5, false),
            s("TF-001", "infra/main.tf", 27, 1, true),
            s("TF-002", "infra/main.tf", 36, 5, true),
            // `#` inside a string is no comment
            s("TF-001", "infra/main.tf", 40, 1, false),
        ],
        "{findings:#?}"
    );
    // findings show the resource: match.kinds matched the resource type
    let r = &findings[0]["resource"];
    assert_eq!((r["kind"].as_str(), r["name"].as_str()), (Some("aws_s3_bucket"), Some("logs")), "{r}");
    assert_eq!(findings[0]["message"], "aws_s3_bucket.logs is not versioned");
}

#[test]
fn json_syntax_and_tfvars_and_file_format() {
    let tf_json = r#"{
  "resource": {
    "aws_s3_bucket": {
      "logs": {
        "bucket": "acme-logs"
      },
      "data": {
        "versioning": {"enabled": true}
      }
    }
  }
}
"#;
    let tmp = repo(&[
        ("main.tf.json", tf_json),
        ("prod.tfvars", "# region\nregion = \"us-east-1\"\n"),
        ("dev.tfvars.json", "{\"region\": \"eu-west-1\"}\n"),
        ("other.hcl", "region = \"us-east-1\"\n"),
    ]);
    let (code, findings) = check(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(
        summary(&findings),
        vec![s("TF-001", "main.tf.json", 4, 7, false), s("TF-003", "prod.tfvars", 2, 1, false)],
        "{findings:#?}"
    );
}

#[test]
fn a_syntax_error_is_located() {
    let tmp = repo(&[
        ("bad.tf", "resource \"aws_s3_bucket\" \"x\" {\n  bucket = \n}\n"),
        ("good.tf", "resource \"aws_s3_bucket\" \"y\" {}\n"),
    ]);
    let (code, findings) = check(tmp.path());
    assert_eq!(code, 1);
    let got = summary(&findings);
    assert_eq!(got, vec![s("bylaw/parse-error", "bad.tf", 2, 12, false), s("TF-001", "good.tf", 1, 1, false)]);
    let msg = findings[0]["message"].as_str().unwrap();
    assert!(msg.contains("Terraform") && msg.contains("expected"), "{msg}");
}

#[test]
fn a_suppression_above_a_block_covers_the_block() {
    let main = r#"# bylaw:ignore TF-002 -- the bastion, reviewed in SEC-12
resource "aws_security_group" "bastion" {
  ingress {
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "web" {
  ingress {
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#;
    let tmp = repo(&[("main.tf", main)]);
    let (code, findings) = check(tmp.path());
    assert_eq!(
        summary(&findings),
        vec![s("TF-002", "main.tf", 6, 5, true), s("TF-002", "main.tf", 14, 5, false)],
        "the comment covers the block under it, not the next one"
    );
    assert_eq!(code, 1);
}
