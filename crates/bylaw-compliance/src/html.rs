//! The self-contained HTML report of `bylaw report` (`--format html`):
//! ONE HTML5 file of a [`HistoryReport`], with inline CSS, inline SVG charts
//! ([`crate::svg`]), the model itself as JSON in a
//! `<script type="application/json" id="report-data">`, and one small
//! inline script for the filters. It makes no request of any kind: no
//! font, image, script or style from elsewhere, and a
//! `Content-Security-Policy` of `default-src 'none'` says so to the browser.
//!
//! Sections, in order (each a `<section id=…>`): `header` (generated at,
//! store, filters, window), `filters` (period and environment; shown only
//! when scripts run — without JavaScript everything is shown), `headline`
//! (the totals), `trends` (charts), `frameworks` (a control matrix per
//! framework), `repositories` and `rules` (drill-down `<details>` with the
//! open findings), `exceptions` (with ageing), `noise`, `coverage`, `runs`
//! (the evidence the controls link to as `#run-ID`).
//!
//! Stable hooks for tests and scripts: every headline number is an element
//! with `data-metric="NAME"` (and `id="NAME"`) whose `data-value` is the
//! model's number (empty when the model has none) and whose text is the
//! number as shown; charts carry `data-chart` (`findings-by-severity`,
//! `opened-fixed`, `fix-rate`, `time-to-remediate`, `exception-burn-down`,
//! `score`, `exception-ageing`, `noise`); rows of runs carry
//! `data-period` (start of their bucket) and `data-env`; chart points carry
//! `data-period`. The filters hide rows and points (class `filtered-out`);
//! the numbers of the headline are those of the whole window. A link can
//! preselect them: `report.html#from=2026-04-06&to=2026-04-20&env=prod`.
//!
//! Every input-derived string is HTML-escaped ([`crate::svg::escape`]).

use crate::model::{
    plural, ControlState, ExceptionStats, FrameworkMatrix, HistoryReport, OpenFinding, RepositoryStats, RuleStats,
    RunEvidence, ScoreScope, SeverityCounts,
};
use crate::svg::{self, escape as esc, num, Chart, Series};
use std::fmt::Write as _;

/// Severities in display order, with their chart colours.
const SEVERITIES: [(&str, &str); 5] =
    [("critical", "#8e0152"), ("high", "#d55e00"), ("medium", "#e69f00"), ("low", "#56b4e9"), ("info", "#999999")];

const CSS: &str = r#"
:root{color-scheme:light;--fg:#1b1f24;--muted:#59636e;--line:#d0d7de;--pass:#1a7f37;--fail:#cf222e;--exc:#9a6700;--na:#6e7781}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:1rem 1.5rem;line-height:1.4}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem}.card .label{color:var(--muted);font-size:.85rem}.card .value{font-size:1.5rem;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;font-weight:600;color:#fff}
.status.pass{background:var(--pass)}.status.fail{background:var(--fail)}.status.excepted{background:var(--exc)}.status.not-evaluated{background:var(--na)}
.sev-critical,.sev-high{color:var(--fail);font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(480px,100%),1fr));gap:1rem}
section{overflow-x:auto}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.2rem}svg.chart{max-width:100%;height:auto;font-family:inherit}
details{border:1px solid var(--line);border-radius:6px;padding:.3rem .6rem;margin:.3rem 0}summary{cursor:pointer}
code{font-size:.85em;background:#f6f8fa;padding:0 .2rem;border-radius:3px;word-break:break-all}
#filters{border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem;background:#f6f8fa}#filters label{margin-right:1rem}
.filtered-out{display:none}.muted{color:var(--muted)}
@media print{#filters{display:none}section{overflow:visible}body{max-width:none;padding:0;font-size:10pt}h2{break-after:avoid}figure,tr,.card{break-inside:avoid}a{color:inherit;text-decoration:none}details{border:none;padding:0}}
"#;

/// The filters: fills the selects from the embedded model, hides rows and
/// chart points outside the chosen periods / environment.
const SCRIPT: &str = r##"
(function(){
  "use strict";
  var el=document.getElementById("report-data");
  if(!el){return;}
  var data=JSON.parse(el.textContent);
  var form=document.getElementById("filters");
  var from=document.getElementById("filter-from"),to=document.getElementById("filter-to"),env=document.getElementById("filter-env");
  var starts=(data.periods||[]).map(function(p){return p.start;});
  starts.forEach(function(s,i){
    from.add(new Option(s.slice(0,10),s,i===0,i===0));
    to.add(new Option(s.slice(0,10),s,i===starts.length-1,i===starts.length-1));
  });
  var envs=[];
  (data.runs||[]).forEach(function(r){var e=r.environment||"";if(envs.indexOf(e)<0){envs.push(e);}});
  envs.sort().forEach(function(e){env.add(new Option(e===""?"(none)":e,e));});
  function apply(){
    var lo=from.value,hi=to.value,ev=env.value;
    var n=0;
    document.querySelectorAll("[data-period]").forEach(function(x){
      var p=x.getAttribute("data-period");
      var out=(lo&&p<lo)||(hi&&p>hi);
      if(ev!=="*"&&x.hasAttribute("data-env")&&x.getAttribute("data-env")!==ev){out=true;}
      x.classList.toggle("filtered-out",!!out);
      if(!out&&x.tagName==="TR"){n++;}
    });
    document.getElementById("filter-shown").textContent=n+" run"+(n===1?"":"s")+" shown";
  }
  // a link may preselect the filters: #from=YYYY-MM-DD&to=YYYY-MM-DD&env=ENV
  var wanted={};
  location.hash.replace(/^#/,"").split("&").forEach(function(kv){
    var i=kv.indexOf("=");
    if(i>0){wanted[decodeURIComponent(kv.slice(0,i))]=decodeURIComponent(kv.slice(i+1));}
  });
  function pick(sel,v){for(var i=0;i<sel.options.length;i++){if(sel.options[i].value.indexOf(v)===0){sel.selectedIndex=i;return;}}}
  if(wanted.from){pick(from,wanted.from);}
  if(wanted.to){pick(to,wanted.to);}
  if(wanted.env!==undefined){for(var i=0;i<env.options.length;i++){if(env.options[i].value===wanted.env){env.selectedIndex=i;}}}
  [from,to,env].forEach(function(s){s.addEventListener("change",function(){
    history.replaceState(null,"","#from="+from.value.slice(0,10)+"&to="+to.value.slice(0,10)+"&env="+encodeURIComponent(env.value));
    apply();
  });});
  form.hidden=false;
  apply();
  window.addEventListener("beforeprint",function(){document.querySelectorAll("details").forEach(function(d){d.open=true;});});
})();
"##;

/// A percentage as shown (`85.5%`), `n/a` for none.
fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{}%", num(v))).unwrap_or_else(|| "n/a".into())
}

