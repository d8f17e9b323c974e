//! Exception requests by PR/MR comment (DESIGN §9), the same on every
//! platform: `/bylaw except RULE [PATH] -- reason [expires=30d]` gets a
//! request comment back with an id; `/bylaw approve ID` or `/bylaw deny ID`
//! from an authorized approver updates that comment. Approved, unexpired
//! requests are exceptions in later runs of the PR/MR.
//!
//! Nothing is trusted from comment text or from bylaw's own comments (which
//! people with write access can edit): a request is the requester's own
//! unedited `/bylaw except` comment, an answer is an unedited `/bylaw
//! approve|deny` comment whose author the platform names, and every
//! answer's author is verified through the platform's API on every run (the
//! adapter's [`Verifier`] check). The platform adapters turn their comments
//! into [`ThreadComment`]s and implement [`Thread`] to write.

use crate::commands::{parse_command, Command};
use crate::error::ApiError;
use bylaw_engine::chrono::{Days, NaiveDate};
use bylaw_engine::exceptions::Exception;
use bylaw_engine::report::{Catalog, Enforcement};
use bylaw_report::escape::{md_code, md_text};
use std::collections::BTreeMap;

/// Marker of bylaw's comment about a request: `<!-- bylaw:request REQ-… -->`.
const REQUEST_MARKER: &str = "<!-- bylaw:request ";

/// A comment of a PR/MR thread, as every platform has them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ThreadComment {
    pub id: u64,
    pub body: String,
    /// Login / username of the author.
    pub author: String,
    /// The platform's numeric id of the author (GitLab's members API needs it).
    pub author_id: u64,
    /// RFC 3339.
    pub created_at: String,
    /// Changed after it was written: never a request or an answer.
    pub edited: bool,
    /// Written by a bot (bylaw's own comments among them): never a request
    /// or an answer; only such comments can be bylaw's.
    pub bot: bool,
    pub url: String,
}

/// The marker bylaw puts in every comment it writes in answer to comment
/// `id`, so that a run handles each command once.
pub fn answered_marker(id: u64) -> String {
    format!("<!-- bylaw:re {id} -->")
}

/// Whether bylaw already answered comment `id` (in one of its own comments).
pub fn answered(comments: &[ThreadComment], id: u64) -> bool {
    let m = answered_marker(id);
    comments.iter().any(|n| n.bot && n.body.contains(&m))
}

/// An exception request and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `REQ-<id of the requesting comment>`.
    pub id: String,
    /// The requesting comment.
    pub comment_id: u64,
    pub url: String,
    pub rule: String,
    pub path: Option<String>,
    pub reason: String,
    pub requester: String,
    /// The request's day plus the days asked for.
    pub expires: NaiveDate,
    pub state: State,
}

/// Who answered a request, where, and how they were verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub by: String,
    pub comment_id: u64,
    pub url: String,
    pub why: String,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Pending,
    Approved(Decision),
    Denied(Decision),
}

impl Request {
    pub fn is_approved(&self) -> bool {
        matches!(self.state, State::Approved(_))
    }

    /// Approved and not expired on `today`.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.is_approved() && self.expires >= today
    }

    fn approver(&self) -> &str {
        match &self.state {
            State::Approved(d) => &d.by,
            _ => "",
        }
    }
}

