//! Computes a [`HistoryReport`] from the history store ([`compute`]) and
//! the regression gate of a scheduled job ([`regressions`]).
//!
//! The definitions are README.md "Effectiveness metrics"; in short:
//! - a **finding** is its fingerprint within a *stream*, the runs of one
//!   repository and environment (runs whose verdict is `error` evaluated
//!   nothing and are skipped);
//! - it is **opened** at the first run of its stream it appears in (runs
//!   before `since` count for this, so a finding older than the window is
//!   not opened in it), **fixed** at the first later run of its stream that
//!   evaluated its rule and its file (the file within the run's scope and
//!   parsed) and does not have it (time to remediate = that
//!   run's time − the time it appeared), a **recurrence** when it appears
//!   again after being fixed (the time to remediate of the next fix counts
//!   from the reappearance);
//! - a stream's **state** at a run = the run's findings, plus the previous
//!   state's findings of the files the run did not evaluate (outside its
//!   scope, or not parsed): a partial run keeps what it did not look at;
//! - **open** = in the state at the last run of its stream in the window and
//!   not excepted, whatever its enforcement level; baselined findings
//!   (`baseline: unchanged`) are open (the baseline only lowers their
//!   enforcement); excepted findings (an exception file or an inline
//!   suppression) are **excepted**, never open;
//! - the **compliance score** of a scope at a set of last runs = 100 ×
//!   pairs (stream, rule in scope evaluated by the stream's last run) with
//!   no open finding ÷ such pairs;
//! - the **reference time** is the window's end (`until`, never after
//!   now): exceptions are open, expired or expiring soon, and aged, at it;
//!   the trend series runs from the period of `since` (else the first run)
//!   to the period holding it, at most [`MAX_PERIODS`] periods;
//! - bylaw's own findings (policy [`BUILTIN_POLICY`]) are no policy's:
//!   they count only as files that failed to parse.

use crate::frameworks;
use crate::model::*;
use crate::ComplianceError;
use bylaw_engine::builtin::{INPUT_TOO_LARGE, PARSE_ERROR};
use bylaw_engine::chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use bylaw_history::{format_time, FindingRow, RuleRow, RunFilter, RunId, RunRow, Store, Window};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Days before expiry an open exception counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 14;

/// Most periods a trend series may have (`--period day` over more than
/// about 2.7 years is refused: use a longer period or a later `since`).
pub const MAX_PERIODS: usize = 1000;

/// Policy name of bylaw's own findings (`bylaw/parse-error`,
/// `bylaw/input-too-large`, `bylaw/eval-error`): not a policy, so never
/// scored (README "Effectiveness metrics", "bylaw's own findings").
pub const BUILTIN_POLICY: &str = "bylaw";

/// Rules of bylaw whose finding means a file was not evaluated.
const UNPARSED_RULES: [&str; 2] = ["bylaw/parse-error", "bylaw/input-too-large"];

/// Computes the report of `query` from `store` at time `now`.
///
/// # Errors
/// [`ComplianceError::Store`] when the store cannot be read;
/// [`ComplianceError::Invalid`] when `since`/`until` are not RFC 3339,
/// `since` is after `until` (or now), `framework` is unknown (the message
/// lists the known ones), or the series would have more than
/// [`MAX_PERIODS`] periods.
pub fn compute(store: &Store, query: &Query, now: DateTime<Utc>) -> Result<HistoryReport, ComplianceError> {
    let (since, until) = bounds(query, now)?;
    let window = store.window(&history_filter(query, until))?;
    compute_from(&window, query, &store.display(), now, since)
}

fn parse_time(what: &str, s: &str) -> Result<DateTime<Utc>, ComplianceError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ComplianceError::Invalid(format!("{what} `{s}` is not an RFC 3339 time: {e}")))
}

fn bounds(query: &Query, now: DateTime<Utc>) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), ComplianceError> {
    let since = query.since.as_deref().map(|s| parse_time("since", s)).transpose()?;
    let given = query.until.as_deref().map(|s| parse_time("until", s)).transpose()?;
    // the window ends at until, never after now
    let until = given.map_or(now, |u| u.min(now));
    if let Some(s) = since {
        if s > until {
            let end = if given.is_some_and(|u| u <= now) {
                format!("until {}", format_time(until))
            } else {
                format!("now ({})", format_time(now))
            };
            return Err(ComplianceError::Invalid(format!("since {} is after {end}", format_time(s))));
        }
    }
    Ok((since, until))
}

/// Every run up to `until` of the query's environment, repository and ref:
/// the history before `since` decides whether a finding is new.
fn history_filter(query: &Query, until: DateTime<Utc>) -> RunFilter {
    RunFilter {
        since: None,
        until: Some(format_time(until)),
        environment: query.environment.clone(),
        repository: query.repository.clone(),
        git_ref: query.git_ref.clone(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn pct(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| round2(100.0 * num as f64 / den as f64))
}

fn hours(d: Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| round2(xs.iter().sum::<f64>() / xs.len() as f64))
}

/// Nearest-rank percentile `p` (0–100]: the value at rank ⌈p/100 × n⌉ of the sorted values.
fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied().map(round2)
}

fn add_severity(c: &mut SeverityCounts, severity: &str) {
    match severity {
        "critical" => c.critical += 1,
        "high" => c.high += 1,
        "medium" => c.medium += 1,
        "low" => c.low += 1,
        _ => c.info += 1,
    }
}

/// The stream of a run: (repository, environment).
type StreamKey = (Option<String>, Option<String>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Opened,
    Fixed,
    Recurred,
}

/// A change of a finding's state at a run.
struct Event {
    kind: EventKind,
    time: DateTime<Utc>,
    stream: usize,
    rule: String,
    /// Fixed: hours since it (re)appeared.
    ttr_hours: f64,
}

