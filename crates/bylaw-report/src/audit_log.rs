//! The audit log: an append-only JSON Lines file, one line per run and per
//! decision that matters (finding blocked, finding excepted and by which
//! exception, exception expired / rejected / stale, run verdict).
//!
//! Every line carries `prev`, the SHA-256 of the previous line's bytes (64
//! zeros on the first line), a `seq` that counts up from 1, and ends with
//! `digest`, the SHA-256 of the line's bytes before the `digest` member. So
//! editing a line breaks its digest, deleting or reordering lines breaks the
//! `prev` chain, and `verify` names the first broken line.
//!
//! Appends take an exclusive lock on the file (two runs writing at once
//! serialise), write all lines of a run in one `write` and sync. An
//! interrupted append leaves at most one incomplete last line; the next
//! append cuts it off (recording that it did) so earlier lines stay intact.
//!
//! A chain cannot show that its last lines were deleted, so every append
//! also records where the log ends — the last `seq` and the SHA-256 of the
//! last line — in an anchor file beside it (`LOG.head`), and returns it for
//! the CI output. `verify` checks the log against its anchor (deleting the
//! last entries is reported as truncation), and `append` refuses to extend a
//! log that does not end where its anchor says, unless told to.

use bylaw_engine::report::{ExceptionState, Report};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const DIGEST_KEY: &str = ",\"digest\":\"";

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The events a run records, in order.
pub fn run_events(report: &Report) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    let obj = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.push(obj(json!({
        "event": "run",
        "tool": format!("{} {}", report.tool.name, report.tool.version),
        "environment": report.environment,
        "fail_on": report.fail_on,
        "policies": report.policies.iter().map(|p| match &p.version {
            Some(v) => format!("{}@{v}", p.name),
            None => p.name.clone(),
        }).collect::<Vec<_>>(),
        "files": report.summary.files,
    })));
    for f in &report.findings {
        let base = json!({
            "rule": f.rule_id,
            "policy": f.policy,
            "path": f.location.path,
            "line": f.location.start_line,
            "enforcement": f.enforcement,
            "fingerprint": f.fingerprint,
            "message": f.message,
        });
        if let Some(e) = &f.exception {
            let mut m = obj(json!({ "event": "finding_excepted" }));
            m.extend(obj(base));
            m.insert("exception".into(), json!(e.id));
            m.insert("exception_kind".into(), json!(e.kind));
            m.insert("reason".into(), json!(e.reason));
            if !e.approved_by.is_empty() {
                m.insert("approved_by".into(), json!(e.approved_by));
            }
            if let Some(x) = &e.expires {
                m.insert("expires".into(), json!(x));
            }
            out.push(m);
        } else if f.fails(report.fail_on) {
            let mut m = obj(json!({ "event": "finding_blocked" }));
            m.extend(obj(base));
            out.push(m);
        }
    }
    for e in &report.exceptions {
        let event = match e.status {
            ExceptionState::Expired => "exception_expired",
            ExceptionState::Rejected => "exception_rejected",
            ExceptionState::Stale => "exception_stale",
            _ => continue,
        };
        out.push(obj(json!({
            "event": event,
            "exception": e.id,
            "source": e.source,
            "expires": e.expires,
            "detail": e.detail,
        })));
    }
    out.push(obj(json!({
        "event": "verdict",
        "verdict": report.verdict,
        "blocking": report.summary.blocking,
        "advisory": report.summary.advisory,
        "audit": report.summary.audit,
        "excepted": report.summary.excepted,
        "findings": report.summary.findings,
    })));
    out
}

/// Checks a log against its anchor after [`verify`]: `Err` when the log ends
/// before (or elsewhere than) where the anchor says.
pub fn verify_end(text: &[u8], anchor: Option<&Anchor>) -> Result<(), String> {
    let Some(a) = anchor else { return Ok(()) };
    match end_of(text) {
        Some(end) if &end == a => Ok(()),
        Some(end) if end.seq < a.seq => {
            let n = a.seq - end.seq;
            Err(format!(
                "truncated: the log ends at seq {}, its anchor records seq {} ({n} {} deleted from the end)",
                end.seq,
                a.seq,
                if n == 1 { "entry" } else { "entries" }
            ))
        }
        Some(end) => Err(format!("the last line (seq {}) is not the one its anchor records (seq {})", end.seq, a.seq)),
        None => Err(format!("the log is empty, its anchor records seq {}", a.seq)),
    }
}

