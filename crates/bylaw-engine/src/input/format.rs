//! The input-format interface, [`InputFormat`], and its one registry,
//! [`FORMATS`]: which files bylaw reads, how each is parsed into documents
//! with source spans, which comments it has (inline suppressions are read
//! from them), and what identifies the resource a document describes.
//!
//! Every consumer asks the registry, never a format by name: discovery
//! skips the files no format claims (`unknown format`), evaluation parses
//! with the file's format and reads `file.format`, the resource identity of
//! each document (findings, `match.kinds`, exception `resources`) and the
//! label of its syntax errors from it, and inline suppressions are read from
//! the comments its parser reports (`exceptions.rs` names its comment
//! marker in hints). The CLI lists the formats with [`format_names`].
//!
//! # Adding an input format
//!
//! 1. One file under `src/input/` (as `json.rs`) with the parser, which
//!    builds the engine's tree ([`Node`], every node and key with its
//!    [`Span`](crate::node::Span): 1-based lines and columns as an editor
//!    shows them) and reports every syntax error located and every comment
//!    ([`ParsedFile`]); and a unit struct implementing [`InputFormat`]: its
//!    ids, which paths it [claims](InputFormat::claims) (file names and
//!    extensions), its comment markers, and the resource identity of its
//!    documents when the Kubernetes one ([`kubernetes_resource`]) does not
//!    fit.
//! 2. One entry in [`FORMATS`], before any format that claims the same
//!    paths more broadly (the first claim wins: JSONC before JSON).
//! 3. Tests beside the parser: spans of nodes, keys and errors (an error
//!    spoils only what it must), comments and where they are not comments
//!    (inside strings), limits against hostile input (depth, size), and an
//!    end-to-end case under `crates/bylaw-cli/tests/inputs.rs`: a finding
//!    on the exact line, an inline suppression in the format's comment
//!    syntax, `file.format` in a condition. Add the parser to the fuzz
//!    targets (`fuzz/`).
//!
//! Nothing else changes: discovery, evaluation, suppressions and the CLI's
//! list of formats follow the registry.

use crate::node::{Node, Segment, Span};
use crate::report::Resource;

use super::ParsedFile;

/// A file format bylaw reads. Implementations are unit structs listed in
/// [`FORMATS`]; they hold no state and are shared by every thread.
pub trait InputFormat: Send + Sync {
    /// The format's unique id in the registry (`yaml`, `jsonc`).
    fn id(&self) -> &'static str;

    /// What policies see as `file.format` (`yaml`, `json`). By default the
    /// id; a dialect may share its language's name (JSONC is `json`).
    fn name(&self) -> &'static str {
        self.id()
    }

    /// The format's name in messages: `invalid YAML: …`, and the list of
    /// formats bylaw reads ([`format_names`]).
    fn label(&self) -> &'static str;

    /// Whether the file at `path` (relative, `/`-separated) is of this
    /// format, by its file name or extension. Formats are asked in the
    /// order of [`FORMATS`]; the first that claims a path reads it.
    fn claims(&self, path: &str) -> bool;

    /// Whether this format reads the file at `path` although another format
    /// claims its path, because its content says so: a CloudFormation
    /// template is a `.yaml` or `.json` file with `AWSTemplateFormatVersion`
    /// or `AWS::` resource types, a Terraform plan a `.json` file with
    /// `planned_values`. `src` is the file's text; look at what is needed
    /// (the first kilobytes), it is asked of every file. Formats that sniff
    /// are asked in [`FORMATS`] order before any claim by path
    /// ([`Format::of_file`]). No by default.
    fn sniffs(&self, _path: &str, _src: &str) -> bool {
        false
    }

    /// The markers that start a comment (`#`; `//` and `/*`), the first
    /// being the one hints suggest for `bylaw:ignore`. Empty when the
    /// format has no comments: its files cannot hold inline suppressions.
    fn comment_markers(&self) -> &'static [&'static str];

    /// Parses `src` (the file's text, a byte order mark included), handing
    /// each document to `each` in order as soon as it is complete. The
    /// returned [`ParsedFile`] holds every syntax error, located, and every
    /// comment, and no documents. A syntax error spoils as little as the
    /// format allows: the other documents are still handed out.
    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile;

    /// Whether an inline suppression on the line just above one of its
    /// documents (or on its first line) covers findings anywhere in that
    /// document: yes for formats whose documents are blocks a user thinks
    /// of as one resource (a Terraform block, a CloudFormation resource),
    /// no for the others (a YAML manifest, a whole Dockerfile), where it
    /// covers its own line and the next.
    fn block_suppressions(&self) -> bool {
        false
    }

    /// What kind of file `doc` (a document of the file at `path`) belongs
    /// to, as policies see it in `file.type` and select it by
    /// `match.types`: by default the format's [name](InputFormat::name)
    /// (`terraform`, `dockerfile`), and for YAML and JSON the kind of file
    /// it is ([`structured_type`]: `github-workflow`, `github-action`,
    /// `gitlab-ci`, `kubernetes`), so packs match them by type, not only by
    /// path.
    fn document_type(&self, path: &str, doc: &Node) -> &'static str {
        match self.name() {
            "yaml" | "json" => structured_type(path, doc).unwrap_or(self.name()),
            name => name,
        }
    }

    /// What identifies the resource `doc` describes (findings carry it;
    /// `match.kinds` and exceptions' `resources` match it); `None` when
    /// nothing does. Kubernetes' `apiVersion`, `kind` and `metadata` by
    /// default ([`kubernetes_resource`]).
    fn resource(&self, doc: &Node) -> Option<Resource> {
        kubernetes_resource(doc)
    }

    /// Where the findings on this file's documents are reported when not
    /// in the file itself: a Terraform plan's findings go to the `.tf`
    /// line of their resource. Asked once per file read from disk, with
    /// its display path, its path on disk and its text; `None` (the
    /// default) keeps every finding in the file.
    fn relocator(&self, _path: &str, _fs_path: &std::path::Path, _src: &str) -> Option<Box<dyn Relocate>> {
        None
    }
}

