#!/usr/bin/env python3
"""Make a GitHub Actions corpus for timing: COPIES copies of
bench/peers/gha-corpus (8 workflows and one composite action, each holding or
avoiding one weakness zizmor's high and medium audits report) in one
repository.

    python3 bench/peers/gen_gha_corpus.py --copies 1000 --out bench/corpus-gha-1000

Copy i of `.github/workflows/NAME.yml` becomes
`.github/workflows/cNNNN-NAME.yml` and the action becomes
`.github/actions/setup-NNNN/action.yml`: one flat repository, so zizmor and
bylaw each take it in one run, from its root, as they take a real one. The
files are byte-identical copies (no tool caches results by content).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "gha-corpus" / ".github"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.copies < 1:
        ap.error("--copies must be at least 1")
    workflows = sorted((SOURCE / "workflows").glob("*.yml"))
    actions = sorted((SOURCE / "actions").iterdir())
    if args.out.exists():
        shutil.rmtree(args.out)
    wf_dir = args.out / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    files = 0
    for i in range(args.copies):
        for wf in workflows:
            shutil.copyfile(wf, wf_dir / f"c{i:04d}-{wf.name}")
            files += 1
        for action in actions:
            dest = args.out / ".github" / "actions" / f"{action.name}-{i:04d}"
            dest.mkdir(parents=True)
            shutil.copyfile(action / "action.yml", dest / "action.yml")
            files += 1
    print(f"{args.out}: {files} files ({args.copies} copies of {len(workflows)} workflows and {len(actions)} action)")


if __name__ == "__main__":
    main()