/// Where a log ends: its last `seq` and the SHA-256 of its last line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub head: String,
}

/// The anchor file of a log: `LOG.head` beside it.
pub fn anchor_path(log: &Path) -> std::path::PathBuf {
    let mut name = log.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".head");
    log.with_file_name(name)
}

/// The anchor recorded for `log`, if any (`Err` when it is unreadable).
pub fn read_anchor(log: &Path) -> std::io::Result<Option<Anchor>> {
    match std::fs::read(anchor_path(log)) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where `text` (a whole log) ends.
pub fn end_of(text: &[u8]) -> Option<Anchor> {
    let trimmed = text.strip_suffix(b"\n").unwrap_or(text);
    let last = trimmed.rsplit(|&b| b == b'\n').next().filter(|l| !l.is_empty())?;
    let seq = serde_json::from_slice::<Value>(last).ok()?["seq"].as_u64()?;
    Some(Anchor { seq, head: sha256_hex(last) })
}

/// Appends events, each stamped with `seq`, `time`, `run`, `prev` and
/// `digest`, and returns the new [`Anchor`] (also written to `LOG.head`).
/// Refuses, with an error naming both ends, when the log does not end where
/// its anchor says (truncated or edited) unless `force`.
pub fn append(path: &Path, events: Vec<Map<String, Value>>, time: &str) -> std::io::Result<Anchor> {
    append_checked(path, events, time, false)
}

/// [`append`], with `force` to extend a log whose anchor disagrees (after a
/// reviewed repair).
pub fn append_checked(
    path: &Path,
    events: Vec<Map<String, Value>>,
    time: &str,
    force: bool,
) -> std::io::Result<Anchor> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // only a regular file is a log: a FIFO or device is refused before it is
    // opened (opening one can wait for a reader, and it holds no chain)
    let refuse = || std::io::Error::other(format!("{}: not appended", bylaw_engine::paths::why_not_read(path)));
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(refuse());
    }
    let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(refuse());
    }
    file.lock()?;
    // the anchor is read and written under the log's lock: appends by
    // concurrent runs see each other's anchors in order
    let result = (|| {
        let anchor = read_anchor(path)?;
        let end = append_locked(&mut file, events, time, anchor.as_ref().filter(|_| !force))?;
        let anchor = anchor_path(path);
        crate::write_atomic(&anchor, serde_json::to_string(&end).map_err(std::io::Error::other)?.as_bytes())
            .map_err(|e| std::io::Error::other(format!("its anchor {}: {e}", anchor.display())))?;
        Ok(end)
    })();
    let _ = file.unlock();
    result
}

fn append_locked(
    file: &mut File,
    mut events: Vec<Map<String, Value>>,
    time: &str,
    anchor: Option<&Anchor>,
) -> std::io::Result<Anchor> {
    let (last, complete_len, dropped) = last_line(file)?;
    if let Some(a) = anchor {
        let here = last.as_ref().map(|l| {
            let seq = serde_json::from_slice::<Value>(l).ok().and_then(|v| v["seq"].as_u64()).unwrap_or(0);
            Anchor { seq, head: sha256_hex(l) }
        });
        if here.as_ref() != Some(a) {
            let ends = here.map_or("is empty".to_owned(), |h| format!("ends at seq {}", h.seq));
            return Err(std::io::Error::other(format!(
                "the audit log {ends}, but its anchor records seq {} (lines were deleted or edited): not appending; check it with `bylaw audit verify`",
                a.seq
            )));
        }
    }
    if dropped > 0 {
        // An earlier append was interrupted: cut its incomplete line off.
        file.set_len(complete_len)?;
        let mut m = Map::new();
        m.insert("event".into(), json!("recovered"));
        m.insert("detail".into(), json!(format!("dropped an incomplete last line of {dropped} bytes")));
        events.insert(0, m);
    }
    let (mut seq, mut prev) = match &last {
        Some(line) => {
            let seq = serde_json::from_slice::<Value>(line).ok().and_then(|v| v["seq"].as_u64()).unwrap_or(0);
            (seq, sha256_hex(line))
        }
        None => (0, GENESIS.to_owned()),
    };
    let run = format!("{}-{}", time.replace([':', '-'], ""), std::process::id());
    let mut buf = Vec::new();
    for event in events {
        seq += 1;
        let mut m = Map::new();
        m.insert("seq".into(), json!(seq));
        m.insert("time".into(), json!(time));
        m.insert("run".into(), json!(run));
        for (k, v) in event {
            if !v.is_null() {
                m.insert(k, v);
            }
        }
        m.insert("prev".into(), json!(prev));
        let body = serde_json::to_string(&Value::Object(m)).map_err(std::io::Error::other)?;
        let unsealed = &body[..body.len() - 1]; // without the closing brace
        let digest = sha256_hex(unsealed.as_bytes());
        let line = format!("{unsealed}{DIGEST_KEY}{digest}\"}}");
        prev = sha256_hex(line.as_bytes());
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
    }
    file.write_all(&buf)?;
    file.sync_data()?;
    Ok(Anchor { seq, head: prev })
}

