//! Terraform plans in JSON, as `terraform show -json PLANFILE` writes them
//! (Terraform's "JSON Output Format" page, `format_version` 1.x): a `.json`
//! file recognized by its content ([`InputFormat::sniffs`]: a top-level
//! `format_version` with `planned_values` or `resource_changes` in its
//! first [`SNIFF_BYTES`]), read by the strict JSON reader ([`super::json`]).
//!
//! One document per resource of `planned_values.root_module` and of its
//! `child_modules` (recursively), merged with the `resource_changes` entry
//! of the same `address`, in the shape the Terraform configuration format
//! gives a resource block, so one rule reads both:
//!
//! ```json
//! { "block": "resource", "type": "aws_s3_bucket", "name": "logs",
//!   "address": "module.store.aws_s3_bucket.logs[0]",
//!   "labels": ["aws_s3_bucket", "logs"],
//!   "attributes": { "bucket": "acme-logs", "acl": "public-read" },
//!   "change": { "actions": ["create"], "before": null, "after_unknown": { "id": true } },
//!   "module": "module.store",
//!   "provider": "registry.terraform.io/hashicorp/aws" }
//! ```
//!
//! `block` is `resource` (mode `managed`) or `data`; `attributes` are the
//! planned `values` (nested blocks are already lists there); `change` is
//! there when the plan has one for the resource, `module` when it is in a
//! child module. Every node is the plan's own node (its line and column in
//! the plan file). Resources the plan only destroys have no planned values
//! and no document. The resource identity: kind = `type`, name = `address`.
//!
//! Findings move to the configuration: [`PlanSources`] finds each
//! resource's `resource "TYPE" "NAME"` block in the `*.tf` files of the
//! plan file's directory (and, for a child module, of its `source`
//! directory from the plan's `configuration` section when it is a local
//! path), and the engine reports the finding there
//! ([`InputFormat::relocator`]).

use super::format::{has_extension, InputFormat, Relocate};
use super::{json, ParsedFile};
use crate::node::{Entry, Node, NodeValue, Segment, Span};
use crate::report::Resource;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How much of a `.json` file is looked at to recognize a plan.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// The Terraform plan input format (`file.format` = `terraform-plan`).
pub struct TerraformPlan;

impl InputFormat for TerraformPlan {
    fn id(&self) -> &'static str {
        "terraform-plan"
    }

    fn label(&self) -> &'static str {
        "Terraform plan"
    }

    /// Never by path: a plan is a `.json` file recognized by its content.
    fn claims(&self, _path: &str) -> bool {
        false
    }

    fn sniffs(&self, path: &str, src: &str) -> bool {
        has_extension(path, &["json"]) && is_plan(src)
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        let mut parsed = json::parse(src, false);
        let Some(plan) = parsed.documents.pop() else { return parsed };
        resources(&plan, each);
        parsed
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        Some(Resource {
            api_version: None,
            kind: doc.str_at(&["type"]).map(String::from),
            namespace: None,
            name: doc.str_at(&["address"]).map(String::from),
        })
    }

    fn relocator(&self, path: &str, fs_path: &Path, src: &str) -> Option<Box<dyn Relocate>> {
        let sources = PlanSources::of(path, fs_path, src);
        (!sources.blocks.is_empty()).then(|| Box::new(sources) as Box<dyn Relocate>)
    }
}

/// Whether `src` starts like a plan: a JSON object with a top-level
/// `format_version` and `planned_values` or `resource_changes` among its
/// first [`SNIFF_BYTES`] (Terraform writes them first). Never true of a
/// file that is not a JSON object.
pub fn is_plan(src: &str) -> bool {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    if !src.trim_start().starts_with('{') {
        return false;
    }
    let mut end = src.len().min(SNIFF_BYTES);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let head = &src[..end];
    let changes = |text: &str| text.contains("\"planned_values\"") || text.contains("\"resource_changes\"");
    // `terraform show -json` writes `variables` before `planned_values`:
    // a plan with many variables has its changes further down
    head.contains("\"format_version\"")
        && (changes(head) || (head.contains("\"terraform_version\"") && src.len() > end && changes(&src[end..])))
}