/// Hours as shown (`12.5 h`), `n/a` for none.
fn hours(v: Option<f64>) -> String {
    v.map(|v| format!("{} h", num(v))).unwrap_or_else(|| "n/a".into())
}

fn opt(v: &Option<String>) -> String {
    esc(v.as_deref().unwrap_or("(unknown)"))
}

fn repo_name(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(unknown)")
}

fn status_badge(s: ControlState) -> &'static str {
    match s {
        ControlState::Pass => "<span class=\"status pass\">pass</span>",
        ControlState::Fail => "<span class=\"status fail\">fail</span>",
        ControlState::Excepted => "<span class=\"status excepted\">excepted</span>",
        ControlState::NotEvaluated => "<span class=\"status not-evaluated\">not evaluated</span>",
    }
}

fn sev(counts: &SeverityCounts, name: &str) -> u64 {
    match name {
        "critical" => counts.critical,
        "high" => counts.high,
        "medium" => counts.medium,
        "low" => counts.low,
        _ => counts.info,
    }
}

/// The model as JSON safe inside a `<script>` element: `<`, `>` and `&` as `\u00XX` escapes (they occur only in strings).
fn embedded_json(report: &HistoryReport) -> String {
    let json = serde_json::to_string(report).unwrap_or_else(|_| "null".into());
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Start of the period bucket holding `time` (RFC 3339 UTC strings of one shape compare in time order).
fn bucket_of<'a>(report: &'a HistoryReport, time: &str) -> Option<&'a str> {
    report.periods.iter().find(|p| p.start.as_str() <= time && time < p.end.as_str()).map(|p| p.start.as_str())
}

/// The whole HTML document of `report` (UTF-8, self-contained).
pub fn render(report: &HistoryReport) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"generator\" content=\"bylaw\">");
    let _ = write!(h, "<title>bylaw compliance report — {}</title>", esc(&report.generated_at));
    let _ = write!(h, "<style>{CSS}</style></head><body>");
    header(&mut h, report);
    filters(&mut h);
    headline(&mut h, report);
    trends(&mut h, report);
    frameworks(&mut h, &report.frameworks);
    repositories(&mut h, &report.repositories);
    rules(&mut h, &report.rules);
    exceptions(&mut h, report);
    noise(&mut h, report);
    coverage(&mut h, report);
    runs(&mut h, report);
    let _ = write!(h, "<script type=\"application/json\" id=\"report-data\">{}</script>", embedded_json(report));
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

fn header(h: &mut String, r: &HistoryReport) {
    let q = &r.query;
    let mut filters = Vec::new();
    for (k, v) in [
        ("environment", &q.environment),
        ("repository", &q.repository),
        ("ref", &q.git_ref),
        ("framework", &q.framework),
    ] {
        if let Some(v) = v {
            filters.push(format!("{k} = <code>{}</code>", esc(v)));
        }
    }
    let period = match q.period {
        crate::model::Period::Day => "day",
        crate::model::Period::Week => "week",
        crate::model::Period::Month => "month",
    };
    let window = match (r.periods.first(), r.periods.last()) {
        (Some(a), Some(b)) => format!("{} to {} (by {period})", esc(&a.start), esc(&b.end)),
        _ => format!("no run (by {period})"),
    };
    let asked = format!(
        "since {} until {}",
        esc(q.since.as_deref().unwrap_or("the first run")),
        esc(q.until.as_deref().unwrap_or("the report's time"))
    );
    let _ = write!(
        h,
        "<section id=\"header\"><h1>bylaw compliance report</h1><dl class=\"meta\">\
<dt>Generated at</dt><dd id=\"generated-at\" data-value=\"{g}\">{g}</dd>\
<dt>Store</dt><dd id=\"store\"><code>{s}</code></dd>\
<dt>Filters</dt><dd id=\"query\">{f}</dd>\
<dt>Window</dt><dd id=\"window\">{window}; asked: {asked}</dd>\
<dt>Runs</dt><dd>{runs}</dd></dl>{empty}</section>",
        g = esc(&r.generated_at),
        s = esc(&r.store),
        f = if filters.is_empty() { "none".to_owned() } else { filters.join(", ") },
        runs = r.totals.runs,
        empty = if r.totals.runs == 0 {
            "<p id=\"empty\"><strong>No runs recorded in this window.</strong></p>"
        } else {
            ""
        },
    );
}

