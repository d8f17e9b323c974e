//! The HTML report as a user sees it (issue 19 item 6): a history recorded
//! by the binary (`check --record` at eight `BYLAW_NOW` times,
//! tests/report_scenario), the report written by `bylaw report`, opened in
//! headless Chromium (Debian's `chromium`, installed by `scripts/tools.sh
//! chromium` like groovy and postgresql for their tests: when it cannot be
//! installed or started the test FAILS, it never skips). Checked on the
//! RENDERED document (the DOM after the report's script ran): the charts
//! are there with their data points, the numbers equal those of `bylaw
//! report --format json` of the same store, the filters work (preselected
//! by the URL's `#env=…`), there is no console message and no request made
//! by the page; screenshots (PNG) are saved under
//! `target/artifacts/report/` (or `$BYLAW_ARTIFACTS_DIR/report/`) and
//! their paths printed.
//!
//! Why Chromium's command line (`--headless --dump-dom`, `--screenshot`,
//! console on stderr with `--enable-logging=stderr`, requests from
//! `--log-net-log`) rather than a DevTools-protocol crate
//! (`headless_chrome`, `chromiumoxide`): the checks need only the rendered
//! DOM, the console, the network log and a screenshot, which the CLI gives
//! without a websocket client, an async runtime or a crate that tracks
//! Chromium's protocol versions — and with no browser download path to
//! switch off. Two negative controls (a probe page that logs to the console
//! and requests a URL) prove that the console and network checks see what
//! they are meant to see.

mod report_scenario;
mod support;

use report_scenario::{bylaw_at, json_report, record, REPORT_NOW, RUNS};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::cli::run_bounded;
use support::tools::{root, sh};

/// Debian's chromium, installed by the project's script when missing.
fn chromium() -> PathBuf {
    let (code, out, err) = sh(Command::new("bash").arg(root().join("scripts/tools.sh")).arg("chromium"));
    assert_eq!(code, 0, "scripts/tools.sh chromium: {err}");
    PathBuf::from(out.trim())
}

/// Where the screenshots go.
fn artifacts() -> PathBuf {
    let base =
        std::env::var_os("BYLAW_ARTIFACTS_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target/artifacts"));
    let dir = base.join("report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one headless Chromium run gave: stdout (the DOM), the console
/// lines of stderr, and the URLs the page requested (from the net log).
struct Rendered {
    dom: String,
    console: Vec<String>,
    page_requests: Vec<String>,
}

/// Opens `url` in a fresh headless Chromium profile with `extra` flags.
fn open(chromium: &Path, url: &str, extra: &[&str]) -> Rendered {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("net.json");
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
    .arg(format!("--log-net-log={}", netlog.display()))
    .args(extra)
    .arg(url)
    .env("HOME", profile.path())
    .stdout(Stdio::piped());
    let out = run_bounded(c, None, Duration::from_secs(120)).unwrap_or_else(|e| panic!("chromium: {e}"));
    assert_eq!(out.code, 0, "chromium exited {}: {}", out.code, out.stderr);
    let console = out.stderr.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_owned).collect();
    // URL requests the page made carry its origin as initiator (`null` for
    // a file: page); Chromium's own background requests say "not an origin"
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    let mut page_requests = Vec::new();
    for (i, _) in log.match_indices("\"initiator\":\"") {
        let rest = &log[i + 13..];
        let initiator = &rest[..rest.find('"').unwrap_or(0)];
        if initiator != "not an origin" {
            let before = &log[..i];
            let url =
                before.rfind("\"url\":\"").map(|j| &before[j + 7..]).and_then(|u| u.split('"').next()).unwrap_or("?");
            page_requests.push(format!("{url} (initiator {initiator})"));
        }
    }
    Rendered { dom: out.stdout, console, page_requests }
}

/// The `data-value` of the element with `data-metric="NAME"` and its shown text.
fn metric(dom: &str, name: &str) -> (Option<f64>, String) {
    let key = format!("data-metric=\"{name}\" data-value=\"");
    let at = dom.find(&key).unwrap_or_else(|| panic!("no data-metric={name} in the DOM"));
    let rest = &dom[at + key.len()..];
    let value = &rest[..rest.find('"').unwrap()];
    let text_start = rest.find('>').unwrap() + 1;
    let text = &rest[text_start..text_start + rest[text_start..].find('<').unwrap()];
    (value.parse().ok(), text.to_owned())
}

