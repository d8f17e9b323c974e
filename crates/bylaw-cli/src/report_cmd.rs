//! `bylaw report`: the compliance report of the history store (issue 19)
//! as self-contained HTML (default, to `-o FILE`, `bylaw-report.html`),
//! Markdown or JSON (stdout unless `-o`), optionally the evidence report of
//! one framework, and the regression gate of a scheduled job
//! (`--fail-on-regression`: exit 1 when the newest run's compliance score
//! fell or it has a new blocking finding). README "Compliance reports".

use crate::common::{self, safe, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_compliance::model::{plural, HistoryReport, Period, Query};
use bylaw_compliance::{html, markdown, metrics};
use bylaw_engine::chrono::{DateTime, Duration, NaiveDate, Utc};
use bylaw_history::format_time;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A self-contained HTML file with inline SVG charts.
    Html,
    /// GitHub-flavoured Markdown, for CI job summaries.
    Md,
    /// The report's data model (version 1).
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeriodArg {
    Day,
    Week,
    Month,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The history store: an SQLite file or a postgres:// URL (default: `history` of .bylaw.yaml).
    #[arg(long, value_name = "STORE")]
    pub store: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write the report to FILE (html default: bylaw-report.html; md and json: stdout; `-`: stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only this framework (any case): the evidence report of soc2, pci-dss, hipaa, nist-800-53, cis, ….
    #[arg(long, value_name = "ID")]
    pub framework: Option<String>,
    /// First day or instant included: YYYY-MM-DD, RFC 3339, or a duration back from now (30d, 12w, 48h).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Last day or instant included (a YYYY-MM-DD day is included whole); default: now.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Only runs of this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only runs of this repository: owner/name (any case) or its remote URL.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// Only runs of this branch or ref (`main` also matches `refs/heads/main`).
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// Bucket length of the trend series.
    #[arg(long, value_enum, default_value = "week")]
    pub period: PeriodArg,
    /// Exit 1 when the newest run's compliance score is lower than the previous
    /// run's of the same repository and ref, or it has a new blocking finding.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// The config file (default: .bylaw.yaml found from the working directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A `--since`/`--until` value as an RFC 3339 UTC instant in whole
/// seconds (the precision of recorded run times): `YYYY-MM-DD` (00:00:00,
/// or 23:59:59 when `end_of_day`), RFC 3339, or `N` followed by `h`, `d`
/// or `w` back from `now` (N ≥ 0). A fraction of a second rounds up for a
/// start (`!end_of_day`: `09:00:00.5` is after a run at `09:00:00`) and
/// down for an end, so that the window holds exactly the runs it names.
pub fn parse_date(s: &str, now: DateTime<Utc>, end_of_day: bool) -> Result<String, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        let up = !end_of_day && t.timestamp_subsec_nanos() > 0;
        return Ok(format_time(if up { t + Duration::seconds(1) } else { t }));
    }
    if let Some(rest) = s.strip_prefix('-') {
        if rest.ends_with(['h', 'd', 'w']) && rest[..rest.len() - 1].parse::<u64>().is_ok() {
            return Err(format!(
                "`{s}` is a negative duration: a duration counts back from now, write `{rest}` for {rest} ago"
            ));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let (h, m, sec) = if end_of_day { (23, 59, 59) } else { (0, 0, 0) };
        if let Some(t) = d.and_hms_opt(h, m, sec) {
            return Ok(format_time(t.and_utc()));
        }
    }
    let unit = s.chars().last().unwrap_or(' ');
    let n = s[..s.len() - unit.len_utf8().min(s.len())].parse::<i64>().ok().filter(|n| *n >= 0);
    let back = match (n, unit) {
        (Some(n), 'h') => Duration::try_hours(n),
        (Some(n), 'd') => Duration::try_days(n),
        (Some(n), 'w') => Duration::try_weeks(n),
        _ => None,
    };
    match back.and_then(|b| now.checked_sub_signed(b)) {
        Some(t) => Ok(format_time(t)),
        None => Err(format!(
            "`{s}` is not a date: give YYYY-MM-DD, an RFC 3339 time, or a duration back from now (30d, 12w, 48h)"
        )),
    }
}

pub fn run(args: &ReportArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let now = match bylaw_ci::env::now(&bylaw_ci::env::process_env) {
        Ok(t) => t,
        Err(m) => return usage_error(&m, None, color),
    };
    let store = match crate::history_cmd::store_to_read("report", args.store.as_deref(), args.config.as_deref(), color)
    {
        Ok(s) => s,
        Err(code) => return code,
    };
    let date = |flag: &str, v: &Option<String>, end: bool| -> Result<Option<String>, u8> {
        v.as_deref()
            .map(|s| parse_date(s, now, end))
            .transpose()
            .map_err(|m| usage_error(&format!("bylaw report {flag}: {m}"), None, color))
    };
    let (since, until) = match (date("--since", &args.since, false), date("--until", &args.until, true)) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    if let Err(m) = window_order(args, since.as_deref(), until.as_deref(), now) {
        return usage_error(&format!("bylaw report {m}"), None, color);
    }
    let query = Query {
        since,
        until,
        environment: args.env.clone(),
        repository: args.repository.clone(),
        git_ref: args.git_ref.clone(),
        period: match args.period {
            PeriodArg::Day => Period::Day,
            PeriodArg::Week => Period::Week,
            PeriodArg::Month => Period::Month,
        },
        framework: args.framework.as_deref().map(|f| f.trim().to_ascii_lowercase()),
    };
    // a read-only command never creates a store: a mistyped path is an error
    let store = match crate::history_cmd::open_to_read("report", &store, args.output.as_deref(), color) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = match metrics::compute(&store, &query, now) {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("bylaw report: {e}"), None, color),
    };
    if let Err(code) = write(args, &report, color) {
        return code;
    }
    if !args.fail_on_regression {
        return 0;
    }
    match metrics::regressions(&store, &query, now) {
        Ok(found) if found.is_empty() => 0,
        Ok(found) => {
            for r in &found {
                eprintln!("{}", safe(&r.to_string()));
            }
            1
        }
        Err(e) => usage_error(&format!("bylaw report: {e}"), None, color),
    }
}

/// `--since` must not be after the window's end: `--until`, or now.
fn window_order(args: &ReportArgs, since: Option<&str>, until: Option<&str>, now: DateTime<Utc>) -> Result<(), String> {
    let t = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).ok();
    let Some(s) = since.and_then(t) else { return Ok(()) };
    let given = args.since.as_deref().unwrap_or_default().trim();
    match until.and_then(t) {
        Some(u) if s > u => Err(format!(
            "--since {given} is after --until {} ({}): the window would be empty",
            args.until.as_deref().unwrap_or_default().trim(),
            format_time(u)
        )),
        _ if s > now => Err(format!(
            "--since {given} is after now ({}): the window would be empty (now is BYLAW_NOW when set)",
            format_time(now)
        )),
        _ => Ok(()),
    }
}

