//! AWS CloudFormation templates (and SAM templates), in YAML or JSON
//! (AWS CloudFormation User Guide, "Template anatomy" and "Intrinsic
//! function reference"), read into one document per resource.
//!
//! Which files: a `.yaml`, `.yml`, `.json` or `.template` file whose first
//! [`SNIFF_BYTES`] bytes hold a top-level `AWSTemplateFormatVersion` key, a
//! top-level `Transform: AWS::Serverless…`, or a top-level `Resources`
//! whose entries have a `Type: AWS::…` ([`CloudFormation::sniffs`]); and by
//! name `*.template`, `*.cfn.yaml`, `*.cfn.yml`, `*.cfn.json`. A file
//! claimed by name that is not a template (no top-level
//! `AWSTemplateFormatVersion`, `Resources` or `Transform`: `*.template` is
//! also the extension of envsubst and Jinja templates) has no documents
//! and no error.
//!
//! YAML is read by the YAML reader (`yaml.rs`: spans, comments, errors,
//! limits) with two changes ([`yaml::Options`]): plain values are read as
//! YAML 1.1 (CloudFormation reads YAML 1.1: `yes` is `true`), and the
//! short forms of the intrinsic functions are read as their long forms:
//! `!Ref X` is `{"Ref": "X"}`, `!Sub s` is `{"Fn::Sub": s}`, `!GetAtt A.B`
//! is `{"Fn::GetAtt": ["A", "B"]}` (split at the first dot), on scalars,
//! sequences and mappings ([`LONG_FORMS`]). The long-form mapping spans the
//! tagged node, its key the tag. Any other `!Tag` is a located error, as
//! CloudFormation refuses it. A file whose first character is `{` is JSON
//! (`json.rs`: strict, no comments).
//!
//! Documents ([`documents`]): first the template itself (every top-level
//! section but `Resources`, as written; its resource kind is
//! [`TEMPLATE_KIND`]), then one per resource, in order: a mapping with
//! `LogicalId` (the logical id, located at its key), the resource's own
//! keys as written (`Type`, `Properties`, `Condition`, `DependsOn`,
//! `DeletionPolicy`, `Metadata`, …) and `Template`, the template's
//! `Parameters` and `Conditions` (when it has them), so a rule can follow
//! `{"Ref": "P"}` to `doc.Template.Parameters.P.Default`. Every node is the
//! template's own, with its span.

use super::format::{has_extension, InputFormat};
use super::{json, yaml, ParsedFile, SyntaxError};
use crate::node::{count_nodes, Entry, Node, NodeValue, Span};
use crate::report::Resource;

/// The CloudFormation input format (see the module doc).
pub struct CloudFormation;

/// The resource kind of the template's own document (`match.kinds`).
pub const TEMPLATE_KIND: &str = "CloudFormation::Template";

/// How much of a file [`CloudFormation::sniffs`] reads: 8 KiB.
pub const SNIFF_BYTES: usize = 8192;

/// The short-form tags of the intrinsic functions and condition functions
/// (and the rule functions of the `Rules` section), with their long forms.
pub const LONG_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("FindInMap", "Fn::FindInMap"),
    ("ForEach", "Fn::ForEach"),
    ("GetAtt", "Fn::GetAtt"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Join", "Fn::Join"),
    ("Length", "Fn::Length"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("Sub", "Fn::Sub"),
    ("ToJsonString", "Fn::ToJsonString"),
    ("Transform", "Fn::Transform"),
    ("And", "Fn::And"),
    ("Equals", "Fn::Equals"),
    ("If", "Fn::If"),
    ("Not", "Fn::Not"),
    ("Or", "Fn::Or"),
    ("Contains", "Fn::Contains"),
    ("EachMemberEquals", "Fn::EachMemberEquals"),
    ("EachMemberIn", "Fn::EachMemberIn"),
    ("RefAll", "Fn::RefAll"),
    ("ValueOf", "Fn::ValueOf"),
    ("ValueOfAll", "Fn::ValueOfAll"),
    ("Implies", "Fn::Implies"),
];

impl InputFormat for CloudFormation {
    fn block_suppressions(&self) -> bool {
        true
    }

    fn id(&self) -> &'static str {
        "cloudformation"
    }

    fn label(&self) -> &'static str {
        "CloudFormation"
    }

    fn claims(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        has_extension(&name, &["template"]) || [".cfn.yaml", ".cfn.yml", ".cfn.json"].iter().any(|s| name.ends_with(s))
    }

    fn sniffs(&self, path: &str, src: &str) -> bool {
        has_extension(path, &["yaml", "yml", "json", "template"])
            && (looks_like_template(head(src), false) || (src.len() > SNIFF_BYTES && later_resources(src)))
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        if !looks_like_template(src, true) {
            return ParsedFile::default();
        }
        let mut templates = Vec::new();
        let mut parsed = if is_json(src) {
            json::parse_each(src, false, &mut |d| templates.push(d))
        } else {
            let opts = yaml::Options { tags: Some(long_form), yaml11: true };
            super::parse_yaml_input(src, opts, &mut |d| templates.push(d))
        };
        for t in templates {
            documents(t, &mut parsed.errors, each);
        }
        parsed
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        let Some(id) = doc.str_at(&["LogicalId"]) else {
            return Some(Resource { kind: Some(TEMPLATE_KIND.into()), ..Resource::default() });
        };
        Some(Resource { kind: doc.str_at(&["Type"]).map(String::from), name: Some(id.into()), ..Resource::default() })
    }
}