fn filters(h: &mut String) {
    h.push_str(
        "<section id=\"filters\" hidden><strong>Filter</strong> \
<label>from <select id=\"filter-from\"></select></label>\
<label>to <select id=\"filter-to\"></select></label>\
<label>environment <select id=\"filter-env\"><option value=\"*\">all</option></select></label>\
<span id=\"filter-shown\" class=\"muted\"></span>\
<p class=\"muted\">Filters hide runs and chart points; the headline numbers and the charts' buckets are those of the whole report \
(for one environment's numbers: <code>bylaw report --env ENV</code>).</p></section>",
    );
}

fn card(h: &mut String, metric: &str, label: &str, value: Option<f64>, shown: String) {
    let _ = write!(
        h,
        "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\" id=\"{metric}\" data-metric=\"{metric}\" data-value=\"{v}\">{shown}</div></div>",
        label = esc(label),
        v = value.map(num).unwrap_or_default(),
        shown = esc(&shown)
    );
}

fn headline(h: &mut String, r: &HistoryReport) {
    let t = &r.totals;
    h.push_str("<section id=\"headline\"><h2>Headline</h2><div class=\"cards\">");
    let (label, score) = r.headline_score();
    card(h, "score", &label, score, pct(score));
    card(h, "open", "Open findings", Some(t.open as f64), t.open.to_string());
    for (s, _) in SEVERITIES {
        let n = sev(&t.open_by_severity, s);
        card(h, &format!("open-{s}"), &format!("Open {s}"), Some(n as f64), n.to_string());
    }
    card(h, "fix-rate", "Fix rate", t.fix_rate, pct(t.fix_rate));
    card(h, "mttr-mean", "Time to remediate (mean)", t.mttr_mean_hours, hours(t.mttr_mean_hours));
    card(h, "mttr-p90", "Time to remediate (p90)", t.mttr_p90_hours, hours(t.mttr_p90_hours));
    card(h, "exception-rate", "Exception rate", t.exception_rate, pct(t.exception_rate));
    card(h, "open-exceptions", "Open exceptions", Some(t.open_exceptions as f64), t.open_exceptions.to_string());
    card(h, "expiring-soon", "Expiring within 14 days", Some(t.expiring_soon as f64), t.expiring_soon.to_string());
    card(h, "opened", "Opened", Some(t.opened as f64), t.opened.to_string());
    card(h, "fixed", "Fixed", Some(t.fixed as f64), t.fixed.to_string());
    card(h, "recurrences", "Recurrences", Some(t.recurrences as f64), t.recurrences.to_string());
    card(h, "runs", "Runs", Some(t.runs as f64), t.runs.to_string());
    card(h, "parse-errors", "Files that failed to parse", Some(t.parse_errors as f64), t.parse_errors.to_string());
    h.push_str("</div></section>");
}

fn figure(h: &mut String, caption: &str, svg: String) {
    let _ = write!(h, "<figure><figcaption>{}</figcaption>{svg}</figure>", esc(caption));
}

fn trends(h: &mut String, r: &HistoryReport) {
    let labels: Vec<String> = r.periods.iter().map(|p| p.start.clone()).collect();
    let short: Vec<String> = r.periods.iter().map(|p| p.start.get(..10).unwrap_or(&p.start).to_owned()).collect();
    let chart = |id: &str, title: &str, unit: &str, y_max: Option<f64>, series: Vec<Series>| Chart {
        id: id.into(),
        title: title.into(),
        labels: short.clone(),
        periods: labels.clone(),
        series,
        unit: unit.into(),
        y_max,
    };
    let col = |f: &dyn Fn(&crate::model::PeriodStats) -> Option<f64>| r.periods.iter().map(f).collect::<Vec<_>>();
    h.push_str("<section id=\"trends\"><h2>Trends</h2>");
    let _ = write!(
        h,
        "<p class=\"muted\">One bucket per {}, {}; buckets start at the dates shown: {}.</p><div class=\"charts\">",
        match r.query.period {
            crate::model::Period::Day => "day",
            crate::model::Period::Week => "week",
            crate::model::Period::Month => "month",
        },
        plural(r.periods.len() as u64, "bucket"),
        esc(&match (short.first(), short.last()) {
            (Some(a), Some(b)) => format!("{a} … {b}"),
            _ => "none".into(),
        })
    );
    let by_sev = SEVERITIES
        .iter()
        .map(|(s, c)| Series::new(*s, col(&|p| Some(sev(&p.open_by_severity, s) as f64))).colour(*c))
        .collect();
    figure(
        h,
        "Open findings by severity",
        svg::stacked_bars(&chart("findings-by-severity", "Open findings by severity per period", "", None, by_sev)),
    );
    figure(
        h,
        "Findings opened and fixed",
        svg::line_chart(&chart(
            "opened-fixed",
            "Findings opened and fixed per period",
            "",
            None,
            vec![
                Series::new("opened", col(&|p| Some(p.opened as f64))).colour("#d55e00"),
                Series::new("fixed", col(&|p| Some(p.fixed as f64))).colour("#009e73"),
            ],
        )),
    );
    figure(
        h,
        "Fix rate",
        svg::line_chart(&chart(
            "fix-rate",
            "Fix rate per period (%)",
            "%",
            Some(100.0),
            vec![Series::new("fix rate", col(&|p| p.fix_rate))],
        )),
    );
    figure(
        h,
        "Time to remediate",
        svg::line_chart(&chart(
            "time-to-remediate",
            "Time to remediate per period (hours)",
            " h",
            None,
            vec![Series::new("mean", col(&|p| p.mttr_mean_hours)), Series::new("p90", col(&|p| p.mttr_p90_hours))],
        )),
    );
    figure(
        h,
        "Exception burn-down",
        svg::line_chart(&chart(
            "exception-burn-down",
            "Open exceptions at the end of each period",
            "",
            None,
            vec![Series::new("open exceptions", col(&|p| Some(p.open_exceptions as f64))).colour("#9a6700")],
        )),
    );
    let mut scores = vec![Series::new("overall", col(&|p| p.score))];
    for s in r.scores.iter().filter(|s| s.scope == ScoreScope::Framework) {
        scores.push(Series::new(s.name.clone(), s.series.clone()));
    }
    figure(
        h,
        "Compliance score",
        svg::line_chart(&chart("score", "Compliance score per period (%)", "%", Some(100.0), scores)),
    );
    h.push_str("</div>");
    scores_table(h, r);
    h.push_str("</section>");
}

