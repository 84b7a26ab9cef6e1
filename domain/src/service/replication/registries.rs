//! Remote registries (Harbor's `/registries`): system administrators add, change and remove
//! them. Secrets arrive sealed by the caller and never leave as they were given: views show
//! `*****`, and only `endpoint` hands the sealed value to the code that calls the remote.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use super::record;
use crate::entities::{registry, replication_policy};
use crate::policy::authz::Action;
use crate::service::{rfc3339, Actor, DomainError, DomainResult, Services};
use crate::types::replication::{CredentialView, RegistryView, MASKED_SECRET};

/// The registry types replication speaks.
pub const KINDS: [&str; 2] = ["harbor", "docker-registry"];

/// A registry's fields as given (all optional on update).
#[derive(Clone, Debug, Default)]
pub struct RegistryInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub url: Option<String>,
    pub credential_type: Option<String>,
    pub access_key: Option<String>,
    /// The secret sealed by the caller; `Some(None)` removes it. `*****` (what views show)
    /// is turned into `None` by the caller: it means "keep the stored one".
    pub sealed_secret: Option<Option<String>>,
    pub insecure: Option<bool>,
    pub ca_certificate: Option<String>,
}

/// What it takes to call a remote: its address and sealed credential.
#[derive(Clone, Debug)]
pub struct RegistryEndpoint {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub url: String,
    pub access_key: Option<String>,
    pub sealed_secret: Option<String>,
    pub insecure: bool,
    pub ca_certificate: Option<String>,
}

impl From<registry::Model> for RegistryEndpoint {
    fn from(m: registry::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            kind: m.kind,
            url: m.url,
            access_key: m.access_key.filter(|k| !k.is_empty()),
            sealed_secret: m.access_secret,
            insecure: m.insecure,
            ca_certificate: m.ca_certificate.filter(|c| !c.trim().is_empty()),
        }
    }
}

pub fn view(m: &registry::Model) -> RegistryView {
    RegistryView {
        id: m.id,
        name: m.name.clone(),
        description: m.description.clone(),
        kind: m.kind.clone(),
        url: m.url.clone(),
        credential: CredentialView {
            kind: m.credential_type.clone(),
            access_key: m.access_key.clone().unwrap_or_default(),
            access_secret: if m.access_secret.is_some() {
                MASKED_SECRET.into()
            } else {
                String::new()
            },
        },
        insecure: m.insecure,
        ca_certificate: m.ca_certificate.clone().unwrap_or_default(),
        status: m.status.clone(),
        creation_time: rfc3339(m.created_at),
        update_time: rfc3339(m.updated_at),
    }
}

/// This registry, as policies show their local side.
pub fn local_view() -> RegistryView {
    RegistryView {
        id: 0,
        name: "Local".into(),
        description: String::new(),
        kind: "harbor".into(),
        url: String::new(),
        credential: CredentialView::default(),
        insecure: false,
        ca_certificate: String::new(),
        status: "healthy".into(),
        creation_time: String::new(),
        update_time: String::new(),
    }
}

/// Refuses anything but an absolute http(s) URL with a host and no query or credentials.
pub fn validate_url(url: &str) -> DomainResult<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let refuse = |why: &str| DomainError::field("url", format!("`{url}` {why}"));
    let rest = match trimmed.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return Err(refuse("is not an http(s) URL")),
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(refuse("has no host"));
    }
    if host.contains('@') {
        return Err(refuse(
            "carries credentials; give them in `credential` (they are sealed there)",
        ));
    }
    if rest.contains(['?', '#', ' ']) {
        return Err(refuse("must not have a query, a fragment or spaces"));
    }
    Ok(trimmed.to_string())
}

fn validate_kind(kind: &str) -> DomainResult<()> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(DomainError::field(
            "type",
            format!("`{kind}` is not one of {}", KINDS.join(", ")),
        ))
    }
}

fn validate_credential_type(kind: &str) -> DomainResult<()> {
    if ["basic", "secret"].contains(&kind) {
        Ok(())
    } else {
        Err(DomainError::field(
            "credential.type",
            format!("`{kind}` is not one of basic, secret"),
        ))
    }
}

fn validate_ca(pem: &str) -> DomainResult<()> {
    if pem.trim().is_empty() || pem.contains("-----BEGIN CERTIFICATE-----") {
        Ok(())
    } else {
        Err(DomainError::field(
            "ca_certificate",
            "must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
        ))
    }
}

pub(super) async fn find(conn: &impl ConnectionTrait, id: i64) -> DomainResult<registry::Model> {
    registry::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("registry {id} not found")))
}

impl Services {
    async fn require_replication(&self, actor: &Actor, action: Action) -> DomainResult<()> {
        crate::service::require_configuration(&self.db, actor, action).await
    }