/// Moves findings out of the file their document came from
/// ([`InputFormat::relocator`]).
pub trait Relocate: Send + Sync {
    /// The display path and span where a finding on `doc` at `segments`
    /// (from the document's root) is reported; `None` keeps it where it is.
    /// The engine adds a note with the place in the file.
    fn relocate(&self, doc: &Node, segments: &[Segment]) -> Option<(String, Span)>;
}

/// Every input format, in the order they are asked to claim a path.
pub static FORMATS: &[Format] = &[
    Format::CLOUDFORMATION,
    Format::TERRAFORM,
    Format::TERRAFORM_VARS,
    Format::HCL,
    Format::YAML,
    Format::JSONC,
    Format::JSON,
    Format::TOML,
    Format::INI,
    Format::PROPERTIES,
    Format::DOTENV,
    Format::JSONL,
    Format::TERRAFORM_PLAN,
    Format::DOCKERFILE,
];

/// A format of the registry: a copyable handle to its [`InputFormat`],
/// equal to another when their ids are.
#[derive(Clone, Copy)]
pub struct Format(&'static dyn InputFormat);

impl Format {
    /// YAML (`*.yaml`, `*.yml`), see [`super::yaml`].
    pub const YAML: Format = Format(&super::yaml::Yaml);
    /// Strict JSON (`*.json`), see [`super::json`].
    pub const JSON: Format = Format(&super::json::Json);
    /// JSONC: JSON with comments and trailing commas, for the files whose
    /// tools read it (`*.jsonc`, `tsconfig.json`, …), see [`super::jsonc`].
    pub const JSONC: Format = Format(&super::jsonc::Jsonc);
    /// Terraform (`*.tf`, `*.tf.json`), see [`super::terraform`].
    pub const TERRAFORM: Format = Format(&super::terraform::Terraform);
    /// Terraform variables (`*.tfvars`, `*.tfvars.json`), see [`super::terraform`].
    pub const TERRAFORM_VARS: Format = Format(&super::terraform::TerraformVars);
    /// Other HCL files (`*.hcl`), see [`super::terraform`].
    pub const HCL: Format = Format(&super::terraform::Hcl);
    /// TOML (`*.toml`, `Pipfile`), see [`super::toml`].
    pub const TOML: Format = Format(&super::toml::Toml);
    /// INI (`*.ini`, `*.cfg`, `.editorconfig`), see [`super::ini`].
    pub const INI: Format = Format(&super::ini::Ini);
    /// Java properties (`*.properties`), see [`super::properties`].
    pub const PROPERTIES: Format = Format(&super::properties::Properties);
    /// `.env` files (`.env`, `.env.*`, `*.env`), see [`super::dotenv`].
    pub const DOTENV: Format = Format(&super::dotenv::Dotenv);
    /// JSON Lines (`*.jsonl`, `*.ndjson`), see [`super::jsonl`].
    pub const JSONL: Format = Format(&super::jsonl::JsonLines);
    /// Terraform plans (`terraform show -json`), sniffed among `*.json`
    /// files, see [`super::terraform_plan`].
    pub const TERRAFORM_PLAN: Format = Format(&super::terraform_plan::TerraformPlan);
    /// AWS CloudFormation templates (YAML or JSON, by content; `*.template`,
    /// `*.cfn.yaml`), see [`super::cloudformation`].
    pub const CLOUDFORMATION: Format = Format(&super::cloudformation::CloudFormation);
    /// Dockerfiles (`Dockerfile`, `Containerfile`, `*.dockerfile`, …), see [`super::dockerfile`].
    pub const DOCKERFILE: Format = Format(&super::dockerfile::Dockerfile);

    /// The format of a path (by file name or extension), the first of
    /// [`FORMATS`] to claim it; `None` for formats bylaw does not read.
    pub fn of_path(path: &str) -> Option<Format> {
        FORMATS.iter().copied().find(|f| f.claims(path))
    }

    /// The format of a file from its path and its text: the first of
    /// [`FORMATS`] that [sniffs](InputFormat::sniffs) it, else the one that
    /// claims its path ([`Format::of_path`]).
    pub fn of_file(path: &str, src: &str) -> Option<Format> {
        FORMATS.iter().copied().find(|f| f.sniffs(path, src)).or_else(|| Format::of_path(path))
    }

    /// The name policies see as `file.format` ([`InputFormat::name`]).
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl std::ops::Deref for Format {
    type Target = dyn InputFormat;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Format) -> bool {
        self.0.id() == other.0.id()
    }
}

impl Eq for Format {}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Format({})", self.0.id())
    }
}