/// Hands one document per planned resource to `each`, in the plan's order.
fn resources(plan: &Node, each: &mut dyn FnMut(Node)) {
    let mut changes: HashMap<&str, &Node> = HashMap::new();
    if let Some(NodeValue::Seq(items)) = plan.get("resource_changes").map(|n| &n.value) {
        for rc in items {
            if let (Some(address), Some(change)) = (rc.str_at(&["address"]), rc.get("change")) {
                changes.insert(address, change);
            }
        }
    }
    if let Some(root) = plan.get("planned_values").and_then(|p| p.get("root_module")) {
        module(root, None, &changes, each, 0);
    }
}

/// The resources of one module of `planned_values`, then of its children.
fn module(m: &Node, address: Option<&Node>, changes: &HashMap<&str, &Node>, each: &mut dyn FnMut(Node), depth: usize) {
    if depth > super::yaml::MAX_DEPTH {
        return;
    }
    if let Some(NodeValue::Seq(items)) = m.get("resources").map(|n| &n.value) {
        for r in items {
            if let Some(doc) = document(r, address, changes) {
                each(doc);
            }
        }
    }
    if let Some(NodeValue::Seq(children)) = m.get("child_modules").map(|n| &n.value) {
        for c in children {
            module(c, c.get("address"), changes, each, depth + 1);
        }
    }
}

/// The entry `key` of `from` (its key's span kept), renamed `as_key`.
fn entry(from: &Node, key: &str, as_key: &str) -> Option<Entry> {
    let NodeValue::Map(entries) = &from.value else { return None };
    let e = entries.iter().find(|e| e.key == key)?;
    Some(Entry { key: as_key.into(), key_span: e.key_span, value: e.value.clone() })
}

/// The document of resource `r` of `planned_values` (see the module doc).
fn document(r: &Node, module: Option<&Node>, changes: &HashMap<&str, &Node>) -> Option<Node> {
    let address = r.str_at(&["address"])?;
    let mut entries = Vec::with_capacity(8);
    let mode = entry(r, "mode", "block")?;
    let block = match mode.value.as_str() {
        Some("data") => "data",
        _ => "resource",
    };
    entries.push(Entry { value: Node { span: mode.value.span, value: str_value(block) }, ..mode });
    let ty = entry(r, "type", "type")?;
    let name = entry(r, "name", "name")?;
    let labels = Node {
        span: ty.value.span.to(name.value.span),
        value: NodeValue::Seq(vec![ty.value.clone(), name.value.clone()]),
    };
    entries.push(ty);
    entries.push(name);
    entries.extend(entry(r, "address", "address"));
    entries.push(Entry { key: "labels".into(), key_span: r.span, value: labels });
    entries.push(entry(r, "values", "attributes").unwrap_or_else(|| Entry {
        key: "attributes".into(),
        key_span: r.span,
        value: Node { span: r.span, value: NodeValue::Map(Vec::new()) },
    }));
    if let Some(change) = changes.get(address) {
        let parts: Vec<Entry> =
            ["actions", "before", "after_unknown"].iter().filter_map(|k| entry(change, k, k)).collect();
        entries.push(Entry {
            key: "change".into(),
            key_span: change.span,
            value: Node { span: change.span, value: NodeValue::Map(parts) },
        });
    }
    if let Some(m) = module {
        entries.push(Entry { key: "module".into(), key_span: m.span, value: m.clone() });
    }
    entries.extend(entry(r, "provider_name", "provider"));
    Some(Node { span: r.span, value: NodeValue::Map(entries) })
}

fn str_value(s: &str) -> NodeValue {
    NodeValue::Str { value: s.into(), plain: false }
}

/// The resource and data blocks of the configuration a plan was made
/// from, as written in its `*.tf` files: where each block starts and where
/// each attribute written directly in it is.
pub struct PlanSources {
    /// By (module address without instance keys, `resource`/`data`, type, name).
    blocks: HashMap<(String, String, String, String), Block>,
}

/// One block in a `.tf` file.
struct Block {
    /// The `.tf` file's display path.
    path: String,
    /// The block's header line (`resource "aws_s3_bucket" "logs" {`).
    header: Span,
    /// Attributes written directly in the block (`acl = "private"`): the
    /// span of their line from the name on.
    attributes: HashMap<String, Span>,
}