fn scores_table(h: &mut String, r: &HistoryReport) {
    if r.scores.is_empty() {
        return;
    }
    h.push_str("<h3>Compliance scores</h3><table id=\"scores\"><thead><tr><th>Scope</th><th>Name</th><th class=\"n\">Current</th></tr></thead><tbody>");
    for s in &r.scores {
        let scope = match s.scope {
            ScoreScope::Overall => "overall",
            ScoreScope::Policy => "policy",
            ScoreScope::Framework => "framework",
            ScoreScope::Repository => "repository",
        };
        let _ = write!(
            h,
            "<tr data-scope=\"{scope}\" data-name=\"{n}\"><td>{scope}</td><td>{n}</td><td class=\"n\" data-value=\"{v}\">{shown}</td></tr>",
            n = esc(&s.name),
            v = s.current.map(num).unwrap_or_default(),
            shown = pct(s.current)
        );
    }
    h.push_str("</tbody></table>");
}

fn frameworks(h: &mut String, fws: &[FrameworkMatrix]) {
    h.push_str("<section id=\"frameworks\"><h2>Control matrix</h2>");
    if fws.is_empty() {
        h.push_str(
            "<p class=\"muted\">No rule maps to a control of a known framework (rules' <code>controls</code>).</p>",
        );
    }
    for fw in fws {
        let _ = write!(
            h,
            "<section class=\"framework\" id=\"framework-{id}\" data-framework=\"{id}\"><h3>{name} <span class=\"muted\">score <span data-metric=\"framework-score\" data-value=\"{sv}\">{score}</span></span></h3>\
<table class=\"controls\"><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Rules</th><th>Exceptions</th><th>Evidence</th></tr></thead><tbody>",
            id = esc(&fw.id),
            name = esc(&fw.name),
            sv = fw.score.map(num).unwrap_or_default(),
            score = pct(fw.score)
        );
        for c in &fw.controls {
            let rules: Vec<String> = c
                .rules
                .iter()
                .map(|r| {
                    format!(
                        "<li data-rule=\"{id}\"><code>{id}</code> {badge} <span class=\"muted\">{p}; {o} open, {e} excepted</span></li>",
                        id = esc(&r.rule),
                        badge = status_badge(r.status),
                        p = esc(&r.policy),
                        o = r.open,
                        e = r.excepted
                    )
                })
                .collect();
            let excs: Vec<String> = c
                .exceptions
                .iter()
                .map(|e| {
                    format!(
                        "<li data-exception=\"{id}\" data-status=\"{st}\"><code>{id}</code> {st}, approved by {by}; {exp}</li>",
                        id = esc(&e.id),
                        st = esc(&e.status),
                        by = if e.approved_by.is_empty() { "nobody".into() } else { esc(&e.approved_by.join(", ")) },
                        exp = e
                            .expires
                            .as_deref()
                            .map(|d| format!("expires {}", esc(d)))
                            .unwrap_or_else(|| "no expiry".into())
                    )
                })
                .collect();
            let evidence: Vec<String> =
                c.evidence.iter().map(|id| format!("<a href=\"#run-{id}\">#{id}</a>")).collect();
            let state = match c.status {
                ControlState::Pass => "pass",
                ControlState::Fail => "fail",
                ControlState::Excepted => "excepted",
                ControlState::NotEvaluated => "not-evaluated",
            };
            let _ = write!(
                h,
                "<tr data-control=\"{mid}\" data-status=\"{state}\"><td><code>{ctl}</code></td><td>{title}</td><td>{badge}</td><td><ul>{rules}</ul></td><td>{excs}</td><td>{ev}</td></tr>",
                mid = esc(&c.mapped_id),
                ctl = esc(&c.control),
                title = c.title.as_deref().map(esc).unwrap_or_else(|| "<span class=\"muted\">(not in the catalogue)</span>".into()),
                badge = status_badge(c.status),
                rules = rules.concat(),
                excs = if excs.is_empty() { "—".into() } else { format!("<ul>{}</ul>", excs.concat()) },
                ev = if evidence.is_empty() { "—".into() } else { evidence.join(" ") },
            );
        }
        h.push_str("</tbody></table></section>");
    }
    h.push_str("</section>");
}

fn findings_table(h: &mut String, findings: &[OpenFinding], with_rule: bool, with_repo: bool) {
    if findings.is_empty() {
        h.push_str("<p class=\"muted\">No open finding.</p>");
        return;
    }
    h.push_str("<table class=\"findings\"><thead><tr>");
    if with_rule {
        h.push_str("<th>Rule</th>");
    }
    if with_repo {
        h.push_str("<th>Repository</th>");
    }
    h.push_str("<th>Location</th><th>Resource</th><th>Severity</th><th>Enforcement</th><th>First seen</th><th>Exception</th><th>Run</th></tr></thead><tbody>");
    for f in findings {
        let _ = write!(h, "<tr data-fingerprint=\"{}\">", esc(&f.fingerprint));
        if with_rule {
            let _ = write!(h, "<td><code>{}</code></td>", esc(&f.rule));
        }
        if with_repo {
            let _ = write!(h, "<td>{}</td>", opt(&f.repository));
        }
        let _ = write!(
            h,
            "<td><code>{p}:{l}</code></td><td>{res}</td><td class=\"sev-{s}\">{s}</td><td>{e}</td><td>{fs}</td><td>{x}</td><td><a href=\"#run-{run}\">#{run}</a></td></tr>",
            p = esc(&f.path),
            l = f.line,
            res = f.resource.as_deref().map(esc).unwrap_or_else(|| "—".into()),
            s = esc(&f.severity),
            e = esc(&f.enforcement),
            fs = esc(&f.first_seen),
            x = f.exception.as_deref().map(|x| format!("<code>{}</code>", esc(x))).unwrap_or_else(|| "—".into()),
            run = f.run_id
        );
    }
    h.push_str("</tbody></table>");
}