/// `formats:` of `.bylaw.yaml`: the format of the files each glob
/// matches, overriding the choice by content and name (the first glob that
/// matches wins). Globs are those of `match.files` (a pattern without `/`
/// matches at any depth); a format is named by its id or its name
/// (`cloudformation`, `yaml`, `jsonc`).
#[derive(Clone, Debug, Default)]
pub struct FormatOverrides {
    rules: Vec<(crate::compile::FileMatcher, Format)>,
}

impl FormatOverrides {
    /// Builds from `(glob, format)` pairs in file order. `Err((index,
    /// message))` names the first bad pair: an invalid glob, or a format
    /// bylaw does not read (with the formats it does).
    pub fn new(pairs: &[(String, String)]) -> Result<FormatOverrides, (usize, String)> {
        let mut rules = Vec::with_capacity(pairs.len());
        for (i, (glob, name)) in pairs.iter().enumerate() {
            let format = FORMATS
                .iter()
                .copied()
                .find(|f| f.id() == name)
                .or_else(|| FORMATS.iter().copied().find(|f| f.name() == name))
                .ok_or_else(|| {
                    let mut known: Vec<&str> = Vec::new();
                    for n in FORMATS.iter().flat_map(|f| [f.name(), f.id()]) {
                        if !known.contains(&n) {
                            known.push(n);
                        }
                    }
                    let hint = crate::diagnostic::did_you_mean(name, known.iter().copied())
                        .map(|m| format!(" (did you mean `{m}`?)"))
                        .unwrap_or_default();
                    (i, format!("unknown format `{name}`{hint}; formats: {}", known.join(", ")))
                })?;
            let matcher = crate::compile::FileMatcher::new(std::slice::from_ref(glob))
                .map_err(|(_, m)| (i, format!("invalid glob `{glob}`: {m}")))?;
            if let Some(m) = matcher {
                rules.push((m, format));
            }
        }
        Ok(FormatOverrides { rules })
    }

    /// The format set for `path` (a display path), if a glob matches it.
    pub fn format_of(&self, path: &str) -> Option<Format> {
        self.rules.iter().find(|(m, _)| m.matches(path)).map(|(_, f)| *f)
    }
}

