//! PR/MR comment commands, as the GitHub and GitLab adapters handle them:
//! the input is a thread of comments (split at NUL bytes; authors take
//! turns between `bob` and `alice`, who is an approver). Every comment goes
//! through `commands::parse_command`; the thread through
//! `requests::requests` and `resolve`, and its last comment through
//! `handle_command` (with a recording thread instead of the platform's
//! API). Oracles: a parsed `except` has a rule, a reason and 1..=90 days;
//! the ExceptionList YAML bylaw proposes for the approved requests
//! (`exception_list_yaml`) loads with `exceptions::parse_into` into the
//! same rules, paths and reasons; an approved request on a path never
//! becomes an exception on every path. The changed lines of a unified diff
//! (`diff::added_lines`) are read from the same bytes.
#![no_main]

use bylaw_ci::commands::{parse_command, Command, MAX_DAYS};
use bylaw_ci::requests::{self, Decision, State, Thread, ThreadComment, Verifier};
use bylaw_ci::ApiError;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

/// A thread that records what bylaw writes.
#[derive(Default)]
struct Recorder {
    written: RefCell<Vec<String>>,
}

impl Thread for Recorder {
    fn post(&self, body: &str) -> Result<ThreadComment, ApiError> {
        self.written.borrow_mut().push(body.to_owned());
        Ok(ThreadComment {
            id: 1000,
            body: body.into(),
            author: "bylaw[bot]".into(),
            bot: true,
            ..ThreadComment::default()
        })
    }
    fn edit(&self, id: u64, body: &str) -> Result<ThreadComment, ApiError> {
        self.written.borrow_mut().push(body.to_owned());
        Ok(ThreadComment { id, body: body.into(), author: "bylaw[bot]".into(), bot: true, ..ThreadComment::default() })
    }
}

fn note(i: usize, body: &str) -> ThreadComment {
    ThreadComment {
        id: i as u64 + 1,
        body: body.into(),
        author: if i % 2 == 0 { "bob" } else { "alice" }.into(),
        author_id: i as u64 + 100,
        created_at: "2026-06-01T10:00:00Z".into(),
        edited: false,
        bot: false,
        url: format!("https://example.com/pr/1#note-{}", i + 1),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    let _ = bylaw_ci::diff::added_lines(&src);
    let notes: Vec<ThreadComment> = src.split('\0').take(8).enumerate().map(|(i, b)| note(i, b)).collect();
    for n in &notes {
        if let Some(Ok(Command::Except { rule, reason, days, path })) = parse_command(&n.body) {
            assert!(!rule.is_empty() && !rule.contains(char::is_whitespace), "rule {rule:?}");
            assert!(!reason.trim().is_empty(), "reason {reason:?}");
            assert!((1..=MAX_DAYS).contains(&days), "days {days}");
            assert!(path.is_none_or(|p| !p.is_empty() && !p.contains(char::is_whitespace)));
        }
    }
    let world = bylaw_fuzz::exception_world();
    let authorize = |_: &requests::Approvers, n: &ThreadComment| {
        if n.author == "alice" {
            Ok("listed approver".to_owned())
        } else {
            Err("not an approver".to_owned())
        }
    };
    let catalog = world.set.catalog();
    let mut verifier = Verifier::new(&catalog, &[], &authorize);
    let reqs = requests::resolve(requests::requests(&notes), &notes, &mut verifier);
    let today = bylaw_fuzz::today();
    if let Some(last) = notes.last() {
        let thread = Recorder::default();
        let handled = requests::handle_command(&thread, last, &notes, &catalog, &mut verifier, today)
            .expect("the recording thread does not fail");
        let _ = handled.outcome;
    }
    // every request as if approved: what bylaw proposes to commit must load
    let approved: Vec<requests::Request> = reqs
        .iter()
        .cloned()
        .map(|mut r| {
            let _ = requests::request_body(&r);
            let d =
                Decision { by: "alice".into(), comment_id: 99, url: "https://example.com/a".into(), why: "w".into() };
            r.state = State::Approved(d);
            let _ = requests::request_body(&r);
            r
        })
        .collect();
    let in_force: Vec<&requests::Request> = approved.iter().filter(|r| r.in_force(today)).collect();
    if in_force.is_empty() {
        return; // the adapters propose a list only when some request is in force
    }
    let yaml = requests::exception_list_yaml(&approved, today);
    let _ = bylaw_ci::summary::approved_details(&yaml);
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    bylaw_engine::exceptions::parse_into("approved.yaml", &yaml, &mut loaded, &mut errors);
    assert!(errors.is_empty(), "the proposed exception list does not load: {errors:#?}\n{yaml}");
    assert_eq!(loaded.len(), in_force.len(), "{yaml}");
    for (e, r) in loaded.iter().zip(&in_force) {
        assert_eq!(e.rules, vec![r.rule.clone()], "{yaml}");
        assert_eq!(e.reason, r.reason, "{yaml}");
        assert_eq!(e.targets.is_some(), r.path.is_some(), "{yaml}");
    }
    for (e, r) in requests::approved_exceptions(&approved, today).iter().zip(&in_force) {
        assert_eq!(e.targets.is_some(), r.path.is_some(), "a request on {:?} excepts every path", r.path);
    }
});
