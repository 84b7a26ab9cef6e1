//! First start: the `admin` system administrator.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

use crate::entities::user;
use crate::password;

pub const ADMIN_USERNAME: &str = "admin";

/// What happened to the `admin` account at start.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// It existed already; nothing changed.
    Existing,
    /// Created with the password the operator supplied.
    CreatedWithGivenPassword,
    /// Created with a generated password, returned here to be shown once.
    CreatedWithGeneratedPassword(String),
}

/// Creates `admin` unless it exists. An existing account is never modified, so changing
/// `BERTH_ADMIN_PASSWORD` later does not reset a password someone has changed.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    given_password: Option<&str>,
) -> Result<AdminBootstrap, DbErr> {
    let existing = user::Entity::find()
        .filter(user::Column::Username.eq(ADMIN_USERNAME))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(AdminBootstrap::Existing);
    }
    let (password, outcome) = match given_password.filter(|p| !p.is_empty()) {
        Some(p) => (p.to_string(), AdminBootstrap::CreatedWithGivenPassword),
        None => {
            let p = password::generate(20);
            (p.clone(), AdminBootstrap::CreatedWithGeneratedPassword(p))
        }
    };
    let now = Utc::now();
    user::ActiveModel {
        username: Set(ADMIN_USERNAME.into()),
        email: Set(None),
        display_name: Set("Administrator".into()),
        password_hash: Set(Some(password::hash(&password))),
        is_admin: Set(true),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(outcome)
}

/// Records the fingerprint of a key every replica must share, or compares it with the one the
/// first replica recorded. `Err(recorded)` when they differ.
pub async fn shared_key(
    db: &DatabaseConnection,
    name: &str,
    fingerprint: &str,
) -> Result<Result<(), String>, DbErr> {
    use crate::entities::key_fingerprint;
    use sea_orm::sea_query::OnConflict;
    key_fingerprint::Entity::insert(key_fingerprint::ActiveModel {
        name: Set(name.to_string()),
        fingerprint: Set(fingerprint.to_string()),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(key_fingerprint::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let recorded = key_fingerprint::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .map(|k| k.fingerprint)
        .unwrap_or_default();
    Ok(if recorded == fingerprint {
        Ok(())
    } else {
        Err(recorded)
    })
}