/// The part of a plan's `configuration` that says where modules are.
#[derive(serde::Deserialize, Default)]
struct ConfigModule {
    #[serde(default)]
    module_calls: BTreeMap<String, ModuleCall>,
}

#[derive(serde::Deserialize)]
struct ModuleCall {
    source: Option<String>,
    module: Option<ConfigModule>,
}

#[derive(serde::Deserialize)]
struct Configuration {
    root_module: Option<ConfigModule>,
}

#[derive(serde::Deserialize)]
struct PlanConfig {
    configuration: Option<Configuration>,
}

/// A `.tf` file bigger than this is not scanned.
const MAX_TF_BYTES: u64 = 4 << 20;

impl PlanSources {
    /// Scans the configuration of the plan at `fs_path` (display `path`,
    /// text `src`): the `*.tf` files of its directory, and of each child
    /// module's local `source` directory named in `configuration`.
    pub fn of(path: &str, fs_path: &Path, src: &str) -> PlanSources {
        let mut sources = PlanSources { blocks: HashMap::new() };
        let (Some(dir), display) = (fs_path.parent(), path.rsplit_once('/').map_or("", |(d, _)| d)) else {
            return sources;
        };
        let root = serde_json::from_str::<PlanConfig>(src.strip_prefix('\u{feff}').unwrap_or(src))
            .ok()
            .and_then(|p| p.configuration)
            .and_then(|c| c.root_module)
            .unwrap_or_default();
        sources.scan(&root, String::new(), dir.to_path_buf(), display.to_owned(), 0);
        sources
    }

    fn scan(&mut self, m: &ConfigModule, module: String, dir: PathBuf, display: String, depth: usize) {
        if depth > 32 {
            return;
        }
        self.scan_dir(&module, &dir, &display);
        for (name, call) in &m.module_calls {
            let Some(source) = call.source.as_deref().filter(|s| s.starts_with("./") || s.starts_with("../")) else {
                continue;
            };
            let child = if module.is_empty() { format!("module.{name}") } else { format!("{module}.module.{name}") };
            let default = ConfigModule::default();
            let sub = call.module.as_ref().unwrap_or(&default);
            self.scan(sub, child, dir.join(source), join_display(&display, source), depth + 1);
        }
    }

    fn scan_dir(&mut self, module: &str, dir: &Path, display: &str) {
        let Ok(read) = std::fs::read_dir(dir) else { return };
        let mut files: Vec<(String, PathBuf)> = read
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let small = e.metadata().is_ok_and(|m| m.is_file() && m.len() <= MAX_TF_BYTES);
                (small && has_extension(&name, &["tf"])).then(|| (name, e.path()))
            })
            .collect();
        files.sort();
        for (name, p) in files {
            let Ok(text) = std::fs::read_to_string(&p) else { continue };
            let shown = if display.is_empty() { name } else { format!("{display}/{name}") };
            for (block, ty, label, b) in blocks(&text, &shown) {
                self.blocks.entry((module.to_owned(), block, ty, label)).or_insert(b);
            }
        }
    }
}

impl Relocate for PlanSources {
    fn relocate(&self, doc: &Node, segments: &[Segment]) -> Option<(String, Span)> {
        let module = doc.str_at(&["module"]).map(without_keys).unwrap_or_default();
        let key = (
            module,
            doc.str_at(&["block"])?.to_owned(),
            doc.str_at(&["type"])?.to_owned(),
            doc.str_at(&["name"])?.to_owned(),
        );
        let b = self.blocks.get(&key)?;
        let span = match segments {
            [Segment::Key(a), Segment::Key(attr), ..] if a == "attributes" => {
                b.attributes.get(attr.as_str()).copied().unwrap_or(b.header)
            }
            _ => b.header,
        };
        Some((b.path.clone(), span))
    }
}