fn sev_summary(c: &SeverityCounts) -> String {
    SEVERITIES.iter().map(|(s, _)| format!("{} {s}", sev(c, s))).collect::<Vec<_>>().join(", ")
}

fn repositories(h: &mut String, repos: &[RepositoryStats]) {
    h.push_str("<section id=\"repositories\"><h2>Repositories</h2>");
    if repos.is_empty() {
        h.push_str("<p class=\"muted\">No run in the window.</p>");
    }
    for r in repos {
        let open: u64 = SEVERITIES.iter().map(|(s, _)| sev(&r.open_by_severity, s)).sum();
        let _ = write!(
            h,
            "<details class=\"repository\" data-repository=\"{name}\"><summary><strong>{name}</strong> — score <span data-value=\"{sv}\">{score}</span>, \
<span data-open=\"{open}\">{open} open</span> ({sevs}), {exc} excepted, {runs}, last {last}</summary>",
            name = esc(repo_name(&r.repository)),
            sv = r.score.map(num).unwrap_or_default(),
            score = pct(r.score),
            sevs = sev_summary(&r.open_by_severity),
            exc = r.excepted,
            runs = plural(r.runs, "run"),
            last = match (r.last_run, &r.last_verdict) {
                (Some(id), v) => format!("<a href=\"#run-{id}\">#{id}</a> {}", esc(v.as_deref().unwrap_or(""))),
                _ => "—".into(),
            },
        );
        let _ = write!(h, "<p>Opened {} and fixed {} in the window.</p>", r.opened, r.fixed);
        findings_table(h, &r.open_findings, true, false);
        h.push_str("</details>");
    }
    h.push_str("</section>");
}

fn rules(h: &mut String, rules: &[RuleStats]) {
    h.push_str("<section id=\"rules\"><h2>Rules</h2><table id=\"rules-table\"><thead><tr><th>Rule</th><th>Policy</th><th>Severity</th><th>Enforcement</th>\
<th class=\"n\">Open</th><th class=\"n\">Excepted</th><th class=\"n\">Opened</th><th class=\"n\">Fixed</th><th class=\"n\">MTTR</th><th class=\"n\">Fired / evaluated runs</th><th>Controls</th></tr></thead><tbody>");
    for r in rules {
        let _ = write!(
            h,
            "<tr data-rule=\"{id}\"><td><code>{id}</code></td><td>{p}</td><td class=\"sev-{s}\">{s}</td><td>{e}</td><td class=\"n\">{o}</td><td class=\"n\">{x}</td>\
<td class=\"n\">{op}</td><td class=\"n\">{f}</td><td class=\"n\">{m}</td><td class=\"n\">{fired} / {ev}</td><td>{c}</td></tr>",
            id = esc(&r.rule),
            p = esc(&r.policy),
            s = esc(&r.severity),
            e = esc(&r.enforcement),
            o = r.open,
            x = r.excepted,
            op = r.opened,
            f = r.fixed,
            m = hours(r.mttr_mean_hours),
            fired = r.runs_fired,
            ev = r.runs_evaluated,
            c = esc(&r.controls.join(", ")),
        );
    }
    h.push_str("</tbody></table>");
    for r in rules.iter().filter(|r| !r.open_findings.is_empty()) {
        let _ = write!(
            h,
            "<details class=\"rule\" data-rule=\"{id}\"><summary><code>{id}</code> — {t} ({n})</summary>",
            id = esc(&r.rule),
            t = esc(&r.title),
            n = plural(r.open_findings.len() as u64, "open finding")
        );
        findings_table(h, &r.open_findings, false, true);
        h.push_str("</details>");
    }
    h.push_str("</section>");
}

fn exception_row(h: &mut String, e: &ExceptionStats) {
    let _ = write!(
        h,
        "<tr data-exception=\"{id}\" data-status=\"{st}\"><td><code>{id}</code></td><td>{rules}</td><td>{reason}</td><td>{by}</td><td>{exp}{soon}</td>\
<td>{st}</td><td>{first}</td><td class=\"n\" data-value=\"{age}\">{age} d</td><td class=\"n\">{m}</td></tr>",
        id = esc(&e.id),
        rules = esc(&e.rules.join(", ")),
        reason = esc(&e.reason),
        by = esc(&e.approved_by.join(", ")),
        exp = e.expires.as_deref().map(esc).unwrap_or_else(|| "never".into()),
        soon = if e.expiring_soon { " <span class=\"status excepted\">soon</span>" } else { "" },
        st = esc(&e.status),
        first = esc(&e.first_seen),
        age = e.age_days,
        m = e.matched,
    );
}

