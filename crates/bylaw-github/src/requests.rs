//! Exception requests by PR comment (DESIGN §9):
//! `/bylaw except RULE [PATH] -- reason [expires=30d]` gets a request comment
//! back with an id; `/bylaw approve ID` or `/bylaw deny ID` from an
//! authorized approver updates that comment. Approved, unexpired requests
//! are exceptions in later runs of the PR.
//!
//! Nothing is trusted from comment text or from bylaw's own comments (which
//! people with write access can edit): a request is the requester's own
//! unedited `/bylaw except` comment, an answer is an unedited `/bylaw
//! approve|deny` comment whose author GitHub names, and every answer's
//! author is verified through the API on every run (listed approver, member
//! of a listed team, or repository permission of at least `maintain`).

use crate::api::{ApiError, Client};
use crate::context::{Comment, GitHub};
use bylaw_engine::chrono::{Days, NaiveDate};
use bylaw_engine::exceptions::Exception;
use bylaw_engine::report::{Enforcement, Report};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Marker of bylaw's comment about a request: `<!-- bylaw:request REQ-… -->`.
const REQUEST_MARKER: &str = "<!-- bylaw:request ";

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Except { rule: String, path: Option<String>, reason: String, days: u32 },
    Approve(String),
    Deny(String),
}

/// Longest an exception requested by comment may last.
pub const MAX_DAYS: u32 = 90;

/// Parses the first `/bylaw …` command of a comment.
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
        "except" => {
            let Some((target, reason)) = args.split_once("--") else {
                return Some(Err(
                    "usage: `/bylaw except RULE [PATH] -- reason [expires=30d]` (the reason is required)".into(),
                ));
            };
            let mut words = target.split_whitespace();
            let Some(rule) = words.next() else { return Some(Err("name the rule: `/bylaw except RULE …`".into())) };
            let path = words.next().map(str::to_owned);
            let mut reason = reason.trim().to_owned();
            let mut days = 30;
            if let Some(i) = reason.rfind("expires=") {
                let spec = reason[i + "expires=".len()..].trim().to_owned();
                match spec.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
                    Some(d) if d >= 1 => days = d,
                    _ => return Some(Err(format!("`expires={spec}`: write a number of days, e.g. expires=30d"))),
                }
                reason = reason[..i].trim().to_owned();
            }
            if reason.is_empty() {
                return Some(Err("the reason after `--` is required".into()));
            }
            if days > MAX_DAYS {
                return Some(Err(format!("exceptions requested by comment last at most {MAX_DAYS} days")));
            }
            Ok(Command::Except { rule: rule.to_owned(), path, reason, days })
        }
        other => Err(format!("unknown command `/bylaw {other}`: use except, approve or deny")),
    })
}

/// An exception request and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `REQ-<id of the requesting comment>`.
    pub id: String,
    /// The requesting comment.
    pub comment_id: u64,
    pub html_url: String,
    pub rule: String,
    pub path: Option<String>,
    pub reason: String,
    pub requester: String,
    /// The request's day plus the days asked for.
    pub expires: NaiveDate,
    pub state: State,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Pending,
    /// By whom, in which comment, and how the approver was verified.
    Approved {
        by: String,
        url: String,
        why: String,
    },
    Denied {
        by: String,
        url: String,
        why: String,
    },
}

impl Request {
    pub fn is_approved(&self) -> bool {
        matches!(self.state, State::Approved { .. })
    }

    /// Approved and not expired on `today`.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.is_approved() && self.expires >= today
    }
}

fn unedited(c: &Value) -> bool {
    c["created_at"] == c["updated_at"]
}

fn is_bot(c: &Value) -> bool {
    c["user"]["type"] == "Bot"
}

fn login(c: &Value) -> &str {
    c["user"]["login"].as_str().unwrap_or_default()
}

