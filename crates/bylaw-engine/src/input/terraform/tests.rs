use super::*;
use serde_json::json;

fn tf(src: &str) -> ParsedFile {
    parse(src, FileKind::Config)
}

/// (start line, start col, end line, end col) of the value at `ptr`.
fn at(doc: &Node, ptr: &str) -> (u32, u32, u32, u32) {
    let (s, n) = doc.value_span_of_pointer(ptr);
    assert_eq!(n, crate::node::parse_pointer(ptr).len(), "{ptr} not found in {}", doc.to_json());
    (s.start_line, s.start_col, s.end_line, s.end_col)
}

const BUCKET: &str = r#"# logs
resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs" // the name
  acl    = var.acl
  tags   = merge(local.tags, { a = 1 })

  versioning {
    enabled = true
  }
  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "aws:kms"
      }
    }
  }
}

variable "acl" {
  default = "private"
}
"#;

#[test]
fn one_document_per_block_with_the_fixed_shape() {
    let p = tf(BUCKET);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.documents.len(), 2);
    let d = &p.documents[0];
    assert_eq!(
        d.to_json(),
        json!({
            "block": "resource", "type": "aws_s3_bucket", "name": "logs",
            "labels": ["aws_s3_bucket", "logs"], "address": "aws_s3_bucket.logs",
            "attributes": {
                "bucket": "acme-logs",
                "acl": "private",
                "tags": "merge(local.tags, { a = 1 })",
                "versioning": [{"enabled": true}],
                "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]}]
            }
        })
    );
    assert_eq!(p.documents[1].to_json()["address"], "var.acl");
    assert_eq!(p.documents[1].to_json()["name"], "acl");
    assert!(p.documents[1].get("type").is_none());
    // spans: the document is the block; nodes and keys are exact
    assert_eq!((d.span.start_line, d.span.start_col, d.span.end_line), (2, 1, 17));
    assert_eq!(at(d, "/attributes/bucket"), (3, 12, 3, 23));
    assert_eq!(at(d, "/attributes/versioning/0/enabled"), (8, 15, 8, 19));
    assert_eq!(
        at(d, "/attributes/server_side_encryption_configuration/0/rule/0/apply_server_side_encryption_by_default/0/sse_algorithm").0,
        13
    );
    // the resolved variable is located where it is used
    assert_eq!(at(d, "/attributes/acl"), (4, 12, 4, 19));
    assert_eq!(d.span_of_pointer("/attributes/versioning").0.start_line, 7);
    assert_eq!(at(d, "/type"), (2, 10, 2, 25));
    let r = Terraform.resource(d).unwrap();
    assert_eq!((r.kind.as_deref(), r.name.as_deref()), (Some("aws_s3_bucket"), Some("logs")));
    let r = Terraform.resource(&p.documents[1]).unwrap();
    assert_eq!((r.kind.as_deref(), r.name.as_deref()), (Some("variable"), Some("acl")));
}

#[test]
fn comments_of_every_kind_and_not_inside_strings() {
    let src = "# a\nresource \"x\" \"y#z\" { // b\n  s = \"no # here // nor /* here */\"\n  /* c\n  d */ t = <<EOT\n# not a comment\nEOT\n  u = \"${x} # no\" # e\n}\n";
    let p = tf(src);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let got: Vec<(u32, u32, &str)> = p.comments.iter().map(|c| (c.line, c.col, c.text.as_str())).collect();
    assert_eq!(got, vec![(1, 1, " a"), (2, 22, " b"), (4, 3, " c\n  d"), (8, 19, " e")]);
    assert_eq!(p.documents[0].to_json()["attributes"]["t"], "# not a comment\n");
    assert_eq!(p.documents[0].to_json()["attributes"]["u"], "${x} # no");
}