/// The requests made in a thread: unedited `/bylaw except` comments by
/// people (not bots), all pending.
pub fn requests(comments: &[ThreadComment]) -> Vec<Request> {
    comments
        .iter()
        .filter(|n| !n.edited && !n.bot)
        .filter_map(|n| {
            let Some(Ok(Command::Except { rule, path, reason, days })) = parse_command(&n.body) else {
                return None;
            };
            let day = NaiveDate::parse_from_str(n.created_at.get(..10)?, "%Y-%m-%d").ok()?;
            Some(Request {
                id: format!("REQ-{}", n.id),
                comment_id: n.id,
                url: n.url.clone(),
                rule,
                path,
                reason,
                requester: n.author.clone(),
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
    comment: &'a ThreadComment,
}

fn answers(comments: &[ThreadComment]) -> Vec<Answer<'_>> {
    comments
        .iter()
        .filter(|n| !n.edited && !n.bot)
        .filter_map(|n| {
            let (id, approve) = match parse_command(&n.body)? {
                Ok(Command::Approve(id)) => (id, true),
                Ok(Command::Deny(id)) => (id, false),
                _ => return None,
            };
            Some(Answer { id, approve, comment: n })
        })
        .collect()
}

/// Who may approve exceptions to a policy's rules: its owners and the
/// configured approvers, users (`alice`) and groups/teams (`@org/team`).
#[derive(Debug, Clone, Default)]
pub struct Approvers {
    pub entries: Vec<String>,
}

impl Approvers {
    /// The owners of `policy` in `catalog` and the configured approvers.
    pub fn of(catalog: &Catalog, policy: &str, configured: &[String]) -> Approvers {
        Approvers {
            entries: catalog
                .policies
                .iter()
                .filter(|p| p.name == policy)
                .flat_map(|p| p.owners.iter().cloned())
                .chain(configured.iter().cloned())
                .collect(),
        }
    }

    /// Whether `user` is listed by name.
    pub fn lists_user(&self, user: &str) -> bool {
        self.entries.iter().any(|e| !e.contains('/') && e.trim_start_matches('@').eq_ignore_ascii_case(user))
    }

    /// The listed groups/teams, without the leading `@`.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter(|e| e.contains('/')).map(|e| e.trim_start_matches('@'))
    }
}

/// The platform's check of an approver: `Ok(how they were verified)` or
/// `Err(why not)`.
pub type Authorize<'a> = dyn Fn(&Approvers, &ThreadComment) -> Result<String, String> + 'a;

/// Verifies approvers through the platform, once per user and policy.
pub struct Verifier<'a> {
    catalog: &'a Catalog,
    configured: &'a [String],
    authorize: &'a Authorize<'a>,
    cache: BTreeMap<(String, String), Result<String, String>>,
}

impl<'a> Verifier<'a> {
    pub fn new(catalog: &'a Catalog, configured: &'a [String], authorize: &'a Authorize<'a>) -> Verifier<'a> {
        Verifier { catalog, configured, authorize, cache: BTreeMap::new() }
    }

    /// Whether the author of `comment` may answer requests on `rule`.
    pub fn check(&mut self, rule: &str, comment: &ThreadComment) -> Result<String, String> {
        let policy = self.catalog.rule(rule).map(|r| r.policy.clone()).unwrap_or_default();
        let key = (policy.clone(), comment.author.to_ascii_lowercase());
        if let Some(r) = self.cache.get(&key) {
            return r.clone();
        }
        let r = (self.authorize)(&Approvers::of(self.catalog, &policy, self.configured), comment);
        self.cache.insert(key, r.clone());
        r
    }
}

/// Decides each request from the answers in `comments`, in order: the first
/// answer by someone other than the requester who is verified as an
/// approver decides. Other answers change nothing.
pub fn resolve(mut reqs: Vec<Request>, comments: &[ThreadComment], verifier: &mut Verifier<'_>) -> Vec<Request> {
    for a in answers(comments) {
        let Some(req) = reqs.iter_mut().find(|r| r.id == a.id && r.state == State::Pending) else { continue };
        if req.requester.eq_ignore_ascii_case(&a.comment.author) {
            continue;
        }
        if let Ok(why) = verifier.check(&req.rule, a.comment) {
            let d =
                Decision { by: a.comment.author.clone(), comment_id: a.comment.id, url: a.comment.url.clone(), why };
            req.state = if a.approve { State::Approved(d) } else { State::Denied(d) };
        }
    }
    reqs
}

/// The body of bylaw's comment about a request. The rule, path and reason
/// come from the requester's comment and the verification note from the
/// platform's data: all escaped ([`md_code`], [`md_text`]), so nothing in
/// them links, mentions or formats; the requester and the approver (logins
/// the platform names) are mentioned.
pub fn request_body(r: &Request) -> String {
    let target = r.path.as_deref().map(|p| format!(" on {}", md_code(p))).unwrap_or_default();
    let mut markers = answered_marker(r.comment_id);
    let state = match &r.state {
        State::Approved(d) | State::Denied(d) => {
            markers.push_str(&answered_marker(d.comment_id));
            let verb = if r.is_approved() { "✅ **approved**" } else { "❌ **denied**" };
            format!("{verb} by @{} in {} ({})", md_text(&d.by), d.url, md_text(&d.why))
        }
        State::Pending => format!(
            "⏳ **pending**: an approver (the policy's owners or the configured approvers) answers `/bylaw approve {id}` or `/bylaw deny {id}`",
            id = r.id
        ),
    };
    format!(
        "{REQUEST_MARKER}{} -->{markers}\n### bylaw exception request {}\n\n@{} asks to except {}{target} until {} ({}).\n\n> {}\n\n{state}\n",
        r.id,
        md_code(&r.id),
        md_text(&r.requester),
        md_code(&r.rule),
        r.expires,
        r.url,
        md_text(&r.reason.replace('\n', " "))
    )
}

/// bylaw's comment about request `id`, if it wrote one.
pub fn request_comment(comments: &[ThreadComment], id: &str) -> Option<u64> {
    let marker = format!("{REQUEST_MARKER}{id} -->");
    comments.iter().find(|n| n.bot && n.body.contains(&marker)).map(|n| n.id)
}