/// The requests made in a PR's comments: unedited `/bylaw except` comments
/// by people (not bots), all pending.
pub fn requests(comments: &[Value]) -> Vec<Request> {
    comments
        .iter()
        .filter(|c| unedited(c) && !is_bot(c))
        .filter_map(|c| {
            let Some(Ok(Command::Except { rule, path, reason, days })) = parse_command(c["body"].as_str()?) else {
                return None;
            };
            let id = c["id"].as_u64()?;
            let day = NaiveDate::parse_from_str(c["created_at"].as_str()?.get(..10)?, "%Y-%m-%d").ok()?;
            Some(Request {
                id: format!("REQ-{id}"),
                comment_id: id,
                html_url: c["html_url"].as_str().unwrap_or_default().to_owned(),
                rule,
                path,
                reason,
                requester: login(c).to_owned(),
                expires: day + Days::new(days as u64),
                state: State::Pending,
            })
        })
        .collect()
}

/// An answer to a request found in a comment.
struct Answer<'a> {
    id: String,
    approve: bool,
    user: &'a str,
    url: &'a str,
}

fn answers(comments: &[Value]) -> Vec<Answer<'_>> {
    comments
        .iter()
        .filter(|c| unedited(c) && !is_bot(c))
        .filter_map(|c| {
            let (id, approve) = match parse_command(c["body"].as_str()?)? {
                Ok(Command::Approve(id)) => (id, true),
                Ok(Command::Deny(id)) => (id, false),
                _ => return None,
            };
            Some(Answer { id, approve, user: login(c), url: c["html_url"].as_str().unwrap_or_default() })
        })
        .collect()
}

/// Verifies approvers through the API, once per user and policy.
pub struct Verifier<'a> {
    client: &'a Client,
    gh: &'a GitHub,
    approvers_for: &'a dyn Fn(&str) -> Approvers,
    cache: BTreeMap<(String, String), Result<String, String>>,
}

