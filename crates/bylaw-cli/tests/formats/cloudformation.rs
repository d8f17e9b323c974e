//! End-to-end tests of the `cloudformation` input (see main.rs).

use crate::support::cli::{bylaw_in, write};
use std::path::Path;

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: cfn, type: security }
spec:
  match:
    kinds: ["AWS::RDS::DBInstance", "AWS::S3::Bucket"]
  rules:
    - id: CFN-001
      title: No public databases
      severity: high
      deny: "file.format == 'cloudformation' && has(doc.Properties.PubliclyAccessible.Ref) && doc.Template.Parameters[doc.Properties.PubliclyAccessible.Ref].Default == 'true'"
      at: Properties.PubliclyAccessible
      message: "{{ doc.LogicalId }} is public through parameter {{ doc.Properties.PubliclyAccessible.Ref }}"
    - id: CFN-002
      title: Buckets are encrypted
      severity: high
      require: "doc.Type != 'AWS::S3::Bucket' || has(doc.Properties.BucketEncryption)"
      at: Properties.BucketEncryption
      message: "bucket {{ doc.LogicalId }} is not encrypted"
    - id: CFN-003
      title: Buckets are named from the stack
      severity: low
      deny: "doc.Type == 'AWS::S3::Bucket' && has(doc.Properties.BucketName) && !(type(doc.Properties.BucketName) == map && 'Fn::Sub' in doc.Properties.BucketName)"
      at: Properties.BucketName
      message: "bucket name is not derived with Fn::Sub"
    - id: CFN-004
      title: Databases depend on their key
      severity: low
      deny: "doc.Type == 'AWS::RDS::DBInstance' && doc.Properties.KmsKeyId['Fn::GetAtt'][1] != 'Arn'"
      at: Properties.KmsKeyId
      message: "KmsKeyId is not a key's Arn"
"#;

const TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Public:
    Type: String
    Default: 'true'
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      PubliclyAccessible: !Ref Public
      KmsKeyId: !GetAtt Key.KeyId
  Logs:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: logs
  Named:
    Type: AWS::S3::Bucket
    Properties: # bylaw:ignore CFN-002 -- encrypted by the account default
      BucketName: !Sub '${AWS::StackName}-named'
";

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/cfn.yaml", POLICY);
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

/// (rule, path, line, column, resource kind, resource name) of a finding.
type Finding = (String, String, u64, u64, String, String);

/// The findings not excepted, and the exit code.
fn check(dir: &Path, args: &[&str]) -> (i32, Vec<Finding>) {
    let mut a = vec!["check", "--format", "json"];
    a.extend_from_slice(args);
    let out = bylaw_in(dir, &a, None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let findings = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["exception"].is_null())
        .map(|f| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&f["rule_id"]),
                s(&f["location"]["path"]),
                f["location"]["start_line"].as_u64().unwrap(),
                f["location"]["start_column"].as_u64().unwrap(),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["name"]),
            )
        })
        .collect();
    (out.code, findings)
}

fn f(
    rule: &str,
    path: &str,
    line: u64,
    col: u64,
    kind: &str,
    name: &str,
) -> (String, String, u64, u64, String, String) {
    (rule.into(), path.into(), line, col, kind.into(), name.into())
}

#[test]
fn findings_land_on_the_template_lines_with_intrinsics_read_as_long_forms() {
    let tmp = repo(&[("stack.yaml", TEMPLATE)]);
    let (code, mut got) = check(tmp.path(), &[]);
    got.sort();
    assert_eq!(code, 1);
    let db = "AWS::RDS::DBInstance";
    let bucket = "AWS::S3::Bucket";
    assert_eq!(
        got,
        vec![
            // !Ref to a parameter and its Default, at the property
            f("CFN-001", "stack.yaml", 11, 7, db, "Db"),
            // a missing property: the deepest existing node (Properties)
            f("CFN-002", "stack.yaml", 15, 5, bucket, "Logs"),
            // !Sub read as Fn::Sub: only the literal name fires
            f("CFN-003", "stack.yaml", 16, 7, bucket, "Logs"),
            // !GetAtt Key.KeyId is ["Key", "KeyId"]
            f("CFN-004", "stack.yaml", 12, 7, db, "Db"),
        ],
        "CFN-002 on Named is suppressed by its YAML comment"
    );
}