/// Writing to a PR/MR thread.
pub trait Thread {
    /// Posts a new comment; returns it.
    fn post(&self, body: &str) -> Result<ThreadComment, ApiError>;
    /// Replaces the body of comment `id`; returns it.
    fn edit(&self, id: u64, body: &str) -> Result<ThreadComment, ApiError>;
}

/// What handling a command did.
#[derive(Debug)]
pub struct Handled {
    /// A line for the log.
    pub outcome: String,
    /// The comment bylaw wrote or updated, if any.
    pub written: Option<ThreadComment>,
}

/// Handles the `/bylaw` command of comment `comment`, given the thread's
/// comments (`comments`, with or without `comment`). Refusals are answered with a
/// reply saying why; nothing else changes.
pub fn handle_command(
    thread: &dyn Thread,
    comment: &ThreadComment,
    comments: &[ThreadComment],
    catalog: &Catalog,
    verifier: &mut Verifier<'_>,
    today: NaiveDate,
) -> Result<Handled, ApiError> {
    let Some(cmd) = parse_command(&comment.body) else {
        return Ok(Handled { outcome: "the comment holds no /bylaw command".into(), written: None });
    };
    let reply = |text: String| -> Result<Handled, ApiError> {
        let body = format!(
            "{}\n> {}\n\n@{} {text}",
            answered_marker(comment.id),
            md_text(&first_line(&comment.body)),
            md_text(&comment.author)
        );
        let written = thread.post(&body)?;
        Ok(Handled { outcome: format!("refused: {text}"), written: Some(written) })
    };
    if comment.edited {
        return reply("this comment was edited: bylaw acts only on new, unedited comments; write a new one".into());
    }
    let cmd = match cmd {
        Ok(c) => c,
        Err(why) => return reply(why),
    };
    // every request and its state before this comment
    let mut all: Vec<ThreadComment> = comments.iter().filter(|n| n.id != comment.id).cloned().collect();
    let before = all.clone();
    all.push(comment.clone());
    let reqs = resolve(requests(&all), &before, verifier);
    let upsert = |req: &Request| -> Result<ThreadComment, ApiError> {
        let body = request_body(req);
        match request_comment(comments, &req.id) {
            Some(id) => thread.edit(id, &body),
            None => thread.post(&body),
        }
    };
    match cmd {
        Command::Except { rule, .. } => {
            let Some(info) = catalog.rule(&rule) else {
                return reply(format!("there is no rule {} in this repository's policies", md_code(&rule)));
            };
            if info.enforcement == Enforcement::Mandatory {
                return reply(format!(
                    "rule {} is mandatory: exceptions to it are never honoured, so none can be requested",
                    md_code(&rule)
                ));
            }
            let id = format!("REQ-{}", comment.id);
            let Some(req) = reqs.iter().find(|r| r.id == id) else {
                return reply("the request's date cannot be read".into());
            };
            if req.expires < today {
                return reply(format!("{id} would already have expired"));
            }
            let written = upsert(req)?;
            Ok(Handled {
                outcome: format!("exception request {id} recorded: {} until {}", req.rule, req.expires),
                written: Some(written),
            })
        }
        Command::Approve(id) | Command::Deny(id) => {
            let approve = matches!(parse_command(&comment.body), Some(Ok(Command::Approve(_))));
            let Some(req) = reqs.iter().find(|r| r.id == id) else {
                return reply(format!("there is no exception request {} here", md_code(&id)));
            };
            match &req.state {
                State::Pending => {}
                State::Approved(d) => {
                    return reply(format!("request {} was already approved by @{}", md_code(&id), md_text(&d.by)))
                }
                State::Denied(d) => {
                    return reply(format!("request {} was already denied by @{}", md_code(&id), md_text(&d.by)))
                }
            }
            if req.requester.eq_ignore_ascii_case(&comment.author) {
                return reply(format!("you cannot approve or deny your own exception request {}", md_code(&id)));
            }
            let why = match verifier.check(&req.rule, comment) {
                Ok(why) => why,
                Err(why) => return reply(format!("not authorized to answer {}: {}", md_code(&id), md_text(&why))),
            };
            let mut req = req.clone();
            let d = Decision { by: comment.author.clone(), comment_id: comment.id, url: comment.url.clone(), why };
            req.state = if approve { State::Approved(d) } else { State::Denied(d) };
            let written = upsert(&req)?;
            Ok(Handled {
                outcome: format!("request {id} {} by @{}", if approve { "approved" } else { "denied" }, comment.author),
                written: Some(written),
            })
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(200).collect()
}

/// Requests in force as exceptions for the engine, with the approver and
/// the link to the request. A request whose path does not compile as a
/// glob (refused by [`parse_command`] since) is left out, never widened to
/// every file.
pub fn approved_exceptions(reqs: &[Request], today: NaiveDate) -> Vec<Exception> {
    reqs.iter()
        .filter(|r| r.in_force(today))
        .filter_map(|r| {
            let targets = match &r.path {
                Some(p) => Some(bylaw_engine::compile::FileMatcher::new(std::slice::from_ref(p)).ok().flatten()?),
                None => None,
            };
            Some((r, targets))
        })
        .map(|(r, targets)| Exception {
            id: r.id.clone(),
            rules: vec![r.rule.clone()],
            targets,
            resources: Vec::new(),
            reason: r.reason.clone(),
            ticket: Some(r.url.clone()),
            requested_by: Some(r.requester.clone()),
            approved_by: vec![r.approver().to_owned()],
            expires: Some(r.expires),
            file: r.url.clone(),
            span: Default::default(),
            expires_span: None,
        })
        .collect()
}

/// The ExceptionList YAML to commit for the requests in force.
pub fn exception_list_yaml(reqs: &[Request], today: NaiveDate) -> String {
    let mut out = String::from("apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n");
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    for r in reqs.iter().filter(|r| r.in_force(today)) {
        out.push_str(&format!("  - id: {}\n    rules: [{}]\n", r.id, q(&r.rule)));
        if let Some(p) = &r.path {
            out.push_str(&format!("    targets: [{}]\n", q(p)));
        }
        out.push_str(&format!(
            "    reason: {}\n    ticket: {}\n    requested_by: {}\n    approved_by: [{}]\n    expires: {}\n",
            q(&r.reason),
            q(&r.url),
            q(&r.requester),
            q(r.approver()),
            r.expires
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: u64, user: &str, body: &str, edited: bool) -> ThreadComment {
        ThreadComment {
            id,
            body: body.into(),
            author: user.into(),
            author_id: id * 10,
            created_at: "2026-06-01T10:00:00Z".into(),
            edited,
            bot: user.ends_with("[bot]"),
            url: format!("https://example.com/pr/1#note-{id}"),
        }
    }

    #[test]
    fn requests_come_only_from_unedited_comments_of_people() {
        let ns = vec![
            comment(1, "bob", "/bylaw except K-1 a.yaml -- vendor agent expires=10d", false),
            comment(2, "bob", "/bylaw except K-2 -- edited later", true),
            comment(3, "bylaw[bot]", "/bylaw except K-3 -- a bot", false),
            comment(4, "mallory", "<!-- bylaw:request REQ-9 --> approved <!-- bylaw:re 1 -->", false),
        ];
        let reqs = requests(&ns);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!((r.id.as_str(), r.rule.as_str(), r.path.as_deref()), ("REQ-1", "K-1", Some("a.yaml")));
        assert_eq!(r.expires, NaiveDate::from_ymd_opt(2026, 6, 11).unwrap());
        assert_eq!(r.state, State::Pending);
        assert_eq!(request_comment(&ns, "REQ-9"), None, "markers count only in bylaw's own comments");
        assert!(!answered(&ns, 1), "nor do answer markers");
        let mut approved = r.clone();
        approved.state =
            State::Approved(Decision { by: "alice".into(), comment_id: 5, url: "u".into(), why: "w".into() });
        let body = request_body(&approved);
        assert!(body.contains("<!-- bylaw:re 1 --><!-- bylaw:re 5 -->"), "{body}");
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let yaml = exception_list_yaml(std::slice::from_ref(&approved), today);
        assert!(yaml.contains("  - id: REQ-1\n    rules: [\"K-1\"]\n    targets: [\"a.yaml\"]"), "{yaml}");
        assert!(yaml.contains("approved_by: [\"alice\"]\n    expires: 2026-06-11"), "{yaml}");
        assert_eq!(approved_exceptions(std::slice::from_ref(&approved), today).len(), 1);
        assert!(
            approved_exceptions(&[approved.clone()], NaiveDate::from_ymd_opt(2026, 6, 12).unwrap()).is_empty(),
            "expired"
        );
        let mut unmatchable = approved;
        unmatchable.path = Some("dep{aw".into());
        assert!(approved_exceptions(&[unmatchable], today).is_empty(), "never widened to every file");
    }

    #[test]
    fn approvers_list_users_and_groups() {
        let a = Approvers { entries: vec!["@Alice".into(), "@acme/security".into(), "dave".into()] };
        assert!(a.lists_user("alice") && a.lists_user("dave") && !a.lists_user("acme"));
        assert_eq!(a.groups().collect::<Vec<_>>(), vec!["acme/security"]);
    }
}