/// The window's rows, indexed.
struct Data<'a> {
    runs: Vec<&'a RunRow>,
    times: Vec<DateTime<Utc>>,
    /// The stream's state at each run, of policies' rules (bylaw's own,
    /// policy `bylaw`, are in `builtin`): the run's findings, and for a run
    /// that evaluated part of the repository ([`carry_over`]) the previous
    /// state's findings of the files it did not evaluate.
    findings: HashMap<RunId, Vec<&'a FindingRow>>,
    /// The policy findings each run itself reported.
    reported: HashMap<RunId, Vec<&'a FindingRow>>,
    /// bylaw's own findings (policy `bylaw`: parse errors, files too large,
    /// rules that failed to evaluate): not policy findings, kept out of every
    /// count and score, reported as [`Totals::parse_errors`]; they say which
    /// files a run did not read ([`covers`]).
    builtin: HashMap<RunId, Vec<&'a FindingRow>>,
    /// The files unread in the stream's state at each run ([`carry_over`]):
    /// their parse-error and input-too-large findings.
    unread: HashMap<RunId, Vec<&'a FindingRow>>,
    /// Rules of policies evaluated by each run (bylaw's own rules left out).
    rules: HashMap<RunId, Vec<&'a RuleRow>>,
    exceptions: HashMap<RunId, Vec<&'a bylaw_history::ExceptionRow>>,
    policies: HashMap<RunId, Vec<&'a bylaw_history::PolicyRow>>,
    /// Stream of each run (index into `streams`).
    stream_of: Vec<usize>,
    streams: Vec<StreamKey>,
    /// Runs (indexes) of each stream, oldest first.
    stream_runs: Vec<Vec<usize>>,
}

impl<'a> Data<'a> {
    fn new(w: &'a Window) -> Result<Data<'a>, ComplianceError> {
        let runs: Vec<&RunRow> = w.runs.iter().collect();
        let times = runs
            .iter()
            .map(|r| parse_time(&format!("run {}: started_at", r.id), &r.started_at))
            .collect::<Result<Vec<_>, _>>()?;
        let mut findings: HashMap<RunId, Vec<&FindingRow>> = HashMap::new();
        let mut builtin: HashMap<RunId, Vec<&FindingRow>> = HashMap::new();
        for f in &w.findings {
            let to = if f.policy == BUILTIN_POLICY { &mut builtin } else { &mut findings };
            to.entry(f.run_id).or_default().push(f);
        }
        let mut rules: HashMap<RunId, Vec<&RuleRow>> = HashMap::new();
        for r in w.rules.iter().filter(|r| r.policy != BUILTIN_POLICY) {
            rules.entry(r.run_id).or_default().push(r);
        }
        let mut exceptions: HashMap<RunId, Vec<_>> = HashMap::new();
        for e in &w.exceptions {
            exceptions.entry(e.run_id).or_default().push(e);
        }
        let mut policies: HashMap<RunId, Vec<_>> = HashMap::new();
        for (run, p) in &w.policies {
            policies.entry(*run).or_default().push(p);
        }
        let mut streams: Vec<StreamKey> = Vec::new();
        let mut index: HashMap<StreamKey, usize> = HashMap::new();
        let mut stream_of = Vec::with_capacity(runs.len());
        let mut stream_runs: Vec<Vec<usize>> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let key = (r.repository.clone(), r.environment.clone());
            let s = *index.entry(key.clone()).or_insert_with(|| {
                streams.push(key);
                stream_runs.push(Vec::new());
                streams.len() - 1
            });
            stream_of.push(s);
            stream_runs[s].push(i);
        }
        let reported = findings.clone();
        let mut unread = HashMap::new();
        for runs_of in &stream_runs {
            carry_over(&runs, runs_of, &mut findings, &builtin, &mut unread);
        }
        Ok(Data {
            runs,
            times,
            findings,
            reported,
            builtin,
            unread,
            rules,
            exceptions,
            policies,
            stream_of,
            streams,
            stream_runs,
        })
    }