fn exceptions(h: &mut String, r: &HistoryReport) {
    h.push_str("<section id=\"exceptions\"><h2>Exceptions</h2>");
    let ageing: Vec<(String, f64)> =
        r.exception_ageing.iter().map(|b| (format!("{} days", b.label), b.count as f64)).collect();
    figure(
        h,
        "Open exceptions by age",
        svg::bar_list("exception-ageing", "Open exceptions by age (days)", &ageing, ""),
    );
    if r.exceptions.is_empty() {
        h.push_str("<p class=\"muted\">No exception in the window.</p></section>");
        return;
    }
    h.push_str("<table id=\"exceptions-table\"><thead><tr><th>Id</th><th>Rules</th><th>Reason</th><th>Approved by</th><th>Expires</th><th>Status</th><th>First seen</th>\
<th class=\"n\">Age</th><th class=\"n\">Findings</th></tr></thead><tbody>");
    for e in &r.exceptions {
        exception_row(h, e);
    }
    h.push_str("</tbody></table></section>");
}

fn noise(h: &mut String, r: &HistoryReport) {
    h.push_str("<section id=\"noise\"><h2>Noise candidates</h2><p class=\"muted\">Rules excepted or left open at advisory/audit level most: candidates for tuning.</p>");
    let items: Vec<(String, f64)> = r.noise.iter().map(|n| (n.rule.clone(), (n.excepted + n.ignored) as f64)).collect();
    figure(
        h,
        "Excepted or ignored findings per rule",
        svg::bar_list("noise", "Excepted or ignored findings per rule", &items, ""),
    );
    if !r.noise.is_empty() {
        h.push_str("<table id=\"noise-table\"><thead><tr><th>Rule</th><th>Policy</th><th class=\"n\">Excepted</th><th class=\"n\">Ignored</th><th class=\"n\">Noise rate</th></tr></thead><tbody>");
        for n in &r.noise {
            let _ = write!(
                h,
                "<tr data-rule=\"{id}\"><td><code>{id}</code></td><td>{p}</td><td class=\"n\">{e}</td><td class=\"n\">{i}</td><td class=\"n\" data-value=\"{v}\">{rate}</td></tr>",
                id = esc(&n.rule),
                p = esc(&n.policy),
                e = n.excepted,
                i = n.ignored,
                v = n.noise_rate.map(num).unwrap_or_default(),
                rate = pct(n.noise_rate)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn coverage(h: &mut String, r: &HistoryReport) {
    let c = &r.coverage;
    let _ = write!(
        h,
        "<section id=\"coverage\"><h2>Coverage</h2><dl class=\"meta\">\
<dt>Files evaluated (last runs)</dt><dd data-metric=\"files\" data-value=\"{f}\">{f}</dd>\
<dt>Documents evaluated (last runs)</dt><dd data-metric=\"documents\" data-value=\"{d}\">{d}</dd>\
<dt>Rules evaluated</dt><dd data-metric=\"rules-evaluated\" data-value=\"{re}\">{re}</dd>\
<dt>Rules that never fired</dt><dd data-metric=\"rules-never-fired\" data-value=\"{nf}\">{list}</dd></dl></section>",
        f = c.files,
        d = c.documents,
        re = c.rules_evaluated,
        nf = c.rules_never_fired.len(),
        list = if c.rules_never_fired.is_empty() {
            "none".into()
        } else {
            c.rules_never_fired.iter().map(|r| format!("<code>{}</code>", esc(r))).collect::<Vec<_>>().join(", ")
        }
    );
}

fn run_row(h: &mut String, r: &HistoryReport, run: &RunEvidence) {
    let policies: Vec<String> = run
        .policies
        .iter()
        .map(|(n, v)| match v {
            Some(v) => format!("{}@{}", esc(n), esc(v)),
            None => esc(n),
        })
        .collect();
    let _ = write!(
        h,
        "<tr id=\"run-{id}\" data-run=\"{id}\" data-period=\"{period}\" data-env=\"{envattr}\"><td class=\"n\">{id}</td><td>{at}</td><td>{repo}</td><td>{gref}</td><td><code>{sha}</code></td><td>{env}</td>\
<td><span class=\"status {vclass}\">{verdict}</span></td><td class=\"n\">{f}</td><td class=\"n\">{b}</td><td class=\"n\">{x}</td><td>{pol}</td></tr>",
        id = run.id,
        period = esc(bucket_of(r, &run.started_at).unwrap_or("")),
        envattr = esc(run.environment.as_deref().unwrap_or("")),
        at = esc(&run.started_at),
        repo = opt(&run.repository),
        gref = run.git_ref.as_deref().map(esc).unwrap_or_else(|| "—".into()),
        sha = esc(run.sha.as_deref().map(|s| s.get(..12).unwrap_or(s)).unwrap_or("—")),
        env = run.environment.as_deref().map(esc).unwrap_or_else(|| "(none)".into()),
        vclass = match run.verdict.as_str() {
            "pass" => "pass",
            "fail" => "fail",
            _ => "not-evaluated",
        },
        verdict = esc(&run.verdict),
        f = run.findings,
        b = run.blocking,
        x = run.excepted,
        pol = policies.join(", "),
    );
}

fn runs(h: &mut String, r: &HistoryReport) {
    h.push_str("<section id=\"runs\"><h2>Runs (evidence)</h2><table id=\"runs-table\"><thead><tr><th class=\"n\">Run</th><th>Started at</th><th>Repository</th><th>Ref</th><th>Commit</th>\
<th>Environment</th><th>Verdict</th><th class=\"n\">Findings</th><th class=\"n\">Blocking</th><th class=\"n\">Excepted</th><th>Policies</th></tr></thead><tbody>");
    for run in &r.runs {
        run_row(h, r, run);
    }
    h.push_str("</tbody></table></section>");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::*;

    /// A small hand-built report: two weekly periods, two runs, one framework, a hostile message.
    pub(crate) fn sample() -> HistoryReport {
        let evil = "<script>alert(1)</script>";
        let finding = OpenFinding {
            fingerprint: "fp1".into(),
            rule: "no-latest".into(),
            repository: Some("acme/app".into()),
            path: format!("deploy/{evil}.yaml"),
            line: 7,
            severity: "high".into(),
            enforcement: "blocking".into(),
            resource: Some("Deployment/web".into()),
            first_seen: "2026-05-04T10:00:00Z".into(),
            exception: None,
            run_id: 2,
        };
        HistoryReport {
            version: REPORT_VERSION,
            generated_at: "2026-05-20T00:00:00Z".into(),
            query: Query { environment: Some("prod".into()), ..Query::default() },
            store: "sqlite:/tmp/h.db".into(),
            totals: Totals {
                parse_errors: 0,
                runs: 2,
                opened: 3,
                fixed: 2,
                open: 1,
                open_by_severity: SeverityCounts { high: 1, ..SeverityCounts::default() },
                fix_rate: Some(66.67),
                mttr_mean_hours: Some(36.5),
                mttr_p90_hours: Some(48.0),
                recurrences: 0,
                recurrence_rate: Some(0.0),
                exception_rate: Some(50.0),
                open_exceptions: 1,
                expiring_soon: 1,
                score: Some(75.0),
            },
            periods: vec![
                PeriodStats {
                    start: "2026-05-04T00:00:00Z".into(),
                    end: "2026-05-11T00:00:00Z".into(),
                    runs: 1,
                    opened: 3,
                    open_by_severity: SeverityCounts { high: 2, low: 1, ..SeverityCounts::default() },
                    open_exceptions: 1,
                    score: Some(50.0),
                    ..PeriodStats::default()
                },
                PeriodStats {
                    start: "2026-05-11T00:00:00Z".into(),
                    end: "2026-05-18T00:00:00Z".into(),
                    runs: 1,
                    opened: 0,
                    fixed: 2,
                    open_by_severity: SeverityCounts { high: 1, ..SeverityCounts::default() },
                    fix_rate: Some(66.67),
                    mttr_mean_hours: Some(36.5),
                    mttr_p90_hours: Some(48.0),
                    open_exceptions: 1,
                    score: Some(75.0),
                },
            ],
            runs: vec![
                RunEvidence {
                    id: 1,
                    started_at: "2026-05-04T10:00:00Z".into(),
                    repository: Some("acme/app".into()),
                    git_ref: Some("main".into()),
                    sha: Some("0123456789abcdef".into()),
                    environment: Some("prod".into()),
                    verdict: "fail".into(),
                    findings: 4,
                    blocking: 3,
                    excepted: 1,
                    policies: vec![("k8s".into(), Some("1.2.0".into()))],
                },
                RunEvidence {
                    id: 2,
                    started_at: "2026-05-12T10:00:00Z".into(),
                    repository: Some("acme/app".into()),
                    environment: Some("prod".into()),
                    verdict: "fail".into(),
                    findings: 2,
                    blocking: 1,
                    excepted: 1,
                    ..RunEvidence::default()
                },
            ],
            exceptions: vec![ExceptionStats {
                id: "EXC-1".into(),
                rules: vec!["no-root".into()],
                reason: format!("legacy {evil}"),
                approved_by: vec!["alice@example.com".into()],
                expires: Some("2026-05-25".into()),
                first_seen: "2026-05-04T10:00:00Z".into(),
                status: "expiring".into(),
                recorded_status: "expiring".into(),
                age_days: 15,
                matched: 1,
                expiring_soon: true,
            }],
            exception_ageing: vec![
                AgeBucket { label: "0-30".into(), count: 1 },
                AgeBucket { label: "31-90".into(), count: 0 },
            ],
            rules: vec![RuleStats {
                rule: "no-latest".into(),
                policy: "k8s".into(),
                title: "No :latest tag".into(),
                severity: "high".into(),
                enforcement: "blocking".into(),
                controls: vec!["SOC2-CC8.1".into()],
                opened: 2,
                fixed: 1,
                open: 1,
                runs_evaluated: 2,
                runs_fired: 2,
                open_findings: vec![finding.clone()],
                ..RuleStats::default()
            }],
            repositories: vec![RepositoryStats {
                repository: Some("acme/app".into()),
                runs: 2,
                last_run: Some(2),
                last_verdict: Some("fail".into()),
                open_by_severity: SeverityCounts { high: 1, ..SeverityCounts::default() },
                excepted: 1,
                opened: 3,
                fixed: 2,
                score: Some(75.0),
                open_findings: vec![finding],
            }],
            scores: vec![
                ScoreSeries {
                    scope: ScoreScope::Overall,
                    name: "overall".into(),
                    current: Some(75.0),
                    series: vec![Some(50.0), Some(75.0)],
                },
                ScoreSeries {
                    scope: ScoreScope::Framework,
                    name: "soc2".into(),
                    current: Some(50.0),
                    series: vec![None, Some(50.0)],
                },
            ],
            frameworks: vec![FrameworkMatrix {
                id: "soc2".into(),
                name: "SOC 2".into(),
                score: Some(50.0),
                controls: vec![ControlStatus {
                    control: "CC8.1".into(),
                    mapped_id: "SOC2-CC8.1".into(),
                    title: Some("Change management".into()),
                    status: ControlState::Fail,
                    rules: vec![ControlRule {
                        rule: "no-latest".into(),
                        policy: "k8s".into(),
                        status: ControlState::Fail,
                        open: 1,
                        excepted: 0,
                    }],
                    exceptions: vec![ExceptionRef {
                        id: "EXC-1".into(),
                        approved_by: vec!["alice@example.com".into()],
                        expires: Some("2026-05-25".into()),
                        status: "expiring".into(),
                    }],
                    evidence: vec![2, 1],
                }],
            }],
            noise: vec![NoiseCandidate {
                rule: "no-root".into(),
                policy: "k8s".into(),
                excepted: 1,
                ignored: 0,
                noise_rate: Some(100.0),
            }],
            coverage: Coverage {
                files: 12,
                documents: 20,
                rules_evaluated: 5,
                rules_never_fired: vec!["no-host-path".into()],
            },
        }
    }

    #[test]
    fn a_hostile_message_stays_text() {
        let html = render(&sample());
        // the only <script> elements are ours: the JSON data and the filter script
        assert_eq!(html.matches("<script").count(), 2, "{html}");
        assert!(!html.contains("alert(1)</script>"));
        assert!(html.contains("deploy/&lt;script&gt;alert(1)&lt;/script&gt;.yaml:7"));
        assert!(html.contains("legacy &lt;script&gt;alert(1)&lt;/script&gt;"));
        // inside the JSON too
        assert!(html.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    }

    #[test]
    fn the_embedded_json_is_the_model() {
        let r = sample();
        let html = render(&r);
        let open = "<script type=\"application/json\" id=\"report-data\">";
        let start = html.find(open).map(|i| i + open.len()).unwrap_or(0);
        let end = start + html[start..].find("</script>").unwrap_or(0);
        let back: HistoryReport = serde_json::from_str(&html[start..end]).expect("valid JSON");
        assert_eq!(back, r);
    }

    #[test]
    fn headline_numbers_have_stable_ids_and_values() {
        let html = render(&sample());
        for (metric, value, shown) in [
            ("score", "75", "75%"),
            ("open", "1", "1"),
            ("open-high", "1", "1"),
            ("open-critical", "0", "0"),
            ("fix-rate", "66.67", "66.67%"),
            ("mttr-mean", "36.5", "36.5 h"),
            ("mttr-p90", "48", "48 h"),
            ("exception-rate", "50", "50%"),
            ("open-exceptions", "1", "1"),
            ("expiring-soon", "1", "1"),
        ] {
            let want = format!("id=\"{metric}\" data-metric=\"{metric}\" data-value=\"{value}\">{shown}</div>");
            assert!(html.contains(&want), "missing {want}");
        }
    }

    #[test]
    fn none_is_shown_as_na_never_as_zero() {
        let mut r = sample();
        r.totals.fix_rate = None;
        r.totals.score = None;
        let html = render(&r);
        assert!(html.contains("id=\"fix-rate\" data-metric=\"fix-rate\" data-value=\"\">n/a</div>"));
        assert!(html.contains("id=\"score\" data-metric=\"score\" data-value=\"\">n/a</div>"));
    }

    #[test]
    fn every_chart_and_section_is_present() {
        let html = render(&sample());
        for chart in [
            "findings-by-severity",
            "opened-fixed",
            "fix-rate",
            "time-to-remediate",
            "exception-burn-down",
            "score",
            "exception-ageing",
            "noise",
        ] {
            assert!(html.contains(&format!("data-chart=\"{chart}\"")), "chart {chart}");
        }
        for section in [
            "header",
            "filters",
            "headline",
            "trends",
            "frameworks",
            "repositories",
            "rules",
            "exceptions",
            "noise",
            "coverage",
            "runs",
        ] {
            assert!(html.contains(&format!("<section id=\"{section}\"")), "section {section}");
        }
        // severity stack: week 1 has high 2 + low 1, week 2 high 1
        assert!(html.contains(
            "data-series=\"high\" data-x=\"2026-05-04\" data-value=\"2\" data-period=\"2026-05-04T00:00:00Z\""
        ));
        assert!(html.contains("data-series=\"low\" data-x=\"2026-05-04\" data-value=\"1\""));
        // the framework score series has a gap in week 1: one point only
        assert_eq!(html.matches("data-series=\"soc2\" data-x=").count(), 1);
    }

    #[test]
    fn control_matrix_links_evidence_to_runs() {
        let html = render(&sample());
        assert!(html.contains("<section class=\"framework\" id=\"framework-soc2\" data-framework=\"soc2\"><h3>SOC 2"));
        assert!(html.contains("<tr data-control=\"SOC2-CC8.1\" data-status=\"fail\"><td><code>CC8.1</code></td><td>Change management</td>"));
        assert!(html.contains("<code>EXC-1</code> expiring, approved by alice@example.com; expires 2026-05-25"));
        assert!(html.contains("<a href=\"#run-2\">#2</a> <a href=\"#run-1\">#1</a>"));
        assert!(
            html.contains("<tr id=\"run-1\" data-run=\"1\" data-period=\"2026-05-04T00:00:00Z\" data-env=\"prod\">")
        );
        assert!(
            html.contains("<tr id=\"run-2\" data-run=\"2\" data-period=\"2026-05-11T00:00:00Z\" data-env=\"prod\">")
        );
    }

    #[test]
    fn self_contained_without_external_references() {
        let html = render(&sample());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("default-src 'none'"));
        for bad in ["src=\"http", "href=\"http", "url(", "@import", "<link", "<img", "<iframe"] {
            assert!(!html.contains(bad), "{bad}");
        }
        // the filters are hidden until the script shows them
        assert!(html.contains("<section id=\"filters\" hidden>"));
        assert_eq!(render(&sample()), html, "deterministic");
    }

    #[test]
    fn an_empty_report_renders() {
        let mut r = sample();
        r.periods.clear();
        r.runs.clear();
        r.frameworks.clear();
        r.repositories.clear();
        r.exceptions.clear();
        r.noise.clear();
        r.scores.clear();
        let html = render(&r);
        assert!(html.contains("no data in the window"));
        assert!(html.contains("No rule maps to a control"));
        assert!(html.contains("no run (by week)"));
    }
}
