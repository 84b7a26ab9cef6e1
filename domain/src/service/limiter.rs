//! Sign-in throttling: failed attempts per account and per source address in a sliding window,
//! kept in the database (`login_failures`) so that every replica enforces the same window.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

use crate::entities::login_failure;

#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_account: usize,
    per_address: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), 5, 20)
    }
}

/// Where an account and an address stand.
#[derive(Debug, PartialEq, Eq)]
pub struct Standing {
    /// Seconds to wait, while either has too many recent failures.
    pub wait: Option<u64>,
    /// Recent failures of the account (a success clears them).
    pub account_failures: usize,
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> Self {
        Self {
            window,
            per_account,
            per_address,
        }
    }

    fn since(&self) -> chrono::DateTime<Utc> {
        Utc::now() - chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::hours(1))
    }

    pub async fn standing(
        &self,
        db: &impl ConnectionTrait,
        account: &str,
        address: &str,
    ) -> Result<Standing, DbErr> {
        let keys = [account_key(account), address_key(address)];
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::Key.is_in(keys.clone()))
            .filter(login_failure::Column::At.gt(self.since()))
            .all(db)
            .await?;
        let now = Utc::now();
        let mut wait = 0u64;
        let mut account_failures = 0;
        for (key, limit) in [(&keys[0], self.per_account), (&keys[1], self.per_address)] {
            let times: Vec<_> = recent
                .iter()
                .filter(|f| &f.key == key)
                .map(|f| f.at)
                .collect();
            if key == &keys[0] {
                account_failures = times.len();
            }
            if times.len() >= limit {
                let oldest = times.iter().min().copied().unwrap_or(now);
                let elapsed = (now - oldest).to_std().unwrap_or_default();
                wait = wait.max(self.window.saturating_sub(elapsed).as_secs() + 1);
            }
        }
        Ok(Standing {
            wait: (wait > 0).then_some(wait),
            account_failures,
        })
    }

    pub async fn record_failure(
        &self,
        db: &DatabaseConnection,
        account: &str,
        address: &str,
    ) -> Result<(), DbErr> {
        let txn = crate::db::begin_write(db).await?;
        let now = Utc::now();
        for key in [account_key(account), address_key(address)] {
            login_failure::Entity::insert(login_failure::ActiveModel {
                key: Set(key),
                at: Set(now),
                ..Default::default()
            })
            .exec_without_returning(&*txn)
            .await?;
        }
        // Failures that left the window are of no further use.
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::At.lt(self.since()))
            .exec(&*txn)
            .await?;
        txn.commit().await
    }

    pub async fn record_success(
        &self,
        db: &DatabaseConnection,
        account: &str,
    ) -> Result<(), DbErr> {
        let txn = crate::db::begin_write(db).await?;
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Key.eq(account_key(account)))
            .exec(&*txn)
            .await?;
        txn.commit().await
    }
}