/// The first [`SNIFF_BYTES`] of `src` (cut at a character boundary).
fn head(src: &str) -> &str {
    let mut end = src.len().min(SNIFF_BYTES);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    &src[..end]
}

/// Whether a template too long to be told by its first [`SNIFF_BYTES`]
/// (`AWSTemplateFormatVersion` is optional, and `Parameters`, `Mappings`
/// and `Metadata` may fill the start) has its `Resources` further down: a
/// top-level `Resources:` line whose next [`SNIFF_BYTES`] show an entry of
/// `Type: AWS::…` (YAML), or the whole JSON object scanned. Linear in the
/// file, asked only of files longer than the window.
fn later_resources(src: &str) -> bool {
    if is_json(src) {
        return json_sniff(src, false);
    }
    let mut from = 0;
    while let Some(at) = src[from..].find("\nResources:") {
        let start = from + at + 1;
        if src[..start].contains("\n---") {
            return false;
        }
        if looks_like_template(head(&src[start..]), false) {
            return true;
        }
        from = start;
    }
    false
}

/// Whether the text (after a byte order mark and blanks) starts with `{`: JSON.
fn is_json(src: &str) -> bool {
    src.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']).starts_with('{')
}

/// Whether `text` (the start of a file, or all of it) is a CloudFormation
/// template: a top-level `AWSTemplateFormatVersion`, a top-level
/// `Transform` naming `AWS::Serverless…`, or a top-level `Resources` with
/// an entry's `Type: AWS::…`; with `loose`, any top-level `Resources`.
pub fn looks_like_template(text: &str, loose: bool) -> bool {
    if is_json(text) {
        json_sniff(text, loose)
    } else {
        yaml_sniff(text, loose)
    }
}

/// A top-level key of a YAML line (no indentation, plain or quoted), and
/// the text after its `:`.
fn yaml_key(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = match line.as_bytes().first()? {
        q @ (b'"' | b'\'') => {
            let end = line[1..].find(*q as char)? + 1;
            (&line[1..end], &line[end + 1..])
        }
        _ => {
            let end = line.find(':')?;
            (&line[..end], &line[end..])
        }
    };
    let value = rest.trim_start_matches([' ', '\t']).strip_prefix(':')?;
    (value.is_empty() || value.starts_with([' ', '\t', '\r'])).then_some((key.trim_end(), value))
}

/// A YAML scalar as written on a line, without quotes and a comment.
fn yaml_value(v: &str) -> &str {
    let v = v.trim_matches([' ', '\t', '\r']);
    let v = v.strip_prefix("- ").unwrap_or(v).trim_start();
    v.trim_start_matches(['"', '\'']).split([' ', '"', '\'', '#']).next().unwrap_or_default()
}

fn yaml_sniff(text: &str, loose: bool) -> bool {
    // the top-level section the lines below belong to, and the indentation
    // of its entries (the logical ids, under `Resources`)
    let mut section = "";
    let mut entries = usize::MAX;
    // a template is one document: a second one after `---` (a stream of
    // Kubernetes manifests, say) makes the file not a template
    let mut content = false;
    for line in text.lines() {
        let first = line.bytes().next();
        match first {
            None | Some(b'#') => continue,
            Some(b'-') if line.starts_with("---") && content => return false,
            Some(b' ' | b'\t' | b'-') if line.starts_with("---") => continue,
            Some(b' ' | b'\t' | b'-') => {
                content = true;
                let body = line.trim_start_matches([' ', '\t']);
                if body.is_empty() || body.starts_with('#') {
                    continue;
                }
                let indent = line.len() - body.len();
                entries = entries.min(indent);
                match (section, yaml_key(body)) {
                    ("Resources", Some(("Type", v))) if indent > entries && yaml_value(v).starts_with("AWS::") => {
                        return true
                    }
                    ("Transform", _) if yaml_value(line).starts_with("AWS::Serverless") => return true,
                    _ => {}
                }
            }
            Some(_) => {
                content = true;
                let Some((key, value)) = yaml_key(line) else {
                    section = "";
                    continue;
                };
                match key {
                    "AWSTemplateFormatVersion" => return true,
                    "Transform" if yaml_value(value).starts_with("AWS::Serverless") => return true,
                    "Resources" if loose => return true,
                    _ => {}
                }
                section = if key == "Resources" || key == "Transform" { key } else { "" };
                entries = usize::MAX;
            }
        }
    }
    false
}

fn json_sniff(text: &str, loose: bool) -> bool {
    let b = text.as_bytes();
    // open containers (`{` or `[`), whether the next string is a key, the
    // last key at each level (only the first three levels matter)
    let mut stack: Vec<u8> = Vec::new();
    let mut expect_key = false;
    let mut keys: [&str; 4] = [""; 4];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c @ (b'{' | b'[') => {
                stack.push(c);
                expect_key = c == b'{';
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&b'{'),
            b':' => expect_key = false,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let s = text.get(start..i.min(b.len())).unwrap_or_default();
                let depth = stack.len();
                if expect_key {
                    if depth < keys.len() {
                        keys[depth] = s;
                    }
                    match (depth, s) {
                        (1, "AWSTemplateFormatVersion") => return true,
                        (1, "Resources") if loose => return true,
                        _ => {}
                    }
                } else {
                    if keys[1] == "Transform" && s.starts_with("AWS::Serverless") {
                        return true;
                    }
                    if depth == 3 && keys[1] == "Resources" && keys[3] == "Type" && s.starts_with("AWS::") {
                        return true;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// The YAML tag hook ([`yaml::Options::tags`]): a short form read as its
/// long form; any other tag is an error.
fn long_form(handle: &str, suffix: &str, mut node: Node, tag: Span) -> Result<Node, String> {
    let key = match LONG_FORMS.iter().find(|(short, _)| handle == "!" && *short == suffix) {
        Some((_, long)) => *long,
        None => {
            return Err(format!(
                "unknown tag `{handle}{suffix}`: CloudFormation reads only the short forms of its functions (`!Ref`, `!Sub`, `!GetAtt`, `!If`, …)"
            ))
        }
    };
    if let NodeValue::Str { value, plain } = &mut node.value {
        // the argument is a string as written, whatever it looks like
        *plain = false;
        if key == "Fn::GetAtt" {
            if let Some((resource, attribute)) = value.split_once('.') {
                let part = |s: &str| Node { span: node.span, value: NodeValue::Str { value: s.into(), plain: false } };
                node.value = NodeValue::Seq(vec![part(resource), part(attribute)]);
            }
        }
    }
    Ok(Node { span: node.span, value: NodeValue::Map(vec![Entry { key: key.into(), key_span: tag, value: node }]) })
}

/// The documents of one template (see the module doc), handed to `each`;
/// what is not a template's shape is an error in `errors`.
pub fn documents(template: Node, errors: &mut Vec<SyntaxError>, each: &mut dyn FnMut(Node)) {
    let err =
        |span: Span, message: String| SyntaxError { line: span.start_line, col: span.start_col, message, first: None };
    let root_span = template.span;
    let NodeValue::Map(sections) = template.value else {
        errors.push(err(root_span, "a CloudFormation template is a mapping of sections (`Resources`, …)".into()));
        return;
    };
    let mut resources = None;
    let mut rest = Vec::with_capacity(sections.len());
    for e in sections {
        if e.key == "Resources" {
            resources = Some(e);
        } else {
            rest.push(e);
        }
    }
    // what every resource's document holds under `Template`
    let shared: Vec<Entry> = rest.iter().filter(|e| e.key == "Parameters" || e.key == "Conditions").cloned().collect();
    let resources = match resources.map(|e| e.value) {
        Some(Node { value: NodeValue::Map(entries), .. }) => entries,
        Some(other) if !matches!(other.value, NodeValue::Null) => {
            errors.push(err(other.span, "`Resources` must be a mapping of logical ids to resources".into()));
            Vec::new()
        }
        _ => Vec::new(),
    };
    let shared_nodes: usize = shared.iter().map(|e| count_nodes(&e.value)).sum();
    let shared = if shared_nodes.saturating_mul(resources.len()) > yaml::MAX_DOCUMENT_NODES {
        let at = shared.first().map_or(root_span, |e| e.key_span);
        errors.push(err(
            at,
            format!(
                "the template's Parameters and Conditions ({shared_nodes} values) are too large to copy into each of its {} resources: their documents have no `Template` key",
                resources.len()
            ),
        ));
        Vec::new()
    } else {
        shared
    };
    each(Node { span: root_span, value: NodeValue::Map(rest) });
    for r in resources {
        let Node { span, value: NodeValue::Map(fields) } = r.value else {
            errors.push(err(r.value.span, format!("resource `{}` must be a mapping (`Type`, `Properties`, …)", r.key)));
            continue;
        };
        let mut entries = Vec::with_capacity(fields.len() + 2);
        let id = Node { span: r.key_span, value: NodeValue::Str { value: r.key.clone(), plain: false } };
        entries.push(Entry { key: "LogicalId".into(), key_span: r.key_span, value: id });
        entries.extend(fields);
        if !shared.is_empty() {
            let value = Node { span: root_span, value: NodeValue::Map(shared.clone()) };
            entries.push(Entry { key: "Template".into(), key_span: root_span, value });
        }
        each(Node { span: r.key_span.to(span), value: NodeValue::Map(entries) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{parse, parse_path, Format};

    fn cfn(src: &str) -> ParsedFile {
        parse(Format::CLOUDFORMATION, src)
    }

    fn span_at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    const TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Public: { Type: String, Default: 'false' }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket # the bucket
    Properties:
      BucketName: !Sub '${AWS::StackName}-logs' # bylaw:ignore X -- ok
      Arn: !GetAtt Role.Arn
      Name: !If
        - IsProd
        - !Ref AWS::NoValue
        - x
  Db:
    Type: AWS::RDS::DBInstance
    Condition: IsProd
    Properties:
      PubliclyAccessible: !Ref Public
Outputs:
  Name: { Value: !Ref Bucket }
";

    #[test]
    fn resources_are_documents_with_their_spans() {
        let p = cfn(TEMPLATE);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.documents.len(), 3);
        let t = &p.documents[0];
        assert!(t.get("Resources").is_none());
        assert_eq!(t.to_json()["Outputs"]["Name"]["Value"], serde_json::json!({"Ref": "Bucket"}));
        assert_eq!(CloudFormation.resource(t).and_then(|r| r.kind).as_deref(), Some(TEMPLATE_KIND));
        let b = &p.documents[1];
        let j = b.to_json();
        assert_eq!(j["LogicalId"], "Bucket");
        assert_eq!(j["Type"], "AWS::S3::Bucket");
        assert_eq!(j["Properties"]["BucketName"], serde_json::json!({"Fn::Sub": "${AWS::StackName}-logs"}));
        assert_eq!(j["Properties"]["Arn"], serde_json::json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(j["Properties"]["Name"], serde_json::json!({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}));
        assert_eq!(j["Template"]["Parameters"]["Public"]["Default"], "false");
        assert_eq!(j["Template"]["Conditions"]["IsProd"], serde_json::json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}));
        // the document starts at its logical id; LogicalId is located at it
        assert_eq!((b.span.start_line, b.span.start_col), (7, 3));
        assert_eq!(span_at(b, "/LogicalId"), (7, 3, 7, 9));
        assert_eq!(span_at(b, "/Type"), (8, 11, 8, 26));
        // the long form spans the tagged node, its key the tag
        assert_eq!(span_at(b, "/Properties/Arn"), (11, 12, 11, 28));
        let arn = b.at(&crate::node::parse_pointer("/Properties/Arn")).unwrap();
        let NodeValue::Map(e) = &arn.value else { panic!() };
        assert_eq!((e[0].key_span.start_line, e[0].key_span.start_col, e[0].key_span.end_col), (11, 12, 19));
        assert_eq!(span_at(b, "/Properties/Name").0, 12);
        assert_eq!(span_at(b, "/Properties/Name/Fn::If/1").0, 14);
        let db = &p.documents[2];
        assert_eq!(span_at(db, "/Properties/PubliclyAccessible"), (20, 27, 20, 38));
        let r = CloudFormation.resource(db).unwrap();
        assert_eq!((r.kind.as_deref(), r.name.as_deref()), (Some("AWS::RDS::DBInstance"), Some("Db")));
        // comments, and none inside a tagged quoted scalar
        let c: Vec<_> = p.comments.iter().map(|c| (c.line, c.col)).collect();
        assert_eq!(c, vec![(8, 27), (10, 49)]);
    }

    #[test]
    fn tags_on_every_kind_of_node() {
        let src = "Resources:\n  A:\n    Type: AWS::X::Y\n    Properties:\n      M: !Transform { Name: T, Parameters: { a: 1 } }\n      J: !Join\n        - ''\n        - [a, !Ref B]\n      S: !Select [0, !GetAZs '']\n      Q: !Sub \"a # b\"\n      Y: yes\n      N: !ImportValue 0644\n      D: !GetAtt Db.Endpoint.Address\n";
        let p = cfn(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let j = p.documents[1].to_json();
        let props = &j["Properties"];
        assert_eq!(props["M"], serde_json::json!({"Fn::Transform": {"Name": "T", "Parameters": {"a": 1}}}));
        assert_eq!(props["J"], serde_json::json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]}));
        assert_eq!(props["S"], serde_json::json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(props["Q"], serde_json::json!({"Fn::Sub": "a # b"}));
        assert_eq!(props["Y"], true, "YAML 1.1, as CloudFormation reads it");
        assert_eq!(props["N"], serde_json::json!({"Fn::ImportValue": "0644"}), "a tagged argument stays as written");
        assert_eq!(props["D"], serde_json::json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]}));
        assert!(p.comments.is_empty(), "`#` inside a tagged quoted scalar is data: {:?}", p.comments);
        let d = &p.documents[1];
        assert_eq!(span_at(d, "/Properties/M"), (5, 10, 5, 54));
        assert_eq!(span_at(d, "/Properties/J"), (6, 10, 8, 22));
    }

    #[test]
    fn unknown_tags_and_bad_shapes_are_located_errors() {
        let p = cfn("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A:\n    Type: AWS::X::Y\n    Properties: { P: !Foo x }\n");
        assert!(p.documents.is_empty());
        assert_eq!((p.errors[0].line, p.errors[0].col), (5, 22), "{:?}", p.errors);
        assert!(p.errors[0].message.contains("unknown tag `!Foo`"), "{}", p.errors[0].message);
        let p = cfn("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: 1\n  B: { Type: AWS::X::Y }\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (3, 6), "{:?}", p.errors);
        assert_eq!(p.documents.len(), 2, "the other resources are read");
        let p = cfn("AWSTemplateFormatVersion: '2010-09-09'\nResources: [1]\n");
        assert_eq!(p.errors[0].line, 2);
        let p = cfn("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: { Type: [ }\n");
        assert_eq!(p.errors[0].line, 3, "{:?}", p.errors);
        let p = cfn("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: !If [&a x, *a]\n");
        assert!(p.errors[0].message.contains("anchor"), "{:?}", p.errors);
    }

    #[test]
    fn json_templates() {
        let src = "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {\n    \"Db\": {\n      \"Type\": \"AWS::RDS::DBInstance\",\n      \"Properties\": { \"PubliclyAccessible\": { \"Ref\": \"P\" } }\n    }\n  }\n}\n";
        assert_eq!(Format::of_file("stack.json", src), Some(Format::CLOUDFORMATION));
        let p = parse_path("stack.json", src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[1];
        assert_eq!(d.to_json()["Properties"]["PubliclyAccessible"], serde_json::json!({"Ref": "P"}));
        assert_eq!(span_at(d, "/Properties/PubliclyAccessible"), (6, 45, 6, 59));
        assert_eq!(span_at(d, "/LogicalId"), (4, 5, 4, 9));
        let p = parse_path("stack.json", "{\"AWSTemplateFormatVersion\": \"x\", }");
        assert_eq!(p.errors.len(), 1);
    }

    #[test]
    fn sniffing_is_exact() {
        let of = |p: &str, s: &str| Format::of_file(p, s).map(|f| f.id());
        let cfn = Some("cloudformation");
        assert_eq!(of("a.yaml", "AWSTemplateFormatVersion: \"2010-09-09\"\nResources: {}\n"), cfn);
        assert_eq!(of("a.yml", "# c\n---\nResources:\n  B:\n    Type: 'AWS::S3::Bucket'\n"), cfn);
        assert_eq!(of("a.yaml", "Transform: AWS::Serverless-2016-10-31\nResources: {}\n"), cfn);
        assert_eq!(of("a.yaml", "Transform:\n  - AWS::Serverless-2016-10-31\n"), cfn);
        assert_eq!(of("a.template", "{\"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}}"), cfn);
        assert_eq!(of("a.json", "{\"Transform\": [\"AWS::Serverless-2016-10-31\"]}"), cfn);
        // not templates
        let k8s = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: t }\ndata:\n  t.yaml: |\n    AWSTemplateFormatVersion: x\n    Resources:\n      B:\n        Type: AWS::S3::Bucket\n";
        assert_eq!(of("cm.yaml", k8s), Some("yaml"));
        let gha = "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo AWSTemplateFormatVersion\n        env: { Type: AWS::S3::Bucket }\n";
        assert_eq!(of(".github/workflows/ci.yml", gha), Some("yaml"));
        assert_eq!(
            of("a.yaml", "Resources:\n  cpu: 1\n  Type: AWS::S3::Bucket\nOther:\n  Type: AWS::S3::Bucket\n"),
            Some("yaml")
        );
        assert_eq!(
            of("a.json", "{\"a\": {\"AWSTemplateFormatVersion\": 1}, \"b\": \"\\\"AWSTemplateFormatVersion\\\": 1\"}"),
            Some("json")
        );
        assert_eq!(of("a.json", "{\"Resources\": {\"Type\": \"AWS::S3::Bucket\"}}"), Some("json"));
        assert_eq!(of("main.tf", "AWSTemplateFormatVersion: x\n"), Some("terraform"), "not sniffed: Terraform by name");
        // a stream of documents is not a template, whatever a later one holds
        let stream = "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n---\nAWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n";
        assert_eq!(of("all.yaml", stream), Some("yaml"));
        assert_eq!(of("t.yaml", "---\nAWSTemplateFormatVersion: '2010-09-09'\n"), cfn, "a leading --- is fine");
        // a long template with its resources after the first window
        let params: String = (0..400).map(|i| format!("  P{i}:\n    Type: String\n")).collect();
        let long =
            format!("Description: x\nParameters:\n{params}Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n");
        assert!(long.len() > SNIFF_BYTES);
        assert_eq!(of("stack.yaml", &long), cfn);
        let long_k8s = format!("apiVersion: v1\nkind: ConfigMap\ndata:\n{params}  Resources: x\n");
        assert_eq!(of("cm.yaml", &long_k8s), Some("yaml"));
        // by name
        assert_eq!(of("stack.cfn.yaml", "Resources: {}\n"), cfn);
        assert_eq!(of("nginx.conf.template", "server { listen 80; }\n"), cfn);
        // but a `.template` that is not a template has no documents, no errors
        let p = parse_path("nginx.conf.template", "server {\n  listen ${PORT};\n}\n");
        assert!(p.documents.is_empty() && p.errors.is_empty(), "{:?}", p.errors);
    }

    #[test]
    fn ordinary_yaml_keeps_tags_as_plain_values() {
        let p = parse_path("a.yaml", "a: !Ref x\nb: !If [c, d]\n");
        assert!(p.errors.is_empty());
        assert_eq!(p.documents[0].to_json(), serde_json::json!({"a": "x", "b": ["c", "d"]}));
    }

    #[test]
    fn hostile_templates_are_bounded() {
        let deep =
            format!("AWSTemplateFormatVersion: x\nResources:\n  A: {}{}\n", "!If [".repeat(300), "]".repeat(300));
        let p = cfn(&deep);
        assert!(!p.errors.is_empty());
        // Parameters copied into every resource's document: bounded
        let mut src = String::from("AWSTemplateFormatVersion: x\nParameters:\n");
        for i in 0..2000 {
            src.push_str(&format!("  P{i}: {{ Type: String, Default: a, AllowedValues: [a, b, c] }}\n"));
        }
        src.push_str("Resources:\n");
        for i in 0..200 {
            src.push_str(&format!("  R{i}: {{ Type: AWS::X::Y }}\n"));
        }
        let p = cfn(&src);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 2);
        assert_eq!(p.documents.len(), 201);
        assert!(p.documents[1].get("Template").is_none());
    }
}
