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
        let standing = match limiter.standing(&self.db, username, source_ip).await {
            Ok(standing) => standing,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sign-in throttle");
                return Err(LoginError::Invalid("authentication is unavailable".into()));
            }
        };
        if let Some(wait) = standing.wait {
            return Err(LoginError::Throttled(wait));
        }
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
                if standing.account_failures > 0 {
                    if let Err(e) = limiter.record_success(&self.db, username).await {
                        tracing::warn!(error = %e, "cannot clear an account's failed sign-ins");
                    }
                }
                Ok(principal)
            }
            Err(DomainError::Unauthorized(message)) => {
                if let Err(e) = limiter.record_failure(&self.db, username, source_ip).await {
                    tracing::warn!(error = %e, "cannot record a failed sign-in");
                }
                Err(LoginError::Invalid(message))
            }
            Err(e) => {
                tracing::error!(error = %e, "authentication failed on a server error");
                Err(LoginError::Invalid("authentication is unavailable".into()))
            }
        }
    }
}
