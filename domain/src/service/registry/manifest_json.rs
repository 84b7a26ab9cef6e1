//! A pushed manifest read as JSON: its kind, what it references (config, layers, the
//! manifests of an index), its subject and annotations, with the refusals of the
//! distribution specification for what does not hold together.

use std::collections::BTreeMap;

use serde_json::Value;

use super::media::{self, is_image_manifest, is_index};
use super::{OciCode, RegistryError, RegistryResult};
use crate::types::Digest;

/// What a manifest refers to, read from its JSON.
pub(super) struct Parsed {
    pub(super) media_type: String,
    pub(super) artifact_type: Option<String>,
    /// (digest, size, kind): config, layers, or the manifests of an index.
    pub(super) refs: Vec<(Digest, u64, &'static str)>,
    pub(super) subject: Option<Digest>,
    pub(super) annotations: BTreeMap<String, String>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::new(OciCode::ManifestInvalid, message)
}

fn descriptor(v: &Value, what: &str) -> RegistryResult<(Digest, u64, Option<String>)> {
    let digest = v
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{what} has no digest")))?;
    let digest = Digest::parse(digest).map_err(|e| invalid(format!("{what}: {e}")))?;
    let size = v
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("{what} has no size")))?;
    let media_type = v
        .get("mediaType")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((digest, size, media_type))
}

pub(super) fn parse(bytes: &[u8], content_type: Option<&str>) -> RegistryResult<Parsed> {
    let json: Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("manifest is not valid JSON: {e}")))?;
    if json.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(invalid("only schemaVersion 2 manifests are supported"));
    }
    let declared = json.get("mediaType").and_then(Value::as_str);
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    let media_type = match (content_type, declared) {
        (Some(c), Some(d)) if c != d => {
            return Err(invalid(format!(
                "Content-Type `{c}` does not match the manifest's mediaType `{d}`"
            )))
        }
        (Some(c), _) => c.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) if json.get("manifests").is_some() => media::OCI_INDEX.to_string(),
        (None, None) => media::OCI_MANIFEST.to_string(),
    };
    let mut refs = Vec::new();
    let mut artifact_type = json
        .get("artifactType")
        .and_then(Value::as_str)
        .map(str::to_string);
    if is_image_manifest(&media_type) {
        let config = json
            .get("config")
            .ok_or_else(|| invalid("manifest has no config"))?;
        let (digest, size, config_type) = descriptor(config, "config")?;
        if artifact_type.is_none() {
            artifact_type = config_type.filter(|t| {
                t != media::OCI_IMAGE_CONFIG
                    && t != media::DOCKER_IMAGE_CONFIG
                    && t != media::OCI_EMPTY
            });
        }
        refs.push((digest, size, "config"));
        let layers = json
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("manifest has no layers list"))?;
        for (i, layer) in layers.iter().enumerate() {
            let (digest, size, _) = descriptor(layer, &format!("layer {i}"))?;
            refs.push((digest, size, "layer"));
        }
    } else if is_index(&media_type) {
        let manifests = json
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("index has no manifests list"))?;
        for (i, m) in manifests.iter().enumerate() {
            let (digest, size, _) = descriptor(m, &format!("manifest {i}"))?;
            refs.push((digest, size, "manifest"));
        }
    } else {
        return Err(RegistryError::new(
            OciCode::ManifestInvalid,
            format!("unsupported manifest media type `{media_type}`"),
        ));
    }
    let subject = match json.get("subject") {
        Some(s) => Some(descriptor(s, "subject")?.0),
        None => None,
    };
    let annotations = json
        .get("annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Parsed {
        media_type,
        artifact_type,
        refs,
        subject,
        annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn parses_images_indexes_and_artifacts() {
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":10}},"layers":[{{"digest":"{}","size":20}}]}}"#,
            media::OCI_MANIFEST,
            media::OCI_IMAGE_CONFIG,
            d('a'),
            d('b')
        );
        let p = parse(image.as_bytes(), None).unwrap();
        assert_eq!(p.media_type, media::OCI_MANIFEST);
        assert_eq!(p.refs.len(), 2);
        assert_eq!(p.artifact_type, None);

        let artifact = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"application/vnd.example.sig","config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[],"subject":{{"mediaType":"{}","digest":"{}","size":5}}}}"#,
            media::OCI_MANIFEST,
            media::OCI_EMPTY,
            d('c'),
            media::OCI_MANIFEST,
            d('e')
        );
        let p = parse(artifact.as_bytes(), Some(media::OCI_MANIFEST)).unwrap();
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.example.sig")
        );
        assert_eq!(p.subject.unwrap().to_string(), d('e'));

        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":7}}]}}"#,
            media::OCI_MANIFEST,
            d('f')
        );
        let p = parse(index.as_bytes(), Some(media::OCI_INDEX)).unwrap();
        assert_eq!(p.refs[0].2, "manifest");

        assert!(parse(b"not json", None).is_err());
        assert!(parse(br#"{"schemaVersion":1}"#, None).is_err());
        assert!(
            parse(image.as_bytes(), Some(media::DOCKER_MANIFEST)).is_err(),
            "Content-Type must match mediaType"
        );
        assert!(parse(
            br#"{"schemaVersion":2,"mediaType":"application/x-weird"}"#,
            None
        )
        .is_err());
    }
}