#[test]
fn values_of_every_expression() {
    let src = r#"resource "aws_iam_policy" "p" {
  n    = 1.5
  i    = -3
  l    = [1, "a", null, false]
  o    = { "k" = "v", b = [1] }
  ref  = aws_kms_key.k.arn
  cond = var.x ? 1 : 2
  tpl  = "arn:aws:s3:::${var.bucket}/*"
  doc  = <<-EOF
    {"a": "${var.y}"}
    EOF
  fe   = [for s in var.l : upper(s)]
  dyn  = "${var.unknown}"
  dynamic "ingress" {
    for_each = var.rules
    content {
      from_port = ingress.value
    }
  }
  provisioner "local-exec" { command = "echo" }
}
"#;
    let p = tf(src);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let a = &p.documents[0].to_json()["attributes"];
    assert_eq!(a["n"], 1.5);
    assert_eq!(a["i"], -3);
    assert_eq!(a["l"], json!([1, "a", null, false]));
    assert_eq!(a["o"], json!({"k": "v", "b": [1]}));
    assert_eq!(a["ref"], "aws_kms_key.k.arn");
    assert_eq!(a["cond"], "var.x ? 1 : 2");
    assert_eq!(a["tpl"], "arn:aws:s3:::${var.bucket}/*");
    assert_eq!(a["doc"], "{\"a\": \"${var.y}\"}\n");
    assert_eq!(a["fe"], "[for s in var.l : upper(s)]");
    assert_eq!(a["dyn"], "${var.unknown}");
    assert_eq!(
        a["dynamic"],
        json!([{"labels": ["ingress"], "for_each": "var.rules", "content": [{"from_port": "ingress.value"}]}])
    );
    assert_eq!(a["provisioner"], json!([{"labels": ["local-exec"], "command": "echo"}]));
    let d = &p.documents[0];
    assert_eq!(at(d, "/attributes/dynamic/0/content/0/from_port"), (17, 19, 17, 32));
    assert_eq!(at(d, "/attributes/o/k").0, 5);
    assert_eq!(d.span_of_pointer("/attributes/o/b").0.start_col, 23, "key spans");
}

#[test]
fn addresses_of_every_block_type() {
    let src = "data \"aws_iam_policy_document\" \"x\" {}\nmodule \"vpc\" { source = \"./vpc\" }\noutput \"id\" { value = 1 }\nprovider \"aws\" { region = \"eu-west-1\" }\nlocals { a = 1 }\nterraform { required_version = \">= 1.5\" }\njob \"web\" \"x\" {}\n";
    let p = tf(src);
    let addrs: Vec<String> = p.documents.iter().map(|d| d.str_at(&["address"]).unwrap().to_owned()).collect();
    assert_eq!(
        addrs,
        [
            "data.aws_iam_policy_document.x",
            "module.vpc",
            "output.id",
            "provider.aws",
            "locals",
            "terraform",
            "job.web.x"
        ]
    );
    let kinds: Vec<String> = p.documents.iter().map(|d| Terraform.resource(d).unwrap().kind.unwrap()).collect();
    assert_eq!(kinds, ["aws_iam_policy_document", "module", "output", "provider", "locals", "terraform", "job"]);
    assert_eq!(p.documents[4].to_json()["labels"], json!([]));
    assert!(p.documents[6].get("name").is_none(), "two labels, not a resource: no name");
}

#[test]
fn tfvars_and_top_level_attributes() {
    let p = parse("region = \"eu-west-1\"\n# c\nsizes = { a = 1 }\n", FileKind::Vars);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.documents.len(), 1);
    assert_eq!(
        p.documents[0].to_json(),
        json!({"block": "tfvars", "labels": [], "attributes": {"region": "eu-west-1", "sizes": {"a": 1}}})
    );
    assert_eq!(at(&p.documents[0], "/attributes/sizes/a"), (3, 15, 3, 16));
    assert_eq!(p.comments.len(), 1);
    let p = parse("include \"root\" { path = \"x\" }\ninputs = { a = 1 }\n", FileKind::Generic);
    assert_eq!(p.documents.len(), 2);
    assert_eq!(p.documents[0].to_json()["block"], "body");
    assert_eq!(p.documents[0].to_json()["attributes"], json!({"inputs": {"a": 1}}));
    assert_eq!(p.documents[1].to_json()["address"], "include.root");
}

