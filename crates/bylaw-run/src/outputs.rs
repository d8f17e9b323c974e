//! Where a run may write its reports and audit log: never over an input
//! (a YAML or JSON file the run would check, or another tool's file) nor
//! over standard output while a report is printed there; an earlier bylaw
//! report may be replaced.

use std::path::{Path, PathBuf};

/// Why a report must not be written at `path`, if it must not: the path
/// is standard output itself (a pipe or file that the stdout report also
/// goes to: the two documents would be mixed), or an existing YAML or JSON
/// file — through symlinks: what a write would replace — that is not a
/// report bylaw wrote earlier (an input the run would check, or another
/// tool's file).
pub fn output_conflict(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        if let Ok(out) = std::fs::metadata("/dev/stdout") {
            let shared = meta.file_type().is_fifo() || meta.file_type().is_file();
            if shared && (meta.dev(), meta.ino()) == (out.dev(), out.ino()) {
                return Some("it is standard output, where the run prints its report".into());
            }
        }
    }
    let target = existing_data_file(path)?;
    (!is_bylaw_output(&target)).then(|| {
        let via =
            if path.is_symlink() { format!(" (the symlink leads to {})", target.display()) } else { String::new() };
        format!(
            "an existing YAML or JSON file{via} that is not an earlier bylaw report: an input, or another tool's file"
        )
    })
}

/// What `path` leads to (through symlinks) when that is an existing regular
/// file named as YAML or JSON (by the path or by its target): a file a
/// write or an append would change an input of.
fn existing_data_file(path: &Path) -> Option<PathBuf> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let format = |p: &Path| bylaw_engine::input::Format::of_path(&p.to_string_lossy()).is_some();
    (target.is_file() && (format(path) || format(&target))).then_some(target)
}

/// `PATH: WHY` for each of `paths` that [`output_conflict`] refuses.
pub fn refused_outputs<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Vec<String> {
    paths.into_iter().filter_map(|p| output_conflict(p).map(|why| format!("{}: {why}", p.display()))).collect()
}

/// Whether `path` (through symlinks) is an existing YAML or JSON file whose
/// first line is not an audit-log entry (a JSON object with `seq` and
/// `prev`, see `bylaw_report::audit_log`): appending to it would change an input.
pub fn is_input_not_audit_log(path: &Path) -> bool {
    use std::io::BufRead;
    let Some(target) = existing_data_file(path) else { return false };
    let Ok(file) = std::fs::File::open(&target) else { return false };
    let mut first = String::new();
    let _ = std::io::BufReader::new(std::io::Read::take(file, 1 << 20)).read_line(&mut first);
    if first.trim().is_empty() {
        return false;
    }
    let entry: Option<serde_json::Value> = serde_json::from_str(first.trim()).ok();
    !entry.is_some_and(|v| v.get("seq").is_some() && v.get("prev").is_some())
}

/// Whether the file at `path` is, in full, a report bylaw wrote: the JSON
/// report (`tool.name` bylaw, `verdict`, `findings`), SARIF (every run's
/// driver bylaw) or Code Quality (every item with `check_name` and
/// `fingerprint`), with no `apiVersion` or `kind` anywhere at its top: a
/// Kubernetes manifest dressed up as a report is not one. Read as a stream,
/// values skipped, so a big report costs little.
fn is_bylaw_output(path: &Path) -> bool {
    use serde::de::IgnoredAny;
    #[derive(serde::Deserialize)]
    struct Name {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Tool {
        driver: Name,
    }
    #[derive(serde::Deserialize)]
    struct Run {
        tool: Tool,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        tool: Option<Name>,
        verdict: Option<IgnoredAny>,
        findings: Option<IgnoredAny>,
        runs: Option<Vec<Run>>,
        /// A baseline (`check --write-baseline`)
        bylaw_baseline: Option<u32>,
        kind: Option<IgnoredAny>,
        #[serde(rename = "apiVersion")]
        api_version: Option<IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Issue {
        #[allow(dead_code)]
        check_name: IgnoredAny,
        #[allow(dead_code)]
        fingerprint: IgnoredAny,
        kind: Option<IgnoredAny>,
        #[serde(rename = "apiVersion")]
        api_version: Option<IgnoredAny>,
    }
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut reader = std::io::BufReader::new(file);
    // an object or an array, by the first character (no buffering of the whole)
    let first = loop {
        let Ok(buf) = reader.fill_buf() else { return false };
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break buf[i],
            None if buf.is_empty() => return false,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    match first {
        b'{' => match serde_json::from_reader::<_, Object>(reader) {
            Ok(o) if o.kind.is_some() || o.api_version.is_some() => false,
            Ok(Object { tool: Some(t), verdict: Some(_), findings: Some(_), .. }) => t.name == "bylaw",
            Ok(Object { bylaw_baseline: Some(_), findings: Some(_), .. }) => true,
            Ok(Object { runs: Some(runs), .. }) => {
                !runs.is_empty() && runs.iter().all(|r| r.tool.driver.name == "bylaw")
            }
            _ => false,
        },
        b'[' => serde_json::from_reader::<_, Vec<Issue>>(reader)
            .is_ok_and(|items| items.iter().all(|i| i.kind.is_none() && i.api_version.is_none())),
        b'v' => is_outputs_file(reader),
        _ => false,
    }
}

/// Whether `reader` holds, in full, the `key=value` lines `bylaw ci`
/// writes with `--outputs` (`verdict=…`, `blocking=N`, `advisory=N`,
/// `excepted=N`; GitLab's dotenv report), whatever the file is named.
fn is_outputs_file(reader: impl std::io::Read) -> bool {
    let mut text = String::new();
    if std::io::Read::read_to_string(&mut std::io::Read::take(reader, 1024), &mut text).is_err() || text.len() >= 1024 {
        return false;
    }
    let mut keys = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((key, value)) = line.split_once('=') else { return false };
        let known = match key {
            "verdict" => matches!(value, "pass" | "fail"),
            "blocking" | "advisory" | "excepted" => value.parse::<u64>().is_ok(),
            _ => false,
        };
        if !known || keys.contains(&key) {
            return false;
        }
        keys.push(key);
    }
    keys.first() == Some(&"verdict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_outputs_file_may_be_replaced_whatever_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        let ours = tmp.path().join("o.yaml");
        std::fs::write(&ours, "verdict=fail\nblocking=1\nadvisory=0\nexcepted=0\n").unwrap();
        assert_eq!(output_conflict(&ours), None);
        for other in ["verdict=fail\nimage=nginx\n", "verdict: fail\n", "blocking=1\nverdict=pass\n", "verdict=maybe\n"]
        {
            std::fs::write(&ours, other).unwrap();
            assert!(output_conflict(&ours).is_some(), "{other:?}");
        }
    }
}