fn write(args: &ReportArgs, report: &HistoryReport, color: bool) -> Result<(), u8> {
    let text = match args.format {
        ReportFormat::Html => html::render(report),
        ReportFormat::Md => markdown::render(report),
        ReportFormat::Json => match serde_json::to_string_pretty(report) {
            Ok(s) => s + "\n",
            Err(e) => return Err(usage_error(&format!("bylaw report: cannot serialise the report: {e}"), None, color)),
        },
    };
    let output = match (&args.output, args.format) {
        (Some(p), _) if p.as_os_str() == "-" => None,
        (Some(p), _) => Some(p.clone()),
        (None, ReportFormat::Html) => Some(PathBuf::from("bylaw-report.html")),
        (None, _) => None,
    };
    match output {
        None => {
            crate::out!("{text}");
            Ok(())
        }
        Some(path) => {
            let full = bylaw_engine::paths::absolute(common::working_dir(), &path);
            if let Err(e) = bylaw_report::write_atomic(&full, text.as_bytes()) {
                usage_error(&common::cannot_write(&path, &e), None, color);
                return Err(EXIT_ERROR);
            }
            let t = &report.totals;
            let what = if t.runs == 0 {
                "no runs recorded".to_owned()
            } else {
                let (label, score) = report.headline_score();
                format!(
                    "{}, {} {}",
                    plural(t.runs, "run"),
                    // `compliance score`, or `SOC 2 compliance score` with --framework
                    if report.query.framework.is_some() { label } else { label.to_lowercase() },
                    score.map(|s| format!("{s:.2} %")).unwrap_or_else(|| "–".into())
                )
            };
            eprintln!("wrote {} ({what})", safe(&path.display().to_string()));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_days_and_durations() {
        let now = DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_date("2026-03-01", now, false).unwrap(), "2026-03-01T00:00:00Z");
        assert_eq!(parse_date("2026-03-01", now, true).unwrap(), "2026-03-01T23:59:59Z");
        assert_eq!(parse_date("2026-03-01T10:00:00+02:00", now, false).unwrap(), "2026-03-01T08:00:00Z");
        assert_eq!(parse_date("30d", now, false).unwrap(), "2026-03-01T12:00:00Z");
        assert_eq!(parse_date("2w", now, false).unwrap(), "2026-03-17T12:00:00Z");
        assert_eq!(parse_date("48h", now, false).unwrap(), "2026-03-29T12:00:00Z");
        assert!(parse_date("yesterday", now, false).unwrap_err().contains("is not a date"));
        assert!(parse_date("d", now, false).is_err());
        assert!(parse_date("", now, false).is_err());
        // whole seconds: a start rounds up, an end down
        assert_eq!(parse_date("2026-03-01T09:00:00.5Z", now, false).unwrap(), "2026-03-01T09:00:01Z");
        assert_eq!(parse_date("2026-03-01T09:00:00.5Z", now, true).unwrap(), "2026-03-01T09:00:00Z");
        assert!(parse_date("-5d", now, false).unwrap_err().contains("`-5d` is a negative duration"));
    }
}
