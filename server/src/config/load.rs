//! Reading `berth.yml`: `${VAR}` expansion, typed parsing with key paths and line numbers,
//! `BERTH_<SECTION>__<KEY>` overrides, and semantic validation.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::{AuthMode, Config, RetentionRuleKind};

/// The commented default configuration printed by `berth --print-default-config`.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("default.yml");

/// Top-level keys that `BERTH_<SECTION>…` variables may override; other `BERTH_` variables
/// (such as `BERTH_CONFIG` or `BERTH_ADMIN_PASSWORD`) are not configuration keys.
const SECTIONS: &[&str] = &[
    "hostname",
    "external_url",
    "http",
    "https",
    "data_dir",
    "keys_dir",
    "database",
    "storage",
    "auth_mode",
    "token_expiration",
    "session_timeout",
    "oidc",
    "trivy",
    "clair",
    "scanning",
    "retention",
    "retention_schedule",
    "immutable_tag_rules",
    "policy_files",
    "storage_quota",
    "registry",
    "gc",
    "outbound",
    "log",
];

/// Why a configuration was refused: which key, where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(
            f,
            ": invalid configuration at `{}`: {}",
            self.key, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// Loads the configuration from a file (or the defaults when `path` is `None`), with the
/// process environment for `${VAR}` and overrides.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match path {
        Some(path) => {
            let source = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                source: source.clone(),
                key: "(file)".into(),
                line: None,
                message: format!("cannot read the configuration file: {e}"),
            })?;
            load_from_str(&text, &source, &env)
        }
        None => load_from_str("", "(defaults)", &env),
    }
}

pub fn load_from_str(
    text: &str,
    source: &str,
    env: &BTreeMap<String, String>,
) -> Result<Config, ConfigError> {
    let err = |key: &str, line: Option<usize>, message: String| ConfigError {
        source: source.to_string(),
        key: key.to_string(),
        line,
        message,
    };

    let expanded = expand_env(text, env).map_err(|(line, var)| {
        err(
            &format!("${{{var}}}"),
            Some(line),
            format!("environment variable {var} is not set"),
        )
    })?;

    let document: Value = serde_yaml::from_str(&expanded).map_err(|e| {
        err(
            "(document)",
            e.location().map(|l| l.line()),
            format!("not valid YAML: {}", strip_location(&e)),
        )
    })?;
    let mut config = match &document {
        Value::Null => Config::default(),
        Value::Mapping(_) => {
            let de = serde_yaml::Deserializer::from_str(&expanded);
            serde_path_to_error::deserialize::<_, Config>(de).map_err(|e| {
                let key = e.path().to_string();
                let line = e.inner().location().map(|l| l.line());
                err(&key, line, strip_location(e.inner()))
            })?
        }
        other => {
            return Err(err(
                "(document)",
                Some(1),
                format!("expected a mapping of settings, found {}", yaml_kind(other)),
            ))
        }
    };

    let mut overrides = env_overrides(env);
    if let Some(url) = env.get("DATABASE_URL").filter(|u| !u.is_empty()) {
        let in_file = config
            .database
            .url
            .as_deref()
            .is_some_and(|u| !u.is_empty());
        if !in_file {
            let path = vec!["database".to_string(), "url".to_string()];
            overrides.insert(0, ("DATABASE_URL".into(), path, Value::String(url.clone())));
        }
    }
    if !overrides.is_empty() {
        // Overrides apply to the document as written, then the whole result is checked again;
        // an error now can only come from an override, so it names the variable.
        let mut merged = match document {
            Value::Mapping(map) => Value::Mapping(map),
            _ => Value::Mapping(Mapping::new()),
        };
        for (_, path, value) in &overrides {
            set_path(&mut merged, path, value.clone());
        }
        config = serde_path_to_error::deserialize::<_, Config>(merged).map_err(|e| {
            let key = e.path().to_string();
            let var = overrides
                .iter()
                .find(|(_, path, _)| key.starts_with(&path.join(".")))
                .map(|(var, _, _)| format!(" (set by environment variable {var})"))
                .unwrap_or_default();
            err(&key, None, format!("{}{var}", strip_location(e.inner())))
        })?;
    }

    validate(&config).map_err(|(path, message)| {
        let keys: Vec<&str> = path.split('.').collect();
        err(&path, locate(text, &keys), message)
    })?;
    Ok(config)
}