/// A module address without its instance keys: `module.a["x"].module.b[0]`
/// is `module.a.module.b`.
fn without_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `dir` (a display path, `""` for the root) joined with a relative
/// `source` (`./modules/x`, `../shared`), `.` and `..` resolved.
fn join_display(dir: &str, source: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in source.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The `resource`/`data` blocks of a `.tf` file's text: their kind, type,
/// name, and [`Block`], read by the Terraform format's own parser
/// ([`super::terraform`]), so blocks in comments or heredocs are not
/// blocks. A file with a syntax error gives none: its findings stay in the
/// plan file.
fn blocks(text: &str, path: &str) -> Vec<(String, String, String, Block)> {
    let mut out = Vec::new();
    super::format::Format::TERRAFORM.parse(text, &mut |doc: Node| {
        let (Some(kind), Some(ty), Some(name)) = (doc.str_at(&["block"]), doc.str_at(&["type"]), doc.str_at(&["name"]))
        else {
            return;
        };
        if kind != "resource" && kind != "data" {
            return;
        }
        let mut attributes = HashMap::new();
        if let Some(NodeValue::Map(entries)) = doc.get("attributes").map(|a| &a.value) {
            for e in entries {
                attributes.insert(e.key.to_string(), e.key_span.to(e.value.span));
            }
        }
        let block = Block { path: path.to_owned(), header: doc.span, attributes };
        out.push((kind.to_owned(), ty.to_owned(), name.to_owned(), block));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.0",
  "planned_values": {
    "root_module": {
      "resources": [
        {
          "address": "aws_s3_bucket.logs",
          "mode": "managed",
          "type": "aws_s3_bucket",
          "name": "logs",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "schema_version": 0,
          "values": {
            "bucket": "acme-logs",
            "acl": "public-read",
            "versioning": [{ "enabled": false }]
          }
        },
        {
          "address": "data.aws_iam_policy_document.p",
          "mode": "data",
          "type": "aws_iam_policy_document",
          "name": "p",
          "provider_name": "registry.terraform.io/hashicorp/aws",
          "values": { "json": "{}" }
        }
      ],
      "child_modules": [
        {
          "address": "module.store",
          "resources": [
            {
              "address": "module.store.aws_s3_bucket.data[0]",
              "mode": "managed",
              "type": "aws_s3_bucket",
              "name": "data",
              "index": 0,
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "values": { "bucket": "acme-data", "acl": "public-read" }
            }
          ]
        }
      ]
    }
  },
  "resource_changes": [
    {
      "address": "aws_s3_bucket.logs",
      "mode": "managed",
      "type": "aws_s3_bucket",
      "name": "logs",
      "change": {
        "actions": ["create"],
        "before": null,
        "after": { "bucket": "acme-logs" },
        "after_unknown": { "id": true }
      }
    }
  ],
  "configuration": {
    "root_module": {
      "module_calls": {
        "store": { "source": "./modules/store", "module": {} },
        "remote": { "source": "terraform-aws-modules/vpc/aws" }
      }
    }
  }
}
"#;

    fn read(src: &str) -> (Vec<Node>, ParsedFile) {
        let mut docs = Vec::new();
        let p = TerraformPlan.parse(src, &mut |d| docs.push(d));
        (docs, p)
    }

    #[test]
    fn one_document_per_planned_resource_in_the_shape_of_a_tf_block() {
        let (docs, p) = read(PLAN);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(docs.len(), 3);
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({
                "block": "resource", "type": "aws_s3_bucket", "name": "logs", "address": "aws_s3_bucket.logs",
                "labels": ["aws_s3_bucket", "logs"],
                "attributes": { "bucket": "acme-logs", "acl": "public-read", "versioning": [{ "enabled": false }] },
                "change": { "actions": ["create"], "before": null, "after_unknown": { "id": true } },
                "provider": "registry.terraform.io/hashicorp/aws"
            })
        );
        assert_eq!(docs[1].to_json()["block"], "data");
        assert_eq!(docs[2].to_json()["module"], "module.store");
        assert!(docs[2].get("change").is_none());
        // nodes are the plan's own
        let s = docs[0].value_span_of_pointer("/attributes/acl").0;
        assert_eq!((s.start_line, s.start_col), (16, 20));
        assert_eq!(docs[0].span_of_pointer("/attributes/acl").0.start_col, 13);
        assert_eq!(docs[2].span.start_line, 33);
        let r = TerraformPlan.resource(&docs[2]).unwrap();
        assert_eq!(
            (r.kind.as_deref(), r.name.as_deref()),
            (Some("aws_s3_bucket"), Some("module.store.aws_s3_bucket.data[0]"))
        );
    }

    #[test]
    fn plans_are_sniffed_cheaply_and_nothing_else_is() {
        assert!(TerraformPlan.sniffs("plan.json", PLAN));
        assert!(TerraformPlan.sniffs("x/tfplan.JSON", "{\"format_version\":\"1.2\",\"resource_changes\":[]}"));
        assert!(!TerraformPlan.sniffs("plan.yaml", PLAN));
        assert!(!TerraformPlan.sniffs("package.json", "{\"name\": \"x\", \"version\": \"1\"}"));
        assert!(!TerraformPlan.sniffs("state.json", "{\"format_version\": \"1.0\", \"values\": {}}"));
        assert!(!TerraformPlan.sniffs("a.json", "[\"format_version\", \"planned_values\"]"));
        // many variables before the changes, as `terraform show -json` writes them
        let vars: String = (0..400).map(|i| format!("\"v{i}\": {{\"value\": \"{i}\"}}, ")).collect();
        let big = format!(
            "{{\"format_version\": \"1.2\", \"terraform_version\": \"1.9.5\", \"variables\": {{{vars}\"z\": {{}}}}, \"planned_values\": {{}}}}"
        );
        assert!(big.len() > SNIFF_BYTES);
        assert!(TerraformPlan.sniffs("plan.json", &big));
        let late = format!(
            "{{\"format_version\": \"1.2\", \"x\": \"{}\", \"planned_values\": {{}}}}",
            "é".repeat(SNIFF_BYTES)
        );
        assert!(!TerraformPlan.sniffs("a.json", &late), "only the first kilobytes are read");
        assert_eq!(crate::input::Format::of_file("plan.json", PLAN).map(|f| f.name()), Some("terraform-plan"));
        assert_eq!(crate::input::Format::of_file("plan.json", "{}").map(|f| f.name()), Some("json"));
    }

    #[test]
    fn a_broken_plan_is_a_located_error() {
        let (docs, p) = read("{\"format_version\": \"1.2\", \"planned_values\": {,}}");
        assert!(docs.is_empty());
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 46));
        // a plan without the expected parts has no document, and no error
        let (docs, p) = read(
            "{\"format_version\": \"1.2\", \"planned_values\": {\"root_module\": {\"resources\": [{\"mode\": 1}, 2]}}}",
        );
        assert!(docs.is_empty() && p.errors.is_empty());
    }

    #[test]
    fn tf_blocks_and_their_attributes_are_found_by_the_parser() {
        let tf = "# s3\nresource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"x{\" # }\n  acl    = \"private\"\n  versioning {\n    enabled = true\n  }\n}\n\ndata aws_iam_policy_document p {\n  json = <<EOT\nEOT\n}\nresource \"a\" \"b\" { x = 1 }\n";
        let b = blocks(tf, "main.tf");
        let got: Vec<(&str, &str, &str, u32)> =
            b.iter().map(|(k, t, n, b)| (k.as_str(), t.as_str(), n.as_str(), b.header.start_line)).collect();
        assert_eq!(
            got,
            vec![
                ("resource", "aws_s3_bucket", "logs", 2),
                ("data", "aws_iam_policy_document", "p", 10),
                ("resource", "a", "b", 14)
            ]
        );
        assert_eq!(b[0].3.attributes.get("acl").map(|s| (s.start_line, s.start_col)), Some((4, 3)));
        assert!(!b[0].3.attributes.contains_key("enabled"), "only attributes of the block itself");
        // a block in a comment or a heredoc is not one
        let tf = "/* resource \"aws_db_instance\" \"db\" {\n  publicly_accessible = true\n} */\nlocals {\n  doc = <<EOT\nresource \"aws_db_instance\" \"db\" {\nEOT\n}\nresource \"aws_db_instance\" \"db\" {\n  publicly_accessible = true\n}\n";
        let b = blocks(tf, "main.tf");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].3.header.start_line, 9);
        assert_eq!(b[0].3.attributes.get("publicly_accessible").map(|s| s.start_line), Some(10));
        assert_eq!(without_keys("module.a[\"x]\"].module.b[0]"), "module.a.module.b");
        assert_eq!(join_display("infra", "./modules/x"), "infra/modules/x");
        assert_eq!(join_display("infra/env", "../../modules/x"), "modules/x");
        assert_eq!(join_display("", "../x"), "../x");
    }
}
