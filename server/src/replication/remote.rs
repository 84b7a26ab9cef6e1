//! A client of another registry's Distribution API (`/v2/`): Docker token auth (a Bearer
//! challenge answered at its realm with the stored credential, tokens cached per scope) or
//! Basic auth, catalog and tag listing with `Link` pagination, manifests, blobs (streamed
//! both ways), mounts, referrers. Every request passes the outbound guard, including the
//! upload locations the remote hands back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE,
};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::outbound::Outbound;

/// Every manifest type a copy asks for.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The longest a remote may stay silent before a request is abandoned (no whole-request
/// timeout: a large blob takes as long as it takes while bytes keep moving).
const READ_IDLE: Duration = Duration::from_secs(60);

/// What went wrong talking to a remote, with its error code when it sent one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    pub status: Option<StatusCode>,
    /// The OCI error code (`DENIED`, `NAME_UNKNOWN`, …) of the remote's answer.
    pub code: Option<String>,
    pub message: String,
}

impl RemoteError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            status: None,
            code: None,
            message: message.into(),
        }
    }

    /// Worth another attempt: the remote or the way to it failed, not the request.
    pub fn is_transient(&self) -> bool {
        match self.status {
            None => true,
            Some(s) => s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

pub type RemoteResult<T> = Result<T, RemoteError>;

/// The stored credential of a remote, unsealed for the length of a run.
#[derive(Clone, Default)]
pub struct Credential {
    pub username: Option<String>,
    pub secret: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| "*****"))
            .finish()
    }
}

/// A manifest as fetched: its bytes, media type and digest.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: String,
}

#[derive(Clone)]
pub struct Remote {
    base: url::Url,
    client: reqwest::Client,
    guard: Outbound,
    credential: Credential,
    /// Bearer tokens by scope.
    tokens: Arc<Mutex<HashMap<String, String>>>,
    /// The `Authorization` that last worked for each repository (`""` for the registry).
    auth: Arc<Mutex<HashMap<String, String>>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base.as_str())
            .finish()
    }
}

fn oci_error(status: StatusCode, body: &str, what: &str) -> RemoteError {
    let parsed: Option<(String, String)> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("errors")?.get(0)?;
            Some((
                e.get("code")?.as_str()?.to_string(),
                e.get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or_default()
                    .to_string(),
            ))
        });
    match parsed {
        Some((code, message)) => RemoteError {
            status: Some(status),
            message: format!("{what}: {status} {code}: {message}"),
            code: Some(code),
        },
        // A HEAD answer has no body: name the refusal as the error codes would.
        None if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
            let code = if status == StatusCode::FORBIDDEN {
                "DENIED"
            } else {
                "UNAUTHORIZED"
            };
            RemoteError {
                status: Some(status),
                message: format!(
                    "{what}: {status} {code}: the registry does not let this credential do that"
                ),
                code: Some(code.into()),
            }
        }
        None => RemoteError {
            status: Some(status),
            code: None,
            message: format!(
                "{what}: {status}{}",
                if body.trim().is_empty() {
                    String::new()
                } else {
                    format!(" {}", body.chars().take(200).collect::<String>())
                }
            ),
        },
    }
}

/// `Bearer realm="…",service="…",scope="…"` → its parameters.
fn challenge(header: &str) -> Option<(String, HashMap<String, String>)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        params.insert(key.trim().to_ascii_lowercase(), value.to_string());
        rest = next.trim_start_matches([',', ' ']);
    }
    Some((scheme.to_ascii_lowercase(), params))
}

/// The next page of a `Link: </v2/…?last=x&n=y>; rel="next"` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    link[end..]
        .contains("rel=\"next\"")
        .then(|| link[start..end].to_string())
}

