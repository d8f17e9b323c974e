//! Making input-derived text safe for where it is printed. Policies,
//! manifests, file names, exception lists and pull-request comments are
//! written by other people; their text must never start a CI workflow
//! command (`::stop-commands::`, `##[error]`, `##vso[`) or drive a terminal
//! (ESC sequences), and in Markdown it must stay plain text: no emphasis,
//! link, image, raw HTML, heading, quote, list, table cell, math, mention
//! or cross-reference may come from a value.
//!
//! [`display_safe`] is implemented in `bylaw_engine::diagnostic` (the
//! engine's diagnostics need it and the engine cannot depend on this crate)
//! and re-exported here; every emitter of this crate uses it.
//!
//! Markdown has one escaper per context, and every Markdown output of bylaw
//! (`check --format markdown`, the PR/MR summary comment and job summary,
//! the impact comment, exception-request replies, the policy-approval
//! table) goes through them:
//!
//! | context | function |
//! |---|---|
//! | inline text: a paragraph, a list item, a heading, a table cell | [`md_text`] |
//! | the same, keeping the input's own `code spans` (remediation text) | [`md_text_keeping_code`] |
//! | a code span outside a table | [`md_code`] |
//! | a code span in a GFM table cell | [`md_code_cell`] |
//! | a fenced code block (several lines) | [`md_fenced`] |
//!
//! **Syntax.** [`md_text`] backslash-escapes (CommonMark 0.31 §2.4: any
//! ASCII punctuation may be escaped and then stands for itself) the
//! characters that open inline constructs — `` \ ` * _ [ ] | ~ $ { } ``,
//! `_` only where it is not between two letters or digits (§6.2) —
//! and writes `<`, `>` and `&` as the entities `&lt;` `&gt;` `&amp;` (§6.6
//! raw HTML, §2.5 entity references: no tag, comment or `&#64;`-style
//! reference can form). At the start of the text (after spaces) it also
//! escapes `#`, `-`, `+` and the `.`/`)` of an ordered-list number, which
//! would otherwise open a heading or a list inside a list item (§4.2, §5.2,
//! §5.3). Control characters and line breaks are shown escaped by
//! [`display_safe`], so a value is always one line and cannot end a table
//! row or a list item. `|` is escaped in code spans of table cells too
//! (GFM tables split cells before inline parsing, GFM spec §4.10).
//!
//! **Mentions, references and autolinks.** GitHub and GitLab turn `@user`,
//! `@org/team`, `#123`, `!123` (GitLab merge requests), `~label`, `%milestone`,
//! `$snippet`, `&epic`, `GH-123`, bare URLs and e-mail addresses into live
//! links — and mentions notify people — *after* Markdown rendering, in the
//! HTML's text nodes, so a backslash escape does not stop them. [`md_text`]
//! therefore inserts a ZERO WIDTH SPACE (U+200B) right after such a sigil
//! (`@\u{200B}org/team`), after the `:` of `://`, after the `www` of
//! `www.` and after `GH-`. Both platforms' reference patterns require the
//! name to follow the sigil directly and to consist of ASCII letters,
//! digits, `-`, `_`, `.` or `/` (GitHub's mention filter
//! `@[a-z0-9][a-z0-9-]*`, GitLab's `User.reference_pattern`), and U+200B is
//! none of these, so no pattern matches; nor is it Unicode whitespace in
//! CommonMark's sense (category Zs), so it changes no emphasis flanking or
//! block structure, and neither renderer strips it (their sanitizers remove
//! only HTML). A reader sees the text unchanged. (A word joiner U+2060 would
//! do as well; U+200B is what GitHub's own documentation suggests for
//! showing an `@` name without a mention.) Code spans need none of this:
//! both platforms skip `code` elements when they look for references.

pub use bylaw_engine::diagnostic::display_safe;

/// ZERO WIDTH SPACE, inserted after a mention or reference sigil (module docs).
pub const ZWSP: char = '\u{200B}';

