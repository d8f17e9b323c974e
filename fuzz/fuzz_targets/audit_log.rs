//! An audit log, as `bylaw audit verify` reads one and `bylaw check
//! --audit-log` appends to one: `audit::verify`, `end_of` and `verify_end`
//! on the bytes; then the bytes are written to a log file (in the scratch
//! directory, with no anchor) and a run's events appended with
//! `audit::append`. Oracles: a log always matches its own end; appending
//! to an intact log keeps it intact, with the new lines counted, and
//! returns the anchor the log now ends at.
#![no_main]

use bylaw_report::audit_log::{self as audit, Verdict};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

fn event(name: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("event".into(), json!(name));
    m
}

fuzz_target!(|data: &[u8]| {
    let verdict = audit::verify(data);
    let end = audit::end_of(data);
    assert_eq!(audit::verify_end(data, end.as_ref()), Ok(()), "a log ends where it ends");
    let data = data.to_vec();
    bylaw_fuzz::on_cli_stack(move || {
        let dir = bylaw_fuzz::scratch_dir();
        let log = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(audit::anchor_path(&log));
        std::fs::write(&log, &data).expect("write the log into the scratch directory");
        let appended = audit::append(&log, vec![event("run"), event("verdict")], "2026-06-01T00:00:00Z");
        let after = std::fs::read(&log).expect("read the log back");
        if let Verdict::Intact(n) = verdict {
            let anchor = appended.expect("appending to an intact log succeeds");
            assert_eq!(audit::verify(&after), Verdict::Intact(n + 2), "appending to an intact log keeps it intact");
            assert_eq!(audit::end_of(&after), Some(anchor), "append returns where the log now ends");
        }
    });
});