    /// The findings run `run` itself reported (not those carried over).
    fn reported(&self, run: usize) -> &[&'a FindingRow] {
        self.reported.get(&self.runs[run].id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// bylaw's own findings of run `run` (parse errors, …).
    fn builtin_of(&self, run: usize) -> &[&'a FindingRow] {
        self.builtin.get(&self.runs[run].id).map(Vec::as_slice).unwrap_or(&[])
    }

    fn findings(&self, run: usize) -> &[&'a FindingRow] {
        self.findings.get(&self.runs[run].id).map(Vec::as_slice).unwrap_or(&[])
    }

    fn rules(&self, run: usize) -> &[&'a RuleRow] {
        self.rules.get(&self.runs[run].id).map(Vec::as_slice).unwrap_or(&[])
    }

    fn evaluated(&self, run: usize) -> bool {
        self.runs[run].verdict != "error"
    }

    /// For each stream, its last run (index) that evaluated, among runs `in_range`.
    fn lasts(&self, in_range: impl Fn(usize) -> bool) -> Vec<usize> {
        self.stream_runs
            .iter()
            .filter_map(|runs| runs.iter().rev().copied().find(|&i| in_range(i) && self.evaluated(i)))
            .collect()
    }
}

/// A finding saying its file was not evaluated (not parsed, too large).
fn unread(f: &FindingRow) -> bool {
    f.rule_id == PARSE_ERROR || f.rule_id == INPUT_TOO_LARGE
}

/// Whether run `run` evaluated the file `path`: within its scope (every
/// file when it has none) and read (no `bylaw/parse-error` or
/// `bylaw/input-too-large` of it among `own`, bylaw's own findings of the run).
fn covers(run: &RunRow, own: &[&FindingRow], path: &str) -> bool {
    run.scope.as_ref().is_none_or(|s| s.contains(path)) && !own.iter().any(|f| unread(f) && f.path == path)
}

/// Makes `findings` the state of the stream whose runs (indexes into
/// `runs`, oldest first) are `stream`: a run that did not evaluate a file
/// (outside its scope — `--changed-only`, narrower PATHS — or a file that
/// did not parse) keeps that file's findings of the previous state, so
/// they are neither fixed nor gone from the open findings. Runs whose
/// verdict is `error` are skipped.
/// `unread_state` gets, per run, the files the stream's state has unread
/// at it (their `bylaw/parse-error` or `bylaw/input-too-large` findings):
/// the run's own, and the previous state's of files outside the run's scope.
fn carry_over<'a>(
    runs: &[&'a RunRow],
    stream: &[usize],
    findings: &mut HashMap<RunId, Vec<&'a FindingRow>>,
    builtin: &HashMap<RunId, Vec<&'a FindingRow>>,
    unread_state: &mut HashMap<RunId, Vec<&'a FindingRow>>,
) {
    let mut previous: Option<RunId> = None;
    for &i in stream.iter().filter(|&&i| runs[i].verdict != "error") {
        let run = runs[i];
        let own_unread: Vec<&FindingRow> =
            builtin.get(&run.id).into_iter().flatten().filter(|f| unread(f)).copied().collect();
        let mut state_unread = own_unread.clone();
        if let Some(prev) = previous {
            let outside = |path: &str| run.scope.as_ref().is_some_and(|s| !s.contains(path));
            state_unread.extend(
                unread_state
                    .get(&prev)
                    .into_iter()
                    .flatten()
                    .filter(|f| outside(&f.path) && !own_unread.iter().any(|o| o.path == f.path))
                    .copied(),
            );
        }
        unread_state.insert(run.id, state_unread);
        if let Some(prev) = previous {
            let own: Vec<&FindingRow> = findings.get(&run.id).cloned().unwrap_or_default();
            let unread_of_run: &[&FindingRow] = builtin.get(&run.id).map(Vec::as_slice).unwrap_or(&[]);
            let partial = run.scope.is_some() || unread_of_run.iter().any(|f| unread(f));
            if partial {
                let present: HashSet<&str> = own.iter().map(|f| f.fingerprint.as_str()).collect();
                let kept: Vec<&FindingRow> = findings
                    .get(&prev)
                    .into_iter()
                    .flatten()
                    .filter(|f| !present.contains(f.fingerprint.as_str()) && !covers(run, unread_of_run, &f.path))
                    .copied()
                    .collect();
                if !kept.is_empty() {
                    findings.entry(run.id).or_default().extend(kept);
                }
            }
        }
        previous = Some(run.id);
    }
}

/// Lifecycle of every finding: the events, and when each (stream, fingerprint) was first seen.
struct Lifecycle {
    events: Vec<Event>,
    first_seen: HashMap<(usize, String), DateTime<Utc>>,
    /// (stream, fingerprint) fixed at least once at or after `since`.
    fixed_in_window: HashSet<(usize, String)>,
}

fn lifecycle(d: &Data, since: Option<DateTime<Utc>>) -> Lifecycle {
    struct State {
        open: bool,
        since: DateTime<Utc>,
        rule: String,
    }
    let mut events = Vec::new();
    let mut first_seen = HashMap::new();
    let mut fixed_in_window = HashSet::new();
    for (s, runs) in d.stream_runs.iter().enumerate() {
        let mut state: BTreeMap<String, State> = BTreeMap::new();
        for &i in runs.iter().filter(|&&i| d.evaluated(i)) {
            let t = d.times[i];
            let present: HashMap<&str, &FindingRow> =
                d.findings(i).iter().map(|f| (f.fingerprint.as_str(), *f)).collect();
            let evaluated: HashSet<&str> = d.rules(i).iter().map(|r| r.rule_id.as_str()).collect();
            for (fp, f) in &present {
                match state.get_mut(*fp) {
                    None => {
                        state.insert((*fp).to_owned(), State { open: true, since: t, rule: f.rule_id.clone() });
                        first_seen.insert((s, (*fp).to_owned()), t);
                        events.push(Event {
                            kind: EventKind::Opened,
                            time: t,
                            stream: s,
                            rule: f.rule_id.clone(),
                            ttr_hours: 0.0,
                        });
                    }
                    Some(st) if !st.open => {
                        st.open = true;
                        st.since = t;
                        events.push(Event {
                            kind: EventKind::Recurred,
                            time: t,
                            stream: s,
                            rule: f.rule_id.clone(),
                            ttr_hours: 0.0,
                        });
                    }
                    Some(_) => {}
                }
            }
            for (fp, st) in state.iter_mut() {
                // a finding whose rule this run did not evaluate is not fixed: its state is unknown
                // (the findings of the files it did not evaluate are in `present`: [`carry_over`])
                if st.open && !present.contains_key(fp.as_str()) && evaluated.contains(st.rule.as_str()) {
                    st.open = false;
                    events.push(Event {
                        kind: EventKind::Fixed,
                        time: t,
                        stream: s,
                        rule: st.rule.clone(),
                        ttr_hours: hours(t - st.since),
                    });
                    if since.is_none_or(|since| t >= since) {
                        fixed_in_window.insert((s, fp.clone()));
                    }
                }
            }
        }
    }
    Lifecycle { events, first_seen, fixed_in_window }
}

/// Which rules (of which runs) a score is about.
enum Scope<'s> {
    Overall,
    Policy(&'s str),
    Framework(&'s str),
    Repository(&'s Option<String>),
}

impl Scope<'_> {
    fn has(&self, d: &Data, run: usize, rule: &RuleRow) -> bool {
        match self {
            Scope::Overall => true,
            Scope::Policy(p) => rule.policy == *p,
            Scope::Framework(fw) => rule.controls.iter().any(|c| frameworks::parse(c).0 == *fw),
            Scope::Repository(repo) => d.runs[run].repository == **repo,
        }
    }
}

/// (pairs passing, pairs evaluated) of `scope` at `lasts`.
fn score_pairs(d: &Data, lasts: &[usize], scope: &Scope) -> (u64, u64) {
    let (mut pass, mut total) = (0, 0);
    for &i in lasts {
        let failing: HashSet<&str> =
            d.findings(i).iter().filter(|f| f.exception_id.is_none()).map(|f| f.rule_id.as_str()).collect();
        for r in d.rules(i).iter().filter(|r| scope.has(d, i, r)) {
            total += 1;
            if !failing.contains(r.rule_id.as_str()) {
                pass += 1;
            }
        }
    }
    (pass, total)
}

fn score(d: &Data, lasts: &[usize], scope: &Scope) -> Option<f64> {
    let (pass, total) = score_pairs(d, lasts, scope);
    pct(pass, total)
}

/// The day an exception expires (`YYYY-MM-DD`, the last day it is valid).
fn expiry_date(expires: Option<&str>) -> Option<NaiveDate> {
    expires.and_then(|e| NaiveDate::parse_from_str(e.get(..10).unwrap_or(e), "%Y-%m-%d").ok())
}

/// Expired at `at`: its expiry day is before `at`'s day (as `check` decides).
fn expired_at(expires: Option<&str>, at: DateTime<Utc>) -> bool {
    expiry_date(expires).is_some_and(|d| d < at.date_naive())
}

/// Not expired at `at` and expiring within [`EXPIRING_SOON_DAYS`] of its day.
fn expiring_soon(expires: Option<&str>, at: DateTime<Utc>) -> bool {
    let today = at.date_naive();
    expiry_date(expires).is_some_and(|d| d >= today && d <= today + Duration::days(EXPIRING_SOON_DAYS))
}

/// Exceptions open at `at` by the runs `lasts`: listed by one of them with
/// status `active` or `expiring` and not expired at `at`.
fn open_exception_ids<'a>(d: &Data<'a>, lasts: &[usize], at: DateTime<Utc>) -> BTreeSet<&'a str> {
    lasts
        .iter()
        .flat_map(|&i| d.exceptions.get(&d.runs[i].id).into_iter().flatten())
        .filter(|e| (e.status == "active" || e.status == "expiring") && !expired_at(e.expires.as_deref(), at))
        .map(|e| e.exception_id.as_str())
        .collect()
}

/// The status of an exception at the reference time `at` (README
/// "Effectiveness metrics"): `rejected` stays; else `expired` once its
/// expiry day is past; else, when it is not listed by the last runs,
/// `removed`; else `expiring` (active or expiring as recorded and
/// expiring within 14 days of `at`), `active`, or the recorded status
/// (`stale`).
fn status_at(recorded: &str, expires: Option<&str>, listed_at_lasts: bool, at: DateTime<Utc>) -> String {
    if recorded == "rejected" {
        return recorded.to_owned();
    }
    if expired_at(expires, at) {
        return "expired".into();
    }
    if !listed_at_lasts {
        return "removed".into();
    }
    match recorded {
        "active" | "expiring" if expiring_soon(expires, at) => "expiring".into(),
        "active" | "expiring" => "active".into(),
        other => other.to_owned(),
    }
}

/// The first instant of the bucket holding `t`.
fn bucket_start(period: Period, t: DateTime<Utc>) -> DateTime<Utc> {
    let date = t.date_naive();
    let start = match period {
        Period::Day => date,
        Period::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        Period::Month => date.with_day(1).unwrap_or(date),
    };
    Utc.from_utc_datetime(&start.and_time(bylaw_engine::chrono::NaiveTime::MIN))
}

/// Periods from the one starting at `start` to the one holding `end`.
fn period_count(period: Period, start: DateTime<Utc>, end: DateTime<Utc>) -> usize {
    let (a, b) = (start.date_naive(), end.date_naive());
    let n = match period {
        Period::Day => (b - a).num_days(),
        Period::Week => (b - a).num_days() / 7,
        Period::Month => i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month()),
    };
    usize::try_from(n).unwrap_or(0) + 1
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    }
}