/// Input-derived text as Markdown inline text, safe in a paragraph, a list
/// item, a heading or a GFM table cell (see the module docs for what is
/// escaped and why): the rendered text reads as the input (controls shown
/// escaped), and nothing in it is live.
pub fn md_text(s: &str) -> String {
    let s = display_safe(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let start = chars.iter().position(|c| *c != ' ' && *c != '\t');
    // the `.`/`)` after an ordered-list number at the start (1–9 digits)
    let list_dot = start.and_then(|i| {
        let digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let at = i + digits;
        // a marker only when a space or the end follows (`1.0.0` is no list)
        let ends = chars.get(at + 1).is_none_or(|c| c.is_whitespace());
        (1..=9).contains(&digits).then_some(at).filter(|&at| matches!(chars.get(at), Some('.' | ')')) && ends)
    });
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let word_follows = next.is_some_and(|n| !n.is_whitespace());
        match c {
            // between letters or digits `_` opens and closes nothing (§6.2:
            // both-flanking, neither side punctuation): `DB_PASSWORD` stays as written
            '_' if i > 0 && chars[i - 1].is_alphanumeric() && next.is_some_and(char::is_alphanumeric) => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '{' | '}' => {
                out.push('\\');
                out.push(c);
                // `[vulnerability:1]` (GitLab) is a reference in the rendered text
                if c == '[' && word_follows {
                    out.push(ZWSP);
                }
            }
            '~' | '$' => {
                out.push('\\');
                out.push(c);
                if word_follows {
                    out.push(ZWSP);
                }
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => {
                out.push_str("&amp;");
                if word_follows {
                    out.push(ZWSP);
                }
            }
            '#' | '-' | '+' if Some(i) == start => {
                out.push('\\');
                out.push(c);
                if c == '#' && word_follows {
                    out.push(ZWSP);
                }
            }
            '.' | ')' if Some(i) == list_dot => {
                out.push('\\');
                out.push(c);
            }
            '@' | '#' | '!' | '%' => {
                out.push(c);
                if word_follows {
                    out.push(ZWSP);
                }
            }
            ':' if next == Some('/') && chars.get(i + 2) == Some(&'/') => {
                out.push(c);
                out.push(ZWSP);
            }
            '.' if i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www") => {
                out.push(ZWSP);
                out.push(c);
            }
            '-' if i >= 2
                && chars[i - 2..i].iter().collect::<String>().eq_ignore_ascii_case("gh")
                && next.is_some_and(|n| n.is_ascii_digit()) =>
            {
                out.push(c);
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// Like [`md_text`], but the input's own code spans (a backtick run closed
/// by a run of the same length, CommonMark §6.1) stay code spans: for
/// remediation text written by policy authors ("Set `privileged: false`").
/// A code span is inert on both platforms, so nothing live can come of it.
/// For use outside tables (a `|` inside a kept span is not escaped).
pub fn md_text_keeping_code(s: &str) -> String {
    let safe = display_safe(s);
    let s = safe.as_ref();
    let mut out = String::with_capacity(s.len() + 8);
    let mut plain_from = 0;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        // the next run of exactly `run` backticks closes the span
        let mut j = i + run;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let r = bytes[j..].iter().take_while(|b| **b == b'`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                out.push_str(&md_text(&s[plain_from..i]));
                out.push_str(&s[i..j + run]);
                i = j + run;
                plain_from = i;
            }
            None => i += run,
        }
    }
    out.push_str(&md_text(&s[plain_from..]));
    out
}

/// Input-derived text as a code span outside a table: fenced with one
/// backtick more than the longest run of backticks in it (CommonMark
/// §6.1), padded with a space when it starts or ends with a backtick or a
/// space (one space each side is stripped again by the renderer).
pub fn md_code(s: &str) -> String {
    code_span(&display_safe(s))
}

/// Input-derived text as a code span in a GFM table cell: as [`md_code`],
/// with `|` escaped, which GFM requires even inside code spans of a cell.
pub fn md_code_cell(s: &str) -> String {
    code_span(&display_safe(s).replace('|', "\\|"))
}

fn code_span(s: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`') + 1);
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// `text` (several lines, e.g. YAML to copy) as a fenced code block with
/// info string `info`: fenced with at least three backticks and more than
/// the longest backtick run in the text, so no line of it can close the
/// block (CommonMark §4.5). Ends with a newline.
pub fn md_fenced(text: &str, info: &str) -> String {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    let nl = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
    format!("{fence}{info}\n{text}{nl}{fence}\n")
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `path` percent-encoded for a URI reference or a Markdown link target,
/// keeping `/`: every byte but the RFC 3986 unreserved characters
/// (`A–Z a–z 0–9 - . _ ~`) becomes `%XX`, so a space, `#`, `%`, `?`, `(`,
/// `)`, `[`, `]`, `<`, `>` and non-ASCII (as its UTF-8 bytes) cannot end
/// or redirect the link.
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_slashes_and_encodes_what_would_break_a_link() {
        assert_eq!(percent_encode_path("deploy/app.yaml"), "deploy/app.yaml");
        assert_eq!(percent_encode_path("a b/#1%(x)[y]<z>?é.yaml"), "a%20b/%231%25%28x%29%5By%5D%3Cz%3E%3F%C3%A9.yaml");
    }

    /// Strings that would each make something live in Markdown if printed as is.
    const HOSTILE: &[&str] = &[
        "@org/team **x** <img src=x> [a](http://e) | #1",
        "@alice please look",
        "cc @acme/platform-security",
        "mail bob@example.com",
        "**bold** __bold__ *em* _em_ ~~gone~~ ~one~",
        "snake_case_name and _x_y_ and a_ b _c and __d__e and f__g__",
        "`code` ``double`` ```fence```",
        "[link](https://evil.example/x) and [ref][1]\n\n[1]: http://evil",
        "![img](http://evil/p.png) ![alt][x]",
        "<details open><summary>s</summary>hidden</details>",
        "<img src=x onerror=alert(1)> <script>alert(1)</script> <!-- bylaw:impact -->",
        "<https://autolink.example> <a@b.example>",
        "https://bare.example/path www.bare.example ftp://f.example",
        "# heading",
        "   ## indented heading",
        "> quote",
        "- item",
        "+ item",
        "* item",
        "1. first",
        "12) twelfth",
        "1.0.0 → 1.1.0",
        "3.",
        "---",
        "===",
        "a | b | c",
        "#123 !45 GH-7 gh-8 org/repo#9 ~bug ~\"two words\" %v1.0 $12 &34 [vulnerability:5]",
        "$x^2$ and $$y$$ and $`z`$",
        "- [ ] task",
        "[^1] footnote",
        "&lt;b&gt; &#64;org/team &amp; &copy;",
        "back\\slash at end\\",
        "line one\nline two\n# three",
        "{+ added +} [- removed -] {- x -}",
        ":smile: <kbd>k</kbd>",
    ];

    /// HTML as a CommonMark renderer with GitHub's extensions (tables,
    /// strikethrough, task lists, footnotes, math, alerts) makes it; raw
    /// HTML passes through, so any tag from a value would show.
    fn render(md: &str) -> String {
        use pulldown_cmark::{html, Options, Parser};
        let o = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM;
        let mut out = String::new();
        html::push_html(&mut out, Parser::new_ext(md, o));
        out
    }

    /// The text of rendered HTML: tags dropped, entities decoded.
    fn text_of(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    /// The tags of rendered HTML, e.g. `["p", "/p"]`.
    fn tags_of(html: &str) -> Vec<String> {
        html.split('<').skip(1).filter_map(|t| t.split(['>', ' ']).next()).map(str::to_owned).collect()
    }

    /// No sigil of a mention or reference directly followed by a name, no autolink start.
    fn assert_nothing_live(text: &str, input: &str) {
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if "@#!~%$&[".contains(*c) {
                let next = chars.get(i + 1).copied().unwrap_or(' ');
                assert!(
                    !(next.is_ascii_alphanumeric() || "_-.\"/".contains(next)),
                    "{c}{next} is live in {text:?} (from {input:?})"
                );
            }
        }
        assert!(!text.contains("://"), "URL scheme live in {text:?}");
        assert!(!text.to_ascii_lowercase().contains("www."), "www. live in {text:?}");
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.match_indices("gh-").any(|(i, _)| lower[i + 3..].starts_with(|c: char| c.is_ascii_digit())),
            "GH-N live in {text:?}"
        );
    }

    #[test]
    fn text_renders_as_the_input_and_nothing_in_it_is_live() {
        for input in HOSTILE {
            let escaped = md_text(input);
            assert_eq!(escaped.lines().count(), 1, "one line: {escaped:?}");
            let shown = display_safe(input).into_owned();
            for (context, md, tags) in [
                ("paragraph", escaped.clone(), vec!["p", "/p"]),
                ("list item", format!("- {escaped}\n"), vec!["ul", "li", "/li", "/ul"]),
                ("heading", format!("#### {escaped}\n"), vec!["h4", "/h4"]),
                (
                    "table cell",
                    format!("| a | b |\n|---|---|\n| {escaped} | z |\n"),
                    vec![
                        "table", "thead", "tr", "th", "/th", "th", "/th", "/tr", "/thead", "tbody", "tr", "td", "/td",
                        "td", "/td", "/tr", "/tbody", "/table",
                    ],
                ),
            ] {
                let html = render(&md);
                assert_eq!(tags_of(&html), tags, "{context}: {input:?} → {md:?} → {html}");
                let mut text = text_of(&html).replace(ZWSP, "");
                if context == "table cell" {
                    text = text.replace("\n", "");
                    assert_eq!(text, format!("ab{}z", shown.trim()), "{context}: {input:?} → {html}");
                } else {
                    assert_eq!(text.trim(), shown.trim(), "{context}: {input:?} → {html}");
                }
                // each element boundary separates words (`</td><td>`)
                assert_nothing_live(&text_of(&html.replace('<', " <")), input);
            }
        }
    }

    #[test]
    fn text_escapes_what_the_module_docs_say() {
        assert_eq!(
            md_text("@org/team **x** <img src=x> [a](http://e) | #1"),
            "@\u{200B}org/team \\*\\*x\\*\\* &lt;img src=x&gt; \\[\u{200B}a\\](http:\u{200B}//e) \\| #\u{200B}1"
        );
        assert_eq!(md_text("# h"), "\\# h");
        assert_eq!(md_text("DB_PASSWORD _x_"), "DB_PASSWORD \\_x\\_");
        assert_eq!(md_text("12) x"), "12\\) x");
        assert_eq!(md_text("1.0.0 → 1.1.0"), "1.0.0 → 1.1.0");
        assert_eq!(md_text("1."), "1\\.");
        assert_eq!(md_text("see www.x.io, GH-12"), "see www\u{200B}.x.io, GH-\u{200B}12");
        assert_eq!(md_text("plain text: a-b, 1.5 and C# ok"), "plain text: a-b, 1.5 and C# ok");
        assert_eq!(md_text("x\n<b>"), "x\\\\n&lt;b&gt;");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        for input in HOSTILE.iter().copied().chain(["`", "``a``", " lead", "trail ", " both ", "a|b", "x`"]) {
            let shown = display_safe(input).into_owned();
            let html = render(&format!("x {} y", md_code(input)));
            assert_eq!(tags_of(&html), ["p", "code", "/code", "/p"], "{input:?} → {html}");
            assert_eq!(text_of(&html), format!("x {shown} y\n"), "{input:?} → {html}");
            let html = render(&format!("| a |\n|---|\n| {} |\n", md_code_cell(input)));
            assert_eq!(tags_of(&html).iter().filter(|t| *t == "td").count(), 1, "{input:?} → {html}");
            assert_eq!(tags_of(&html).iter().filter(|t| *t == "code").count(), 1, "{input:?} → {html}");
            assert!(text_of(&html).contains(&shown), "{input:?} → {html}");
        }
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code_cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn kept_code_spans_stay_code_and_the_rest_is_escaped() {
        let md = md_text_keeping_code("Set `privileged: false` for @team <b> and `a`` b");
        assert_eq!(md, "Set `privileged: false` for @\u{200B}team &lt;b&gt; and \\`a\\`\\` b");
        let html = render(&format!("- {md}\n"));
        assert_eq!(tags_of(&html), ["ul", "li", "code", "/code", "/li", "/ul"], "{html}");
        assert_nothing_live(&text_of(&html).replace("privileged: false", ""), "");
    }

    #[test]
    fn fenced_blocks_cannot_be_closed_from_inside() {
        let yaml = "reason: \"```\\n@org/team\"\n```\n<img src=x>\n";
        let md = md_fenced(yaml, "yaml");
        assert!(md.starts_with("````yaml\n") && md.ends_with("\n````\n"), "{md}");
        let html = render(&format!("{md}after"));
        assert_eq!(tags_of(&html), ["pre", "code", "/code", "/pre", "p", "/p"], "{html}");
        assert_eq!(text_of(&html), format!("{yaml}\nafter\n"));
    }
}