/// The formats bylaw reads as messages name them, each once, in registry
/// order (`["YAML", "JSON"]`: JSONC is JSON to a user), e.g. for "not a
/// format bylaw reads (YAML, JSON)".
pub fn format_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::with_capacity(FORMATS.len());
    for f in FORMATS {
        if !names.contains(&f.label()) {
            names.push(f.label());
        }
    }
    names
}

/// The comment marker that starts an inline suppression in the file at
/// `path` (`#` in YAML, `//` in JSONC); `#` when its format has no comments
/// or bylaw does not read it.
pub fn comment_marker(path: &str) -> &'static str {
    Format::of_path(path).and_then(|f| f.comment_markers().first().copied()).unwrap_or("#")
}

/// Whether the file name of `path` ends with `.EXT` for one of `extensions`
/// (lowercase, without the dot), ignoring case: the claim of most formats.
pub fn has_extension(path: &str, extensions: &[&str]) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// The file types of YAML and JSON documents beyond their format, in the
/// order [`structured_type`] tries them, each with what recognizes it.
pub const STRUCTURED_TYPES: &[(&str, &str)] = &[
    ("github-workflow", "a `.yml`/`.yaml` file under `.github/workflows/`"),
    ("github-action", "`action.yml` or `action.yaml` (a composite, Docker or JavaScript action)"),
    ("gitlab-ci", "`.gitlab-ci.yml`, `*.gitlab-ci.yml` or a YAML file under `.gitlab/ci/`"),
    ("kubernetes", "a document with string `apiVersion` and `kind` at its top"),
];

/// The type of a YAML or JSON document beyond its format (see
/// [`STRUCTURED_TYPES`]): GitHub Actions workflows and actions, GitLab CI
/// files by their path as GitHub and GitLab find them (GitHub's "Workflow
/// syntax" and "Metadata syntax for GitHub Actions"; GitLab's `.gitlab-ci.yml`
/// and `include:local` conventions), Kubernetes objects by their
/// `apiVersion` and `kind`. `None` for any other document.
pub fn structured_type(path: &str, doc: &Node) -> Option<&'static str> {
    let yaml = has_extension(path, &["yml", "yaml"]);
    let name = path.rsplit('/').next().unwrap_or(path);
    let dir = &path[..path.len() - name.len()];
    if yaml && (dir.ends_with(".github/workflows/") || dir == ".github/workflows/") {
        return Some("github-workflow");
    }
    if name == "action.yml" || name == "action.yaml" {
        return Some("github-action");
    }
    let gitlab_name = [".gitlab-ci.yml", ".gitlab-ci.yaml"].iter().any(|n| name == *n || name.ends_with(n));
    if gitlab_name || (yaml && (dir.starts_with(".gitlab/ci/") || dir.contains("/.gitlab/ci/"))) {
        return Some("gitlab-ci");
    }
    // bylaw's own documents (`bylaw/v1`) have both too, and are not Kubernetes objects
    let api = doc.str_at(&["apiVersion"]).filter(|a| !a.starts_with("bylaw/"));
    (api.is_some() && doc.str_at(&["kind"]).is_some()).then_some("kubernetes")
}

