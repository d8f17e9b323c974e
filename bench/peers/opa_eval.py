#!/usr/bin/env python3
"""Evaluate a Rego policy on every YAML document of a directory with Go OPA,
in-process, through PyPI's opa-golib-python-bindings.

    python bench/peers/opa_eval.py bench/peers/conftest/k8s.rego bench/corpus-1000

What a Python user of the bindings would write: walk the directory for
*.yaml / *.yml (sorted), read each file, split it into documents with PyYAML
(`yaml.load_all` with the libyaml `CSafeLoader` when PyYAML has it, else the
pure-Python `SafeLoader`), and evaluate `data.main.deny` and `data.main.warn`
on each mapping document as `input`, one query per document, as conftest
does. The engine (OPA's `rego` package, embedded as a Go c-shared library)
prepares the query once and reuses it.

Prints one JSON line on stdout: files, documents, deny and warn counts (the
number of distinct messages per document, as conftest counts them) and
errors (documents the engine or the JSON encoding refused; each is also
reported on stderr). Exits 1 when a file cannot be read or parsed.
"""

from __future__ import annotations

import json
import os
import sys

import yaml
from opa_bindings import OpaEngine, OpaError

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
QUERY = "deny = data.main.deny; warn = data.main.warn"


def yaml_files(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith((".yaml", ".yml")))
    return found


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: opa_eval.py POLICY.rego DIR", file=sys.stderr)
        return 2
    policy, root = sys.argv[1], sys.argv[2]
    counts = {"files": 0, "documents": 0, "deny": 0, "warn": 0, "errors": 0}
    with OpaEngine() as engine:
        with open(policy, encoding="utf-8") as f:
            engine.add_policy(os.path.basename(policy), f.read())
        for path in yaml_files(root):
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
                try:
                    rows = engine.eval_query(QUERY, doc)
                except (OpaError, TypeError, ValueError) as e:
                    counts["errors"] += 1
                    print(f"opa_eval.py: {path}: {e}", file=sys.stderr)
                    continue
                for row in rows:
                    counts["deny"] += len(row.get("deny", []))
                    counts["warn"] += len(row.get("warn", []))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
