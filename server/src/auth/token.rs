//! The registry token service (Docker token authentication): ES256 JWTs signed with a key
//! generated on first start and kept in the data directory.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use domain::service::tokens::{GrantedAccess, ScopeRequest};
use domain::service::{Principal, RobotPrincipal, UserPrincipal};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{AuthFailure, AuthState, Credentials};
use crate::AppState;

/// The `service` of the `WWW-Authenticate` challenge and the token audience.
pub const SERVICE: &str = "berth";
pub const ISSUER: &str = "berth-token-service";
/// The token signing key, in the keys directory.
pub const TOKEN_KEY_FILE: &str = "token-signing.p8";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub access: Vec<GrantedAccess>,
    /// `user`, `robot` or `anonymous`: who the subject is, for the audit log.
    pub kind: String,
    /// The subject's database id (0 for anonymous).
    pub uid: i64,
}

impl Claims {
    pub fn principal(&self) -> Principal {
        match self.kind.as_str() {
            "user" => Principal::User(UserPrincipal {
                id: self.uid,
                username: self.sub.clone(),
                is_admin: false,
            }),
            "robot" => Principal::Robot(RobotPrincipal {
                id: self.uid,
                name: self.sub.clone(),
                grants: Vec::new(),
            }),
            _ => Principal::Anonymous,
        }
    }
}

/// The signing key pair and token lifetime.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    lifetime: Duration,
}

impl TokenKeys {
    /// Loads the PKCS#8 key file `path`, creating it (mode 0600) on first start.
    pub fn load_or_create(path: &Path, lifetime: Duration) -> anyhow::Result<Self> {
        let pkcs8 = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = EcdsaKeyPair::generate_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(|_| anyhow::anyhow!("cannot generate a token signing key"))?;
                std::fs::create_dir_all(path.parent().expect("key file has a parent"))?;
                write_private(path, doc.as_ref())?;
                tracing::info!(path = %path.display(), "generated the registry token signing key");
                doc.as_ref().to_vec()
            }
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        Self::from_pkcs8(&pkcs8, lifetime)
    }

    pub fn from_pkcs8(pkcs8: &[u8], lifetime: Duration) -> anyhow::Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| anyhow::anyhow!("invalid token signing key: {e}"))?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = Sha256::digest(&public);
        let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
        Ok(Self {
            encoding: EncodingKey::from_ec_der(pkcs8),
            decoding: DecodingKey::from_ec_der(&public),
            kid,
            lifetime,
        })
    }

    /// The key id (`kid`): derived from the public key, so replicas compare keys by it.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn issue(&self, principal: &Principal, access: Vec<GrantedAccess>) -> (String, Claims) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let (kind, uid) = match principal {
            Principal::Anonymous => ("anonymous", 0),
            Principal::User(u) => ("user", u.id),
            Principal::Robot(r) => ("robot", r.id),
        };
        let claims = Claims {
            iss: ISSUER.into(),
            sub: if matches!(principal, Principal::Anonymous) {
                String::new()
            } else {
                principal.name().into()
            },
            aud: SERVICE.into(),
            exp: now + self.lifetime.as_secs(),
            nbf: now.saturating_sub(1),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            access,
            kind: kind.into(),
            uid,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .expect("ES256 signing cannot fail");
        (token, claims)
    }

    /// Accepts only ES256 tokens signed by this key, for this audience and issuer, in their
    /// validity window.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[SERVICE]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("invalid bearer token: {e}"))
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The `scope` parameters of a token request; each may hold several space-separated scopes.
fn requested_scopes(query: &str) -> Vec<ScopeRequest> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == "scope")
        .filter_map(|(_, v)| {
            urlencoding::decode(&v.replace('+', " "))
                .ok()
                .map(|s| s.into_owned())
        })
        .flat_map(|v| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter_map(|s| ScopeRequest::parse(&s))
        .collect()
}

/// The `service` parameter of a token request, decoded; `None` when the client sent none.
fn requested_service(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "service")
        .map(|(_, v)| {
            urlencoding::decode(&v.replace('+', " "))
                .map(|s| s.into_owned())
                .unwrap_or_else(|_| v.to_string())
        })
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut res = (
        status,
        Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"berth\""),
        );
    }
    res
}

/// `GET /service/token?service=berth&scope=repository:p/r:pull,push`.
pub async fn token_endpoint(
    State(state): State<AppState>,
    auth: AuthState,
    request: Request,
) -> Response {
    if let Some(failure) = &auth.failure {
        return match failure {
            AuthFailure::Invalid(message) => {
                error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            }
            AuthFailure::Throttled(wait) => {
                let mut res = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOOMANYREQUESTS",
                    &format!("too many failed sign-in attempts; try again in {wait} seconds"),
                );
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    wait.to_string().parse().expect("digits"),
                );
                res
            }
        };
    }
    if matches!(
        super::credentials(request.headers()),
        Some(Credentials::Bearer(_))
    ) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the token service takes Basic credentials",
        );
    }
    let query = request.uri().query().unwrap_or_default();
    if let Some(service) = requested_service(query).filter(|s| s != SERVICE) {
        // A token minted for another service must not be usable here, and one for this
        // registry must not claim another audience: refuse, as distribution's token server does.
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            &format!(
                "this token service issues tokens for the service `{SERVICE}` only, not `{service}`"
            ),
        );
    }
    let scopes = requested_scopes(query);
    let access = match state.services.grant_access(&auth.actor, &scopes).await {
        Ok(access) => access,
        Err(e) => {
            tracing::error!(error = %e, "token grant failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "cannot issue a token right now",
            );
        }
    };
    let (token, claims) = state.tokens.issue(&auth.actor.principal, access);
    let issued_at = chrono::DateTime::from_timestamp(claims.iat as i64, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "token": token,
            "access_token": token,
            "expires_in": state.tokens.lifetime().as_secs(),
            "issued_at": issued_at,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_from_query_strings() {
        let s = requested_scopes(
            "service=berth&scope=repository%3Alib%2Fa%3Apull%2Cpush&scope=registry:catalog:*",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "lib/a");
        assert_eq!(s[0].actions, vec!["pull", "push"]);
        let s = requested_scopes("scope=repository:a/b:pull+repository:a/c:push");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn service_from_query_strings() {
        assert_eq!(
            requested_service("scope=x&service=berth").as_deref(),
            Some("berth")
        );
        assert_eq!(
            requested_service("service=not%20berth").as_deref(),
            Some("not berth")
        );
        assert_eq!(requested_service("scope=x"), None);
    }
}
