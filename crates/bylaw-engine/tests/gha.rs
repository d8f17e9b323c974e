//! The `github-actions-hardening` pack on the spellings attackers and real
//! workflows use: pwn-request checkouts by merge ref or PR number, runner
//! labels in any case, groups and matrices, template injection in bracket,
//! upper-case and `toJSON` forms, inert `ACTIONS_ALLOW_UNSECURE_COMMANDS`.

mod common;

/// The rule ids that fire on a workflow, sorted and deduplicated.
fn rules(workflow: &str) -> Vec<String> {
    let set = common::packs(&["github-actions-hardening"]);
    let report = common::run(&set, &[common::file(".github/workflows/w.yml", workflow)]);
    let mut r: Vec<String> = report.findings.iter().map(|f| f.rule_id.clone()).collect();
    r.sort();
    r.dedup();
    r
}

const SHA: &str = "11bd71901bbe5b1630ceea73d27597364c9af683";

#[test]
fn pwn_request_checkouts_by_merge_ref_or_head_repository() {
    for with in [
        "ref: \"refs/pull/${{ github.event.number }}/merge\"",
        "ref: \"${{ github.event.pull_request.merge_commit_sha }}\"",
        "repository: \"${{ github.event.pull_request.head.repo.full_name }}\"",
    ] {
        let w = format!("on: {{ pull_request_target: {{ types: [opened] }} }}\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@{SHA}\n        with: {{ {with}, persist-credentials: false }}\n      - run: make\n");
        assert!(rules(&w).contains(&"GHA-004".to_owned()), "{with}: {:?}", rules(&w));
    }
}

#[test]
fn self_hosted_runners_in_any_spelling() {
    for runs_on in ["Self-Hosted", "[self-hosted, linux]", "{ group: prod-runners }", "{ labels: [SELF-HOSTED] }"] {
        let w = format!("on: pull_request\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: {runs_on}\n    steps: [{{ run: make }}]\n");
        assert!(rules(&w).contains(&"GHA-010".to_owned()), "{runs_on}");
    }
    let matrix = "on: pull_request\npermissions: { contents: read }\njobs:\n  t:\n    strategy: { matrix: { os: [self-hosted, ubuntu-latest] } }\n    runs-on: ${{ matrix.os }}\n    steps: [{ run: make }]\n";
    assert!(rules(matrix).contains(&"GHA-010".to_owned()));
    let hosted = "on: pull_request\npermissions: { contents: read }\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps: [{ run: make }]\n";
    assert_eq!(rules(hosted), Vec::<String>::new());
}

#[test]
fn template_injection_in_every_spelling_and_not_from_admin_values() {
    for expr in [
        "${{ github.event.workflow_run.display_title }}",
        "${{ toJSON(github.event.pull_request) }}",
        "${{ github.event['pull_request']['title'] }}",
        "${{ GITHUB.EVENT.ISSUE.TITLE }}",
        "${{github.head_ref}}",
    ] {
        let w = format!("on: [pull_request, issues, workflow_run]\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo start\n          echo \"{expr}\"\n");
        assert!(rules(&w).contains(&"GHA-005".to_owned()), "{expr}");
    }
    let admin = "on: push\npermissions: { contents: read }\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git fetch origin ${{ github.event.repository.default_branch }}\n";
    assert_eq!(rules(admin), Vec::<String>::new());
}

#[test]
fn insecure_commands_only_when_enabled_and_docker_images_by_digest() {
    let w = |value: &str, image: &str| {
        format!("on: push\npermissions: {{ contents: read }}\nenv: {{ ACTIONS_ALLOW_UNSECURE_COMMANDS: \"{value}\" }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps: [{{ uses: \"{image}\" }}]\n")
    };
    let digest = "docker://alpine@sha256:1e42bbe2508154c9126d48c2b8a75420c3544343bf86fd041fb7527e017a4b4a";
    assert_eq!(rules(&w("true", digest)), vec!["GHA-008"]);
    assert_eq!(rules(&w("false", digest)), Vec::<String>::new());
    assert_eq!(rules(&w("false", "docker://alpine:latest")), vec!["GHA-001"]);
}

#[test]
fn every_spelling_of_on_is_evaluated_without_an_error() {
    // `on:` as GitHub accepts it (a string, a list, a mapping with null or
    // mapping values) and as people get it wrong (null, a number): no rule
    // fails to evaluate on any of them
    for on in [
        "push",
        "[push, pull_request]",
        "[release]",
        "{ push: }",
        "{ push: { tags: ['v*'] } }",
        "{ push: { branches: release/1 } }",
        "{ push: { branches: ['release/*'] }, pull_request: }",
        "{ pull_request_target: { types: [opened] }, workflow_run: }",
        "{ push: [main] }",
        "",
        "[]",
        "1",
    ] {
        let w = format!("on: {on}\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@{SHA}\n      - uses: actions/cache@{SHA}\n      - uses: actions/setup-go@{SHA}\n        with: {{ cache: true }}\n      - run: echo \"${{{{ github.event.issue.title }}}}\"\n");
        let r = rules(&w);
        assert!(!r.iter().any(|id| id.starts_with("bylaw/")), "on: {on}: {r:?}");
    }
    // the list form is read: a release workflow restoring a cache
    let w = format!("on: [release]\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/cache@{SHA}\n");
    assert!(rules(&w).contains(&"GHA-011".to_owned()), "{:?}", rules(&w));
}

#[test]
fn a_release_branch_named_by_one_string_is_a_release_workflow() {
    let w = format!("on: {{ push: {{ branches: release/1 }} }}\npermissions: {{ contents: read }}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/cache@{SHA}\n");
    assert!(rules(&w).contains(&"GHA-011".to_owned()), "{:?}", rules(&w));
}