/// Replaces `${VAR}` with the variable's value; comment lines are left alone.
/// Returns the 1-based line and name of the first variable that is not set.
fn expand_env(text: &str, env: &BTreeMap<String, String>) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + 2 + len];
            out.push_str(&rest[..start]);
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => return Err((index + 1, name.to_string())),
            }
            rest = &rest[start + 3 + len..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// `BERTH_HTTP__PORT=9000` → (`BERTH_HTTP__PORT`, [http, port], 9000).
fn env_overrides(env: &BTreeMap<String, String>) -> Vec<(String, Vec<String>, Value)> {
    env.iter()
        .filter_map(|(var, value)| {
            let rest = var.strip_prefix("BERTH_")?;
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            if !SECTIONS.contains(&path[0].as_str()) {
                return None;
            }
            let value =
                serde_yaml::from_str::<Value>(value).unwrap_or(Value::String(value.clone()));
            Some((var.clone(), path, value))
        })
        .collect()
}

fn set_path(root: &mut Value, path: &[String], value: Value) {
    let mut node = root;
    for key in &path[..path.len() - 1] {
        if !matches!(node, Value::Mapping(_)) {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else {
            unreachable!()
        };
        node = map
            .entry(Value::String(key.clone()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
    }
    if let Value::Mapping(map) = node {
        map.insert(Value::String(path[path.len() - 1].clone()), value);
    } else {
        let mut map = Mapping::new();
        map.insert(Value::String(path[path.len() - 1].clone()), value);
        *node = Value::Mapping(map);
    }
}

/// Rules that types alone cannot express. Returns the dotted key and what was expected.
fn validate(config: &Config) -> Result<(), (String, String)> {
    if let Some(https) = &config.https {
        if https.port == config.http.port && https.redirect_http {
            return Err((
                "https.port".into(),
                format!(
                    "must differ from http.port ({}) while redirect_http is on",
                    config.http.port
                ),
            ));
        }
    }
    if config.token_expiration == 0 {
        return Err((
            "token_expiration".into(),
            "expected a number of minutes greater than 0".into(),
        ));
    }
    if config.session_timeout == 0 {
        return Err((
            "session_timeout".into(),
            "expected a number of minutes greater than 0".into(),
        ));
    }
    if let Some(url) = config.external_url.as_deref().filter(|u| !u.is_empty()) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err((
                "external_url".into(),
                format!("expected an http:// or https:// URL, found `{url}`"),
            ));
        }
    }
    if let Some(url) = config.database.url.as_deref().filter(|u| !u.is_empty()) {
        let known = ["sqlite:", "postgres:", "postgresql:"];
        if !known.iter().any(|k| url.starts_with(k)) {
            return Err((
                "database.url".into(),
                "expected a sqlite:// or postgres:// URL".into(),
            ));
        }
    }
    if config.auth_mode == AuthMode::OidcAuth {
        let Some(oidc) = &config.oidc else {
            return Err((
                "oidc".into(),
                "auth_mode is oidc_auth, so the oidc section is required".into(),
            ));
        };
        match oidc.endpoint.as_deref().map(str::trim) {
            None | Some("") => {
                return Err((
                    "oidc.endpoint".into(),
                    "auth_mode is oidc_auth, so the OpenID provider's issuer URL is required"
                        .into(),
                ))
            }
            Some(e) if !(e.starts_with("https://") || e.starts_with("http://")) => {
                return Err((
                    "oidc.endpoint".into(),
                    format!("expected an https:// URL, found `{e}`"),
                ))
            }
            _ => {}
        }
        if oidc
            .client_id
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
        {
            return Err((
                "oidc.client_id".into(),
                "auth_mode is oidc_auth, so client_id is required".into(),
            ));
        }
    }
    if let Some(oidc) = &config.oidc {
        if !oidc.scope.split(',').any(|s| s.trim() == "openid") {
            return Err((
                "oidc.scope".into(),
                format!("must include `openid`, found `{}`", oidc.scope),
            ));
        }
        if let Some(filter) = oidc.group_filter.as_deref().filter(|f| !f.is_empty()) {
            if let Err(e) = regex::Regex::new(filter) {
                return Err((
                    "oidc.group_filter".into(),
                    format!("not a valid regular expression: {e}"),
                ));
            }
        }
    }
    for (i, rule) in config.retention.iter().enumerate() {
        if rule.pattern.trim().is_empty() {
            return Err((
                format!("retention[{i}].pattern"),
                "expected a tag pattern such as `v*`".into(),
            ));
        }
        match (rule.rule, rule.retain) {
            (RetentionRuleKind::Tag | RetentionRuleKind::Days, None | Some(0)) => {
                return Err((
                    format!("retention[{i}].retain"),
                    "rules `tag` and `days` need `retain` of at least 1".into(),
                ))
            }
            (RetentionRuleKind::Always, Some(_)) => {
                return Err((
                    format!("retention[{i}].retain"),
                    "rule `always` takes no `retain`".into(),
                ))
            }
            _ => {}
        }
    }
    if let Some(s) = &config.retention_schedule {
        if let Err(e) = domain::policy::cron::Schedule::parse(s) {
            return Err(("retention_schedule".into(), e));
        }
    }
    if let Some(s) = &config.gc.schedule {
        if let Err(e) = domain::policy::cron::Schedule::parse(s) {
            return Err(("gc.schedule".into(), e));
        }
    }
    for (i, rule) in config.immutable_tag_rules.iter().enumerate() {
        if rule.pattern.trim().is_empty() {
            return Err((
                format!("immutable_tag_rules[{i}].pattern"),
                "expected a tag pattern such as `release-*`".into(),
            ));
        }
    }
    if let Some(s3) = &config.storage.s3 {
        if let Err(message) = s3.settings() {
            let (key, reason) = message
                .split_once(": ")
                .map(|(k, r)| (k.to_string(), r.to_string()))
                .unwrap_or_else(|| ("storage.s3".into(), message.clone()));
            return Err((key, reason));
        }
        if s3.bucket.trim().is_empty() {
            return Err(("storage.s3.bucket".into(), "expected a bucket name".into()));
        }
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        return Err((
            "log.level".into(),
            format!("expected trace, debug, info, warn, error or a tracing filter: {e}"),
        ));
    }
    Ok(())
}

/// Finds the 1-based line of a dotted key (`oidc.endpoint`, `retention[1].retain`) in the file,
/// falling back to the deepest ancestor that is present.
fn locate(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut start = 0;
    let mut end = lines.len();
    let mut parent_indent: Option<usize> = None;
    for key in keys {
        let (name, index) = match key.split_once('[') {
            Some((name, idx)) => (name, idx.trim_end_matches(']').parse::<usize>().ok()),
            None => (*key, None),
        };
        let hit = (start..end).find(|&i| {
            let line = lines[i];
            let indent = line.len() - line.trim_start().len();
            let body = line.trim_start().trim_start_matches("- ");
            parent_indent.is_none_or(|p| indent > p || line.trim_start().starts_with("- "))
                && (body.starts_with(&format!("{name}:")))
        });
        let Some(hit) = hit else { break };
        found = Some(hit + 1);
        let indent = lines[hit].len() - lines[hit].trim_start().len();
        parent_indent = Some(indent);
        start = hit + 1;
        end = (start..lines.len())
            .find(|&i| {
                let l = lines[i];
                !l.trim().is_empty()
                    && !l.trim_start().starts_with('#')
                    && (l.len() - l.trim_start().len()) <= indent
                    && !l.trim_start().starts_with("- ")
            })
            .unwrap_or(lines.len());
        if let Some(index) = index {
            let items: Vec<usize> = (start..end)
                .filter(|&i| lines[i].trim_start().starts_with("- "))
                .collect();
            if let Some(&item) = items.get(index) {
                found = Some(item + 1);
                start = item;
                end = items.get(index + 1).copied().unwrap_or(end);
                parent_indent = None;
            }
        }
    }
    found
}

fn strip_location(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