impl<'a> Verifier<'a> {
    pub fn new(client: &'a Client, gh: &'a GitHub, approvers_for: &'a dyn Fn(&str) -> Approvers) -> Verifier<'a> {
        Verifier { client, gh, approvers_for, cache: BTreeMap::new() }
    }

    /// Whether `user` may answer requests on `policy`'s rules (`Err`: why not).
    pub fn check(&mut self, policy: &str, user: &str) -> Result<String, String> {
        let key = (policy.to_owned(), user.to_ascii_lowercase());
        if let Some(r) = self.cache.get(&key) {
            return r.clone();
        }
        let r = authorize(self.client, self.gh, &(self.approvers_for)(policy), user);
        self.cache.insert(key, r.clone());
        r
    }
}

/// Decides each request from the answers in `comments`, in order: the
/// first answer by someone other than the requester who is verified as an
/// approver decides. Other answers change nothing.
pub fn resolve(
    mut reqs: Vec<Request>,
    comments: &[Value],
    report: &Report,
    verifier: &mut Verifier<'_>,
) -> Vec<Request> {
    for a in answers(comments) {
        let Some(req) = reqs.iter_mut().find(|r| r.id == a.id && r.state == State::Pending) else { continue };
        if req.requester.eq_ignore_ascii_case(a.user) {
            continue;
        }
        let policy = report.rule(&req.rule).map(|r| r.policy.clone()).unwrap_or_default();
        if let Ok(why) = verifier.check(&policy, a.user) {
            let (by, url) = (a.user.to_owned(), a.url.to_owned());
            req.state = if a.approve { State::Approved { by, url, why } } else { State::Denied { by, url, why } };
        }
    }
    reqs
}

fn request_body(r: &Request) -> String {
    let target = r.path.as_deref().map(|p| format!(" on `{p}`")).unwrap_or_default();
    let state = match &r.state {
        State::Approved { by, url, why } => format!("✅ **approved** by @{by} in {url} ({why})"),
        State::Denied { by, url, why } => format!("❌ **denied** by @{by} in {url} ({why})"),
        State::Pending => format!(
            "⏳ **pending**: an approver (the policy's owners or the configured approvers) answers `/bylaw approve {id}` or `/bylaw deny {id}`",
            id = r.id
        ),
    };
    format!(
        "{REQUEST_MARKER}{} -->\n### bylaw exception request `{}`\n\n@{} asks to except `{}`{target} until {} ({}).\n\n> {}\n\n{state}\n",
        r.id,
        r.id,
        r.requester,
        r.rule,
        r.expires,
        r.html_url,
        r.reason.replace('\n', " ")
    )
}

/// bylaw's comment about request `id`, if it wrote one.
fn request_comment(comments: &[Value], id: &str) -> Option<u64> {
    let marker = format!("{REQUEST_MARKER}{id} -->");
    comments.iter().find(|c| is_bot(c) && c["body"].as_str().is_some_and(|b| b.contains(&marker)))?["id"].as_u64()
}

/// Who may approve: the owners of the rule's policy and the configured approvers.
#[derive(Debug, Clone, Default)]
pub struct Approvers {
    /// Users (`alice`) and teams (`@org/team`).
    pub entries: Vec<String>,
}

/// Whether `user` may approve, verified through the API: listed by login,
/// an active member of a listed team, or holding at least `maintain`
/// permission on the repository. `Err` explains a refusal.
pub fn authorize(client: &Client, gh: &GitHub, approvers: &Approvers, user: &str) -> Result<String, String> {
    let (owner, repo) = gh.owner_repo();
    if approvers.entries.iter().any(|e| !e.contains('/') && e.trim_start_matches('@').eq_ignore_ascii_case(user)) {
        return Ok(format!("@{user} is a listed approver"));
    }
    let mut team_problems = Vec::new();
    for team in approvers.entries.iter().filter(|e| e.contains('/')) {
        let (org, slug) = team.trim_start_matches('@').split_once('/').unwrap_or(("", ""));
        match client.get(&format!("/orgs/{org}/teams/{slug}/memberships/{user}")) {
            Ok(r) if r.json["state"] == "active" => return Ok(format!("@{user} is a member of {team}")),
            Ok(_) => team_problems.push(format!("@{user}'s membership of {team} is not active")),
            Err(e) if e.status() == Some(404) => team_problems.push(format!("@{user} is not a member of {team}")),
            Err(e) if e.status() == Some(403) => team_problems.push(format!(
                "membership of {team} cannot be read with this token (it needs organization members: read, which the workflow's GITHUB_TOKEN does not have)"
            )),
            Err(e) => team_problems.push(format!("membership of {team} could not be read: {e}")),
        }
    }
    let role = match client.get(&format!("/repos/{owner}/{repo}/collaborators/{user}/permission")) {
        Ok(r) => r.json["role_name"].as_str().or(r.json["permission"].as_str()).unwrap_or("none").to_owned(),
        Err(e) if e.status() == Some(404) => "no".to_owned(),
        Err(e) => return Err(format!("cannot verify @{user}'s permission: {e}")),
    };
    if role == "admin" || role == "maintain" {
        return Ok(format!("@{user} has {role} permission on {owner}/{repo}"));
    }
    let mut why = format!(
        "@{user} is not a listed approver and has {role} permission on {owner}/{repo} (maintain or admin needed)"
    );
    for p in team_problems {
        why.push_str("; ");
        why.push_str(&p);
    }
    Err(why)
}

/// What handling a comment did: a line for the log.
pub type Outcome = String;

/// Handles the `/bylaw` command of an `issue_comment` event on a PR, given
/// the PR's comments (including the one of the event). Refusals are
/// answered with a reply comment saying why; nothing else changes.
pub fn handle_comment(
    client: &Client,
    gh: &GitHub,
    report: &Report,
    comments: &[Value],
    verifier: &mut Verifier<'_>,
    today: NaiveDate,
) -> Result<Outcome, ApiError> {
    let (Some(comment), Some(pr)) = (&gh.comment, &gh.pr) else { return Ok("no PR comment to handle".into()) };
    let Some(cmd) = parse_command(&comment.body) else {
        return Ok("the comment holds no /bylaw command".into());
    };
    let (owner, repo) = gh.owner_repo();
    let reply = |text: String| -> Result<Outcome, ApiError> {
        let body = format!("> {}\n\n@{} {text}", first_line(&comment.body), comment.user);
        client.post(&format!("/repos/{owner}/{repo}/issues/{}/comments", pr.number), &json!({ "body": body }))?;
        Ok(format!("refused: {text}"))
    };
    if gh.payload["action"] == "edited" || comment.updated_at != comment.created_at {
        return reply("this comment was edited: bylaw acts only on new, unedited comments; write a new one".into());
    }
    let cmd = match cmd {
        Ok(c) => c,
        Err(why) => return reply(why),
    };
    // every request and its state before this comment
    let before: Vec<Value> = comments.iter().filter(|c| c["id"].as_u64() != Some(comment.id)).cloned().collect();
    let mut reqs = requests(comments);
    reqs = resolve(reqs, &before, report, verifier);
    let upsert = |req: &Request| -> Result<(), ApiError> {
        let body = json!({ "body": request_body(req) });
        match request_comment(comments, &req.id) {
            Some(id) => client.patch(&format!("/repos/{owner}/{repo}/issues/comments/{id}"), &body)?,
            None => client.post(&format!("/repos/{owner}/{repo}/issues/{}/comments", pr.number), &body)?,
        };
        Ok(())
    };
    match cmd {
        Command::Except { rule, .. } => {
            let Some(info) = report.rule(&rule) else {
                return reply(format!("there is no rule `{rule}` in this repository's policies"));
            };
            if info.enforcement == Enforcement::Mandatory {
                return reply(format!(
                    "rule `{rule}` is mandatory: exceptions to it are never honoured, so none can be requested"
                ));
            }
            let id = format!("REQ-{}", comment.id);
            let Some(req) = reqs.iter().find(|r| r.id == id) else {
                return Ok(format!("{id}: not a request")); // unreachable: the comment parsed as one
            };
            if req.expires < today {
                return reply(format!("{id} would already have expired"));
            }
            upsert(req)?;
            Ok(format!("exception request {id} recorded: {} until {}", req.rule, req.expires))
        }
        Command::Approve(id) | Command::Deny(id) => {
            let approve = matches!(parse_command(&comment.body), Some(Ok(Command::Approve(_))));
            let Some(req) = reqs.iter().find(|r| r.id == id) else {
                return reply(format!("there is no exception request `{id}` on this pull request"));
            };
            match &req.state {
                State::Pending => {}
                State::Approved { by, .. } => return reply(format!("request `{id}` was already approved by @{by}")),
                State::Denied { by, .. } => return reply(format!("request `{id}` was already denied by @{by}")),
            }
            if req.requester.eq_ignore_ascii_case(&comment.user) {
                return reply(format!("you cannot approve or deny your own exception request `{id}`"));
            }
            let policy = report.rule(&req.rule).map(|r| r.policy.clone()).unwrap_or_default();
            let why = match verifier.check(&policy, &comment.user) {
                Ok(why) => why,
                Err(why) => return reply(format!("not authorized to answer `{id}`: {why}")),
            };
            let mut req = req.clone();
            let (by, url) = (comment.user.clone(), comment.html_url.clone());
            req.state = if approve { State::Approved { by, url, why } } else { State::Denied { by, url, why } };
            upsert(&req)?;
            Ok(format!("request {id} {} by @{}", if approve { "approved" } else { "denied" }, comment.user))
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(200).collect()
}

/// Requests in force as exceptions for the engine, with the approver and
/// the link to the request.
pub fn approved_exceptions(reqs: &[Request], today: NaiveDate) -> Vec<Exception> {
    reqs.iter()
        .filter(|r| r.in_force(today))
        .map(|r| {
            let approver = match &r.state {
                State::Approved { by, .. } => by.clone(),
                _ => String::new(),
            };
            Exception {
                id: r.id.clone(),
                rules: vec![r.rule.clone()],
                targets: r
                    .path
                    .as_ref()
                    .and_then(|p| bylaw_engine::compile::FileMatcher::new(std::slice::from_ref(p)).ok().flatten()),
                resources: Vec::new(),
                reason: r.reason.clone(),
                ticket: Some(r.html_url.clone()),
                requested_by: Some(r.requester.clone()),
                approved_by: vec![approver],
                expires: Some(r.expires),
                file: r.html_url.clone(),
                span: Default::default(),
                expires_span: None,
            }
        })
        .collect()
}

/// The ExceptionList YAML to commit for the requests in force.
pub fn exception_list_yaml(reqs: &[Request], today: NaiveDate) -> String {
    let mut out = String::from("apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n");
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    for r in reqs.iter().filter(|r| r.in_force(today)) {
        let approver = match &r.state {
            State::Approved { by, .. } => by.as_str(),
            _ => "",
        };
        out.push_str(&format!("  - id: {}\n    rules: [{}]\n", r.id, q(&r.rule)));
        if let Some(p) = &r.path {
            out.push_str(&format!("    targets: [{}]\n", q(p)));
        }
        out.push_str(&format!(
            "    reason: {}\n    ticket: {}\n    requested_by: {}\n    approved_by: [{}]\n    expires: {}\n",
            q(&r.reason),
            q(&r.html_url),
            q(&r.requester),
            q(approver),
            r.expires
        ));
    }
    out
}

/// Whether a comment is a `/bylaw` command.
pub fn is_command(c: &Comment) -> bool {
    parse_command(&c.body).is_some()
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
        assert!(parse_command("/bylaw frobnicate").unwrap().is_err());
        assert_eq!(parse_command("LGTM"), None);
    }

    fn comment(id: u64, user: &str, body: &str, edited: bool) -> Value {
        json!({
            "id": id, "body": body, "html_url": format!("https://github.com/o/r/pull/1#issuecomment-{id}"),
            "user": { "login": user, "type": if user.ends_with("[bot]") { "Bot" } else { "User" } },
            "created_at": "2026-06-01T10:00:00Z",
            "updated_at": if edited { "2026-06-01T11:00:00Z" } else { "2026-06-01T10:00:00Z" },
        })
    }

    #[test]
    fn requests_come_only_from_unedited_comments_of_people() {
        let cs = vec![
            comment(1, "bob", "/bylaw except K-1 a.yaml -- vendor agent expires=10d", false),
            comment(2, "bob", "/bylaw except K-2 -- edited later", true),
            comment(3, "github-actions[bot]", "/bylaw except K-3 -- a bot", false),
            comment(4, "mallory", "<!-- bylaw:request REQ-9 --> approved", false),
        ];
        let reqs = requests(&cs);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!((r.id.as_str(), r.rule.as_str(), r.path.as_deref()), ("REQ-1", "K-1", Some("a.yaml")));
        assert_eq!(r.expires, NaiveDate::from_ymd_opt(2026, 6, 11).unwrap());
        assert_eq!(r.state, State::Pending);
        assert_eq!(request_comment(&cs, "REQ-9"), None, "markers count only in bylaw's own comments");
        let mut approved = r.clone();
        approved.state = State::Approved { by: "alice".into(), url: "u".into(), why: "w".into() };
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let yaml = exception_list_yaml(std::slice::from_ref(&approved), today);
        assert!(yaml.contains("  - id: REQ-1\n    rules: [\"K-1\"]\n    targets: [\"a.yaml\"]"), "{yaml}");
        assert!(yaml.contains("approved_by: [\"alice\"]\n    expires: 2026-06-11"), "{yaml}");
        assert_eq!(approved_exceptions(std::slice::from_ref(&approved), today).len(), 1);
        assert!(approved_exceptions(&[approved], NaiveDate::from_ymd_opt(2026, 6, 12).unwrap()).is_empty(), "expired");
    }
}
