#!/usr/bin/env python3
"""Evaluate bench/policy.rego (or any conftest-style module) on every YAML
document of a directory with Go OPA, in process, through PyPI's
opa-golib-python-bindings, and count the findings rule by rule.

    python bench/opa_eval.py bench/policy.rego bench/corpus-10000
    python bench/opa_eval.py --details out.json bench/policy.rego bench/corpus-10000
    python bench/opa_eval.py --parse-only bench/policy.rego bench/corpus-10000

What a Python user of the bindings would write: walk the directory for
*.yaml / *.yml (sorted), read each file, split it into documents with PyYAML
(`yaml.load_all` with the libyaml `CSafeLoader` when PyYAML has it, else the
pure-Python `SafeLoader`), and evaluate the module's `deny…`, `violation…`
and `warn…` rules of `data.main` on each mapping document as `input`. The
policy is loaded once; the rules are asked in one query per document
(`r0 = data.main.deny_privileged; r1 = …`), which OPA prepares once and
which shares one evaluation cache between the rules (conftest asks each rule
in a query of its own; --query-per-rule does that). A rule's findings on a document are its results
(distinct messages: the rules are sets).

Rule ids: a rule's METADATA `custom.id` (the K8S-0NN ids of
bench/policy.rego), else `main.RULE`, as bylaw names them.

Prints one JSON line on stdout: files, documents, findings, per_rule
({id: count}) and errors (documents the engine or the JSON encoding refused;
each is also reported on stderr). --details FILE writes the counts per rule
and file ({id: {file: count}}) to FILE, for comparing with bylaw's report.
--parse-only walks and parses the corpus the same way and evaluates
nothing (OPA is not even imported): the time of the YAML parsing alone.
Exits 1 when a file cannot be read or parsed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PACKAGE = "main"
# A conftest rule definition at the start of a line: deny, violation or warn,
# optionally suffixed (deny_root), as a partial set.
RULE = re.compile(r"^((?:deny|violation|warn)(?:_[A-Za-z0-9_]+)?)\s+contains\b")
ID = re.compile(r"^#\s+id:\s*(\S+)\s*$")


def yaml_files(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith((".yaml", ".yml")))
    return found


def policy_rules(text: str) -> dict[str, str]:
    """Rule name → rule id, in the order of the module: the `custom.id` of
    the METADATA comment block right above a rule's first definition."""
    rules: dict[str, str] = {}
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            block.append(line)
            continue
        m = RULE.match(line)
        if m and m.group(1) not in rules:
            rule_id = f"{PACKAGE}.{m.group(1)}"
            if any(b.strip() == "# METADATA" for b in block):
                for b in block:
                    found = ID.match(b)
                    if found:
                        rule_id = found.group(1)
                        break
            rules[m.group(1)] = rule_id
        block = []
    return rules


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policy")
    ap.add_argument("root")
    ap.add_argument("--details", help="write the counts per rule and file (JSON) to this file")
    ap.add_argument("--parse-only", action="store_true", help="parse the corpus, evaluate nothing")
    ap.add_argument(
        "--query-per-rule",
        action="store_true",
        help="ask each rule in a query of its own, as conftest and bylaw do (no cache shared between rules)",
    )
    args = ap.parse_args()

    with open(args.policy, encoding="utf-8") as f:
        source = f.read()
    rules = policy_rules(source)
    if not rules:
        print(f"opa_eval.py: {args.policy}: no deny/violation/warn rules", file=sys.stderr)
        return 2
    names = list(rules)
    if args.query_per_rule:
        queries = [f"r{i} = data.{PACKAGE}.{name}" for i, name in enumerate(names)]
    else:
        queries = ["; ".join(f"r{i} = data.{PACKAGE}.{name}" for i, name in enumerate(names))]

    engine = None
    if not args.parse_only:
        from opa_bindings import OpaEngine, OpaError

        engine = OpaEngine()
        engine.add_policy(os.path.basename(args.policy), source)

    counts = {"files": 0, "documents": 0, "findings": 0, "errors": 0}
    per_rule: collections.Counter[str] = collections.Counter()
    per_rule_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for path in yaml_files(args.root):
        counts["files"] += 1
        try:
            with open(path, encoding="utf-8") as f:
                docs = list(yaml.load_all(f, Loader=LOADER))
        except (OSError, yaml.YAMLError) as e:
            print(f"opa_eval.py: {path}: {e}", file=sys.stderr)
            return 1
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            counts["documents"] += 1
            if engine is None:
                continue
            try:
                rows = [row for query in queries for row in engine.eval_query(query, doc)]
            except (OpaError, TypeError, ValueError) as e:
                counts["errors"] += 1
                print(f"opa_eval.py: {path}: {e}", file=sys.stderr)
                continue
            for row in rows:
                for i, name in enumerate(names):
                    n = len(row.get(f"r{i}") or [])
                    if n:
                        per_rule[rules[name]] += n
                        per_rule_file[rules[name]][path] += n
                        counts["findings"] += n
    if engine is not None:
        engine.close()
    counts["per_rule"] = dict(sorted(per_rule.items()))
    if args.details:
        with open(args.details, "w", encoding="utf-8") as f:
            json.dump({k: dict(v) for k, v in sorted(per_rule_file.items())}, f, indent=1, sort_keys=True)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
