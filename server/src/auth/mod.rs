//! Who is calling: the console session, HTTP Basic (user or robot), or a registry bearer token.
//! The result is put into the request as an `AuthState`; adapters turn it into an `Actor`.

pub mod csrf;
pub mod session_store;
pub mod sign_in;
pub mod token;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use domain::service::tokens::GrantedAccess;
use domain::service::{Actor, Principal};
use tower_sessions::Session;

use crate::AppState;

pub use domain::service::login::{LoginError as AuthFailure, SESSION_USER_ID};

/// The outcome of authentication for one request.
#[derive(Clone, Debug)]
pub struct AuthState {
    pub actor: Actor,
    pub failure: Option<AuthFailure>,
    /// The `access` claim of a bearer token: what the registry may do with it.
    pub token_access: Option<Vec<GrantedAccess>>,
}

/// The caller's address as seen by this process.
pub fn client_ip(parts_ext: &axum::http::Extensions) -> String {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub enum Credentials {
    Basic { username: String, password: String },
    Bearer(String),
}

pub fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        Some(Credentials::Basic {
            username: username.into(),
            password: password.into(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Credentials::Bearer(rest.trim().into()))
    } else {
        None
    }
}

/// Middleware: resolves the caller once per request.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(request.extensions());
    let mut auth = AuthState {
        actor: Actor::new(Principal::Anonymous, ip.clone()),
        failure: None,
        token_access: None,
    };
    match credentials(request.headers()) {
        Some(Credentials::Basic { username, password }) => {
            match state
                .services
                .login_with_password(&username, &password, &ip, false)
                .await
            {
                Ok(principal) => {
                    // A CLI secret lives only as long as the provider keeps the session.
                    let recheck = match (&principal, &state.oidc) {
                        (Principal::User(u), Some(oidc)) => oidc.recheck(&state, u.id).await,
                        _ => Ok(()),
                    };
                    match recheck {
                        Ok(()) => auth.actor.principal = principal,
                        Err(message) => auth.failure = Some(AuthFailure::Invalid(message)),
                    }
                }
                Err(failure) => auth.failure = Some(failure),
            }
        }
        Some(Credentials::Bearer(token)) => match state.tokens.verify(&token) {
            Ok(claims) => {
                auth.actor.principal = claims.principal();
                auth.token_access = Some(claims.access);
            }
            Err(reason) => auth.failure = Some(AuthFailure::Invalid(reason)),
        },
        None => {
            if let Some(session) = request.extensions().get::<Session>().cloned() {
                if let Ok(Some(user_id)) = session.get::<i64>(SESSION_USER_ID).await {
                    match state.services.current_user(user_id).await {
                        Ok(Some(user)) => auth.actor.principal = Principal::User(user),
                        // Disabled or deleted since sign-in: the session ends now.
                        Ok(None) => {
                            let _ = session.flush().await;
                        }
                        Err(e) => tracing::error!(error = %e, "cannot load the session's user"),
                    }
                }
            }
        }
    }
    request.extensions_mut().insert(auth.actor.clone());
    request.extensions_mut().insert(auth);
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for AuthState {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<AuthState>()
            .cloned()
            .unwrap_or_else(|| AuthState {
                actor: Actor::new(Principal::Anonymous, client_ip(&parts.extensions)),
                failure: None,
                token_access: None,
            }))
    }
}
