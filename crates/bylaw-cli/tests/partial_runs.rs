//! Runs that evaluate part of the repository, recorded in the history
//! store (SQLite and PostgreSQL alike): `--changed-only`, narrower PATHS
//! and a file that does not parse fix nothing they did not look at, make
//! no finding recur, keep the open findings of the other files, and do not
//! trip the regression gate; the run's scope is recorded.

mod support;

use bylaw_history::{testing, RunScope, Store};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::cli::{command, run_bounded, workspace, write, Out};

fn bylaw_at(dir: &Path, now: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", now)
        .env("BYLAW_REPOSITORY", "acme/shop")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    run_bounded(c, None, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

fn deployment(name: &str, privileged: bool, host_network: bool) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      \
         hostNetwork: {host_network}\n      containers:\n        - name: {name}\n          image: ghcr.io/acme/{name}:1.0\n          \
         securityContext:\n            privileged: {privileged}\n"
    )
}

/// The totals of `report --format json` at `now`.
fn totals(dir: &Path, store: &str, now: &str) -> Value {
    let o = bylaw_at(dir, now, &["report", "--store", store, "--format", "json"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    v["totals"].clone()
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The regression gate's exit code at `now`.
fn gate(dir: &Path, store: &str, now: &str) -> Out {
    bylaw_at(
        dir,
        now,
        &["report", "--store", store, "--format", "json", "-o", "gate.json", "--fail-on-regression"],
        &[],
    )
}

/// The scenario in `store`; the totals after each step.
fn scenario(store: &str) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(workspace().join("tests/fixtures/exceptions/policy.yaml"), dir.join("policy.yaml")).unwrap();
    write(dir, ".bylaw.yaml", "policies: [policy.yaml]\npaths: [deploy]\n");
    // X-001 (privileged) in all three files, X-002 (host network) only in the backend
    write(dir, "deploy/a.yaml", &deployment("a", true, false));
    write(dir, "deploy/c.yaml", &deployment("c", true, false));
    write(dir, "deploy/bases/backend/b.yaml", &deployment("b", true, true));
    let record = |now: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["check", "-q", "--record", store];
        args.extend_from_slice(extra);
        let o = bylaw_at(dir, now, &args, env);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert!(o.stderr.contains("recorded run"), "{}", o.stderr);
    };
    let mut out = Vec::new();

    // 1. the whole repository: 4 findings, all open
    record("2026-05-04T09:00:00Z", &[], &[]);
    let full = totals(dir, store, "2026-05-04T10:00:00Z");
    assert_eq!((n(&full, "opened"), n(&full, "open"), n(&full, "fixed")), (4, 4, 0), "{full}");
    out.push(full.clone());

    // 2. only the changed file: the others' findings are not fixed, and stay open
    record("2026-05-05T09:00:00Z", &["--changed-only"], &[("BYLAW_CHANGED_FILES", "deploy/a.yaml")]);
    let t = totals(dir, store, "2026-05-05T10:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "recurrences"), n(&t, "open")), (0, 0, 4), "{t}");
    assert_eq!(t["score"], full["score"], "the score is of the whole state");
    let g = gate(dir, store, "2026-05-05T10:00:00Z");
    assert_eq!(g.code, 0, "{}", g.stderr);
    out.push(t);

    // 3. the whole repository again, nothing changed: nothing recurs, and the
    // gate compares it with the state after run 2, not with run 2's one file
    record("2026-05-06T09:00:00Z", &[], &[]);
    let t = totals(dir, store, "2026-05-06T10:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "recurrences"), n(&t, "open"), n(&t, "opened")), (0, 0, 4, 4), "{t}");
    let g = gate(dir, store, "2026-05-06T10:00:00Z");
    assert_eq!(g.code, 0, "{}", g.stderr);
    out.push(t);

    // 4. a narrower path
    record("2026-05-07T09:00:00Z", &["deploy/bases/backend"], &[]);
    let t = totals(dir, store, "2026-05-07T10:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "recurrences"), n(&t, "open")), (0, 0, 4), "{t}");
    let g = gate(dir, store, "2026-05-07T10:00:00Z");
    assert_eq!(g.code, 0, "{}", g.stderr);
    out.push(t);

    // 5. a file that does not parse: its finding is not fixed; the parse
    // error is counted apart, not as a policy finding
    write(dir, "deploy/c.yaml", "apiVersion: apps/v1\nkind: [Deployment\n");
    record("2026-05-08T09:00:00Z", &[], &[]);
    let t = totals(dir, store, "2026-05-08T10:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "recurrences"), n(&t, "open"), n(&t, "opened")), (0, 0, 4, 4), "{t}");
    assert_eq!(n(&t, "parse_errors"), 1, "{t}");
    out.push(t);

    // 5b. a run of another file only: c is still unread in the state
    record("2026-05-08T12:00:00Z", &["deploy/a.yaml"], &[]);
    let t = totals(dir, store, "2026-05-08T13:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "open"), n(&t, "parse_errors")), (0, 4, 1), "{t}");
    out.push(t);

    // 6. c parses again (with its old finding) and a is fixed: a's finding is fixed
    write(dir, "deploy/c.yaml", &deployment("c", true, false));
    write(dir, "deploy/a.yaml", &deployment("a", false, false));
    record("2026-05-09T09:00:00Z", &[], &[]);
    let t = totals(dir, store, "2026-05-09T10:00:00Z");
    assert_eq!((n(&t, "fixed"), n(&t, "recurrences"), n(&t, "open")), (1, 0, 3), "{t}");
    assert_eq!(n(&t, "parse_errors"), 0, "{t}");
    out.push(t);

    // what each run evaluated
    let scopes: Vec<Option<RunScope>> =
        Store::open(store).unwrap().runs().unwrap().into_iter().map(|r| r.scope).collect();
    let paths = |p: &[&str], changed: Option<&[&str]>| {
        Some(RunScope {
            paths: p.iter().map(|s| (*s).to_owned()).collect(),
            changed: changed.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        })
    };
    assert_eq!(
        scopes,
        [
            paths(&["deploy"], None),
            paths(&["deploy"], Some(&["deploy/a.yaml"])),
            paths(&["deploy"], None),
            paths(&["deploy/bases/backend"], None),
            paths(&["deploy"], None),
            paths(&["deploy/a.yaml"], None),
            paths(&["deploy"], None),
        ]
    );
    // a run of the whole project (no `paths`) records no scope
    write(dir, ".bylaw.yaml", "policies: [policy.yaml]\n");
    record("2026-05-10T09:00:00Z", &[], &[]);
    let runs = Store::open(store).unwrap().runs().unwrap();
    assert_eq!(runs.last().unwrap().scope, None);
    out
}

#[test]
fn partial_runs_fix_nothing_outside_their_scope_in_sqlite_and_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = scenario(&tmp.path().join("h.db").display().to_string());
    let pg = testing::Postgres::start().unwrap();
    assert_eq!(scenario(&pg.url()), sqlite);
}
