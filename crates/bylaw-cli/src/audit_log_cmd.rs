//! `bylaw audit verify|show`: check the hash chain of an audit log, and
//! read it filtered by rule, exception, event and time.

use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_report::audit_log::{verify, Verdict};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every line's digest and the chain; name the first broken line (exit 1).
    Verify {
        /// The audit log.
        file: PathBuf,
    },
    /// Print entries, filtered.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The audit log.
    pub file: PathBuf,
    /// Only entries about this rule id.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only entries about this exception id.
    #[arg(long)]
    pub exception: Option<String>,
    /// Only these events (run, finding_blocked, finding_excepted, exception_expired, exception_rejected, exception_stale, verdict).
    #[arg(long)]
    pub event: Vec<String>,
    /// Only entries at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Print the matching lines as they are (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &AuditArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let file = match &args.command {
        AuditCommand::Verify { file } => file,
        AuditCommand::Show(s) => &s.file,
    };
    let bytes = match bylaw_engine::paths::read_regular(file, u64::MAX) {
        Ok(b) => b,
        Err(e) => return usage_error(&format!("cannot read {}: {e}", file.display()), None, color),
    };
    match &args.command {
        AuditCommand::Verify { .. } => match verify(&bytes) {
            Verdict::Intact(n) => {
                let anchor = match bylaw_report::audit_log::read_anchor(file) {
                    Ok(a) => a,
                    Err(e) => {
                        return usage_error(&format!("cannot read the anchor of {}: {e}", file.display()), None, color)
                    }
                };
                if let Err(why) = bylaw_report::audit_log::verify_end(&bytes, anchor.as_ref()) {
                    crate::outln!("{}:{}: broken: {why}", file.display(), n);
                    return 1;
                }
                let end = bylaw_report::audit_log::end_of(&bytes)
                    .map(|e| format!(", ends at seq {} head {}", e.seq, e.head))
                    .unwrap_or_default();
                let anchored = if anchor.is_some() { " and matches its anchor" } else { " (no anchor file)" };
                crate::outln!("ok: {}: {n} lines, chain intact{anchored}{end}", file.display());
                0
            }
            Verdict::Broken { line, reason } => {
                crate::outln!("{}:{line}: broken: {reason}", file.display());
                1
            }
        },
        AuditCommand::Show(s) => show(s, &bytes, color),
    }
}

/// Normalises a time bound to RFC 3339 UTC (`YYYY-MM-DD` is midnight UTC).
fn bound(s: &str) -> Result<String, String> {
    use bylaw_engine::chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
        .map_err(|_| format!("`{s}` is not a time: use RFC 3339 (2026-06-01T12:00:00Z) or YYYY-MM-DD"))
}

fn show(s: &ShowArgs, bytes: &[u8], color: bool) -> u8 {
    let since = match s.since.as_deref().map(bound).transpose() {
        Ok(b) => b,
        Err(m) => return usage_error(&m, None, color),
    };
    let until = match s.until.as_deref().map(bound).transpose() {
        Ok(b) => b,
        Err(m) => return usage_error(&m, None, color),
    };
    let text = String::from_utf8_lossy(bytes);
    for (n, line) in text.lines().enumerate() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            eprintln!("warning: line {}: not JSON, skipped", n + 1);
            continue;
        };
        let field = |k: &str| v[k].as_str().unwrap_or("");
        let time = field("time");
        if s.rule.as_deref().is_some_and(|r| field("rule") != r)
            || s.exception.as_deref().is_some_and(|e| field("exception") != e)
            || (!s.event.is_empty() && !s.event.iter().any(|e| e == field("event")))
            || since.as_deref().is_some_and(|b| time < b)
            || until.as_deref().is_some_and(|b| time >= b)
        {
            continue;
        }
        if s.json {
            crate::outln!("{line}");
            continue;
        }
        let what = match field("event") {
            "finding_blocked" => {
                format!("{} {}:{} {}", field("rule"), field("path"), v["line"], field("message"))
            }
            "finding_excepted" => format!(
                "{} {}:{} excepted by {} ({})",
                field("rule"),
                field("path"),
                v["line"],
                field("exception"),
                field("reason")
            ),
            "verdict" => format!(
                "{} (blocking {}, advisory {}, excepted {})",
                field("verdict"),
                v["blocking"],
                v["advisory"],
                v["excepted"]
            ),
            "run" => format!("{} env={} files={}", field("tool"), v["environment"], v["files"]),
            _ => format!("{} {}", field("exception"), field("detail")),
        };
        crate::outln!("{:>5}  {time}  {:<18}  {what}", v["seq"], field("event"));
    }
    0
}
