#!/usr/bin/env python3
"""`bylaw check` of each gatekeeper-library constraint on its own samples.

For every case of every suite (../shared/conformance/gatekeeper-library),
runs `bylaw check -p TEMPLATE -p CONSTRAINT OBJECT -f json` and compares
the verdict with the suite's assertions (violations yes/no/N, ignoring
`message` filters), and counts the findings placed below the start of
their document (on a node of it, not on the document itself). Cases with an
inventory are counted apart: `bylaw check` builds no inventory from a
single object. Usage: scripts/gatekeeper-check.py [BYLAW] [LIBRARY]
"""
import json, os, subprocess, sys
import yaml  # PyYAML

bylaw = sys.argv[1] if len(sys.argv) > 1 else "target/debug/bylaw"
library = sys.argv[2] if len(sys.argv) > 2 else "../shared/conformance/gatekeeper-library/library"
agree = disagree = inventory = 0
findings = below = 0
details = []
for root, _, files in sorted(os.walk(library)):
    if "suite.yaml" not in files:
        continue
    suite = yaml.safe_load(open(os.path.join(root, "suite.yaml")))
    for test in suite.get("tests", []):
        t = os.path.join(root, test["template"]); c = os.path.join(root, test["constraint"])
        for case in test.get("cases", []):
            if case.get("inventory"):
                inventory += 1
                continue
            obj = os.path.join(root, case["object"])
            p = subprocess.run([bylaw, "check", "--no-config", "-p", t, "-p", c, obj, "-f", "json"],
                               capture_output=True, text=True)
            try:
                report = json.loads(p.stdout)
            except ValueError:
                disagree += 1; details.append(f"{root}:{case['name']}: no report ({p.stderr.strip()[:120]})"); continue
            got = [f for f in report["findings"] if not f["rule_id"].startswith("bylaw/")]
            expected = None
            for a in case.get("assertions", []):
                if "message" in a:
                    continue
                v = a.get("violations", True)
                expected = (len(got) > 0) if v in (True, "yes") else (len(got) == 0) if v in (False, "no") else (len(got) == int(v))
            ok = expected if expected is not None else True
            agree += ok; disagree += not ok
            if not ok:
                details.append(f"{os.path.relpath(root, library)}:{case['name']}: {len(got)} findings")
            for f in got:
                findings += 1
                # placed on a node of the document, not on the document itself
                below += f.get("pointer", "") not in ("", "/request/object", "/request/oldObject")
print(f"cases checked: {agree + disagree}, verdicts as the suite: {agree}, different: {disagree}; with an inventory (not checked): {inventory}")
print(f"findings: {findings}, on a node below the document: {below} ({100.0 * below / max(findings, 1):.1f}%)")
for d in details:
    print("  different:", d)
