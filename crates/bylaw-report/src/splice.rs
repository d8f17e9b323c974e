//! Writing a big JSON array without building it: the document around the
//! array is serialized once with the array empty, and the array's elements
//! are serialized in parallel, a block at a time, and written in order in
//! its place. The bytes are exactly those of serde_json's pretty printer
//! (two-space indentation) through [`SafeFormatter`]; only a block of
//! elements is ever held, so a report with 100,000 findings costs its
//! findings plus a few megabytes (DESIGN §10), and the cores share the work.

use crate::SafeFormatter;
use rayon::prelude::*;
use serde::Serialize;
use std::io::{self, Write};

/// Elements serialized per parallel task.
const CHUNK: usize = 256;
/// Elements held at once (serialized, waiting to be written).
const BLOCK: usize = 16 * CHUNK;

/// Where the array goes in the document.
pub(crate) enum At<'a> {
    /// The document is the array itself.
    Root,
    /// The value of `key`, an object member written at `indent` spaces.
    Key { key: &'a str, indent: usize },
}

/// Writes `doc`, whose array at `at` is serialized empty, with `count`
/// elements made by `item(i)` in that array, and a final newline.
/// Errors: the writer's, serialisation errors, or (a bug) an `at` that
/// does not name an empty array of `doc`.
pub(crate) fn write_spliced<D, I, F>(out: &mut dyn Write, doc: &D, at: At<'_>, count: usize, item: F) -> io::Result<()>
where
    D: Serialize + ?Sized,
    I: Serialize,
    F: Fn(usize) -> I + Sync,
{
    let mut head = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut head, SafeFormatter::default());
    doc.serialize(&mut ser).map_err(io::Error::from)?;
    let (open, indent) = match at {
        At::Root if head.as_slice() == b"[]" => (1, 0),
        At::Root => return Err(io::Error::other("the document is not an empty array")),
        At::Key { key, indent } => {
            let marker = format!("\n{}{}: []", " ".repeat(indent), serde_json::to_string(key)?);
            let found = head.windows(marker.len()).position(|w| w == marker.as_bytes());
            let Some(pos) = found else {
                return Err(io::Error::other(format!("no empty `{key}` array in the document")));
            };
            (pos + marker.len() - 1, indent)
        }
    };
    if count == 0 {
        out.write_all(&head)?;
        return out.write_all(b"\n");
    }
    out.write_all(&head[..open])?;
    let pad = format!("\n{}", " ".repeat(indent + 2));
    let mut start = 0;
    while start < count {
        let end = (start + BLOCK).min(count);
        let chunks: Vec<io::Result<Vec<u8>>> = (start..end)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|from| {
                let mut buf = Vec::new();
                let mut one = Vec::new();
                for i in from..(from + CHUNK).min(end) {
                    one.clear();
                    let mut ser = serde_json::Serializer::with_formatter(&mut one, SafeFormatter::default());
                    item(i).serialize(&mut ser).map_err(io::Error::from)?;
                    if i > 0 {
                        buf.push(b',');
                    }
                    // newlines only stand between tokens (strings escape theirs)
                    for (n, line) in one.split(|&b| b == b'\n').enumerate() {
                        if n == 0 || !line.is_empty() {
                            buf.extend_from_slice(pad.as_bytes());
                        }
                        buf.extend_from_slice(line);
                    }
                }
                Ok(buf)
            })
            .collect();
        for chunk in chunks {
            out.write_all(&chunk?)?;
        }
        start = end;
    }
    out.write_all(b"\n")?;
    out.write_all(" ".repeat(indent).as_bytes())?;
    out.write_all(&head[open..])?;
    out.write_all(b"\n")
}