#[test]
fn syntax_errors_are_located() {
    let p = tf("resource \"a\" \"b\" {\n  x = \n}\n");
    assert!(p.documents.is_empty());
    assert_eq!((p.errors[0].line, p.errors[0].col), (2, 7), "{:?}", p.errors);
    assert!(p.errors[0].message.contains("expected"), "{:?}", p.errors);
    let p = tf("resource \"a\" \"b\" {\n  x = 1\n");
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].line >= 2, "{:?}", p.errors);
    let p = tf("resource \"a\" \"b\" {\n  x = 1\n  x = 2\n}\n");
    assert_eq!((p.errors[0].line, p.errors[0].col), (3, 3), "{:?}", p.errors);
    assert!(p.errors[0].message.contains("redefined"), "{:?}", p.errors);
    // columns count characters
    let p = tf("a { é = \"é\" ]\n");
    assert_eq!(p.errors[0].line, 1);
    assert_eq!(p.errors[0].col, 13, "{:?}", p.errors);
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    let deep = format!("a = {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let p = tf(&deep);
    assert!(p.documents.is_empty());
    assert_eq!(p.errors.len(), 1);
    let ops = format!("a = {}\n", vec!["1"; 5000].join(" + "));
    assert_eq!(tf(&ops).errors.len(), 1);
    let blocks = format!("{}{}\n", "a {\n".repeat(200), "}\n".repeat(200));
    assert_eq!(tf(&blocks).errors.len(), 1);
    for src in ["", "\u{feff}", "  \n", "# only\n"] {
        let p = tf(src);
        assert!(p.documents.is_empty() && p.errors.is_empty(), "{src:?}");
    }
    assert_eq!(tf("\u{feff}a {}\n").documents.len(), 1);
    assert_eq!(tf("r \"a\" {\r\n  x = 1 # c\r\n}\r\n").comments[0].text, " c");
}

#[test]
fn json_syntax_has_the_same_shape() {
    let src = r#"{
  "resource": {
    "aws_s3_bucket": {
      "logs": {
        "bucket": "${var.name}",
        "acl": "public-read",
        "tags": {"a": "b"},
        "versioning": {"enabled": true},
        "ingress": [{"from_port": 22}, {"from_port": 80}],
        "dynamic": {"rule": {"for_each": "${var.r}", "content": {"x": 1}}},
        "//": "a comment"
      }
    }
  },
  "variable": {"name": {"default": "acme"}},
  "locals": {"x": {"y": 1}}
}"#;
    let p = tf(src);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.documents.len(), 3);
    let d = &p.documents[0];
    assert_eq!(
        d.to_json(),
        json!({
            "block": "resource", "type": "aws_s3_bucket", "name": "logs",
            "labels": ["aws_s3_bucket", "logs"], "address": "aws_s3_bucket.logs",
            "attributes": {
                "bucket": "acme", "acl": "public-read", "tags": {"a": "b"},
                "versioning": [{"enabled": true}],
                "ingress": [{"from_port": 22}, {"from_port": 80}],
                "dynamic": [{"labels": ["rule"], "for_each": "${var.r}", "content": [{"x": 1}]}]
            }
        })
    );
    assert_eq!(d.span.start_line, 4);
    assert_eq!(at(d, "/attributes/versioning/0/enabled"), (8, 35, 8, 39));
    assert_eq!(at(d, "/attributes/bucket"), (5, 19, 5, 32));
    assert_eq!(
        p.documents[2].to_json(),
        json!({"block": "locals", "labels": [], "address": "locals", "attributes": {"x": {"y": 1}}})
    );
    let p = parse("{\"region\": \"eu\"}", FileKind::Vars);
    assert_eq!(p.documents[0].to_json(), json!({"block": "tfvars", "labels": [], "attributes": {"region": "eu"}}));
    let p = tf("{\"resource\": 1}");
    assert_eq!((p.errors[0].line, p.errors[0].col), (1, 14), "{:?}", p.errors);
    let p = tf("{\"resource\": }");
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn paths_claimed() {
    assert!(Terraform.claims("infra/main.tf"));
    assert!(Terraform.claims("infra/MAIN.TF.JSON"));
    assert!(!Terraform.claims("x.tfvars"));
    assert!(!Terraform.claims(".tf"));
    assert!(TerraformVars.claims("prod.tfvars"));
    assert!(TerraformVars.claims("prod.tfvars.json"));
    assert!(Hcl.claims("live/terragrunt.hcl"));
    assert!(Hcl.claims("x.pkr.hcl"));
    assert!(!Hcl.claims("x.tf"));
    assert_eq!(TerraformVars.name(), "terraform");
}