impl Remote {
    /// A client of the registry at `url` (its root, without `/v2`).
    pub fn new(
        guard: &Outbound,
        url: &str,
        credential: Credential,
        insecure: bool,
        ca_certificate: Option<&str>,
    ) -> RemoteResult<Self> {
        let base = url::Url::parse(&format!("{}/", url.trim_end_matches('/')))
            .map_err(|e| RemoteError::new(format!("`{url}` is not a URL: {e}")))?;
        guard.check_literal(&base).map_err(RemoteError::new)?;
        let mut builder = guard
            .client_builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(READ_IDLE)
            .danger_accept_invalid_certs(insecure)
            .user_agent(concat!("berth-replication/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_certificate {
            for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| RemoteError::new(format!("the CA certificate is not PEM: {e}")))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| RemoteError::new(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            base,
            client,
            guard: guard.clone(),
            credential,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            auth: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn url(&self, path: &str) -> RemoteResult<url::Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| RemoteError::new(format!("bad path {path}: {e}")))
    }

    /// The registry's host and port as clients name it (`host:port`).
    pub fn authority(&self) -> String {
        match self.base.port() {
            Some(p) => format!("{}:{p}", self.base.host_str().unwrap_or_default()),
            None => self.base.host_str().unwrap_or_default().to_string(),
        }
    }

    fn basic(&self) -> Option<String> {
        use base64::Engine;
        let user = self.credential.username.as_deref()?;
        let secret = self.credential.secret.as_deref().unwrap_or_default();
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
        ))
    }

    /// Fetches a token for the challenge's scope from its realm.
    async fn token(&self, params: &HashMap<String, String>) -> RemoteResult<String> {
        let scope = params.get("scope").cloned().unwrap_or_default();
        if let Some(t) = self.tokens.lock().await.get(&scope) {
            return Ok(t.clone());
        }
        let realm = params
            .get("realm")
            .ok_or_else(|| RemoteError::new("the registry's Bearer challenge names no realm"))?;
        let mut url = url::Url::parse(realm).map_err(|e| {
            RemoteError::new(format!("the token realm `{realm}` is not a URL: {e}"))
        })?;
        self.guard.check_literal(&url).map_err(RemoteError::new)?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = params.get("service") {
                q.append_pair("service", s);
            }
            for s in scope.split(' ').filter(|s| !s.is_empty()) {
                q.append_pair("scope", s);
            }
        }
        let mut req = self.client.get(url);
        if let Some(b) = self.basic() {
            req = req.header(AUTHORIZATION, b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| RemoteError::new(format!("token service: {e}")))?;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(oci_error(status, &body, "token service"));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| RemoteError::new("the token service did not answer JSON"))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| RemoteError::new("the token service's answer has no token"))?
            .to_string();
        self.tokens.lock().await.insert(scope, token.clone());
        Ok(token)
    }

    /// Sends a request, answering one authentication challenge. `body` is rebuilt for the
    /// second attempt, so streaming bodies are sent only after `prepare` has authenticated.
    async fn send(
        &self,
        repo: &str,
        method: Method,
        url: url::Url,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> RemoteResult<reqwest::Response> {
        self.guard.check_literal(&url).map_err(RemoteError::new)?;
        let mut auth: Option<String> = self.auth.lock().await.get(repo).cloned();
        for _ in 0..2 {
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a);
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let res = req.send().await.map_err(|e| {
                RemoteError::new(format!("{method} {}: {}", url.path(), error_chain(&e)))
            })?;
            if res.status() != StatusCode::UNAUTHORIZED {
                return Ok(res);
            }
            let Some(next) = self.answer(&res).await? else {
                return Ok(res);
            };
            if auth.as_deref() == Some(next.as_str()) {
                return Ok(res);
            }
            self.auth
                .lock()
                .await
                .insert(repo.to_string(), next.clone());
            auth = Some(next);
        }
        Err(RemoteError {
            status: Some(StatusCode::UNAUTHORIZED),
            code: Some("UNAUTHORIZED".into()),
            message: format!(
                "{method} {}: the registry refused the credential",
                url.path()
            ),
        })
    }

    async fn expect(
        &self,
        res: reqwest::Response,
        ok: &[StatusCode],
        what: &str,
    ) -> RemoteResult<reqwest::Response> {
        if ok.contains(&res.status()) {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Err(oci_error(status, &body, what))
    }

    /// `GET /v2/`: reachable, and the credential is accepted.
    pub async fn ping(&self) -> RemoteResult<()> {
        let res = self
            .send("", Method::GET, self.url("v2/")?, HeaderMap::new(), None)
            .await?;
        self.expect(res, &[StatusCode::OK], "GET /v2/").await?;
        Ok(())
    }

    /// Follows `Link` pages of a listing, collecting `key` from each.
    async fn pages(&self, repo: &str, first: String, key: &str) -> RemoteResult<Vec<String>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(RemoteError::new("the listing does not end"));
            }
            let url = self.url(&path)?;
            let res = self
                .send(repo, Method::GET, url, HeaderMap::new(), None)
                .await?;
            let res = self
                .expect(res, &[StatusCode::OK], &format!("GET {path}"))
                .await?;
            next = next_link(res.headers());
            let v: serde_json::Value = res
                .json()
                .await
                .map_err(|e| RemoteError::new(format!("GET {path}: not JSON: {e}")))?;
            out.extend(
                v.get(key)
                    .and_then(|a| a.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string)),
            );
        }
        Ok(out)
    }

    /// Every repository, through `_catalog`.
    pub async fn catalog(&self) -> RemoteResult<Vec<String>> {
        self.pages("", "v2/_catalog?n=1000".into(), "repositories")
            .await
    }

    /// Every tag of a repository (empty when the repository is unknown).
    pub async fn tags(&self, repo: &str) -> RemoteResult<Vec<String>> {
        match self
            .pages(repo, format!("v2/{repo}/tags/list?n=1000"), "tags")
            .await
        {
            Err(e) if e.status == Some(StatusCode::NOT_FOUND) => Ok(Vec::new()),
            other => other,
        }
    }

    fn accept() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        h
    }

    /// `HEAD` a manifest: its digest and media type, or `None`.
    pub async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> RemoteResult<Option<(String, String)>> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"))?;
        let res = self
            .send(repo, Method::HEAD, url, Self::accept(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self
            .expect(res, &[StatusCode::OK], &format!("HEAD {repo}:{reference}"))
            .await?;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(
            header("docker-content-digest")
                .map(|d| (d, header("content-type").unwrap_or_default())),
        )
    }

    /// `GET` a manifest, or `None` when it is not there.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> RemoteResult<Option<Manifest>> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"))?;
        let res = self
            .send(repo, Method::GET, url, Self::accept(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self
            .expect(res, &[StatusCode::OK], &format!("GET {repo}:{reference}"))
            .await?;
        let media_type = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| RemoteError::new(format!("GET {repo}:{reference}: {e}")))?;
        let digest = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
        );
        Ok(Some(Manifest {
            bytes,
            media_type,
            digest,
        }))
    }

    /// `PUT` a manifest under a tag or its digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        m: &Manifest,
    ) -> RemoteResult<()> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"))?;
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&m.media_type)
                .map_err(|_| RemoteError::new("the manifest's media type is not a header"))?,
        );
        let res = self
            .send(repo, Method::PUT, url, h, Some(m.bytes.clone()))
            .await?;
        self.expect(
            res,
            &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
            &format!("PUT {repo}:{reference}"),
        )
        .await?;
        Ok(())
    }

    /// `DELETE` a manifest by digest (`false` when it was not there).
    pub async fn delete_manifest(&self, repo: &str, digest: &str) -> RemoteResult<bool> {
        let url = self.url(&format!("v2/{repo}/manifests/{digest}"))?;
        let res = self
            .send(repo, Method::DELETE, url, HeaderMap::new(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.expect(
            res,
            &[StatusCode::ACCEPTED, StatusCode::OK, StatusCode::NO_CONTENT],
            &format!("DELETE {repo}@{digest}"),
        )
        .await?;
        Ok(true)
    }

    /// `HEAD` a blob: its size, or `None`.
    pub async fn head_blob(&self, repo: &str, digest: &str) -> RemoteResult<Option<u64>> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"))?;
        let res = self
            .send(repo, Method::HEAD, url, HeaderMap::new(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self
            .expect(res, &[StatusCode::OK], &format!("HEAD blob {digest}"))
            .await?;
        Ok(res
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .or(Some(0)))
    }

    /// Streams a blob (following the remote's redirect to its storage).
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &str,
    ) -> RemoteResult<domain::storage::ByteStream> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"))?;
        let res = self
            .send(repo, Method::GET, url, HeaderMap::new(), None)
            .await?;
        let res = self
            .expect(res, &[StatusCode::OK], &format!("GET blob {digest}"))
            .await?;
        Ok(Box::pin(res.bytes_stream().map_err(std::io::Error::other)))
    }

    /// Tries a cross-repository mount; `true` when the remote linked the blob.
    pub async fn mount(&self, repo: &str, digest: &str, from: &str) -> RemoteResult<bool> {
        let url = self.url(&format!(
            "v2/{repo}/blobs/uploads/?mount={digest}&from={from}"
        ))?;
        let res = self
            .send(
                repo,
                Method::POST,
                url,
                HeaderMap::new(),
                Some(Bytes::new()),
            )
            .await?;
        match res.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // An upload was opened instead; close it.
                if let Some(loc) = self.location(&res)? {
                    let _ = self
                        .send(repo, Method::DELETE, loc, HeaderMap::new(), None)
                        .await;
                }
                Ok(false)
            }
            _ => {
                self.expect(res, &[], &format!("mount {digest}")).await?;
                Ok(false)
            }
        }
    }

    fn location(&self, res: &reqwest::Response) -> RemoteResult<Option<url::Url>> {
        let Some(loc) = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(None);
        };
        let url = self.base.join(loc).map_err(|e| {
            RemoteError::new(format!("the upload location `{loc}` is not a URL: {e}"))
        })?;
        Ok(Some(url))
    }

    /// Opens an upload; returns its location.
    pub async fn start_upload(&self, repo: &str) -> RemoteResult<url::Url> {
        let url = self.url(&format!("v2/{repo}/blobs/uploads/"))?;
        let res = self
            .send(
                repo,
                Method::POST,
                url,
                HeaderMap::new(),
                Some(Bytes::new()),
            )
            .await?;
        let res = self
            .expect(res, &[StatusCode::ACCEPTED], &format!("POST {repo} upload"))
            .await?;
        self.location(&res)?
            .ok_or_else(|| RemoteError::new("the upload was opened without a Location"))
    }

    /// Sends `size` bytes from `body` as the whole blob to an open upload and closes it
    /// with the digest (one streamed `PUT`).
    pub async fn finish_upload(
        &self,
        repo: &str,
        location: url::Url,
        digest: &str,
        size: u64,
        body: domain::storage::ByteStream,
    ) -> RemoteResult<()> {
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", digest);
        let what = format!("PUT blob {digest}");
        let res = self
            .send_stream(repo, Method::PUT, url, size, None, body, &what)
            .await?;
        self.expect(
            res,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT, StatusCode::OK],
            &what,
        )
        .await?;
        Ok(())
    }

    /// Sends `len` bytes of `body` once, with the repository's current authorization (a
    /// stream cannot be replayed after a challenge: callers authenticate first).
    #[expect(clippy::too_many_arguments, reason = "one request's parts")]
    async fn send_stream(
        &self,
        repo: &str,
        method: Method,
        url: url::Url,
        len: u64,
        content_range: Option<String>,
        body: domain::storage::ByteStream,
        what: &str,
    ) -> RemoteResult<reqwest::Response> {
        self.guard.check_literal(&url).map_err(RemoteError::new)?;
        let auth = self.auth.lock().await.get(repo).cloned();
        let mut req = self
            .client
            .request(method, url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(range) = content_range {
            req = req.header("content-range", range);
        }
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        req.send()
            .await
            .map_err(|e| RemoteError::new(format!("{what}: {}", error_chain(&e))))
    }

    /// The inclusive byte range `first..=last` of a blob.
    pub async fn get_blob_range(
        &self,
        repo: &str,
        digest: &str,
        first: u64,
        last: u64,
    ) -> RemoteResult<domain::storage::ByteStream> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"))?;
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::RANGE,
            HeaderValue::from_str(&format!("bytes={first}-{last}")).expect("a range header"),
        );
        let res = self.send(repo, Method::GET, url, h, None).await?;
        let res = self
            .expect(
                res,
                &[StatusCode::PARTIAL_CONTENT],
                &format!("GET blob {digest} range"),
            )
            .await?;
        Ok(Box::pin(res.bytes_stream().map_err(std::io::Error::other)))
    }

    /// How many bytes an open upload holds (`GET` on its location), or `None` when the
    /// remote no longer knows it.
    pub async fn upload_offset(
        &self,
        repo: &str,
        location: &url::Url,
    ) -> RemoteResult<Option<u64>> {
        let res = self
            .send(repo, Method::GET, location.clone(), HeaderMap::new(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self
            .expect(
                res,
                &[StatusCode::NO_CONTENT, StatusCode::OK],
                "GET upload status",
            )
            .await?;
        let end = res
            .headers()
            .get(reqwest::header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.rsplit('-').next())
            .and_then(|n| n.parse::<u64>().ok());
        // `0-0` is what distribution says for an empty upload: start over from 0 to be sure.
        Ok(Some(match end {
            Some(0) | None => 0,
            Some(n) => n + 1,
        }))
    }

    /// Appends `len` bytes at `offset` to an open upload (`PATCH` with `Content-Range`);
    /// returns the upload's next location.
    pub async fn patch_upload(
        &self,
        repo: &str,
        location: &url::Url,
        offset: u64,
        len: u64,
        body: domain::storage::ByteStream,
    ) -> RemoteResult<url::Url> {
        let what = format!("PATCH upload at {offset}");
        let range = format!("{offset}-{}", offset + len - 1);
        let res = self
            .send_stream(
                repo,
                Method::PATCH,
                location.clone(),
                len,
                Some(range),
                body,
                &what,
            )
            .await?;
        let res = self
            .expect(
                res,
                &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
                &format!("PATCH upload at {offset}"),
            )
            .await?;
        Ok(self.location(&res)?.unwrap_or_else(|| location.clone()))
    }

    /// Closes an upload whose bytes are all there (`PUT ?digest=` without a body).
    pub async fn close_upload(
        &self,
        repo: &str,
        location: &url::Url,
        digest: &str,
    ) -> RemoteResult<()> {
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest);
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let res = self
            .send(repo, Method::PUT, url, h, Some(Bytes::new()))
            .await?;
        self.expect(
            res,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT, StatusCode::OK],
            &format!("PUT blob {digest}"),
        )
        .await?;
        Ok(())
    }

    /// The referrers of a manifest through the referrers API; `None` when the remote does
    /// not have the API.
    pub async fn referrers(
        &self,
        repo: &str,
        digest: &str,
    ) -> RemoteResult<Option<Vec<serde_json::Value>>> {
        let url = self.url(&format!("v2/{repo}/referrers/{digest}"))?;
        let res = self
            .send(repo, Method::GET, url, HeaderMap::new(), None)
            .await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self
            .expect(
                res,
                &[StatusCode::OK],
                &format!("GET referrers of {digest}"),
            )
            .await?;
        let v: serde_json::Value = res
            .json()
            .await
            .map_err(|e| RemoteError::new(format!("referrers of {digest}: not JSON: {e}")))?;
        Ok(Some(
            v.get("manifests")
                .and_then(|m| m.as_array())
                .cloned()
                .unwrap_or_default(),
        ))
    }

    /// The `Authorization` to answer a 401's challenge with, if any.
    async fn answer(&self, res: &reqwest::Response) -> RemoteResult<Option<String>> {
        let Some((scheme, params)) = res
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .and_then(challenge)
        else {
            return Ok(None);
        };
        match scheme.as_str() {
            "bearer" => {
                let token = self.token(&params).await?;
                Ok(Some(format!("Bearer {token}")))
            }
            "basic" => Ok(self.basic()),
            _ => Ok(None),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
