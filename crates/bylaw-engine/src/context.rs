//! The pipeline context `ctx` (DESIGN §6), typed: the same shape on every
//! platform. CEL sees it as `ctx` (its JSON form, [`PipelineContext::to_json`]),
//! pipeline policies evaluate against it, and `bylaw schema context` prints
//! its JSON Schema ([`CONTEXT_SCHEMA`]).
//!
//! The engine reads no environment: the adapters build the context — the
//! generic reader of `BYLAW_*` and common CI variables lives in
//! `bylaw_ci::env`, and the GitHub, GitLab and Jenkins adapters put their
//! platform's facts on top.

use serde::{Deserialize, Serialize};

/// JSON Schema (draft 2020-12) of the serialized [`PipelineContext`].
pub const CONTEXT_SCHEMA: &str = include_str!("../../../schemas/context.schema.json");

/// What a run knows about the pipeline it runs in. Serialized keys, in
/// order: `platform`, `repository`, `ref`, `sha`, `event`, `actor`,
/// `environment`, `changed_files`, `pr`, `time`; an unknown value is left
/// out rather than set to `null`, so `has(ctx.sha)` tells whether it is
/// known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineContext {
    /// `github`, `gitlab`, `jenkins`, `local` (no CI), or what
    /// `BYLAW_PLATFORM` says.
    pub platform: String,
    /// `owner/name` (GitHub) or the project path (GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The branch or ref the run is for (a change request's head branch).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The commit checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// What started the pipeline: `pull_request`, `push`,
    /// `merge_request_event`, … (`local` outside CI).
    pub event: String,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The environment the run enforces (DESIGN §4), when one is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Paths the change request touches, relative to the repository root
    /// (empty when unknown).
    #[serde(default)]
    pub changed_files: Vec<String>,
    /// The pull or merge request, only when the run is for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<ChangeRequest>,
    /// When the run happened: RFC 3339, UTC, whole seconds.
    pub time: String,
}

/// A pull request (GitHub), merge request (GitLab) or change (Jenkins).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// Its number (`#42`, `!7`).
    pub number: ChangeNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Who opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The branch it merges into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ref: Option<String>,
    /// The branch it merges from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_ref: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub draft: bool,
}

/// A change request's number: an integer, or the text a CI variable held
/// when it is not one (kept rather than dropped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChangeNumber {
    Number(i64),
    Text(String),
}

impl Default for ChangeNumber {
    fn default() -> Self {
        ChangeNumber::Number(0)
    }
}

impl From<&str> for ChangeNumber {
    fn from(s: &str) -> Self {
        s.parse::<i64>().map_or_else(|_| ChangeNumber::Text(s.to_owned()), ChangeNumber::Number)
    }
}

impl PipelineContext {
    /// The JSON value CEL evaluates as `ctx`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> PipelineContext {
        PipelineContext {
            platform: "github".into(),
            repository: Some("acme/app".into()),
            git_ref: Some("feature/x".into()),
            sha: Some("abc".into()),
            event: "pull_request".into(),
            actor: Some("alice".into()),
            environment: Some("prod".into()),
            changed_files: vec!["a.yaml".into()],
            pr: Some(ChangeRequest {
                number: ChangeNumber::Number(42),
                title: Some("SEC-1 fix".into()),
                body: Some("why".into()),
                author: Some("alice".into()),
                base_ref: Some("main".into()),
                head_ref: Some("feature/x".into()),
                labels: vec!["security".into()],
                draft: false,
            }),
            time: "2026-05-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn serializes_in_the_documented_order_and_round_trips() {
        let ctx = full();
        let v = ctx.to_json();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["platform", "repository", "ref", "sha", "event", "actor", "environment", "changed_files", "pr", "time"]
        );
        assert_eq!(v["pr"]["number"], 42);
        let back: PipelineContext = serde_json::from_value(v).unwrap();
        assert_eq!(back, ctx);
        // unknown values are left out, not null
        let bare = PipelineContext { platform: "local".into(), event: "local".into(), ..Default::default() };
        assert_eq!(bare.to_json(), json!({"platform": "local", "event": "local", "changed_files": [], "time": ""}));
        assert_eq!(ChangeNumber::from("7"), ChangeNumber::Number(7));
        assert_eq!(ChangeNumber::from("I7a"), ChangeNumber::Text("I7a".into()));
    }

    #[test]
    fn the_schema_describes_exactly_what_is_serialized() {
        let schema: serde_json::Value = serde_json::from_str(CONTEXT_SCHEMA).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        let ctx = full().to_json();
        assert!(v.is_valid(&ctx), "{:?}", v.iter_errors(&ctx).map(|e| e.to_string()).collect::<Vec<_>>());
        let props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let keys: Vec<&String> = ctx.as_object().unwrap().keys().collect();
        assert_eq!(props, keys, "one schema property per field, in order");
        let pr_props: Vec<&String> =
            schema["$defs"]["changeRequest"]["properties"].as_object().unwrap().keys().collect();
        let pr_keys: Vec<&String> = ctx["pr"].as_object().unwrap().keys().collect();
        assert_eq!(pr_props, pr_keys);
        // a key the type does not have is refused by both
        let mut extra = ctx.clone();
        extra["colour"] = json!("blue");
        assert!(!v.is_valid(&extra));
        assert!(serde_json::from_value::<PipelineContext>(extra).is_err());
    }
}
