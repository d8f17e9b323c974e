//! The `/bylaw` commands people write in PR/MR comments (DESIGN §9):
//! `/bylaw except RULE [PATH] -- reason [expires=30d]`,
//! `/bylaw approve ID`, `/bylaw deny ID`.
//!
//! The usage errors are Markdown (bylaw posts them as a reply): every word
//! taken from the comment is shown as a code span by
//! [`bylaw_report::escape::md_code`], which no backtick in it can close.

use bylaw_report::escape::{md_code, md_text};

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Except { rule: String, path: Option<String>, reason: String, days: u32 },
    Approve(String),
    Deny(String),
}

/// Longest an exception requested by comment may last.
pub const MAX_DAYS: u32 = 90;

/// Parses the first `/bylaw …` command of a comment: `None` when there is
/// none, `Err` with a usage hint when it is malformed.
pub fn parse_command(body: &str) -> Option<Result<Command, String>> {
    let line = body.lines().map(str::trim).find(|l| l.starts_with("/bylaw "))?;
    let rest = line["/bylaw ".len()..].trim();
    let (verb, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let args = args.trim();
    Some(match verb {
        "approve" | "deny" if !args.is_empty() && !args.contains(char::is_whitespace) => {
            let id = args.to_owned();
            Ok(if verb == "approve" { Command::Approve(id) } else { Command::Deny(id) })
        }
        "approve" | "deny" => Err(format!("usage: `/bylaw {verb} ID` (the id of the request comment, e.g. REQ-123)")),
        "except" => parse_except(args),
        other => Err(format!("unknown command {}: use except, approve or deny", md_code(&format!("/bylaw {other}")))),
    })
}

fn parse_except(args: &str) -> Result<Command, String> {
    let Some((target, reason)) = args.split_once("--") else {
        return Err("usage: `/bylaw except RULE [PATH] -- reason [expires=30d]` (the reason is required)".into());
    };
    let mut words = target.split_whitespace();
    let Some(rule) = words.next() else { return Err("name the rule: `/bylaw except RULE …`".into()) };
    let path = words.next().map(str::to_owned);
    if let Some(p) = &path {
        check_path(p)?;
    }
    let mut reason = reason.trim().to_owned();
    let mut days = 30;
    if let Some(i) = reason.rfind("expires=") {
        let spec = reason[i + "expires=".len()..].trim().to_owned();
        match spec.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            Some(d) if d >= 1 => days = d,
            _ => {
                return Err(format!(
                    "{}: write a number of days, e.g. expires=30d",
                    md_code(&format!("expires={spec}"))
                ))
            }
        }
        reason = reason[..i].trim().to_owned();
    }
    if reason.is_empty() {
        return Err("the reason after `--` is required".into());
    }
    if days > MAX_DAYS {
        return Err(format!("exceptions requested by comment last at most {MAX_DAYS} days"));
    }
    Ok(Command::Except { rule: rule.to_owned(), path, reason, days })
}

/// A requested exception's path must name the files it excepts: a glob
/// that does not compile, or a `!` pattern (which would except every
/// *other* file), is refused here, where the requester can be told, rather
/// than turned into an exception wider than the one approved.
fn check_path(p: &str) -> Result<(), String> {
    if p.starts_with('!') {
        return Err(format!("{}: name the files to except, not the ones to leave out (no leading `!`)", md_code(p)));
    }
    match bylaw_engine::compile::FileMatcher::new(&[p.to_owned()]) {
        Ok(_) => Ok(()),
        Err((_, why)) => Err(format!("{} is not a path or glob bylaw can match: {}", md_code(p), md_text(&why))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_parsed_with_clear_errors() {
        assert_eq!(
            parse_command("please\n/bylaw except K8S-001 deploy/agent.yaml -- vendor agent, see SEC-1 expires=14d")
                .unwrap(),
            Ok(Command::Except {
                rule: "K8S-001".into(),
                path: Some("deploy/agent.yaml".into()),
                reason: "vendor agent, see SEC-1".into(),
                days: 14
            })
        );
        assert_eq!(
            parse_command("/bylaw except K8S-001 -- legacy").unwrap(),
            Ok(Command::Except { rule: "K8S-001".into(), path: None, reason: "legacy".into(), days: 30 })
        );
        assert_eq!(parse_command("/bylaw approve REQ-7").unwrap(), Ok(Command::Approve("REQ-7".into())));
        assert_eq!(parse_command("/bylaw deny REQ-7").unwrap(), Ok(Command::Deny("REQ-7".into())));
        assert!(parse_command("/bylaw except K8S-001").unwrap().unwrap_err().contains("reason is required"));
        assert!(parse_command("/bylaw except K8S-001 -- x expires=400d")
            .unwrap()
            .unwrap_err()
            .contains("at most 90 days"));
        assert!(parse_command("/bylaw except K8S-001 -- x expires=soon")
            .unwrap()
            .unwrap_err()
            .contains("number of days"));
        assert!(parse_command("/bylaw frobnicate").unwrap().is_err());
        assert_eq!(
            parse_command("/bylaw except K8S-001 deploy/*.yaml -- legacy").unwrap(),
            Ok(Command::Except {
                rule: "K8S-001".into(),
                path: Some("deploy/*.yaml".into()),
                reason: "legacy".into(),
                days: 30
            })
        );
        assert_eq!(parse_command("LGTM"), None);
    }

    /// Found by fuzzing (fuzz/seeds/ci_commands/invalid-glob-path.txt): a
    /// path that is not a glob (`{`, `dep{aw`) was accepted, then dropped when
    /// the approved request became an exception, which so excepted the rule
    /// on every file; a `!` path would have excepted every other file.
    #[test]
    fn a_path_that_would_widen_the_exception_is_refused() {
        for (path, says) in [
            ("{", "not a path or glob"),
            ("dep{aw", "not a path or glob"),
            ("deploy/[ab", "not a path or glob"),
            ("!deploy/x.yaml", "leading `!`"),
        ] {
            let e = parse_command(&format!("/bylaw except X-003 {path} -- legacy")).unwrap().unwrap_err();
            assert!(e.contains(says) && e.contains(path), "{path}: {e}");
        }
    }
}
