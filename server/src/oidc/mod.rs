//! Single sign-on with OpenID Connect: the authorization-code flow with PKCE, `state` and
//! `nonce`, ID token verification (signature, issuer, audience, expiry, nonce) by the
//! `openidconnect` crate, then the identity is handed to `domain::service::oidc`.
//!
//! Routes: `GET /c/oidc/login` starts a sign-in, `GET /c/oidc/callback` finishes it,
//! `GET /c/oidc/provider-logout` sends the browser to the provider's end-session endpoint.
//! Every refusal is audited with its reason and shown on the sign-in page. The routes are in
//! `routes`; this module is the provider, the flow and the identity check.

pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use domain::service::oidc::OidcSignIn;
use domain::service::DomainError;
use domain::types::OidcIdentity;
use openidconnect::core::CoreClient;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, RefreshToken, RequestTokenError,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tower_sessions::Session;

use crate::config::{Config, OidcConfig};
use crate::AppState;
use domain::service::login::SESSION_USER_ID;

/// Session keys of the flow.
const FLOW: &str = "oidc_flow";
pub const PENDING: &str = "oidc_pending";
pub const PENDING_REFRESH: &str = "oidc_pending_refresh";
/// How long a started sign-in may take at the provider.
const FLOW_LIFETIME_SECS: i64 = 600;
/// What the session remembers between `/c/oidc/login` and `/c/oidc/callback`.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    pkce_verifier: String,
    started_at: i64,
}

type Http = openidconnect::reqwest::Client;

/// A client built from discovered metadata: authorization endpoint known, token and userinfo
/// endpoints as the provider published them.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The configured provider and what is needed to talk to it.
pub struct Oidc {
    config: OidcConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    external_url: String,
    http: Http,
    group_filter: Option<regex::Regex>,
    seal: crate::sealed::Sealer,
}

/// A refused sign-in: who it was (as far as known) and why.
#[derive(Debug)]
pub struct Refusal {
    who: String,
    reason: String,
}

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal {
        who: "oidc".into(),
        reason: reason.into(),
    }
}

/// The error and its sources on one line: TLS failures hide the useful words in a source.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