/// Every value `file.type` can take: the formats' names and
/// [`STRUCTURED_TYPES`], each once, for `match.types` to be checked against.
pub fn type_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for n in FORMATS.iter().map(|f| f.name()).chain(STRUCTURED_TYPES.iter().map(|(t, _)| *t)) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// The Kubernetes identity of a document: `apiVersion`, `kind`,
/// `metadata.namespace` and `metadata.name` (strings); `None` when it has
/// neither a kind nor a name.
pub fn kubernetes_resource(doc: &Node) -> Option<Resource> {
    let r = Resource {
        api_version: doc.str_at(&["apiVersion"]).map(String::from),
        kind: doc.str_at(&["kind"]).map(String::from),
        namespace: doc.str_at(&["metadata", "namespace"]).map(String::from),
        name: doc.str_at(&["metadata", "name"]).map(String::from),
    };
    (r.kind.is_some() || r.name.is_some()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = FORMATS.iter().map(|f| f.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FORMATS.len());
    }

    #[test]
    fn the_first_format_to_claim_a_path_reads_it() {
        let of = |p: &str| Format::of_path(p).map(|f| f.id());
        assert_eq!(of("deploy/app.yaml"), Some("yaml"));
        assert_eq!(of("deploy/APP.YML"), Some("yaml"));
        assert_eq!(of("data/a.json"), Some("json"));
        assert_eq!(of("tsconfig.json"), Some("jsonc"), "JSONC is asked before JSON");
        assert_eq!(of(".vscode/settings.json"), Some("jsonc"));
        assert_eq!(of("x.jsonc"), Some("jsonc"));
        assert_eq!(of("main.tf"), Some("terraform"));
        assert_eq!(of("main.tf.json"), Some("terraform"), "before JSON");
        assert_eq!(of("prod.tfvars.json"), Some("tfvars"));
        assert_eq!(of("Makefile"), None);
        // what policies see
        assert_eq!(Format::JSONC.name(), "json");
    }

    #[test]
    fn yaml_and_json_documents_have_the_type_of_file_they_are() {
        let doc = |src: &str| crate::input::yaml::parse(src).documents.into_iter().next().unwrap();
        let k8s = doc("apiVersion: v1\nkind: Pod\n");
        let other = doc("a: 1\n");
        let ty = |f: Format, p: &str, d: &Node| f.document_type(p, d);
        assert_eq!(ty(Format::YAML, ".github/workflows/ci.yml", &other), "github-workflow");
        assert_eq!(ty(Format::YAML, "sub/.github/workflows/ci.yaml", &other), "github-workflow");
        assert_eq!(ty(Format::YAML, ".github/workflows/nested/x.yml", &other), "yaml", "GitHub reads no subfolder");
        assert_eq!(ty(Format::YAML, "actions/setup/action.yml", &other), "github-action");
        assert_eq!(ty(Format::YAML, ".gitlab-ci.yml", &other), "gitlab-ci");
        assert_eq!(ty(Format::YAML, "ci/deploy.gitlab-ci.yml", &other), "gitlab-ci");
        assert_eq!(ty(Format::YAML, ".gitlab/ci/build.yml", &other), "gitlab-ci");
        assert_eq!(ty(Format::YAML, "deploy/app.yaml", &k8s), "kubernetes");
        assert_eq!(ty(Format::JSON, "deploy/app.json", &k8s), "kubernetes");
        assert_eq!(ty(Format::JSONC, "deploy/app.jsonc", &k8s), "kubernetes");
        assert_eq!(ty(Format::YAML, "config/app.yaml", &other), "yaml");
        let own = doc("apiVersion: bylaw/v1\nkind: PolicyTest\n");
        assert_eq!(ty(Format::YAML, "policies/p.test.yaml", &own), "yaml", "bylaw's own files are not Kubernetes");
        assert_eq!(ty(Format::JSON, "package.json", &other), "json");
        for t in ["yaml", "json", "github-workflow", "github-action", "gitlab-ci", "kubernetes"] {
            assert!(type_names().contains(&t), "{t}");
        }
    }

    #[test]
    fn the_config_sets_the_format_of_files_by_glob() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        let o = FormatOverrides::new(&pairs(&[("infra/*.txt", "yaml"), ("*.conf.json", "jsonc")])).unwrap();
        assert_eq!(o.format_of("infra/a.txt"), Some(Format::YAML));
        assert_eq!(o.format_of("other/a.txt"), None);
        assert_eq!(o.format_of("x/y/app.conf.json"), Some(Format::JSONC), "no `/`: any depth");
        let e = FormatOverrides::new(&pairs(&[("*.x", "yml")])).unwrap_err();
        assert_eq!(e.0, 0);
        assert!(e.1.contains("unknown format `yml` (did you mean `yaml`?)"), "{}", e.1);
        let e = FormatOverrides::new(&pairs(&[("*.x", "yaml"), ("a[", "yaml")])).unwrap_err();
        assert_eq!(e.0, 1);
        assert!(e.1.contains("invalid glob `a[`"), "{}", e.1);
    }

    #[test]
    fn messages_name_each_format_once() {
        assert_eq!(
            format_names(),
            [
                "CloudFormation",
                "Terraform",
                "HCL",
                "YAML",
                "JSON",
                "TOML",
                "INI",
                "Java properties",
                ".env",
                "JSON Lines",
                "Terraform plan",
                "Dockerfile"
            ]
        );
        assert_eq!(comment_marker("a.yaml"), "#");
        assert_eq!(comment_marker("a.jsonc"), "//");
        assert_eq!(comment_marker("a.json"), "#", "strict JSON has no comments");
    }
}
