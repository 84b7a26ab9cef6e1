//! What the console shows of an image: its platform and run settings from the configuration,
//! its layers in manifest order with the build step that made each, and its build history.
//! Pure functions of the manifest and configuration JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The run settings and provenance of an image, from its configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// `os/architecture[/variant]`.
    pub platform: String,
    pub created: Option<String>,
    pub author: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// One layer of an image, in the order the manifest lists it (the order it is applied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStep {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    /// The build step that produced it (`created_by` of the history entry it belongs to).
    pub created_by: Option<String>,
}

/// One step of the image's build history; `empty_layer` steps changed only the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStep {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(text).collect())
        .unwrap_or_default()
}

/// The summary of an image configuration.
pub fn summary(config: &Value) -> ImageSummary {
    let run = if config["config"].is_object() {
        &config["config"]
    } else {
        // Docker's configurations also carry `container_config`; the run settings are `config`.
        &Value::Null
    };
    let mut platform = [&config["os"], &config["architecture"], &config["variant"]]
        .into_iter()
        .filter_map(text)
        .collect::<Vec<_>>()
        .join("/");
    if platform.is_empty() {
        platform = "unknown".into();
    }
    ImageSummary {
        platform,
        created: text(&config["created"]),
        author: text(&config["author"]),
        entrypoint: strings(&run["Entrypoint"]),
        cmd: strings(&run["Cmd"]),
        env: strings(&run["Env"]),
        working_dir: text(&run["WorkingDir"]),
        user: text(&run["User"]),
        exposed_ports: run["ExposedPorts"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        labels: run["Labels"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), text(v).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The build history of an image configuration, oldest step first.
pub fn history(config: &Value) -> Vec<HistoryStep> {
    config["history"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|h| HistoryStep {
                    created: text(&h["created"]),
                    created_by: text(&h["created_by"]).unwrap_or_default(),
                    comment: text(&h["comment"]),
                    empty_layer: h["empty_layer"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The layers of an image manifest in manifest order, each with the history step that made it:
/// the n-th layer belongs to the n-th history entry that is not an `empty_layer` one.
pub fn layers(manifest: &Value, history: &[HistoryStep]) -> Vec<LayerStep> {
    let mut made_by = history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone());
    manifest["layers"]
        .as_array()
        .map(|layers| {
            layers
                .iter()
                .map(|l| LayerStep {
                    digest: text(&l["digest"]).unwrap_or_default(),
                    size: l["size"].as_u64().unwrap_or(0),
                    media_type: text(&l["mediaType"]).unwrap_or_default(),
                    created_by: made_by.next().filter(|s| !s.is_empty()),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layers_follow_the_manifest_and_skip_empty_history_steps() {
        let config = json!({
            "history": [
                {"created_by": "ADD rootfs.tar /"},
                {"created_by": "ENV A=1", "empty_layer": true},
                {"created_by": "COPY app /app"},
            ]
        });
        let manifest = json!({"layers": [
            {"digest": "sha256:bb", "size": 20, "mediaType": "tar"},
            {"digest": "sha256:aa", "size": 10, "mediaType": "tar"},
        ]});
        let steps = history(&config);
        let l = layers(&manifest, &steps);
        assert_eq!(l[0].digest, "sha256:bb", "manifest order, not sorted");
        assert_eq!(l[0].created_by.as_deref(), Some("ADD rootfs.tar /"));
        assert_eq!(l[1].created_by.as_deref(), Some("COPY app /app"));
        assert!(steps[1].empty_layer);
    }

    #[test]
    fn a_summary_reads_the_run_settings() {
        let config = json!({
            "os": "linux", "architecture": "arm64", "variant": "v8",
            "created": "2026-01-02T03:04:05Z",
            "config": {
                "Entrypoint": ["/bin/app"], "Cmd": ["serve"], "Env": ["PATH=/bin"],
                "ExposedPorts": {"8080/tcp": {}}, "Labels": {"team": "payments"}, "User": "1000"
            }
        });
        let s = summary(&config);
        assert_eq!(s.platform, "linux/arm64/v8");
        assert_eq!(s.entrypoint, ["/bin/app"]);
        assert_eq!(s.exposed_ports, ["8080/tcp"]);
        assert_eq!(s.labels["team"], "payments");
        assert_eq!(s.user.as_deref(), Some("1000"));
        assert_eq!(summary(&json!({})).platform, "unknown");
    }
}
