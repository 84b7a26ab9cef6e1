//! Signing in with a username and password: the one path shared by the console's `login`
//! server function and the sign-in form posted without JavaScript (`POST /login`).

use domain::service::login::{LoginError, SESSION_USER_ID};
use domain::service::robots::ROBOT_PREFIX;
use domain::service::{Actor, Principal, Services, UserPrincipal};
use http::StatusCode;

/// Why a sign-in did not happen, with the status it is answered with. Refusals and throttling
/// are reported against the password field of the sign-in form.
#[derive(Debug)]
pub enum SignInError {
    /// Wrong credentials, a robot account, a disabled user: the caller's mistake (401).
    Refused(String),
    /// Too many failures: wait this many seconds (429).
    Throttled(u64),
    /// The session could not be stored (500).
    Internal(String),
}

impl SignInError {
    pub fn status(&self) -> StatusCode {
        match self {
            SignInError::Refused(_) => StatusCode::UNAUTHORIZED,
            SignInError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            SignInError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            SignInError::Refused(m) => m.clone(),
            SignInError::Throttled(wait) => {
                format!("too many failed sign-in attempts; try again in {wait} seconds")
            }
            SignInError::Internal(_) => "cannot sign you in right now; try again".into(),
        }
    }
}

/// Checks the password and, when it is right, binds the user to a new session id (so a
/// planted session id is worthless).
pub async fn sign_in(
    services: &Services,
    actor: &Actor,
    session: &tower_sessions::Session,
    username: &str,
    password: &str,
) -> Result<UserPrincipal, SignInError> {
    if username.starts_with(ROBOT_PREFIX) {
        return Err(SignInError::Refused(
            "robot accounts cannot sign in to the console".into(),
        ));
    }
    let principal = services
        .login_with_password(username, password, &actor.source_ip, true)
        .await
        .map_err(|e| match e {
            LoginError::Invalid(m) => SignInError::Refused(m),
            LoginError::Throttled(wait) => SignInError::Throttled(wait),
        })?;
    let Principal::User(user) = principal else {
        return Err(SignInError::Refused(
            "only users can sign in to the console".into(),
        ));
    };
    session
        .cycle_id()
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?;
    session
        .insert(SESSION_USER_ID, user.id)
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?;
    Ok(user)
}