/// The last complete line (without its newline), the length of the file up
/// to the end of it, and the size of an incomplete tail after it.
fn last_line(file: &mut File) -> std::io::Result<(Option<Vec<u8>>, u64, u64)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((None, 0, 0));
    }
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::with_capacity((len - start) as usize);
        file.read_to_end(&mut tail)?;
        let complete_end = tail.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
        match complete_end {
            Some(end) => {
                let dropped = (tail.len() - end) as u64;
                let before = &tail[..end - 1];
                match before.iter().rposition(|&b| b == b'\n') {
                    Some(i) => return Ok((Some(before[i + 1..].to_vec()), start + end as u64, dropped)),
                    None if start == 0 => return Ok((Some(before.to_vec()), end as u64, dropped)),
                    None => {}
                }
            }
            None if start == 0 => return Ok((None, 0, len)),
            None => {}
        }
        window *= 4;
    }
}

/// What `verify` found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Every line is intact and chained; the number of lines.
    Intact(usize),
    /// The first broken line (1-based) and why.
    Broken { line: usize, reason: String },
}

/// Checks every line's digest, the `prev` chain and `seq`.
pub fn verify(text: &[u8]) -> Verdict {
    let mut prev = GENESIS.to_owned();
    let mut seq = 0u64;
    let mut count = 0;
    let mut rest = text;
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Verdict::Broken {
                line: n,
                reason: "incomplete last line (no newline): an interrupted write".into(),
            };
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        let broken = |reason: String| Verdict::Broken { line: n, reason };
        let Ok(s) = std::str::from_utf8(line) else { return broken("not UTF-8".into()) };
        let Some(at) = s.rfind(DIGEST_KEY) else { return broken("no `digest`: not a bylaw audit line".into()) };
        let stored = s[at + DIGEST_KEY.len()..].trim_end_matches("\"}");
        if sha256_hex(&s.as_bytes()[..at]) != stored || !s.ends_with("\"}") {
            return broken("its digest does not match its content: the line was edited".into());
        }
        let v: Value = match serde_json::from_str(s) {
            Ok(v) => v,
            Err(e) => return broken(format!("not JSON: {e}")),
        };
        if v["prev"].as_str() != Some(prev.as_str()) {
            return broken(if n == 1 {
                "`prev` is not the genesis value: lines before it were deleted".into()
            } else {
                format!("`prev` is not the SHA-256 of line {}: a line was deleted, inserted or reordered", n - 1)
            });
        }
        let this_seq = v["seq"].as_u64().unwrap_or(0);
        if this_seq != seq + 1 {
            return broken(format!("`seq` is {this_seq}, expected {}", seq + 1));
        }
        seq = this_seq;
        prev = sha256_hex(line);
        count += 1;
    }
    Verdict::Intact(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, rule: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("event".into(), json!(event));
        m.insert("rule".into(), json!(rule));
        m
    }

    #[test]
    fn deleting_the_last_entries_is_detected_and_not_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let p = log(dir.path());
        let text = std::fs::read(&p).unwrap();
        let anchor = read_anchor(&p).unwrap().unwrap();
        assert_eq!(anchor.seq, 6);
        assert_eq!(verify_end(&text, Some(&anchor)), Ok(()));
        // cut the last run: the chain is still intact, the anchor says otherwise
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        let cut: Vec<u8> = lines[..3].concat();
        std::fs::write(&p, &cut).unwrap();
        assert_eq!(verify(&cut), Verdict::Intact(3));
        let e = verify_end(&cut, Some(&anchor)).unwrap_err();
        assert!(e.contains("truncated") && e.contains("3 entries deleted"), "{e}");
        let refused = append(&p, vec![ev("run", "")], "2026-06-03T00:00:00Z").unwrap_err();
        assert!(refused.to_string().contains("anchor records seq 6"), "{refused}");
        assert_eq!(std::fs::read(&p).unwrap(), cut, "nothing appended");
        // told to, it appends and re-anchors
        let end = append_checked(&p, vec![ev("run", "")], "2026-06-03T00:00:00Z", true).unwrap();
        assert_eq!(end.seq, 4);
        assert_eq!(read_anchor(&p).unwrap(), Some(end));
    }

    fn log(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("audit/log.jsonl");
        append(&p, vec![ev("run", ""), ev("finding_blocked", "K-1"), ev("verdict", "")], "2026-06-01T00:00:00Z")
            .unwrap();
        append(&p, vec![ev("run", ""), ev("finding_excepted", "K-2"), ev("verdict", "")], "2026-06-02T00:00:00Z")
            .unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_device_is_never_a_log() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("log.jsonl");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        for p in [fifo.as_path(), Path::new("/dev/null")] {
            let e = append(p, vec![ev("run", "")], "2026-06-01T00:00:00Z").unwrap_err().to_string();
            assert!(e.starts_with("not a regular file (a ") && e.ends_with("): not appended"), "{e}");
        }
        assert!(!dir.path().join("log.jsonl.head").exists());
    }

    #[test]
    fn appends_chain_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let p = log(dir.path());
        let text = std::fs::read(&p).unwrap();
        assert_eq!(verify(&text), Verdict::Intact(6));
        let first: Value = serde_json::from_str(std::str::from_utf8(&text).unwrap().lines().next().unwrap()).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["seq"], 1);
    }

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p).unwrap().lines().map(str::to_owned).collect()
    }

    fn broken_at(lines: &[String]) -> usize {
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        match verify(text.as_bytes()) {
            Verdict::Broken { line, .. } => line,
            Verdict::Intact(_) => 0,
        }
    }

    #[test]
    fn edits_deletions_and_reorders_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let p = log(dir.path());
        let orig = lines(&p);
        let mut edited = orig.clone();
        edited[2] = edited[2].replace("\"verdict\"", "\"verdicT\"");
        assert_eq!(broken_at(&edited), 3, "edited line");
        let mut last = orig.clone();
        last[5] = last[5].replace("2026-06-02", "2026-06-03");
        assert_eq!(broken_at(&last), 6, "edited last line");
        let mut deleted = orig.clone();
        deleted.remove(3);
        assert_eq!(broken_at(&deleted), 4, "deleted line");
        let mut head = orig.clone();
        head.remove(0);
        assert_eq!(broken_at(&head), 1, "deleted first line");
        let mut swapped = orig.clone();
        swapped.swap(1, 2);
        assert_eq!(broken_at(&swapped), 2, "reordered lines");
        assert_eq!(broken_at(&orig), 0);
    }

    #[test]
    fn an_interrupted_append_is_cut_off_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let p = log(dir.path());
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":7,\"time\":\"2026-").unwrap();
        drop(f);
        assert!(matches!(verify(&std::fs::read(&p).unwrap()), Verdict::Broken { line: 7, .. }));
        append(&p, vec![ev("verdict", "")], "2026-06-03T00:00:00Z").unwrap();
        let text = std::fs::read(&p).unwrap();
        assert_eq!(verify(&text), Verdict::Intact(8));
        assert!(String::from_utf8(text).unwrap().contains("\"event\":\"recovered\""));
    }

    #[test]
    fn concurrent_appends_keep_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        append(&p, vec![ev("run", &format!("{t}-{i}")), ev("verdict", "")], "2026-06-01T00:00:00Z")
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(verify(&std::fs::read(&p).unwrap()), Verdict::Intact(200));
    }
}