    /// Every registry, by name; `q` filters by a part of the name (system administrators).
    pub async fn list_registries(
        &self,
        actor: &Actor,
        name: Option<&str>,
    ) -> DomainResult<Vec<RegistryView>> {
        self.require_replication(actor, Action::Read).await?;
        let mut q = registry::Entity::find().order_by_asc(registry::Column::Name);
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            q = q.filter(registry::Column::Name.contains(n));
        }
        Ok(q.all(&self.db).await?.iter().map(view).collect())
    }

    pub async fn get_registry(&self, actor: &Actor, id: i64) -> DomainResult<RegistryView> {
        self.require_replication(actor, Action::Read).await?;
        Ok(view(&find(&self.db, id).await?))
    }

    /// The address and sealed credential of a registry, for pinging or replicating (system
    /// administrators).
    pub async fn registry_endpoint(
        &self,
        actor: &Actor,
        id: i64,
    ) -> DomainResult<RegistryEndpoint> {
        self.require_replication(actor, Action::Read).await?;
        Ok(find(&self.db, id).await?.into())
    }

    /// Checks a registry that is not stored yet, before the caller pings it (system
    /// administrators); returns its normalised URL.
    pub async fn check_registry_ping(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        url: Option<&str>,
    ) -> DomainResult<String> {
        self.require_replication(actor, Action::Update).await?;
        if let Some(k) = kind {
            validate_kind(k)?;
        }
        let url = url.ok_or_else(|| DomainError::field("url", "a registry needs a url"))?;
        validate_url(url)
    }

    pub async fn create_registry(
        &self,
        actor: &Actor,
        input: RegistryInput,
    ) -> DomainResult<RegistryView> {
        self.require_replication(actor, Action::Update).await?;
        let name = input
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| DomainError::field("name", "a registry needs a name"))?;
        let kind = input.kind.unwrap_or_else(|| "docker-registry".into());
        validate_kind(&kind)?;
        let url = validate_url(
            input
                .url
                .as_deref()
                .ok_or_else(|| DomainError::field("url", "a registry needs a url"))?,
        )?;
        let credential_type = input.credential_type.unwrap_or_else(|| "basic".into());
        validate_credential_type(&credential_type)?;
        let ca = input.ca_certificate.unwrap_or_default();
        validate_ca(&ca)?;
        let txn = crate::db::begin_write(&self.db).await?;
        if registry::Entity::find()
            .filter(registry::Column::Name.eq(&name))
            .one(&*txn)
            .await?
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "a registry named `{name}` exists"
            )));
        }
        let now = Utc::now();
        let created = registry::ActiveModel {
            name: Set(name),
            description: Set(input.description.unwrap_or_default()),
            kind: Set(kind),
            url: Set(url),
            credential_type: Set(credential_type),
            access_key: Set(input.access_key.filter(|k| !k.is_empty())),
            access_secret: Set(input.sealed_secret.flatten()),
            insecure: Set(input.insecure.unwrap_or(false)),
            ca_certificate: Set((!ca.trim().is_empty()).then_some(ca)),
            status: Set("unknown".into()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        record(&*txn, actor, "create", "registry", &created.name).await?;
        txn.commit().await?;
        Ok(view(&created))
    }

    /// Changes a registry. A new URL without a new secret clears the stored secret, so a
    /// credential is never sent to an address it was not given for.
    pub async fn update_registry(
        &self,
        actor: &Actor,
        id: i64,
        input: RegistryInput,
    ) -> DomainResult<RegistryView> {
        self.require_replication(actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let row = find(&*txn, id).await?;
        let old_url = row.url.clone();
        let mut active = row.into_active_model();
        if let Some(name) = input.name.map(|n| n.trim().to_string()) {
            if name.is_empty() {
                return Err(DomainError::field("name", "a registry needs a name"));
            }
            if registry::Entity::find()
                .filter(registry::Column::Name.eq(&name))
                .filter(registry::Column::Id.ne(id))
                .one(&*txn)
                .await?
                .is_some()
            {
                return Err(DomainError::Conflict(format!(
                    "a registry named `{name}` exists"
                )));
            }
            active.name = Set(name);
        }
        if let Some(d) = input.description {
            active.description = Set(d);
        }
        if let Some(k) = input.kind {
            validate_kind(&k)?;
            active.kind = Set(k);
        }
        let mut url_changed = false;
        if let Some(u) = input.url {
            let url = validate_url(&u)?;
            url_changed = url != old_url;
            active.url = Set(url);
            active.status = Set("unknown".into());
        }
        if let Some(t) = input.credential_type {
            validate_credential_type(&t)?;
            active.credential_type = Set(t);
        }
        if let Some(k) = input.access_key {
            active.access_key = Set(Some(k).filter(|k| !k.is_empty()));
        }
        match input.sealed_secret {
            Some(secret) => active.access_secret = Set(secret),
            None if url_changed => active.access_secret = Set(None),
            None => {}
        }
        if let Some(v) = input.insecure {
            active.insecure = Set(v);
        }
        if let Some(ca) = input.ca_certificate {
            validate_ca(&ca)?;
            active.ca_certificate = Set((!ca.trim().is_empty()).then_some(ca));
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&*txn).await?;
        record(&*txn, actor, "update", "registry", &updated.name).await?;
        txn.commit().await?;
        Ok(view(&updated))
    }

    /// Removes a registry no policy uses (412 otherwise).
    pub async fn delete_registry(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        self.require_replication(actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let row = find(&*txn, id).await?;
        let users = replication_policy::Entity::find()
            .filter(
                replication_policy::Column::SrcRegistryId
                    .eq(id)
                    .or(replication_policy::Column::DestRegistryId.eq(id)),
            )
            .count(&*txn)
            .await?;
        if users > 0 {
            return Err(DomainError::Precondition(format!(
                "registry `{}` is used by {users} replication polic{}; delete or change them first",
                row.name,
                if users == 1 { "y" } else { "ies" }
            )));
        }
        registry::Entity::delete_by_id(id).exec(&*txn).await?;
        record(&*txn, actor, "delete", "registry", &row.name).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Stores the last ping's answer (`healthy` or `unhealthy`).
    pub async fn set_registry_status(&self, id: i64, healthy: bool) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(row) = registry::Entity::find_by_id(id).one(&*txn).await? {
            let mut active = row.into_active_model();
            active.status = Set(if healthy { "healthy" } else { "unhealthy" }.into());
            active.update(&*txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