/// The `<svg …>…</svg>` of chart `id` in the DOM.
fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    let key = format!("data-chart=\"{id}\"");
    let at = dom.find(&key).unwrap_or_else(|| panic!("no chart {id} in the DOM"));
    let start = dom[..at].rfind("<svg").unwrap();
    let end = at + dom[at..].find("</svg>").unwrap() + 6;
    &dom[start..end]
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 0.006, "{what}: page {a} != report {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

#[test]
fn the_report_renders_in_chromium_with_the_stores_numbers() {
    let chromium = chromium();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("h.db").to_string_lossy().into_owned();
    let repo = record(&store);
    let json: Value = json_report(repo.path(), &store, &[]);
    let html = work.path().join("report.html");
    let out = bylaw_at(repo.path(), REPORT_NOW, "-", &["report", "--store", &store, "-o", html.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let url = format!("file://{}", html.display());

    let page = open(&chromium, &url, &["--dump-dom"]);
    assert_eq!(page.console, Vec::<String>::new(), "console messages");
    assert_eq!(page.page_requests, Vec::<String>::new(), "requests made by the page");
    let dom = &page.dom;

    // the script ran: the filters are shown and count the runs
    assert!(dom.contains("<section id=\"filters\">"), "filters still hidden: the script did not run");
    assert!(dom.contains(&format!("id=\"filter-shown\" class=\"muted\">{RUNS} runs shown<")), "filter count");

    // the headline numbers are the report's
    let t = &json["totals"];
    for (name, field, unit) in [
        ("score", "score", "%"),
        ("fix-rate", "fix_rate", "%"),
        ("mttr-mean", "mttr_mean_hours", " h"),
        ("mttr-p90", "mttr_p90_hours", " h"),
        ("exception-rate", "exception_rate", "%"),
        ("open", "open", ""),
        ("open-exceptions", "open_exceptions", ""),
        ("expiring-soon", "expiring_soon", ""),
        ("opened", "opened", ""),
        ("fixed", "fixed", ""),
        ("runs", "runs", ""),
    ] {
        let (value, text) = metric(dom, name);
        close(value, t[field].as_f64(), name);
        match value {
            Some(v) => assert_eq!(text.trim_end_matches(unit).parse::<f64>().ok(), Some(v), "{name} shows {text}"),
            None => assert_eq!(text, "n/a", "{name}"),
        }
    }
    assert_eq!(metric(dom, "runs").0, Some(RUNS as f64));
    for sev in ["critical", "high", "medium", "low", "info"] {
        close(metric(dom, &format!("open-{sev}")).0, t["open_by_severity"][sev].as_f64(), sev);
    }

    // the charts are there with one data point per value of the model
    let periods = json["periods"].as_array().unwrap();
    assert!(periods.len() >= 4, "four weeks of runs: {}", periods.len());
    let fix = chart(dom, "fix-rate");
    assert!(fix.contains("role=\"img\""));
    let with_rate = periods.iter().filter(|p| p["fix_rate"].is_number()).count();
    assert_eq!(fix.matches("<circle class=\"pt\"").count(), with_rate, "fix-rate points");
    let sev = chart(dom, "findings-by-severity");
    let nonzero_medium = periods.iter().filter(|p| p["open_by_severity"]["medium"].as_u64().is_some()).count();
    assert_eq!(sev.matches("data-series=\"medium\" data-x=").count(), nonzero_medium);
    for p in periods {
        let start = p["start"].as_str().unwrap();
        let medium = p["open_by_severity"]["medium"].as_f64().unwrap();
        let want = format!(
            "data-series=\"medium\" data-x=\"{}\" data-value=\"{}\" data-period=\"{start}\"",
            &start[..10],
            medium
        );
        assert!(sev.contains(&want), "missing {want}");
    }
    let burn = chart(dom, "exception-burn-down");
    assert_eq!(burn.matches("<circle class=\"pt\"").count(), periods.len());
    for id in ["opened-fixed", "time-to-remediate", "score", "exception-ageing", "noise"] {
        assert!(chart(dom, id).contains("<title>"), "{id}");
    }
    // the control matrix of SOC 2, its evidence links resolve to runs in the page
    let soc2 = json["frameworks"].as_array().unwrap().iter().find(|f| f["id"] == "soc2").expect("soc2 matrix");
    for c in soc2["controls"].as_array().unwrap() {
        let row = format!(
            "<tr data-control=\"{}\" data-status=\"{}\">",
            c["mapped_id"].as_str().unwrap(),
            c["status"].as_str().unwrap()
        );
        assert!(dom.contains(&row), "missing {row}");
        for run in c["evidence"].as_array().unwrap() {
            assert!(dom.contains(&format!("<tr id=\"run-{run}\"")), "evidence run {run} not in the runs table");
        }
    }
    assert!(
        dom.contains("<code>EXC-7</code> expiring, approved by alice; expires 2026-05-10"),
        "exception in the matrix"
    );

    // filters preselected by the URL hide the other environment's runs
    let page = open(&chromium, &format!("{url}#env=staging"), &["--dump-dom"]);
    assert!(page.console.is_empty(), "{:?}", page.console);
    let hidden = page.dom.matches("class=\"filtered-out\"").count();
    let runs_hidden = page
        .dom
        .match_indices("<tr id=\"run-")
        .filter(|(i, _)| page.dom[*i..].split('>').next().unwrap_or("").contains("filtered-out"))
        .count();
    assert_eq!(runs_hidden, RUNS - 2, "prod runs hidden");
    assert!(hidden >= runs_hidden);
    assert!(page.dom.contains("id=\"filter-shown\" class=\"muted\">2 runs shown<"));

    // a period filter hides the runs and the chart points of the earlier buckets
    let second = periods[1]["start"].as_str().unwrap();
    let page = open(&chromium, &format!("{url}#from={}", &second[..10]), &["--dump-dom"]);
    assert!(page.console.is_empty(), "{:?}", page.console);
    let first = periods[0]["start"].as_str().unwrap();
    let in_first =
        json["runs"].as_array().unwrap().iter().filter(|r| r["started_at"].as_str().unwrap() < second).count();
    assert!(in_first >= 1);
    assert!(
        page.dom.contains(&format!("id=\"filter-shown\" class=\"muted\">{} runs shown<", RUNS - in_first)),
        "period filter count"
    );
    let first_points = dom.matches(&format!("data-period=\"{first}\"")).count();
    assert!(first_points > 0);
    // every element of the first bucket carries the class after the script ran
    let first_elems: Vec<&str> = page
        .dom
        .match_indices(&format!("data-period=\"{first}\""))
        .map(|(i, _)| {
            let start = page.dom[..i].rfind('<').unwrap();
            &page.dom[start..i + page.dom[i..].find('>').unwrap()]
        })
        .collect();
    assert_eq!(first_elems.len(), first_points);
    assert!(
        first_elems.iter().all(|e| e.contains("filtered-out")),
        "{:?}",
        first_elems.iter().find(|e| !e.contains("filtered-out"))
    );

    // screenshots, kept as artifacts
    let dir = artifacts();
    for (name, size, hash) in [
        ("report.png", "1280,6000", ""),
        ("report-mobile.png", "420,9000", ""),
        ("report-staging.png", "1280,6000", "#env=staging"),
    ] {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let shot = open(
            &chromium,
            &format!("{url}{hash}"),
            &[&format!("--screenshot={}", path.display()), &format!("--window-size={size}")],
        );
        assert!(shot.console.is_empty(), "{:?}", shot.console);
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("no screenshot {}: {e}", path.display()));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
        assert!(png.len() > 20_000, "{name} is {} bytes: an empty page?", png.len());
        println!("screenshot: {}", path.display());
    }
}

#[test]
fn the_console_and_network_checks_see_a_misbehaving_page() {
    let chromium = chromium();
    let work = tempfile::tempdir().unwrap();
    let probe = work.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!doctype html><img src=\"http://127.0.0.1:9/x.png\"><script>console.error(\"probe-error\")</script>",
    )
    .unwrap();
    let page = open(&chromium, &format!("file://{}", probe.display()), &["--dump-dom"]);
    assert!(page.console.iter().any(|l| l.contains("probe-error")), "{:?}", page.console);
    assert!(page.page_requests.iter().any(|r| r.starts_with("http://127.0.0.1:9/x.png")), "{:?}", page.page_requests);
}
