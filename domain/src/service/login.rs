//! Password sign-in for users and robots, throttled per account and per address.

use super::robots::ROBOT_PREFIX;
use super::{DomainError, Principal, Services};

/// Session key holding the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

/// Why presented credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginError {
    Invalid(String),
    /// Too many recent failures; retry after this many seconds.
    Throttled(u64),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Invalid(m) => f.write_str(m),
            LoginError::Throttled(wait) => {
                write!(
                    f,
                    "too many failed sign-in attempts; try again in {wait} seconds"
                )
            }
        }
    }
}

impl Services {
    /// Checks a username and password, or a robot name (`robot$…`) and secret. Failures are
    /// audited and counted; `audit_success` also audits a successful sign-in (console logins,
    /// not every API call).
    pub async fn login_with_password(
        &self,
        username: &str,
        password: &str,
        source_ip: &str,
        audit_success: bool,
    ) -> Result<Principal, LoginError> {
        let limiter = &self.login_limiter;
        limiter
            .check(username, source_ip)
            .map_err(LoginError::Throttled)?;
        let result = if username.starts_with(ROBOT_PREFIX) {
            self.authenticate_robot(username, password, source_ip)
                .await
                .map(Principal::Robot)
        } else {
            self.authenticate_password(username, password, source_ip, audit_success)
                .await
                .map(Principal::User)
        };
        match result {
            Ok(principal) => {
                limiter.record_success(username);
                Ok(principal)
            }
            Err(DomainError::Unauthorized(message)) => {
                limiter.record_failure(username, source_ip);
                Err(LoginError::Invalid(message))
            }
            Err(e) => {
                tracing::error!(error = %e, "authentication failed on a server error");
                Err(LoginError::Invalid("authentication is unavailable".into()))
            }
        }
    }
}
