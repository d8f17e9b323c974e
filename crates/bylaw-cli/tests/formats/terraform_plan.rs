//! End-to-end tests of the `terraform_plan` input (see main.rs): a plan
//! written as `terraform show -json` writes it, sniffed among `.json`
//! files; findings on the `.tf` line of the resource when the
//! configuration is in the checked tree, else on the plan's line.

use crate::support::cli::{bylaw_in, write};
use std::path::Path;

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: tf, type: security }
spec:
  match:
    kinds: [aws_s3_bucket]
  rules:
    - id: TF-001
      title: Buckets are not public
      severity: critical
      deny: "doc.type == 'aws_s3_bucket' && doc.attributes.acl == 'public-read'"
      at: "$.attributes.acl"
      message: "bucket {{ doc.address }} is public"
    - id: TF-002
      title: New buckets are planned from a plan
      severity: info
      deny: "file.format == 'terraform-plan' && doc.block == 'resource' && 'create' in doc.?change.?actions.orValue([])"
      message: "{{ doc.address }} is created"
"#;

/// `terraform show -json` of a plan with a root bucket, a data source and
/// a bucket in a local child module (`count = 1`), and a registry module.
const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "variables": { "env": { "value": "prod" } },
  "planned_values": {
    "root_module": {
      "resources": [
        {
          "address": "aws_s3_bucket.logs",
          "mode": "managed",
          "type": "aws_s3_bucket",
          "name": "logs",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "bucket": "acme-logs",
            "acl": "public-read",
            "force_destroy": false,
            "tags": { "env": "prod" }
          },
          "sensitive_values": { "tags": {} }
        },
        {
          "address": "data.aws_caller_identity.me",
          "mode": "data",
          "type": "aws_caller_identity",
          "name": "me",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": { "account_id": "123456789012" }
        }
      ],
      "child_modules": [
        {
          "address": "module.store",
          "resources": [
            {
              "address": "module.store.aws_s3_bucket.data[0]",
              "mode": "managed",
              "type": "aws_s3_bucket",
              "name": "data",
              "index": 0,
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "schema_version": 0,
              "values": { "bucket": "acme-data", "acl": "public-read" }
            }
          ]
        }
      ]
    }
  },
  "resource_changes": [
    {
      "address": "aws_s3_bucket.logs",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "logs",
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["create"],
        "before": null,
        "after": { "bucket": "acme-logs", "acl": "public-read" },
        "after_unknown": { "id": true, "arn": true },
        "before_sensitive": false,
        "after_sensitive": { "tags": {} }
      }
    },
    {
      "address": "module.store.aws_s3_bucket.data[0]",
      "module_address": "module.store",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "data",
      "index": 0,
      "provider_name": "registry.terraform.io/hashicorp/aws",
      "change": {
        "actions": ["no-op"],
        "before": { "bucket": "acme-data", "acl": "public-read" },
        "after": { "bucket": "acme-data", "acl": "public-read" },
        "after_unknown": {}
      }
    }
  ],
  "configuration": {
    "provider_config": { "aws": { "name": "aws", "full_name": "registry.terraform.io/hashicorp/aws" } },
    "root_module": {
      "resources": [
        { "address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs" }
      ],
      "module_calls": {
        "store": {
          "source": "../modules/store",
          "module": {
            "resources": [
              { "address": "aws_s3_bucket.data", "mode": "managed", "type": "aws_s3_bucket", "name": "data" }
            ]
          }
        },
        "vpc": { "source": "terraform-aws-modules/vpc/aws", "version_constraint": "5.0.0" }
      }
    }
  }
}
"#;

const MAIN_TF: &str = r#"terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_caller_identity" "me" {}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
  tags = {
    env = var.env
  }
  acl = "public-read"
}

module "store" {
  source = "../modules/store"
}
"#;

const MODULE_TF: &str = r#"variable "acl" {
  default = "public-read"
}

resource "aws_s3_bucket" "data" {
  count  = 1
  bucket = "acme-data"
  acl    = var.acl
}
"#;

/// (rule, path, line, notes) of every finding, and the exit code.
type Found = (String, String, u64, Vec<String>);

fn check(dir: &Path) -> (i32, Vec<Found>) {
    let out = bylaw_in(dir, &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    let got = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let notes = f["notes"].as_array().map_or(Vec::new(), |n| {
                n.iter().filter_map(|x| x.as_str()).filter(|x| x.starts_with("found in")).map(String::from).collect()
            });
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                notes,
            )
        })
        .collect();
    (out.code, got)
}

fn f(rule: &str, path: &str, line: u64, note: &str) -> Found {
    (rule.to_owned(), path.to_owned(), line, if note.is_empty() { Vec::new() } else { vec![note.to_owned()] })
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/tf.yaml", POLICY);
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

#[test]
fn findings_land_on_the_tf_lines_of_the_resource_and_of_its_module() {
    let tmp = repo(&[("live/plan.json", PLAN), ("live/main.tf", MAIN_TF), ("modules/store/main.tf", MODULE_TF)]);
    let (code, got) = check(tmp.path());
    // the .tf files are checked too: a finding of the plan on the line where
    // the .tf gives the same one is that one finding, with the plan's place
    assert_eq!(
        got,
        vec![
            // the block's line for the whole resource, the attribute's line for `acl`
            f("TF-002", "live/main.tf", 9, "found in live/plan.json:8:9"),
            f("TF-001", "live/main.tf", 14, "found in live/plan.json:17:13"),
            f("TF-001", "modules/store/main.tf", 8, "found in live/plan.json:45:50"),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn without_the_configuration_findings_stay_on_the_plan_lines() {
    let tmp = repo(&[("plan.json", PLAN)]);
    let (code, got) = check(tmp.path());
    assert_eq!(
        got,
        vec![f("TF-002", "plan.json", 8, ""), f("TF-001", "plan.json", 17, ""), f("TF-001", "plan.json", 45, "")]
    );
    assert_eq!(code, 1);
    // a block the scan cannot find (another name in the .tf) keeps its plan
    // line; the .tf's own block is checked as Terraform
    let tmp = repo(&[("live/plan.json", PLAN), ("live/main.tf", &MAIN_TF.replace("\"logs\"", "\"old\""))]);
    let (_, got) = check(tmp.path());
    assert_eq!(
        got.iter().map(|(r, p, l, _)| (r.as_str(), p.as_str(), *l)).collect::<Vec<_>>(),
        vec![
            ("TF-001", "live/main.tf", 14),
            ("TF-002", "live/plan.json", 8),
            ("TF-001", "live/plan.json", 17),
            ("TF-001", "live/plan.json", 45),
        ]
    );
}

#[test]
fn the_plan_is_its_own_format_and_other_json_is_not() {
    let tmp = repo(&[
        ("plan.json", PLAN),
        ("bucket.json", "{\"type\": \"aws_s3_bucket\", \"attributes\": {\"acl\": \"public-read\"}}\n"),
    ]);
    let out = bylaw_in(tmp.path(), &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["resource"]["kind"], "aws_s3_bucket", "{}", out.stdout);
    assert_eq!(f["resource"]["name"], "aws_s3_bucket.logs");
    // a plain JSON file names no aws_s3_bucket kind: `match.kinds` leaves it out
    assert!(v["findings"].as_array().unwrap().iter().all(|f| f["location"]["path"] == "plan.json"), "{}", out.stdout);
    assert_eq!(v["findings"].as_array().unwrap().len(), 3, "{}", out.stdout);
}