fn bucket_next(period: Period, start: DateTime<Utc>) -> DateTime<Utc> {
    match period {
        Period::Day => start + Duration::days(1),
        Period::Week => start + Duration::days(7),
        Period::Month => {
            let d = start.date_naive();
            let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
            let next = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d + Duration::days(31));
            Utc.from_utc_datetime(&next.and_time(bylaw_engine::chrono::NaiveTime::MIN))
        }
    }
}

fn open_finding(d: &Data, lc: &Lifecycle, run: usize, f: &FindingRow) -> OpenFinding {
    let stream = d.stream_of[run];
    OpenFinding {
        fingerprint: f.fingerprint.clone(),
        rule: f.rule_id.clone(),
        repository: d.runs[run].repository.clone(),
        path: f.path.clone(),
        line: u64::try_from(f.start_line).unwrap_or(0),
        severity: f.severity.clone(),
        enforcement: f.enforcement.clone(),
        resource: match (&f.resource_kind, &f.resource_name) {
            (Some(k), Some(n)) => Some(format!("{k}/{n}")),
            (Some(k), None) => Some(k.clone()),
            (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        },
        first_seen: lc
            .first_seen
            .get(&(stream, f.fingerprint.clone()))
            .map(|t| format_time(*t))
            .unwrap_or_else(|| d.runs[run].started_at.clone()),
        exception: f.exception_id.clone(),
        run_id: d.runs[run].id,
    }
}

/// The report of `query` over the rows of `window` (every run up to
/// `until` of the query's environment, repository and ref), the window
/// starting at `since`.
///
/// # Errors
/// [`ComplianceError::Invalid`] for an unknown framework, an unreadable run
/// time or `until`, or a series of more than [`MAX_PERIODS`] periods.
pub fn compute_from(
    window: &Window,
    query: &Query,
    store: &str,
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
) -> Result<HistoryReport, ComplianceError> {
    let d = Data::new(window)?;
    // the reference time: the window's end, never after now
    let until = query.until.as_deref().map(|u| parse_time("until", u)).transpose()?;
    let reference = until.map_or(now, |u| u.min(now));
    let in_window = |i: usize| since.is_none_or(|s| d.times[i] >= s);
    let window_runs: Vec<usize> = (0..d.runs.len()).filter(|&i| in_window(i)).collect();

    // the latest description of every rule evaluated in the window
    let mut rule_info: BTreeMap<&str, &RuleRow> = BTreeMap::new();
    for &i in &window_runs {
        for r in d.rules(i) {
            rule_info.insert(r.rule_id.as_str(), r);
        }
    }
    let mut fw_ids: BTreeSet<String> =
        rule_info.values().flat_map(|r| r.controls.iter().map(|c| frameworks::parse(c).0)).collect();
    if let Some(fw) = &query.framework {
        let known: BTreeSet<String> =
            frameworks::KNOWN.iter().map(|(id, _, _)| (*id).to_owned()).chain(fw_ids.iter().cloned()).collect();
        if !known.contains(fw.as_str()) {
            let mut list: Vec<&String> = known.iter().collect();
            list.sort_by(|a, b| frameworks::order(a, b));
            return Err(ComplianceError::Invalid(format!(
                "unknown framework `{fw}`: known frameworks are {}",
                list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        fw_ids.retain(|id| id == fw);
    }
    let mut fw_ids: Vec<String> = fw_ids.into_iter().collect();
    fw_ids.sort_by(|a, b| frameworks::order(a, b));

    let lc = lifecycle(&d, since);
    let ev_in = |e: &&Event| since.is_none_or(|s| e.time >= s);
    let window_events: Vec<&Event> = lc.events.iter().filter(ev_in).collect();
    let lasts = d.lasts(in_window);

    // ---- totals
    let mut totals = Totals { runs: window_runs.len() as u64, ..Totals::default() };
    let ttr: Vec<f64> = window_events.iter().filter(|e| e.kind == EventKind::Fixed).map(|e| e.ttr_hours).collect();
    totals.opened = window_events.iter().filter(|e| e.kind == EventKind::Opened).count() as u64;
    totals.fixed = ttr.len() as u64;
    totals.recurrences = window_events.iter().filter(|e| e.kind == EventKind::Recurred).count() as u64;
    let mut all_at_lasts = 0;
    let mut excepted_at_lasts = 0;
    for &i in &lasts {
        for f in d.findings(i) {
            all_at_lasts += 1;
            if f.exception_id.is_some() {
                excepted_at_lasts += 1;
            } else {
                totals.open += 1;
                add_severity(&mut totals.open_by_severity, &f.severity);
            }
        }
    }
    totals.fix_rate = pct(totals.fixed, totals.fixed + totals.open);
    totals.mttr_mean_hours = mean(&ttr);
    totals.mttr_p90_hours = percentile(&ttr, 90.0);
    totals.recurrence_rate = pct(totals.recurrences, totals.fixed);
    totals.exception_rate = pct(excepted_at_lasts, all_at_lasts);
    totals.score = score(&d, &lasts, &Scope::Overall);
    let mut unparsed: BTreeSet<(usize, &str)> = BTreeSet::new();
    for &i in &lasts {
        for f in d.unread.get(&d.runs[i].id).into_iter().flatten() {
            if UNPARSED_RULES.contains(&f.rule_id.as_str()) {
                unparsed.insert((d.stream_of[i], f.path.as_str()));
            }
        }
    }
    totals.parse_errors = unparsed.len() as u64;

    // ---- exceptions
    let mut exc: BTreeMap<&str, ExceptionStats> = BTreeMap::new();
    for i in 0..d.runs.len() {
        for e in d.exceptions.get(&d.runs[i].id).into_iter().flatten() {
            let st = exc.entry(e.exception_id.as_str()).or_insert_with(|| ExceptionStats {
                id: e.exception_id.clone(),
                first_seen: d.runs[i].started_at.clone(),
                ..ExceptionStats::default()
            });
            st.rules = e.rules.clone();
            st.reason = e.reason.clone();
            st.approved_by = e.approved_by.clone();
            st.expires = e.expires.clone();
            st.recorded_status = e.status.clone();
            st.matched = u64::try_from(e.matched).unwrap_or(0);
        }
    }
    let listed_in_window: HashSet<&str> = window_runs
        .iter()
        .flat_map(|&i| d.exceptions.get(&d.runs[i].id).into_iter().flatten())
        .map(|e| e.exception_id.as_str())
        .collect();
    exc.retain(|id, _| listed_in_window.contains(id));
    let open_ids = open_exception_ids(&d, &lasts, reference);
    let listed_at_lasts: HashSet<&str> = lasts
        .iter()
        .flat_map(|&i| d.exceptions.get(&d.runs[i].id).into_iter().flatten())
        .map(|e| e.exception_id.as_str())
        .collect();
    for st in exc.values_mut() {
        let first = DateTime::parse_from_rfc3339(&st.first_seen).map(|t| t.with_timezone(&Utc)).unwrap_or(reference);
        st.age_days = u64::try_from((reference - first).num_days()).unwrap_or(0);
        st.status =
            status_at(&st.recorded_status, st.expires.as_deref(), listed_at_lasts.contains(st.id.as_str()), reference);
        st.expiring_soon = open_ids.contains(st.id.as_str()) && expiring_soon(st.expires.as_deref(), reference);
    }
    totals.open_exceptions = open_ids.len() as u64;
    totals.expiring_soon = exc.values().filter(|e| e.expiring_soon).count() as u64;
    let mut ageing: Vec<AgeBucket> =
        ["0-30", "31-90", "91-180", "181+"].iter().map(|l| AgeBucket { label: (*l).to_owned(), count: 0 }).collect();
    for e in exc.values().filter(|e| open_ids.contains(e.id.as_str())) {
        let b = match e.age_days {
            0..=30 => 0,
            31..=90 => 1,
            91..=180 => 2,
            _ => 3,
        };
        ageing[b].count += 1;
    }

    // ---- periods
    let mut periods = Vec::new();
    let mut bucket_ends = Vec::new();
    if let Some(&first) = window_runs.first() {
        // from the period holding the window's start to the one holding its end
        let mut start = bucket_start(query.period, since.unwrap_or(d.times[first]));
        let count = period_count(query.period, start, reference);
        if count > MAX_PERIODS {
            return Err(ComplianceError::Invalid(format!(
                "the window {} … {} holds {count} {}s: at most {MAX_PERIODS} periods; use a longer period \
                 (--period week or month) or a later --since",
                format_time(start),
                format_time(reference),
                period_name(query.period)
            )));
        }
        while start <= reference {
            let end = bucket_next(query.period, start);
            // the state at the bucket's end (or the reference time, in the last bucket)
            let at = (end - Duration::seconds(1)).min(reference);
            let b_lasts = d.lasts(|i| in_window(i) && d.times[i] < end);
            let ev: Vec<&&Event> = window_events.iter().filter(|e| e.time >= start && e.time < end).collect();
            let ttr: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::Fixed).map(|e| e.ttr_hours).collect();
            let mut p = PeriodStats {
                start: format_time(start),
                end: format_time(end),
                runs: window_runs.iter().filter(|&&i| d.times[i] >= start && d.times[i] < end).count() as u64,
                opened: ev.iter().filter(|e| e.kind == EventKind::Opened).count() as u64,
                fixed: ttr.len() as u64,
                mttr_mean_hours: mean(&ttr),
                mttr_p90_hours: percentile(&ttr, 90.0),
                open_exceptions: open_exception_ids(&d, &b_lasts, at).len() as u64,
                score: score(&d, &b_lasts, &Scope::Overall),
                ..PeriodStats::default()
            };
            let mut open = 0;
            for &i in &b_lasts {
                for f in d.findings(i).iter().filter(|f| f.exception_id.is_none()) {
                    open += 1;
                    add_severity(&mut p.open_by_severity, &f.severity);
                }
            }
            p.fix_rate = pct(p.fixed, p.fixed + open);
            periods.push(p);
            bucket_ends.push(b_lasts);
            start = end;
        }
    }

    // ---- runs (evidence)
    let runs: Vec<RunEvidence> = window_runs
        .iter()
        .map(|&i| {
            let r = d.runs[i];
            RunEvidence {
                id: r.id,
                started_at: r.started_at.clone(),
                repository: r.repository.clone(),
                git_ref: r.git_ref.clone(),
                sha: r.sha.clone(),
                environment: r.environment.clone(),
                verdict: r.verdict.clone(),
                findings: u64::try_from(r.finding_count).unwrap_or(0),
                blocking: u64::try_from(r.blocking).unwrap_or(0),
                excepted: u64::try_from(r.excepted).unwrap_or(0),
                policies: d
                    .policies
                    .get(&r.id)
                    .into_iter()
                    .flatten()
                    .map(|p| (p.name.clone(), p.version.clone()))
                    .collect(),
            }
        })
        .collect();

    // ---- rules
    let mut runs_evaluated: HashMap<&str, u64> = HashMap::new();
    let mut runs_fired: HashMap<&str, u64> = HashMap::new();
    for &i in &window_runs {
        let evaluated: HashSet<&str> = d.rules(i).iter().map(|r| r.rule_id.as_str()).collect();
        for r in evaluated {
            *runs_evaluated.entry(r).or_default() += 1;
        }
        let fired: HashSet<&str> = d.reported(i).iter().map(|f| f.rule_id.as_str()).collect();
        for r in fired {
            *runs_fired.entry(r).or_default() += 1;
        }
    }
    let mut rules = Vec::new();
    for (id, info) in &rule_info {
        let mut st = RuleStats {
            rule: (*id).to_owned(),
            policy: info.policy.clone(),
            title: info.title.clone(),
            severity: info.severity.clone(),
            enforcement: info.enforcement.clone(),
            controls: info.controls.clone(),
            ..RuleStats::default()
        };
        let ttr: Vec<f64> =
            window_events.iter().filter(|e| e.rule == *id && e.kind == EventKind::Fixed).map(|e| e.ttr_hours).collect();
        st.opened = window_events.iter().filter(|e| e.rule == *id && e.kind == EventKind::Opened).count() as u64;
        st.fixed = ttr.len() as u64;
        st.mttr_mean_hours = mean(&ttr);
        st.runs_evaluated = runs_evaluated.get(id).copied().unwrap_or(0);
        st.runs_fired = runs_fired.get(id).copied().unwrap_or(0);
        for &i in &lasts {
            for f in d.findings(i).iter().filter(|f| f.rule_id == *id) {
                if f.exception_id.is_some() {
                    st.excepted += 1;
                } else {
                    st.open += 1;
                }
                st.open_findings.push(open_finding(&d, &lc, i, f));
            }
        }
        st.open_findings.sort_by(|a, b| (&a.path, a.line, &a.repository).cmp(&(&b.path, b.line, &b.repository)));
        st.open_findings.truncate(50);
        rules.push(st);
    }

    // ---- repositories
    let mut repo_names: Vec<Option<String>> = window_runs.iter().map(|&i| d.runs[i].repository.clone()).collect();
    repo_names.sort();
    repo_names.dedup();
    let mut repositories = Vec::new();
    for repo in &repo_names {
        let of_repo: Vec<usize> = window_runs.iter().copied().filter(|&i| d.runs[i].repository == *repo).collect();
        let last = of_repo.last().map(|&i| d.runs[i]);
        let mut st = RepositoryStats {
            repository: repo.clone(),
            runs: of_repo.len() as u64,
            last_run: last.map(|r| r.id),
            last_verdict: last.map(|r| r.verdict.clone()),
            score: score(&d, &lasts, &Scope::Repository(repo)),
            ..RepositoryStats::default()
        };
        for e in &window_events {
            if d.streams[e.stream].0 == *repo {
                match e.kind {
                    EventKind::Opened => st.opened += 1,
                    EventKind::Fixed => st.fixed += 1,
                    EventKind::Recurred => {}
                }
            }
        }
        for &i in lasts.iter().filter(|&&i| d.runs[i].repository == *repo) {
            for f in d.findings(i) {
                if f.exception_id.is_some() {
                    st.excepted += 1;
                } else {
                    add_severity(&mut st.open_by_severity, &f.severity);
                }
                st.open_findings.push(open_finding(&d, &lc, i, f));
            }
        }
        st.open_findings.sort_by(|a, b| (&a.rule, &a.path, a.line).cmp(&(&b.rule, &b.path, b.line)));
        st.open_findings.truncate(50);
        repositories.push(st);
    }

    // ---- scores
    let series = |scope: &Scope| -> Vec<Option<f64>> { bucket_ends.iter().map(|l| score(&d, l, scope)).collect() };
    let mut scores = vec![ScoreSeries {
        scope: ScoreScope::Overall,
        name: "overall".into(),
        current: totals.score,
        series: series(&Scope::Overall),
    }];
    let policy_names: BTreeSet<&str> = rule_info.values().map(|r| r.policy.as_str()).collect();
    for p in policy_names {
        let scope = Scope::Policy(p);
        scores.push(ScoreSeries {
            scope: ScoreScope::Policy,
            name: p.to_owned(),
            current: score(&d, &lasts, &scope),
            series: series(&scope),
        });
    }
    for fw in &fw_ids {
        let scope = Scope::Framework(fw);
        scores.push(ScoreSeries {
            scope: ScoreScope::Framework,
            name: fw.clone(),
            current: score(&d, &lasts, &scope),
            series: series(&scope),
        });
    }
    for repo in &repo_names {
        let scope = Scope::Repository(repo);
        scores.push(ScoreSeries {
            scope: ScoreScope::Repository,
            name: repo.clone().unwrap_or_else(|| "(unknown)".into()),
            current: score(&d, &lasts, &scope),
            series: series(&scope),
        });
    }

    // ---- frameworks
    // each rule at the last runs, gathered once
    #[derive(Default)]
    struct AtLasts<'f> {
        open: u64,
        excepted: Vec<&'f FindingRow>,
        evaluated: bool,
    }
    let mut at_lasts: HashMap<&str, AtLasts> = HashMap::new();
    for &i in &lasts {
        for r in d.rules(i) {
            at_lasts.entry(r.rule_id.as_str()).or_default().evaluated = true;
        }
        for f in d.findings(i) {
            let a = at_lasts.entry(f.rule_id.as_str()).or_default();
            if f.exception_id.is_some() {
                a.excepted.push(f);
            } else {
                a.open += 1;
            }
        }
    }
    // every exception that excepted a finding of each rule in the window (the newest row of each)
    let mut excepted_in_window: HashMap<&str, BTreeMap<&str, &FindingRow>> = HashMap::new();
    for &i in &window_runs {
        for f in d.findings(i) {
            if let Some(id) = &f.exception_id {
                excepted_in_window.entry(f.rule_id.as_str()).or_default().insert(id.as_str(), f);
            }
        }
    }
    let mut matrices = Vec::new();
    for fw in &fw_ids {
        let mut controls: BTreeMap<String, (String, BTreeSet<&str>)> = BTreeMap::new();
        for r in rule_info.values() {
            for c in &r.controls {
                let (f, control) = frameworks::parse(c);
                if f == *fw {
                    controls
                        .entry(control)
                        .or_insert_with(|| (c.clone(), BTreeSet::new()))
                        .1
                        .insert(r.rule_id.as_str());
                }
            }
        }
        let mut list = Vec::new();
        for (control, (mapped_id, rule_ids)) in controls {
            let mut crules = Vec::new();
            let mut excs: BTreeMap<String, ExceptionRef> = BTreeMap::new();
            for rid in &rule_ids {
                for (id, f) in excepted_in_window.get(rid).into_iter().flatten() {
                    excs.entry((*id).to_owned()).or_insert_with(|| ExceptionRef {
                        id: (*id).to_owned(),
                        approved_by: f.exception_approved_by.clone(),
                        expires: f.exception_expires.clone(),
                        // an inline suppression has no exception list entry: it lasts while the finding does
                        status: exc.get(id).map(|e| e.status.clone()).unwrap_or_else(|| {
                            if expired_at(f.exception_expires.as_deref(), reference) {
                                "expired".into()
                            } else {
                                "active".into()
                            }
                        }),
                    });
                }
                let (open, excepted, evaluated) = match at_lasts.get(rid) {
                    Some(a) => (a.open, a.excepted.len() as u64, a.evaluated),
                    None => (0, 0, false),
                };
                let status = if open > 0 {
                    ControlState::Fail
                } else if excepted > 0 {
                    ControlState::Excepted
                } else if evaluated {
                    ControlState::Pass
                } else {
                    ControlState::NotEvaluated
                };
                crules.push(ControlRule {
                    rule: (*rid).to_owned(),
                    policy: rule_info.get(rid).map(|r| r.policy.clone()).unwrap_or_default(),
                    status,
                    open,
                    excepted,
                });
            }
            let has = |s: ControlState| crules.iter().any(|r| r.status == s);
            let status = if has(ControlState::Fail) {
                ControlState::Fail
            } else if has(ControlState::Excepted) {
                ControlState::Excepted
            } else if has(ControlState::Pass) {
                ControlState::Pass
            } else {
                ControlState::NotEvaluated
            };
            let evidence: Vec<i64> = window_runs
                .iter()
                .rev()
                .filter(|&&i| d.rules(i).iter().any(|r| rule_ids.contains(r.rule_id.as_str())))
                .take(20)
                .map(|&i| d.runs[i].id)
                .collect();
            list.push(ControlStatus {
                title: frameworks::title(fw, &control).map(str::to_owned),
                control,
                mapped_id,
                status,
                rules: crules,
                exceptions: excs.into_values().collect(),
                evidence,
            });
        }
        list.sort_by(|a, b| frameworks::natural_cmp(&a.control, &b.control));
        matrices.push(FrameworkMatrix {
            id: fw.clone(),
            name: frameworks::name(fw),
            score: score(&d, &lasts, &Scope::Framework(fw)),
            controls: list,
        });
    }

    // ---- noise candidates
    let mut first_window_present: HashSet<(usize, &str)> = HashSet::new();
    for (s, runs) in d.stream_runs.iter().enumerate() {
        if let Some(&i) = runs.iter().find(|&&i| in_window(i) && d.evaluated(i)) {
            for f in d.findings(i) {
                first_window_present.insert((s, f.fingerprint.as_str()));
            }
        }
    }
    let mut noise = Vec::new();
    for st in &rules {
        let (mut ignored, mut all) = (0, 0);
        for &i in &lasts {
            let s = d.stream_of[i];
            for f in d.findings(i).iter().filter(|f| f.rule_id == st.rule) {
                all += 1;
                if f.exception_id.is_none()
                    && (f.enforcement == "advisory" || f.enforcement == "audit")
                    && first_window_present.contains(&(s, f.fingerprint.as_str()))
                    && !lc.fixed_in_window.contains(&(s, f.fingerprint.clone()))
                {
                    ignored += 1;
                }
            }
        }
        if st.excepted + ignored > 0 {
            noise.push(NoiseCandidate {
                rule: st.rule.clone(),
                policy: st.policy.clone(),
                excepted: st.excepted,
                ignored,
                noise_rate: pct(st.excepted + ignored, all),
            });
        }
    }
    noise.sort_by(|a, b| (b.excepted + b.ignored).cmp(&(a.excepted + a.ignored)).then_with(|| a.rule.cmp(&b.rule)));
    noise.truncate(10);

    // ---- coverage
    let fired: HashSet<&str> =
        window_runs.iter().flat_map(|&i| d.reported(i).iter().map(|f| f.rule_id.as_str())).collect();
    let coverage = Coverage {
        files: lasts.iter().map(|&i| u64::try_from(d.runs[i].files).unwrap_or(0)).sum(),
        documents: lasts.iter().map(|&i| u64::try_from(d.runs[i].documents).unwrap_or(0)).sum(),
        rules_evaluated: rule_info.len() as u64,
        rules_never_fired: rule_info.keys().filter(|id| !fired.contains(*id)).map(|id| (*id).to_owned()).collect(),
    };

    Ok(HistoryReport {
        version: REPORT_VERSION,
        generated_at: format_time(now),
        query: query.clone(),
        store: store.to_owned(),
        totals,
        periods,
        runs,
        exceptions: exc.into_values().collect(),
        exception_ageing: ageing,
        rules,
        repositories,
        scores,
        frameworks: matrices,
        noise,
        coverage,
    })
}

/// The overall score of run `run` (its rules; failing: its state's
/// findings that `keep` keeps and no exception covers).
fn scope_score(d: &Data, run: usize, keep: &dyn Fn(&FindingRow) -> bool) -> Option<f64> {
    let failing: HashSet<&str> =
        d.findings(run).iter().filter(|f| f.exception_id.is_none() && keep(f)).map(|f| f.rule_id.as_str()).collect();
    let rules = d.rules(run);
    let pass = rules.iter().filter(|r| !failing.contains(r.rule_id.as_str())).count() as u64;
    pct(pass, rules.len() as u64)
}

/// Why a scheduled job fails ([`regressions`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Regression {
    /// The overall score of the newest run is lower than the previous run's.
    ScoreFell { from: f64, to: f64, run: RunId, previous: RunId, git_ref: String },
    /// A blocking or mandatory, not excepted finding of the newest run that
    /// the previous run did not have (by fingerprint).
    NewBlocking { rule: String, path: String, line: i64, run: RunId },
}

impl std::fmt::Display for Regression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Regression::ScoreFell { from, to, run, previous, git_ref } => write!(
                f,
                "regression: compliance score fell from {from:.2} to {to:.2} (run {run} vs run {previous}, {git_ref})"
            ),
            Regression::NewBlocking { rule, path, line, run } => {
                write!(f, "regression: new blocking finding {rule} at {path}:{line} (run {run})")
            }
        }
    }
}