#[test]
fn a_missing_properties_block_points_at_the_resource() {
    let src = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bare:\n    Type: AWS::S3::Bucket\n";
    let tmp = repo(&[("infra/bare.yml", src)]);
    let (_, got) = check(tmp.path(), &[]);
    assert_eq!(got, vec![f("CFN-002", "infra/bare.yml", 3, 3, "AWS::S3::Bucket", "Bare")]);
}

#[test]
fn json_templates_and_template_files() {
    let json = "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Parameters\": { \"Public\": { \"Type\": \"String\", \"Default\": \"true\" } },\n  \"Resources\": {\n    \"Db\": {\n      \"Type\": \"AWS::RDS::DBInstance\",\n      \"Properties\": { \"PubliclyAccessible\": { \"Ref\": \"Public\" }, \"KmsKeyId\": { \"Fn::GetAtt\": [\"Key\", \"Arn\"] } }\n    }\n  }\n}\n";
    let tmp = repo(&[
        ("stack.json", json),
        ("legacy/app.template", json),
        ("nginx.conf.template", "server {\n  listen ${PORT};\n}\n"),
    ]);
    let (code, mut got) = check(tmp.path(), &[]);
    got.sort();
    assert_eq!(code, 1);
    let db = "AWS::RDS::DBInstance";
    assert_eq!(
        got,
        vec![f("CFN-001", "legacy/app.template", 7, 23, db, "Db"), f("CFN-001", "stack.json", 7, 23, db, "Db")]
    );
}

#[test]
fn yaml_that_is_not_a_template_stays_yaml() {
    let policy = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: fmt, type: operational }\nspec:\n  rules:\n    - id: FMT-001\n      title: format\n      severity: low\n      deny: \"true\"\n      message: \"{{ file.format }}\"\n";
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/fmt.yaml", policy);
    write(tmp.path(), "deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: t }\ndata:\n  t.yaml: |\n    AWSTemplateFormatVersion: x\n    Resources: {}\n");
    write(
        tmp.path(),
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  b:\n    runs-on: x\n    steps: [{ run: 'echo Resources: AWS::S3::Bucket' }]\n",
    );
    write(tmp.path(), "stack.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n");
    let out = bylaw_in(tmp.path(), &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut got: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["location"]["path"].as_str().unwrap().into(), f["message"].as_str().unwrap().into()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (".github/workflows/ci.yml".into(), "yaml".into()),
            ("deploy/cm.yaml".into(), "yaml".into()),
            ("stack.yaml".into(), "cloudformation".into()),
        ]
    );
}

#[test]
fn an_unknown_tag_is_a_located_syntax_error() {
    let src = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Reff x\n";
    let tmp = repo(&[("stack.yaml", src)]);
    let (code, got) = check(tmp.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1.as_str(), got[0].2, got[0].3), ("stack.yaml", 6, 19));
    assert!(got[0].0.starts_with("bylaw/"), "{got:?}");
}

#[test]
fn the_pack_checks_templates() {
    let src = "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Public: { Type: String, Default: 'true' }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      StorageEncrypted: !If [IsProd, true, false]
      PubliclyAccessible: !Ref Public
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      SecurityGroupIngress:
        - { IpProtocol: -1, CidrIp: 0.0.0.0/0 }
        # bylaw:ignore CFNAWS-006 -- bastion host, reviewed
        - { IpProtocol: tcp, FromPort: '20', ToPort: '30', CidrIp: 0.0.0.0/0 }
        - { IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIpv6: '::/0' }
";
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [\"pack:cloudformation-aws\"]\n");
    write(tmp.path(), "template.yaml", src);
    let (code, mut got) = check(tmp.path(), &[]);
    got.sort();
    assert_eq!(code, 1);
    let (db, sg) = ("AWS::RDS::DBInstance", "AWS::EC2::SecurityGroup");
    assert_eq!(
        got,
        vec![
            f("CFNAWS-006", "template.yaml", 16, 11, sg, "Sg"),
            f("CFNAWS-009", "template.yaml", 11, 7, db, "Db"),
            f("CFNAWS-010", "template.yaml", 10, 7, db, "Db"),
        ]
    );
}
