#!/usr/bin/env python3
"""Generate a realistic, deterministic corpus of infrastructure as code.

    python3 bench/gen_iac.py --terraform 100 --cloudformation 100 --dockerfiles 100 \
        --seed 42 --out bench/corpus-iac-100
    python3 bench/gen_iac.py --terraform 2000 --cloudformation 2000 --dockerfiles 2000 \
        --kubernetes 10000 --seed 42 --out bench/corpus-mixed      # the mixed corpus

Layout (a directory per format, so one format can be timed alone):

- terraform/<team>-<word>-NNN/: one module each (main.tf with the
  terraform, provider and locals blocks, variables.tf, outputs.tf and one
  file per component: s3.tf, network.tf, rds.tf, compute.tf, audit.tf,
  iam.tf). AWS resources: S3 buckets configured inline (provider v3) or
  through their own resources (v4+: _acl, _versioning, _logging,
  _server_side_encryption_configuration, _public_access_block), security
  groups with ingress blocks and separate ingress rules, IAM policies
  (jsonencode, heredoc JSON and data "aws_iam_policy_document"), RDS
  instances and Aurora clusters, EBS volumes, KMS keys (symmetric and
  asymmetric), CloudTrail trails, VPCs with or without a flow log, EC2
  instances and launch templates with or without IMDSv2.
- cloudformation/stack-NNN.yaml (three in four; short-form tags !Ref, !Sub,
  !GetAtt, !If, !Equals, parameters with defaults, conditions, outputs) and
  stack-NNN.json (long forms): the same resource mix.
- docker/<svc>/Dockerfile: Go, Node, Python and Java services, multi-stage
  mostly, with or without USER, HEALTHCHECK, latest/untagged/tagged/digest
  base images, ADD of URLs and archives, ENV secrets, apt-get/apk/pip
  patterns, sudo and curl | sh.
- kubernetes/: bench/gen_corpus.py's corpus (--kubernetes N files, same
  seed), for the mixed corpus.

Each resource is hardened unless a seeded weakness is drawn for it (about
one resource in four carries one); weaknesses are counted per kind in
<out>.stats.json beside the corpus (files, bytes and documents per format,
weaknesses per kind), as gen_corpus.py does. The same --seed always gives
byte-identical files. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
from pathlib import Path

WEAK = 0.25  # the chance that a resource carries a seeded weakness

WORDS = [
    "orders", "payments", "billing", "catalog", "search", "inventory", "checkout",
    "ledger", "accounts", "identity", "notify", "mailer", "gateway", "pricing",
    "shipping", "reviews", "media", "reports", "audit", "events", "profile",
    "session", "quotes", "fraud", "ingest", "export", "scheduler", "tenant",
]
ENVS = ["dev", "staging", "prod"]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2"]


class Stats:
    def __init__(self) -> None:
        self.data: dict = {"formats": {}, "weaknesses": {}}

    def weak(self, fmt: str, kind: str) -> None:
        w = self.data["weaknesses"].setdefault(fmt, {})
        w[kind] = w.get(kind, 0) + 1

    def file(self, fmt: str, text: str, documents: int) -> None:
        f = self.data["formats"].setdefault(fmt, {"files": 0, "bytes": 0, "documents": 0})
        f["files"] += 1
        f["bytes"] += len(text.encode())
        f["documents"] += documents


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def pick(rng: random.Random, stats: Stats, fmt: str, kinds: list[str]) -> str | None:
    """One seeded weakness of `kinds`, or None (hardened), counted."""
    if rng.random() < WEAK:
        kind = rng.choice(kinds)
        stats.weak(fmt, kind)
        return kind
    return None


# --------------------------------------------------------------------- Terraform


class Tf:
    """Writes HCL blocks; counts the top-level blocks (bylaw's documents)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blocks = 0

    def block(self, header: str, body: list[str]) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(header + " {")
        self.lines.extend("  " + line if line else "" for line in body)
        self.lines.append("}")
        self.blocks += 1

    def comment(self, text: str) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(f"# {text}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def nested(name: str, body: list[str]) -> list[str]:
    return [f"{name} {{"] + ["  " + b if b else "" for b in body] + ["}"]


def align(pairs: list[tuple[str, str]]) -> list[str]:
    """`key = value` lines aligned the way terraform fmt aligns them."""
    width = max(len(k) for k, _ in pairs)
    return [f"{k.ljust(width)} = {v}" for k, v in pairs]


def tf_s3(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    for purpose in rng.sample(["data", "assets", "exports", "backups", "uploads"], rng.randint(1, 2)):
        weak = pick(rng, stats, "terraform", [
            "s3_public_acl", "s3_no_encryption", "s3_versioning_off", "s3_no_versioning",
            "s3_no_logging", "s3_pab_partial", "s3_no_pab",
        ])
        name = purpose
        inline = rng.random() < 0.4  # provider v3 style
        bucket = f"\"${{var.prefix}}-{m['word']}-{purpose}\""
        if inline:
            body = align([("bucket", bucket), ("acl", "\"public-read\"" if weak == "s3_public_acl" else "\"private\"")])
            if weak not in ("s3_no_versioning",):
                body += [""] + nested("versioning", [f"enabled = {'false' if weak == 's3_versioning_off' else 'true'}"])
            if weak != "s3_no_logging":
                body += [""] + nested("logging", align([("target_bucket", "var.log_bucket"), ("target_prefix", f"\"{purpose}/\"")]))
            if weak != "s3_no_encryption":
                sse = align([("sse_algorithm", "\"aws:kms\""), ("kms_master_key_id", "aws_kms_key.s3.arn")]) if rng.random() < 0.6 \
                    else ["sse_algorithm = \"AES256\""]
                body += [""] + nested("server_side_encryption_configuration",
                                      nested("rule", nested("apply_server_side_encryption_by_default", sse)))
            if rng.random() < 0.3:
                body += [""] + nested("lifecycle_rule", align([("id", "\"expire-noncurrent\""), ("enabled", "true")])
                                      + [""] + nested("noncurrent_version_expiration", ["days = 90"]))
            body += ["", "tags = local.tags"]
            tf.block(f"resource \"aws_s3_bucket\" \"{name}\"", body)
        else:
            tf.block(f"resource \"aws_s3_bucket\" \"{name}\"", align([("bucket", bucket)]) + ["", "tags = local.tags"])
            ref = f"aws_s3_bucket.{name}.id"
            if weak == "s3_public_acl" or rng.random() < 0.3:
                tf.block(f"resource \"aws_s3_bucket_acl\" \"{name}\"", align([
                    ("bucket", ref), ("acl", "\"public-read\"" if weak == "s3_public_acl" else "\"private\"")]))
            if weak != "s3_no_versioning":
                tf.block(f"resource \"aws_s3_bucket_versioning\" \"{name}\"", [f"bucket = {ref}", ""] + nested(
                    "versioning_configuration", [f"status = \"{'Suspended' if weak == 's3_versioning_off' else 'Enabled'}\""]))
            if weak != "s3_no_encryption":
                tf.block(f"resource \"aws_s3_bucket_server_side_encryption_configuration\" \"{name}\"", [f"bucket = {ref}", ""] + nested(
                    "rule", nested("apply_server_side_encryption_by_default",
                                   align([("sse_algorithm", "\"aws:kms\""), ("kms_master_key_id", "aws_kms_key.s3.arn")]))
                    + ["bucket_key_enabled = true"]))
            if weak != "s3_no_logging":
                tf.block(f"resource \"aws_s3_bucket_logging\" \"{name}\"", align([
                    ("bucket", ref), ("target_bucket", "var.log_bucket"), ("target_prefix", f"\"{purpose}/\"")]))
        if weak != "s3_no_pab":
            flags = [("bucket", f"aws_s3_bucket.{name}.id"), ("block_public_acls", "true"), ("block_public_policy", "true"),
                     ("ignore_public_acls", "true"), ("restrict_public_buckets", "true")]
            if weak == "s3_pab_partial":
                i = rng.randint(1, 4)
                flags[i] = (flags[i][0], "false") if rng.random() < 0.6 else None  # type: ignore[assignment]
                flags = [f for f in flags if f]
            tf.block(f"resource \"aws_s3_bucket_public_access_block\" \"{name}\"", align(flags))
    # the KMS key the buckets use
    tf.block("resource \"aws_kms_key\" \"s3\"", align([
        ("description", f"\"S3 objects of {m['word']}\""), ("deletion_window_in_days", "30"), ("enable_key_rotation", "true")]))
    return tf


def ingress(from_port: int, to_port: int, protocol: str, cidrs: str, desc: str) -> list[str]:
    return nested("ingress", align([("description", f"\"{desc}\""), ("from_port", str(from_port)), ("to_port", str(to_port)),
                                    ("protocol", f"\"{protocol}\""), ("cidr_blocks", cidrs)]))


def tf_network(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    if rng.random() < 0.5:
        weak = pick(rng, stats, "terraform", ["vpc_no_flow_log"])
        tf.block("resource \"aws_vpc\" \"main\"", align([
            ("cidr_block", f"\"10.{rng.randint(0, 250)}.0.0/16\""), ("enable_dns_support", "true"), ("enable_dns_hostnames", "true")])
            + ["", "tags = merge(local.tags, { Name = \"${var.prefix}-vpc\" })"])
        if weak is None:
            tf.block("resource \"aws_flow_log\" \"main\"", align([
                ("vpc_id", "aws_vpc.main.id"), ("traffic_type", "\"ALL\""), ("log_destination", "var.flow_log_bucket_arn"),
                ("log_destination_type", "\"s3\"")]))
    for sg in rng.sample(["web", "bastion", "app", "admin"], rng.randint(1, 2)):
        weak = pick(rng, stats, "terraform", ["sg_ssh_world", "sg_rdp_world", "sg_all_world", "sg_rule_ssh_world",
                                              "sg_vpc_rule_rdp_world"])
        body = align([("name", f"\"${{var.prefix}}-{sg}\""), ("description", f"\"{sg} tier\""), ("vpc_id", "var.vpc_id")])
        body += [""] + ingress(443, 443, "tcp", "[\"0.0.0.0/0\"]", "HTTPS")
        if weak == "sg_ssh_world":
            body += [""] + ingress(22, 22, "tcp", "[\"0.0.0.0/0\"]", "SSH")
        elif weak == "sg_rdp_world":
            body += [""] + ingress(3389, 3389, "tcp", "[\"0.0.0.0/0\"]", "RDP")
        elif weak == "sg_all_world":
            body += [""] + ingress(0, 0, "-1", "[\"0.0.0.0/0\"]", "everything")
        elif sg in ("bastion", "admin"):
            body += [""] + ingress(22, 22, "tcp", "[var.admin_cidr]", "SSH from the office")
            body += [""] + ingress(22, 22, "tcp", "[\"10.0.0.0/8\"]", "SSH from the VPN")
        body += [""] + nested("egress", align([("from_port", "0"), ("to_port", "0"), ("protocol", "\"-1\""),
                                               ("cidr_blocks", "[\"0.0.0.0/0\"]")]))
        body += ["", "tags = local.tags"]
        tf.block(f"resource \"aws_security_group\" \"{sg}\"", body)
        if weak == "sg_rule_ssh_world" or (weak is None and rng.random() < 0.3):
            tf.block(f"resource \"aws_security_group_rule\" \"{sg}_ssh\"", align([
                ("type", "\"ingress\""), ("from_port", "22"), ("to_port", "22"), ("protocol", "\"tcp\""),
                ("cidr_blocks", "[\"0.0.0.0/0\"]" if weak else "[\"172.16.0.0/12\"]"),
                ("security_group_id", f"aws_security_group.{sg}.id")]))
        if weak == "sg_vpc_rule_rdp_world" or (weak is None and rng.random() < 0.2):
            tf.block(f"resource \"aws_vpc_security_group_ingress_rule\" \"{sg}_rdp\"", align([
                ("security_group_id", f"aws_security_group.{sg}.id"), ("cidr_ipv4", "\"0.0.0.0/0\"" if weak else "\"10.20.0.0/16\""),
                ("from_port", "3389"), ("to_port", "3389"), ("ip_protocol", "\"tcp\"")]))
    return tf


def tf_rds(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    weak = pick(rng, stats, "terraform", ["rds_public", "rds_unencrypted", "rds_encryption_off"])
    enc = [] if weak == "rds_unencrypted" else [("storage_encrypted", "false" if weak == "rds_encryption_off" else "true")]
    if rng.random() < 0.75:
        engine = rng.choice([("postgres", "15.5"), ("mysql", "8.0.35")])
        pairs = [("identifier", f"\"${{var.prefix}}-{m['word']}\""), ("engine", f"\"{engine[0]}\""),
                 ("engine_version", f"\"{engine[1]}\""), ("instance_class", f"\"{rng.choice(['db.t3.medium', 'db.r6g.large'])}\""),
                 ("allocated_storage", str(rng.choice([20, 50, 100]))), ("db_name", f"\"{m['word']}\""),
                 ("username", "var.db_username"), ("manage_master_user_password", "true"),
                 ("db_subnet_group_name", "var.db_subnet_group"), ("vpc_security_group_ids", "[aws_security_group.db.id]")]
        pairs += enc
        if not weak == "rds_unencrypted" and weak != "rds_encryption_off":
            pairs.append(("kms_key_id", "aws_kms_key.db.arn"))
        pairs += [("publicly_accessible", "true" if weak == "rds_public" else "false"), ("multi_az", "true"),
                  ("backup_retention_period", "7"), ("deletion_protection", "true"),
                  ("skip_final_snapshot", "false"), ("final_snapshot_identifier", f"\"${{var.prefix}}-{m['word']}-final\"")]
        tf.block("resource \"aws_db_instance\" \"main\"", align(pairs) + ["", "tags = local.tags"])
    else:
        # the cluster has no public flag: rds_public goes to its instances
        pairs = [("cluster_identifier", f"\"${{var.prefix}}-{m['word']}\""), ("engine", "\"aurora-postgresql\""),
                 ("engine_version", "\"15.4\""), ("database_name", f"\"{m['word']}\""), ("master_username", "var.db_username"),
                 ("manage_master_user_password", "true"), ("db_subnet_group_name", "var.db_subnet_group"),
                 ("vpc_security_group_ids", "[aws_security_group.db.id]")] + enc
        pairs += [("backup_retention_period", "7"), ("deletion_protection", "true")]
        tf.block("resource \"aws_rds_cluster\" \"main\"", align(pairs))
        tf.block("resource \"aws_rds_cluster_instance\" \"main\"", align([
            ("count", "2"), ("identifier", f"\"${{var.prefix}}-{m['word']}-${{count.index}}\""),
            ("cluster_identifier", "aws_rds_cluster.main.id"), ("instance_class", "\"db.r6g.large\""),
            ("engine", "aws_rds_cluster.main.engine"), ("publicly_accessible", "true" if weak == "rds_public" else "false")]))
    tf.block("resource \"aws_security_group\" \"db\"", align([
        ("name", f"\"${{var.prefix}}-db\""), ("description", "\"database\""), ("vpc_id", "var.vpc_id")])
        + [""] + nested("ingress", align([("description", "\"from the app tier\""), ("from_port", "5432"), ("to_port", "5432"),
                                          ("protocol", "\"tcp\""), ("security_groups", "[var.app_security_group_id]")])))
    kweak = pick(rng, stats, "terraform", ["kms_no_rotation", "kms_rotation_off"])
    tf.block("resource \"aws_kms_key\" \"db\"", align(
        [("description", f"\"{m['word']} database\""), ("deletion_window_in_days", "30")]
        + ([] if kweak == "kms_no_rotation" else [("enable_key_rotation", "false" if kweak == "kms_rotation_off" else "true")])))
    return tf


def tf_compute(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    weak = pick(rng, stats, "terraform", ["imds_optional", "imds_no_block", "ebs_unencrypted", "ebs_encryption_off"])
    meta = [] if weak == "imds_no_block" else nested("metadata_options", align([
        ("http_endpoint", "\"enabled\""), ("http_tokens", "\"optional\"" if weak == "imds_optional" else "\"required\""),
        ("http_put_response_hop_limit", "1")]))
    if rng.random() < 0.6:
        body = align([("ami", "var.ami_id"), ("instance_type", f"\"{rng.choice(['t3.micro', 't3.small', 'm6i.large'])}\""),
                      ("subnet_id", "var.subnet_id"), ("vpc_security_group_ids", "[var.app_security_group_id]"),
                      ("iam_instance_profile", "var.instance_profile"), ("monitoring", "true"), ("ebs_optimized", "true")])
        if meta:
            body += [""] + meta
        body += [""] + nested("root_block_device", align([("encrypted", "true"), ("volume_size", "20"), ("volume_type", "\"gp3\"")]))
        body += ["", "tags = merge(local.tags, { Name = \"${var.prefix}-app\" })"]
        tf.block("resource \"aws_instance\" \"app\"", body)
    else:
        body = align([("name_prefix", f"\"${{var.prefix}}-app-\""), ("image_id", "var.ami_id"),
                      ("instance_type", f"\"{rng.choice(['t3.micro', 'm6i.large'])}\""),
                      ("vpc_security_group_ids", "[var.app_security_group_id]")])
        if meta:
            body += [""] + meta
        body += [""] + nested("iam_instance_profile", ["name = var.instance_profile"])
        tf.block("resource \"aws_launch_template\" \"app\"", body)
    for i in range(rng.randint(0, 2)):
        enc = [] if weak == "ebs_unencrypted" else [("encrypted", "false" if weak == "ebs_encryption_off" else "true")]
        tf.block(f"resource \"aws_ebs_volume\" \"data_{i}\"", align(
            [("availability_zone", "var.availability_zone"), ("size", str(rng.choice([50, 100, 500]))), ("type", "\"gp3\"")] + enc)
            + ["", "tags = local.tags"])
        weak = None if weak in ("ebs_unencrypted", "ebs_encryption_off") else weak
    return tf


def tf_audit(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    weak = pick(rng, stats, "terraform", ["trail_single_region", "trail_no_validation", "trail_validation_off", "trail_no_kms"])
    pairs = [("name", f"\"${{var.prefix}}-trail\""), ("s3_bucket_name", "var.trail_bucket"),
             ("include_global_service_events", "true")]
    if weak != "trail_single_region":
        pairs.append(("is_multi_region_trail", "true"))
    if weak != "trail_no_validation":
        pairs.append(("enable_log_file_validation", "false" if weak == "trail_validation_off" else "true"))
    if weak != "trail_no_kms":
        pairs.append(("kms_key_id", "aws_kms_key.trail.arn"))
    tf.block("resource \"aws_cloudtrail\" \"main\"", align(pairs) + ["", "tags = local.tags"])
    kweak = pick(rng, stats, "terraform", ["kms_no_rotation", "kms_asymmetric"])
    if kweak == "kms_asymmetric":
        tf.block("resource \"aws_kms_key\" \"signing\"", align([
            ("description", "\"release signing\""), ("customer_master_key_spec", "\"RSA_2048\""), ("key_usage", "\"SIGN_VERIFY\"")]))
    tf.block("resource \"aws_kms_key\" \"trail\"", align(
        [("description", "\"CloudTrail logs\""), ("deletion_window_in_days", "30")]
        + ([] if kweak == "kms_no_rotation" else [("enable_key_rotation", "true")])) + ["", "policy = var.trail_key_policy"])
    return tf


def tf_iam(rng: random.Random, m: dict, stats: Stats) -> Tf:
    tf = Tf()
    weak = pick(rng, stats, "terraform", ["iam_star_jsonencode", "iam_star_heredoc", "iam_star_document"])
    action = "\"*\"" if weak == "iam_star_jsonencode" else "[\"s3:GetObject\", \"s3:PutObject\"]"
    resource = "\"*\"" if weak == "iam_star_jsonencode" else f"\"arn:aws:s3:::${{var.prefix}}-{m['word']}-data/*\""
    tf.block("resource \"aws_iam_policy\" \"app\"", align([("name", f"\"${{var.prefix}}-app\""), ("path", "\"/\"")]) + [
        "policy = jsonencode({",
        "  Version = \"2012-10-17\"",
        "  Statement = [",
        "    {",
        "      Effect   = \"Allow\"",
        f"      Action   = {action}",
        f"      Resource = {resource}",
        "    },",
        "  ]",
        "})",
    ])
    if rng.random() < 0.5 or weak == "iam_star_heredoc":
        a, r = ("\"*\"", "\"*\"") if weak == "iam_star_heredoc" else ("[\"sqs:SendMessage\", \"sqs:ReceiveMessage\"]", "\"arn:aws:sqs:*:*:jobs\"")
        tf.block("resource \"aws_iam_role_policy\" \"worker\"", align([("name", "\"worker\""), ("role", "var.worker_role")]) + [
            "policy = <<-EOF",
            "{",
            "  \"Version\": \"2012-10-17\",",
            "  \"Statement\": [",
            "    {",
            "      \"Effect\": \"Allow\",",
            f"      \"Action\": {a},",
            f"      \"Resource\": {r}",
            "    }",
            "  ]",
            "}",
            "EOF",
        ])
    if rng.random() < 0.5 or weak == "iam_star_document":
        a, r = ("[\"*\"]", "[\"*\"]") if weak == "iam_star_document" else ("[\"logs:CreateLogStream\", \"logs:PutLogEvents\"]", "[\"arn:aws:logs:*:*:*\"]")
        tf.block("data \"aws_iam_policy_document\" \"logs\"", nested("statement", align([
            ("sid", "\"Logs\""), ("effect", "\"Allow\""), ("actions", a), ("resources", r)])))
        tf.block("resource \"aws_iam_policy\" \"logs\"", align([("name", f"\"${{var.prefix}}-logs\""),
                                                              ("policy", "data.aws_iam_policy_document.logs.json")]))
    return tf


COMPONENTS = {"s3.tf": tf_s3, "network.tf": tf_network, "rds.tf": tf_rds, "compute.tf": tf_compute,
              "audit.tf": tf_audit, "iam.tf": tf_iam}
VARIABLES = ["prefix", "vpc_id", "subnet_id", "ami_id", "admin_cidr", "log_bucket", "trail_bucket", "db_username",
             "db_subnet_group", "app_security_group_id", "availability_zone", "instance_profile", "worker_role",
             "flow_log_bucket_arn", "trail_key_policy"]


def terraform_module(rng: random.Random, out: Path, index: int, stats: Stats) -> None:
    word = rng.choice(WORDS)
    m = {"word": word, "env": rng.choice(ENVS)}
    d = out / "terraform" / f"{m['env']}-{word}-{index:04d}"
    main = Tf()
    main.block("terraform", ["required_version = \">= 1.5\""] + [""] + nested("required_providers", nested(
        "aws =", align([("source", "\"hashicorp/aws\""), ("version", f"\"~> {rng.choice(['4.67', '5.31', '5.40'])}\"")]))))
    main.block("provider \"aws\"", [f"region = \"{rng.choice(REGIONS)}\"", ""] + nested(
        "default_tags", nested("tags =", align([("ManagedBy", "\"terraform\""), ("Environment", f"\"{m['env']}\"")]))))
    main.block("locals", nested("tags =", align([("Service", f"\"{word}\""), ("Team", f"\"team-{rng.randint(1, 40):02d}\""),
                                                ("CostCentre", f"\"cc-{rng.randint(100, 999)}\"")])))
    files = {"main.tf": main}
    for name in rng.sample(sorted(COMPONENTS), rng.randint(2, 5)):
        files[name] = COMPONENTS[name](rng, m, stats)
    var = Tf()
    for v in VARIABLES:
        body = ["type        = string", f"description = \"{v.replace('_', ' ')}\""]
        if v == "admin_cidr":
            body.append("default     = \"10.0.0.0/8\"")
        if v == "db_username":
            body.append("sensitive   = true")
        var.block(f"variable \"{v}\"", body)
    files["variables.tf"] = var
    outs = Tf()
    for name, tf in files.items():
        for line in tf.lines:
            found = re.match(r'resource "(\w+)" "(\w+)"', line)
            if found and len(outs.lines) < 40:
                rtype, rname = found.groups()
                if rtype in ("aws_s3_bucket", "aws_db_instance", "aws_kms_key", "aws_security_group"):
                    outs.block(f"output \"{rtype.removeprefix('aws_')}_{rname}_arn\"", [f"value = {rtype}.{rname}.arn"])
    if outs.lines:
        files["outputs.tf"] = outs
    for name, tf in files.items():
        text = tf.text()
        write(d / name, text)
        stats.file("terraform", text, tf.blocks)


# ---------------------------------------------------------------- CloudFormation


class Ref:
    def __init__(self, name: str) -> None:
        self.name = name


class Sub:
    def __init__(self, text: str) -> None:
        self.text = text


class GetAtt:
    def __init__(self, name: str, attr: str) -> None:
        self.name, self.attr = name, attr


class If:
    def __init__(self, cond: str, yes: object, no: object) -> None:
        self.cond, self.yes, self.no = cond, yes, no


class Equals:
    def __init__(self, a: object, b: object) -> None:
        self.a, self.b = a, b


def long_form(v: object) -> object:
    """The JSON (long) form of a value holding intrinsic functions."""
    if isinstance(v, Ref):
        return {"Ref": v.name}
    if isinstance(v, Sub):
        return {"Fn::Sub": v.text}
    if isinstance(v, GetAtt):
        return {"Fn::GetAtt": [v.name, v.attr]}
    if isinstance(v, If):
        return {"Fn::If": [v.cond, long_form(v.yes), long_form(v.no)]}
    if isinstance(v, Equals):
        return {"Fn::Equals": [long_form(v.a), long_form(v.b)]}
    if isinstance(v, dict):
        return {k: long_form(x) for k, x in v.items()}
    if isinstance(v, list):
        return [long_form(x) for x in v]
    return v


PLAIN_UNSAFE = set(":#{}[],&*!|>'\"%@`")


def scalar(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if (not s or s[0] in PLAIN_UNSAFE or s[0] in "-? " or ": " in s or " #" in s or s[-1] == " "
            or s.lower() in ("true", "false", "yes", "no", "on", "off", "null", "~")
            or re.fullmatch(r"[-+]?[0-9][0-9._:-]*", s)):
        return json.dumps(s)
    return s


def short(v: object) -> str | None:
    """The one-line short form of an intrinsic function, or None."""
    if isinstance(v, Ref):
        return f"!Ref {v.name}"
    if isinstance(v, Sub):
        return f"!Sub {json.dumps(v.text) if ':' in v.text or '#' in v.text else v.text}"
    if isinstance(v, GetAtt):
        return f"!GetAtt {v.name}.{v.attr}"
    if isinstance(v, If):
        return f"!If [{v.cond}, {short(v.yes) or scalar(v.yes)}, {short(v.no) or scalar(v.no)}]"
    if isinstance(v, Equals):
        return f"!Equals [{short(v.a) or scalar(v.a)}, {short(v.b) or scalar(v.b)}]"
    return None


def yaml_lines(v: object, indent: int) -> list[str]:
    """Block-style YAML of a mapping or a list, intrinsics as short forms."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(v, dict):
        for k, x in v.items():
            one = short(x)
            if one is not None:
                out.append(f"{pad}{k}: {one}")
            elif isinstance(x, dict) and x:
                out.append(f"{pad}{k}:")
                out.extend(yaml_lines(x, indent + 2))
            elif isinstance(x, list) and x:
                if all(not isinstance(e, (dict, list)) and short(e) is None for e in x) and len(x) <= 4:
                    out.append(f"{pad}{k}: [{', '.join(scalar(e) for e in x)}]")
                else:
                    out.append(f"{pad}{k}:")
                    out.extend(yaml_lines(x, indent + 2))
            elif isinstance(x, (dict, list)):
                out.append(f"{pad}{k}: {'{}' if isinstance(x, dict) else '[]'}")
            else:
                out.append(f"{pad}{k}: {scalar(x)}")
    else:
        for x in v:  # type: ignore[union-attr]
            one = short(x)
            if one is not None:
                out.append(f"{pad}- {one}")
            elif isinstance(x, (dict, list)):
                sub = yaml_lines(x, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {scalar(x)}")
    return out


def cfn_bucket(rng: random.Random, name: str, stats: Stats, res: dict) -> None:
    weak = pick(rng, stats, "cloudformation", ["s3_public_acl", "s3_no_encryption", "s3_versioning_suspended",
                                                "s3_no_versioning", "s3_no_logging", "s3_pab_partial", "s3_no_pab"])
    p: dict = {"BucketName": Sub(f"${{AWS::StackName}}-{name.lower()}-${{AWS::AccountId}}")}
    if weak == "s3_public_acl":
        p["AccessControl"] = rng.choice(["PublicRead", "PublicReadWrite"])
    if weak != "s3_no_encryption":
        p["BucketEncryption"] = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": (
            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": GetAtt("DataKey", "Arn")} if rng.random() < 0.6 else {"SSEAlgorithm": "AES256"}),
            "BucketKeyEnabled": True}]}
    if weak != "s3_no_versioning":
        p["VersioningConfiguration"] = {"Status": "Suspended" if weak == "s3_versioning_suspended" else "Enabled"}
    if weak != "s3_no_logging":
        p["LoggingConfiguration"] = {"DestinationBucketName": Ref("LogBucketName"), "LogFilePrefix": f"{name.lower()}/"}
    if weak != "s3_no_pab":
        pab = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        if weak == "s3_pab_partial":
            k = rng.choice(list(pab))
            if rng.random() < 0.6:
                pab[k] = False
            else:
                del pab[k]
        p["PublicAccessBlockConfiguration"] = pab
    p["Tags"] = [{"Key": "Service", "Value": Ref("ServiceName")}]
    res[name] = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": p}


def cfn_template(rng: random.Random, out: Path, index: int, stats: Stats) -> None:
    word = rng.choice(WORDS)
    params: dict = {
        "ServiceName": {"Type": "String", "Default": word},
        "Environment": {"Type": "String", "AllowedValues": ENVS, "Default": "dev"},
        "VpcId": {"Type": "AWS::EC2::VPC::Id"},
        "SubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>"},
        "LogBucketName": {"Type": "String", "Default": f"acme-{word}-logs"},
        "AdminCidr": {"Type": "String", "Default": "10.0.0.0/8"},
        "ImageId": {"Type": "AWS::EC2::Image::Id"},
    }
    res: dict = {}
    comps = rng.sample(["s3", "network", "rds", "compute", "audit", "iam"], rng.randint(2, 5))
    if "s3" in comps or "rds" in comps:
        kweak = pick(rng, stats, "cloudformation", ["kms_no_rotation", "kms_rotation_off"])
        kp: dict = {"Description": Sub("${ServiceName} data key"), "PendingWindowInDays": 30}
        if kweak != "kms_no_rotation":
            kp["EnableKeyRotation"] = kweak != "kms_rotation_off"
        kp["KeyPolicy"] = {"Version": "2012-10-17", "Statement": [{
            "Sid": "AccountAdmin", "Effect": "Allow", "Principal": {"AWS": Sub("arn:aws:iam::${AWS::AccountId}:root")},
            "Action": "kms:*", "Resource": "*"}]}
        res["DataKey"] = {"Type": "AWS::KMS::Key", "Properties": kp}
    if "s3" in comps:
        for purpose in rng.sample(["DataBucket", "AssetsBucket", "ExportsBucket"], rng.randint(1, 2)):
            cfn_bucket(rng, purpose, stats, res)
    if "network" in comps:
        for sg in rng.sample(["Web", "Bastion", "App"], rng.randint(1, 2)):
            weak = pick(rng, stats, "cloudformation", ["sg_ssh_world", "sg_rdp_world", "sg_all_world", "sg_ingress_ssh_world",
                                                        "sg_ssh_world_ipv6"])
            ing: list = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS"}]
            if weak == "sg_ssh_world":
                ing.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"})
            elif weak == "sg_ssh_world_ipv6":
                ing.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv6": "::/0"})
            elif weak == "sg_rdp_world":
                ing.append({"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIp": "0.0.0.0/0"})
            elif weak == "sg_all_world":
                ing.append({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"})
            elif sg == "Bastion":
                ing.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": Ref("AdminCidr"), "Description": "SSH, office"})
            res[f"{sg}SecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": f"{sg} tier", "VpcId": Ref("VpcId"), "SecurityGroupIngress": ing,
                "Tags": [{"Key": "Name", "Value": Sub(f"${{AWS::StackName}}-{sg.lower()}")}]}}
            if weak == "sg_ingress_ssh_world" or (weak is None and rng.random() < 0.3):
                res[f"{sg}SshIngress"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
                    "GroupId": GetAtt(f"{sg}SecurityGroup", "GroupId"), "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                    "CidrIp": "0.0.0.0/0" if weak else "172.16.0.0/12"}}
    if "rds" in comps:
        weak = pick(rng, stats, "cloudformation", ["rds_public", "rds_unencrypted", "rds_encryption_off"])
        p: dict = {"DBInstanceIdentifier": Sub("${AWS::StackName}-db"), "Engine": "postgres", "EngineVersion": "15.5",
                   "DBInstanceClass": rng.choice(["db.t3.medium", "db.r6g.large"]), "AllocatedStorage": "50",
                   "MasterUsername": "app", "ManageMasterUserPassword": True, "DBSubnetGroupName": Ref("DbSubnetGroup"),
                   "MultiAZ": If("IsProd", True, False)}
        if weak != "rds_unencrypted":
            p["StorageEncrypted"] = weak != "rds_encryption_off"
            if weak is None:
                p["KmsKeyId"] = Ref("DataKey")
        p["PubliclyAccessible"] = weak == "rds_public"
        p["BackupRetentionPeriod"] = 7
        p["DeletionProtection"] = True
        res["DbSubnetGroup"] = {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": Sub("${ServiceName} database"), "SubnetIds": Ref("SubnetIds")}}
        res["Database"] = {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot", "Properties": p}
    if "compute" in comps:
        weak = pick(rng, stats, "cloudformation", ["imds_optional", "imds_missing", "ebs_unencrypted", "ebs_encryption_off"])
        data: dict = {"ImageId": Ref("ImageId"), "InstanceType": rng.choice(["t3.micro", "m6i.large"])}
        if weak != "imds_missing":
            data["MetadataOptions"] = {"HttpEndpoint": "enabled", "HttpTokens": "optional" if weak == "imds_optional" else "required",
                                       "HttpPutResponseHopLimit": 1}
        data["BlockDeviceMappings"] = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "Encrypted": True}}]
        res["AppLaunchTemplate"] = {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateName": Sub("${AWS::StackName}-app"), "LaunchTemplateData": data}}
        if rng.random() < 0.5:
            res["AppInstance"] = {"Type": "AWS::EC2::Instance", "Properties": {
                "LaunchTemplate": {"LaunchTemplateId": Ref("AppLaunchTemplate"),
                                   "Version": GetAtt("AppLaunchTemplate", "LatestVersionNumber")}}}
        for i in range(rng.randint(0, 2)):
            vp: dict = {"AvailabilityZone": Sub("${AWS::Region}a"), "Size": rng.choice([50, 100]), "VolumeType": "gp3"}
            if weak != "ebs_unencrypted":
                vp["Encrypted"] = weak != "ebs_encryption_off"
            res[f"DataVolume{i}"] = {"Type": "AWS::EC2::Volume", "Properties": vp}
            weak = None if weak in ("ebs_unencrypted", "ebs_encryption_off") else weak
    if "audit" in comps:
        weak = pick(rng, stats, "cloudformation", ["trail_single_region", "trail_no_validation", "trail_no_kms"])
        tp: dict = {"TrailName": Sub("${AWS::StackName}-trail"), "S3BucketName": Ref("LogBucketName"), "IsLogging": True,
                    "IncludeGlobalServiceEvents": True}
        if weak != "trail_single_region":
            tp["IsMultiRegionTrail"] = True
        if weak != "trail_no_validation":
            tp["EnableLogFileValidation"] = True
        if weak != "trail_no_kms":
            tp["KMSKeyId"] = GetAtt("TrailKey", "Arn")
        res["Trail"] = {"Type": "AWS::CloudTrail::Trail", "Properties": tp}
        res["TrailKey"] = {"Type": "AWS::KMS::Key", "Properties": {"Description": "CloudTrail logs", "EnableKeyRotation": True,
                                                                    "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                                                                        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                                                        "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}]}}}
    if "iam" in comps:
        weak = pick(rng, stats, "cloudformation", ["iam_star_managed", "iam_star_role_inline"])
        stmt = {"Effect": "Allow", "Action": "*", "Resource": "*"} if weak == "iam_star_managed" else {
            "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": Sub(f"arn:aws:s3:::acme-{word}-data/*")}
        res["AppPolicy"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Description": Sub("${ServiceName} application"), "PolicyDocument": {"Version": "2012-10-17", "Statement": [stmt]}}}
        inline = {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]} if weak == "iam_star_role_inline" else {
            "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": Sub("arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:jobs")}
        res["AppRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [Ref("AppPolicy")],
            "Policies": [{"PolicyName": "queue", "PolicyDocument": {"Version": "2012-10-17", "Statement": [inline]}}]}}
    template: dict = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{word} service stack ({', '.join(comps)})",
        "Parameters": params,
        "Conditions": {"IsProd": Equals(Ref("Environment"), "prod")},
        "Resources": res,
        "Outputs": {k: {"Value": Ref(k)} for k in list(res)[:3]},
    }
    if rng.random() < 0.25:
        path = out / "cloudformation" / f"stack-{index:04d}.json"
        text = json.dumps(long_form(template), indent=rng.choice([2, 4])) + "\n"
    else:
        path = out / "cloudformation" / f"stack-{index:04d}.yaml"
        lines = [f"# {word}: generated by bench/gen_iac.py"] if rng.random() < 0.5 else []
        for k, v in template.items():
            if isinstance(v, dict):
                lines.append(f"{k}:")
                lines.extend(yaml_lines(v, 2))
            else:
                lines.append(f"{k}: {scalar(v)}")
        text = "\n".join(lines) + "\n"
    write(path, text)
    stats.file("cloudformation", text, len(res))


# -------------------------------------------------------------------- Dockerfile

BASES = {
    "go": ("golang:1.22-alpine", ["gcr.io/distroless/static-debian12:nonroot", "alpine:3.19", "scratch"]),
    "node": ("node:20-bookworm-slim", ["node:20-bookworm-slim"]),
    "python": ("python:3.12-slim", ["python:3.12-slim"]),
    "java": ("maven:3.9-eclipse-temurin-21", ["eclipse-temurin:21-jre"]),
}
DOCKER_WEAK = ["no_user", "user_root", "user_build_only", "latest_base", "untagged_base", "add_url", "add_local",
               "add_archive", "env_secret", "no_healthcheck", "apt_update_alone", "curl_pipe_sh", "sudo",
               "apt_no_recommends"]


def dockerfile(rng: random.Random, out: Path, index: int, stats: Stats) -> None:
    lang = rng.choice(sorted(BASES))
    word = rng.choice(WORDS)
    weak = pick(rng, stats, "dockerfile", DOCKER_WEAK)
    if weak == "apt_no_recommends" and lang == "go":  # Go images have no apt-get
        lang = "python"
    build, finals = BASES[lang]
    final = rng.choice(finals)
    if weak == "sudo" and (final == "scratch" or final.startswith("gcr.io/distroless")):
        final = "alpine:3.19"  # no shell to run sudo in
    digest = hashlib.sha256(f"{word}{index}".encode()).hexdigest()
    if weak == "latest_base":
        final = final.split(":")[0] + ":latest" if final != "scratch" else "alpine:latest"
    elif weak == "untagged_base":
        final = final.split(":")[0] if final != "scratch" else "alpine"
    elif final != "scratch" and rng.random() < 0.3:
        final = f"{final}@sha256:{digest}"
    if weak in ("no_user", "user_build_only") and "nonroot" in final:
        final = "alpine:3.19"
    port = rng.choice([8080, 3000, 8000, 9000])
    lines: list[str] = []
    if rng.random() < 0.4:
        lines.append("# syntax=docker/dockerfile:1.7")
    if rng.random() < 0.5:
        lines.append(f"# {word} ({lang}): built by CI, see README")
    lines.append(f"ARG VERSION=0.{rng.randint(1, 40)}.{rng.randint(0, 9)}")
    multi = lang in ("go", "java") or rng.random() < 0.5
    apt_ok = "apt-get update && apt-get install -y --no-install-recommends"
    if multi:
        lines += ["", f"FROM {build} AS build", "WORKDIR /src"]
        if weak == "user_build_only":
            lines.append("USER 1000")
        if lang == "go":
            lines += ["COPY go.mod go.sum ./", "RUN go mod download", "COPY . .",
                      "RUN CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w -X main.version=${VERSION}\" -o /out/app ./cmd/app"]
        elif lang == "java":
            lines += ["COPY pom.xml .", "RUN --mount=type=cache,target=/root/.m2 mvn -B dependency:go-offline",
                      "COPY src ./src", "RUN --mount=type=cache,target=/root/.m2 mvn -B package -DskipTests && cp target/*.jar /out/app.jar"]
        elif lang == "node":
            lines += ["COPY package.json package-lock.json ./", "RUN npm ci --omit=dev", "COPY . .", "RUN npm run build"]
        else:
            lines += ["COPY requirements.txt .", "RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt"]
        if weak == "curl_pipe_sh":
            lines.append("RUN curl -fsSL https://install.example.com/tool.sh | sh")
        if weak == "apt_update_alone" and lang in ("python", "node"):
            lines += ["RUN apt-get update", "RUN apt-get install -y --no-install-recommends build-essential=12.9"]
        elif weak == "apt_update_alone" and lang == "go":
            lines += ["RUN apk update", "RUN apk add --no-cache git=2.43.0-r0"]
    lines += ["", f"FROM {final}" + (" AS runtime" if rng.random() < 0.3 else "")]
    debian = final.startswith(("node", "python", "eclipse-temurin"))
    alpine = final.startswith("alpine")
    if final != "scratch" and not final.startswith("gcr.io/distroless"):
        if debian:
            if weak == "apt_update_alone" and not (multi and lang in ("python", "node")):
                lines += ["RUN apt-get update", "RUN apt-get install -y --no-install-recommends ca-certificates=20230311 \\",
                          "    && rm -rf /var/lib/apt/lists/*"]
            elif weak == "apt_no_recommends":
                lines += ["RUN apt-get update && apt-get install -y ca-certificates tzdata"]
            elif weak == "sudo":
                lines += [f"RUN {apt_ok} sudo=1.9.13p3-1+deb12u1 \\", "    && rm -rf /var/lib/apt/lists/*",
                          "RUN sudo mkdir -p /srv/data"]
            else:
                pkgs = "ca-certificates=20230311 tzdata=2024a-0+deb12u1" + (" curl=7.88.1-10+deb12u5" if rng.random() < 0.5 else "")
                lines += [f"RUN {apt_ok} \\", f"      {pkgs} \\", "    && rm -rf /var/lib/apt/lists/*"]
        elif alpine:
            lines += ["RUN apk add --no-cache ca-certificates=20240226-r0 tzdata=2024a-r0"]
            if weak == "sudo":
                lines += ["RUN apk add --no-cache sudo=1.9.15_p5-r0 && sudo mkdir -p /srv/data"]
        if weak == "curl_pipe_sh" and not multi:
            lines.append("RUN curl -fsSL https://install.example.com/agent.sh | bash -s -- --yes")
        if lang != "go" and weak not in ("user_root",) and debian and lang != "node":
            lines.append("RUN groupadd --system app && useradd --system --gid app --home /app app")
    lines += ["WORKDIR /app" if final != "scratch" else "WORKDIR /"]
    if weak == "env_secret":
        lines.append(rng.choice([f"ENV API_TOKEN={digest[:24]}", f"ENV DB_PASSWORD=\"{digest[:16]}\"",
                                 f"ARG NPM_TOKEN={digest[:20]}"]))
    lines.append(f"ENV PORT={port} \\\n    APP_ENV=production")
    if weak == "add_url":
        lines.append("ADD https://releases.example.com/config/app-config.tar.gz /etc/app/")
    elif weak == "add_local":
        lines.append("ADD config.yaml /etc/app/config.yaml")
    elif weak == "add_archive":
        lines.append("ADD assets.tar.gz /app/static/")
    if multi:
        src = {"go": "/out/app", "java": "/out/app.jar", "node": "/src/dist", "python": "/wheels"}[lang]
        lines.append(f"COPY --from=build {src} {'/app/' if lang != 'go' else '/app/app'}")
        if lang == "python":
            lines.append("RUN pip install --no-cache-dir /app/*.whl && rm -rf /app/*.whl")
    else:
        lines.append("COPY . .")
        if lang == "python":
            lines.append("RUN pip install --no-cache-dir -r requirements.txt")
        elif lang == "node":
            lines.append("RUN npm ci --omit=dev")
    lines.append(f"EXPOSE {port}")
    if weak != "no_healthcheck" and final != "scratch" and not final.startswith("gcr.io/distroless"):
        probe = "wget -qO- http://127.0.0.1:$PORT/healthz" if alpine else f"curl -fsS http://127.0.0.1:{port}/healthz"
        lines.append(f"HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD {probe} || exit 1")
    elif weak != "no_healthcheck" and rng.random() < 0.5:
        lines.append("HEALTHCHECK --interval=30s CMD [\"/app/app\", \"healthcheck\"]")
    if weak == "user_root":
        lines.append("USER root")
    elif weak not in ("no_user", "user_build_only") and "nonroot" not in final:
        lines.append({"node": "USER node", "go": "USER 65532:65532"}.get(lang, "USER app" if debian else "USER 10001"))
    elif "nonroot" in final and rng.random() < 0.5 and weak is None:
        lines.append("USER nonroot:nonroot")
    cmd = {"go": "[\"/app/app\"]", "java": "[\"java\", \"-jar\", \"/app/app.jar\"]", "node": "[\"node\", \"dist/server.js\"]",
           "python": f"[\"gunicorn\", \"--bind\", \"0.0.0.0:{port}\", \"{word}.wsgi:app\"]"}[lang]
    lines.append(f"{'ENTRYPOINT' if lang == 'go' else 'CMD'} {cmd}")
    text = "\n".join(lines) + "\n"
    write(out / "docker" / f"{word}-{lang}-{index:04d}" / "Dockerfile", text)
    stats.file("dockerfile", text, 1)


# -------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--terraform", type=int, default=100, help="Terraform modules (default 100)")
    ap.add_argument("--cloudformation", type=int, default=100, help="CloudFormation templates (default 100)")
    ap.add_argument("--dockerfiles", type=int, default=100, help="Dockerfiles (default 100)")
    ap.add_argument("--kubernetes", type=int, default=0, help="Kubernetes files, from gen_corpus.py (default 0)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    args = ap.parse_args(argv)
    if min(args.terraform, args.cloudformation, args.dockerfiles, args.kubernetes) < 0:
        ap.error("counts must not be negative")

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    stats = Stats()
    # One generator per format, so that the Terraform modules of a seed are
    # the same whatever the other counts.
    for fmt, n, make in (("terraform", args.terraform, terraform_module),
                         ("cloudformation", args.cloudformation, cfn_template),
                         ("dockerfile", args.dockerfiles, dockerfile)):
        rng = random.Random(f"{args.seed}-{fmt}")
        for i in range(1, n + 1):
            make(rng, args.out, i, stats)
    if args.kubernetes:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import gen_corpus  # noqa: E402  (beside this script)

        k8s = args.out / "kubernetes"
        gen_corpus.main(["--files", str(args.kubernetes), "--seed", str(args.seed), "--out", str(k8s)])
        kstats_path = k8s.with_name(k8s.name + ".stats.json")
        kstats = json.loads(kstats_path.read_text(encoding="utf-8"))
        kstats_path.unlink()  # it would land inside the corpus
        stats.data["formats"]["kubernetes"] = {"files": kstats["files"], "bytes": kstats["bytes"], "documents": kstats["documents"]}
        stats.data["weaknesses"]["kubernetes"] = kstats["violations"]

    data = stats.data
    data["formats"] = dict(sorted(data["formats"].items()))
    data["weaknesses"] = {f: dict(sorted(w.items())) for f, w in sorted(data["weaknesses"].items())}
    data["files"] = sum(f["files"] for f in data["formats"].values())
    data["bytes"] = sum(f["bytes"] for f in data["formats"].values())
    stats_path = args.out.with_name(args.out.name + ".stats.json")
    stats_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    parts = ", ".join(f"{k} {v['files']} files {v['bytes'] / 1e6:.1f} MB" for k, v in data["formats"].items())
    print(f"{args.out}: {parts}; {sum(sum(w.values()) for w in data['weaknesses'].values())} seeded weaknesses",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