impl Oidc {
    /// The provider of an `oidc_auth` configuration; `None` under `db_auth`.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Arc<Self>>> {
        if config.auth_mode != crate::config::AuthMode::OidcAuth {
            return Ok(None);
        }
        let oidc = config
            .oidc
            .clone()
            .ok_or_else(|| anyhow::anyhow!("auth_mode is oidc_auth but oidc is missing"))?;
        let endpoint = oidc.endpoint.clone().unwrap_or_default();
        let issuer = IssuerUrl::new(endpoint.trim_end_matches('/').to_string())
            .map_err(|e| anyhow::anyhow!("oidc.endpoint is not a URL: {e}"))?;
        let external_url = config.external_url();
        let redirect = RedirectUrl::new(format!("{external_url}/c/oidc/callback"))
            .map_err(|e| anyhow::anyhow!("external URL is not a URL: {e}"))?;
        if !oidc.verify_cert {
            tracing::warn!(
                endpoint = %endpoint,
                "oidc.verify_cert is false: the identity provider's TLS certificate is NOT \
                 checked, so anyone on the network path can impersonate it. Use this only with a \
                 test provider."
            );
        }
        let http = Http::builder()
            // The token and discovery endpoints must not redirect us elsewhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(!oidc.verify_cert)
            .timeout(Duration::from_secs(15))
            .build()?;
        let group_filter = oidc
            .group_filter
            .as_deref()
            .filter(|f| !f.is_empty())
            .map(regex::Regex::new)
            .transpose()?;
        let seal = crate::sealed::Sealer::load_or_create(&config.oidc_seal_key_file())?;
        Ok(Some(Arc::new(Self {
            config: oidc,
            issuer,
            redirect,
            external_url,
            http,
            group_filter,
            seal,
        })))
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn discover(&self) -> Result<ProviderMetadataWithLogout, String> {
        ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                format!(
                    "cannot use the identity provider at {}: {}",
                    self.issuer.as_str(),
                    chain(&e)
                )
            })
    }

    fn client(&self, metadata: ProviderMetadataWithLogout) -> Client {
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_string()));
        let client_id = ClientId::new(self.config.client_id.clone().unwrap_or_default());
        Client::from_provider_metadata(metadata, client_id, secret)
            .set_redirect_uri(self.redirect.clone())
    }

    /// "Test OIDC server": discovery and the key set are reachable and usable.
    pub async fn ping(&self) -> Result<String, String> {
        let metadata = self.discover().await?;
        let keys = metadata.jwks().keys().len();
        if keys == 0 {
            return Err(format!(
                "the identity provider at {} publishes no signing keys",
                self.issuer.as_str()
            ));
        }
        Ok(format!(
            "discovery and key set of {} are reachable: {keys} signing key(s), authorization \
             endpoint {}",
            self.issuer.as_str(),
            metadata.authorization_endpoint().as_str()
        ))
    }

    /// The fingerprint of the refresh tokens' sealing key (compared across replicas).
    pub fn seal_fingerprint(&self) -> &str {
        self.seal.fingerprint()
    }

    fn seal(&self, plain: &str) -> String {
        self.seal.seal(plain)
    }

    fn unseal(&self, sealed: &str) -> Option<String> {
        self.seal.unseal(sealed)
    }

    /// The claims of a verified ID token (its payload) merged with the userinfo answer.
    async fn claims(
        &self,
        metadata: &ProviderMetadataWithLogout,
        id_token_payload: Map<String, Value>,
        access_token: &str,
    ) -> Map<String, Value> {
        let mut claims = id_token_payload;
        let Some(endpoint) = metadata.userinfo_endpoint() else {
            return claims;
        };
        let answer = self
            .http
            .get(endpoint.url().clone())
            .bearer_auth(access_token)
            .send()
            .await;
        let info = match answer {
            Ok(r) if r.status().is_success() => r.json::<Map<String, Value>>().await.ok(),
            Ok(r) => {
                tracing::warn!(status = %r.status(), "the OIDC userinfo endpoint refused");
                None
            }
            Err(e) => {
                tracing::warn!(error = %chain(&e), "the OIDC userinfo endpoint is unreachable");
                None
            }
        };
        if let Some(info) = info {
            // Userinfo about someone else is ignored (OpenID Connect Core 5.3.2).
            if info.get("sub") == claims.get("sub") {
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
        }
        claims
    }

    /// Finishes a sign-in: checks the response against the session's flow, exchanges the
    /// code, verifies the ID token and signs the person in.
    async fn finish(
        &self,
        state: &AppState,
        session: &Session,
        query: CallbackQuery,
        source_ip: &str,
    ) -> Result<&'static str, Refusal> {
        let flow: Flow = session.remove(FLOW).await.ok().flatten().ok_or_else(|| {
            refuse(
                "no single sign-on is in progress in this browser session: the response \
                     was already used (a replayed code) or the session expired; start again",
            )
        })?;
        if let Some(error) = &query.error {
            return Err(refuse(format!(
                "the identity provider refused the sign-in: {error}{}",
                query
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )));
        }
        // Compared as digests, so the comparison's timing says nothing about the value.
        let state_ok = query.state.as_deref().is_some_and(|s| {
            use sha2::Digest as _;
            sha2::Sha256::digest(s.as_bytes()) == sha2::Sha256::digest(flow.state.as_bytes())
        });
        if !state_ok {
            return Err(refuse(
                "the sign-in response does not belong to the sign-in this browser started \
                 (wrong state); start again",
            ));
        }
        if let Some(iss) = &query.iss {
            if iss.trim_end_matches('/') != self.issuer.as_str().trim_end_matches('/') {
                return Err(refuse(format!(
                    "the sign-in response comes from `{iss}`, not from the configured provider"
                )));
            }
        }
        if chrono::Utc::now().timestamp() - flow.started_at > FLOW_LIFETIME_SECS {
            return Err(refuse(
                "the sign-in took longer than 10 minutes; start again",
            ));
        }
        let code = query
            .code
            .ok_or_else(|| refuse("the identity provider sent no authorization code"))?;
        let metadata = self.discover().await.map_err(refuse)?;
        let client = self.client(metadata.clone());
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| refuse(format!("the identity provider has no token endpoint: {e}")))?;
        let response = request
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                refuse(match e {
                    RequestTokenError::ServerResponse(r) => format!(
                        "the identity provider refused the authorization code: {}{}",
                        r.error(),
                        r.error_description()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ),
                    other => format!("cannot exchange the authorization code: {}", chain(&other)),
                })
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| refuse("the identity provider returned no ID token"))?;
        let verifier = client.id_token_verifier();
        id_token
            .claims(&verifier, &Nonce::new(flow.nonce))
            .map_err(|e| refuse(id_token_refusal(&e)))?;
        let payload = jwt_payload(&id_token.to_string())
            .ok_or_else(|| refuse("the ID token's payload is not a JSON object"))?;
        let claims = self
            .claims(&metadata, payload, response.access_token().secret())
            .await;
        let identity = self.identity(&claims)?;
        let who = identity.username.clone();
        let with_who = |reason: String| Refusal {
            who: who.clone(),
            reason,
        };
        let refresh = response.refresh_token().map(|t| self.seal(t.secret()));
        let create_as = self
            .config
            .auto_onboard
            .then_some(identity.username.as_str());
        match state
            .services
            .oidc_sign_in(&identity, create_as, source_ip)
            .await
        {
            Ok(OidcSignIn::SignedIn(user)) => {
                start_session(session, user.id).await.map_err(&with_who)?;
                if let Err(e) = state
                    .services
                    .store_oidc_refresh_token(user.id, refresh)
                    .await
                {
                    tracing::error!(error = %e, "cannot keep the OIDC refresh token");
                }
                Ok("/projects")
            }
            Ok(OidcSignIn::NeedsOnboarding) => {
                let stored = async {
                    session.insert(PENDING, &identity).await?;
                    session.insert(PENDING_REFRESH, &refresh).await
                };
                stored
                    .await
                    .map_err(|e| with_who(format!("cannot keep the sign-in: {e}")))?;
                Ok("/oidc-onboard")
            }
            // Disabled accounts are audited by the service itself.
            Err(DomainError::Unauthorized(m)) => Err(Refusal {
                who: String::new(),
                reason: m,
            }),
            Err(DomainError::Database(e)) => {
                tracing::error!(error = %e, "single sign-on failed on a database error");
                Err(with_who("internal error; see the server log".into()))
            }
            Err(other) => Err(with_who(other.to_string())),
        }
    }

    /// Reads the configured claims into an identity.
    fn identity(&self, claims: &Map<String, Value>) -> Result<OidcIdentity, Refusal> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let subject = text("sub").ok_or_else(|| refuse("the ID token has no subject"))?;
        let issuer = text("iss").unwrap_or_else(|| self.issuer.to_string());
        let user_claim = self
            .config
            .user_claim
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or("preferred_username");
        let username = text(user_claim).ok_or_else(|| Refusal {
            who: subject.clone(),
            reason: format!(
                "the identity provider did not send the `{user_claim}` claim, which \
                 oidc.user_claim names as the username"
            ),
        })?;
        let all_groups: Vec<String> = match self
            .config
            .groups_claim
            .as_deref()
            .and_then(|c| claims.get(c))
        {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let is_admin = self
            .config
            .admin_group
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(|admin| all_groups.iter().any(|g| g == admin));
        let groups = all_groups
            .into_iter()
            .filter(|g| self.group_filter.as_ref().is_none_or(|f| f.is_match(g)))
            .collect();
        Ok(OidcIdentity {
            issuer,
            subject,
            username,
            email: text("email"),
            display_name: text("name"),
            groups,
            is_admin,
        })
    }

    /// Checks, at most every `refresh_check_interval`, that the provider still accepts the
    /// user's session by refreshing their token; a refusal revokes the CLI secret. An
    /// unreachable provider does not lock people out.
    pub async fn recheck(&self, state: &AppState, user_id: i64) -> Result<(), String> {
        let Ok(Some(user)) = state.services.user_model(user_id).await else {
            return Ok(());
        };
        let (Some(sealed), Some(_)) = (user.oidc_refresh_token.as_deref(), &user.cli_secret_hash)
        else {
            return Ok(());
        };
        let interval = chrono::Duration::from_std(self.config.refresh_check_interval.0)
            .unwrap_or(chrono::Duration::minutes(15));
        if user
            .oidc_checked_at
            .is_some_and(|t| chrono::Utc::now() - t < interval)
        {
            return Ok(());
        }
        let Some(token) = self.unseal(sealed) else {
            tracing::warn!(user = %user.username, "cannot decrypt the stored OIDC refresh token");
            return Ok(());
        };
        let metadata = match self.discover().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-check an OIDC session");
                return Ok(());
            }
        };
        let client = self.client(metadata);
        let token = RefreshToken::new(token);
        let Ok(request) = client.exchange_refresh_token(&token) else {
            return Ok(());
        };
        match request.request_async(&self.http).await {
            Ok(response) => {
                let next = response
                    .refresh_token()
                    .map(|t| self.seal(t.secret()))
                    .or_else(|| Some(sealed.to_string()));
                let _ = state.services.store_oidc_refresh_token(user_id, next).await;
                Ok(())
            }
            Err(RequestTokenError::ServerResponse(r)) => {
                let reason = format!(
                    "the identity provider refused to refresh the session: {}",
                    r.error()
                );
                let _ = state.services.revoke_cli_secret(user_id, &reason).await;
                Err(format!(
                    "your CLI secret was revoked because {reason}; sign in to the console again \
                     and generate a new one"
                ))
            }
            Err(e) => {
                tracing::warn!(error = %chain(&e), "cannot re-check an OIDC session");
                Ok(())
            }
        }
    }
}

fn id_token_refusal(e: &openidconnect::ClaimsVerificationError) -> String {
    use openidconnect::ClaimsVerificationError as E;
    let what = match e {
        E::Expired(_) => "it has expired",
        E::InvalidAudience(_) => "it was issued for another client (audience)",
        E::InvalidNonce(_) => "its nonce does not match this sign-in (a replayed token?)",
        E::InvalidIssuer(_) => "it was issued by another issuer",
        E::SignatureVerification(_) => {
            "its signature does not verify with the identity provider's published keys"
        }
        _ => "it failed verification",
    };
    format!("the ID token was rejected: {what} ({})", chain(e))
}

/// The payload of a compact JWT, without verification (the caller verified it).
fn jwt_payload(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Signs the user in: a fresh session id, then the user id.
pub async fn start_session(session: &Session, user_id: i64) -> Result<(), String> {
    session
        .cycle_id()
        .await
        .map_err(|e| format!("cannot start a session: {e}"))?;
    session
        .insert(SESSION_USER_ID, user_id)
        .await
        .map_err(|e| format!("cannot start a session: {e}"))
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: the issuer of the response, which stops mix-up attacks between providers.
    iss: Option<String>,
}