/// The regression gate: the newest run of the query (its environment,
/// repository and ref filters; `until`, else `now`; without `--ref`, the
/// newest run's ref) against the previous run of the same repository,
/// environment and ref (runs whose verdict is `error` are skipped), over
/// the files the newest run evaluated (its scope, parsed). Empty
/// when nothing regressed or there is no previous run.
///
/// # Errors
/// [`ComplianceError`] when the store cannot be read or the times are invalid.
pub fn regressions(store: &Store, query: &Query, now: DateTime<Utc>) -> Result<Vec<Regression>, ComplianceError> {
    let (_, until) = bounds(query, now)?;
    let window = store.window(&history_filter(query, until))?;
    regressions_from(&window)
}

fn regressions_from(window: &Window) -> Result<Vec<Regression>, ComplianceError> {
    let d = Data::new(window)?;
    let Some(newest) = (0..d.runs.len()).rev().find(|&i| d.evaluated(i)) else {
        return Ok(Vec::new());
    };
    let n = d.runs[newest];
    let same_ref = |r: &RunRow| {
        let short = |s: &Option<String>| s.as_deref().map(|s| s.strip_prefix("refs/heads/").unwrap_or(s).to_owned());
        short(&r.git_ref) == short(&n.git_ref)
    };
    let stream = &d.stream_runs[d.stream_of[newest]];
    let Some(previous) = stream.iter().rev().copied().find(|&i| i < newest && d.evaluated(i) && same_ref(d.runs[i]))
    else {
        return Ok(Vec::new());
    };
    let p = d.runs[previous];
    let mut out = Vec::new();
    // only the files the newest run evaluated are compared: a run of part
    // of the repository regresses nothing elsewhere
    let newest_reported = d.reported(newest);
    let in_newest = |f: &FindingRow| covers(n, d.builtin_of(newest), &f.path);
    let (from, to) = (scope_score(&d, previous, &in_newest), scope_score(&d, newest, &in_newest));
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            out.push(Regression::ScoreFell {
                from,
                to,
                run: n.id,
                previous: p.id,
                git_ref: n.git_ref.clone().unwrap_or_else(|| "(no ref)".into()),
            });
        }
    }
    let blocking =
        |f: &&&FindingRow| f.exception_id.is_none() && (f.enforcement == "blocking" || f.enforcement == "mandatory");
    let before: HashSet<&str> = d.findings(previous).iter().filter(blocking).map(|f| f.fingerprint.as_str()).collect();
    for f in newest_reported.iter().filter(blocking) {
        if !before.contains(f.fingerprint.as_str()) {
            out.push(Regression::NewBlocking {
                rule: f.rule_id.clone(),
                path: f.path.clone(),
                line: f.start_line,
                run: n.id,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
