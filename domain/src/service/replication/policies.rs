//! Replication policies (Harbor's `/replication/policies`): which registry, which filters,
//! which trigger, which gate. System administrators only.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use super::record;
use super::registries::{local_view, view as registry_view};
use crate::entities::{registry, replication_execution, replication_policy, replication_task};
use crate::policy::authz::Action;
use crate::policy::replication::{validate_filters, validate_platform, Filter, SecurityGate};
use crate::service::{rfc3339, Actor, DomainError, DomainResult, Services};
use crate::types::replication::{status, PolicyView, Trigger, TriggerSettings};

/// A policy's fields as given (all optional on update; absent keeps the stored value).
#[derive(Clone, Debug, Default)]
pub struct PolicyInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// 0: this registry.
    pub src_registry: Option<i64>,
    pub dest_registry: Option<i64>,
    pub dest_namespace: Option<String>,
    pub dest_namespace_replace_count: Option<i32>,
    pub filters: Option<Vec<Filter>>,
    pub trigger: Option<Trigger>,
    pub replicate_deletion: Option<bool>,
    pub override_: Option<bool>,
    pub enabled: Option<bool>,
    pub speed: Option<i32>,
    pub copy_by_chunk: Option<bool>,
    pub platforms: Option<Vec<String>>,
    pub security: Option<SecurityGate>,
}

/// A stored policy with its settings decoded: what an execution works from.
#[derive(Clone, Debug)]
pub struct Policy {
    pub row: replication_policy::Model,
    pub filters: Vec<Filter>,
    pub platforms: Vec<String>,
    pub security: SecurityGate,
}

impl Policy {
    pub fn of(row: replication_policy::Model) -> Self {
        Self {
            filters: serde_json::from_str(&row.filters).unwrap_or_default(),
            platforms: serde_json::from_str(&row.platforms).unwrap_or_default(),
            security: serde_json::from_str(&row.security).unwrap_or_default(),
            row,
        }
    }

    /// Push mode: this registry is the source.
    pub fn pushes(&self) -> bool {
        self.row.src_registry_id.is_none()
    }

    /// The remote side's id.
    pub fn remote_id(&self) -> i64 {
        self.row
            .src_registry_id
            .or(self.row.dest_registry_id)
            .unwrap_or_default()
    }
}

/// Harbor writes replication schedules with a leading seconds field (`0 0 2 * * *`); Berth
/// schedules by the minute, so a six-field expression must fire at second 0.
pub fn normalise_cron(text: &str) -> Result<String, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let five = match fields.len() {
        5 => fields.join(" "),
        6 if fields[0] == "0" => fields[1..].join(" "),
        6 => {
            return Err(format!(
                "`{text}`: the seconds field must be 0 (schedules run by the minute)"
            ))
        }
        _ => {
            return Err(format!(
                "`{text}` is not a cron expression of 5 or 6 fields"
            ))
        }
    };
    crate::policy::cron::Schedule::parse(&five)?;
    Ok(five)
}

fn validate_namespace(ns: &str) -> DomainResult<()> {
    let ok = ns.is_empty()
        || ns.trim_matches('/').split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "dest_namespace",
            format!("`{ns}` is not a repository path (lowercase letters, digits, `._-`, `/`)"),
        ))
    }
}

fn field(e: (String, String)) -> DomainError {
    DomainError::field(e.0, e.1)
}

impl Services {
    async fn policy_view(
        &self,
        conn: &impl ConnectionTrait,
        p: &replication_policy::Model,
    ) -> DomainResult<PolicyView> {
        let side = |id: Option<i64>| async move {
            match id {
                None => Ok::<_, DomainError>(local_view()),
                Some(id) => Ok(match registry::Entity::find_by_id(id).one(conn).await? {
                    Some(r) => registry_view(&r),
                    None => local_view(),
                }),
            }
        };
        let decoded = Policy::of(p.clone());
        Ok(PolicyView {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            creator: p.created_by.clone(),
            src_registry: side(p.src_registry_id).await?,
            dest_registry: side(p.dest_registry_id).await?,
            dest_namespace: p.dest_namespace.clone(),
            dest_namespace_replace_count: p.dest_namespace_replace_count,
            filters: decoded.filters,
            trigger: Trigger {
                kind: p.trigger_type.clone(),
                trigger_settings: TriggerSettings {
                    cron: p.trigger_cron.clone().unwrap_or_default(),
                },
            },
            replicate_deletion: p.replicate_deletion,
            deletion: p.replicate_deletion,
            override_: p.override_,
            enabled: p.enabled,
            speed: p.speed,
            copy_by_chunk: p.copy_by_chunk,
            platforms: decoded.platforms,
            security: decoded.security,
            creation_time: rfc3339(p.created_at),
            update_time: rfc3339(p.updated_at),
        })
    }

    /// Policies by name; `name` filters by a part of it (system administrators).
    pub async fn list_replication_policies(
        &self,
        actor: &Actor,
        name: Option<&str>,
    ) -> DomainResult<Vec<PolicyView>> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        let mut q =
            replication_policy::Entity::find().order_by_asc(replication_policy::Column::Name);
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            q = q.filter(replication_policy::Column::Name.contains(n));
        }
        let mut out = Vec::new();
        for p in q.all(&self.db).await? {
            out.push(self.policy_view(&self.db, &p).await?);
        }
        Ok(out)
    }

    pub async fn get_replication_policy(&self, actor: &Actor, id: i64) -> DomainResult<PolicyView> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        let p = find_policy(&self.db, id).await?;
        self.policy_view(&self.db, &p).await
    }

    /// `(policy id, cron)` of every enabled scheduled policy, for the scheduler.
    pub async fn scheduled_replications(&self) -> DomainResult<Vec<(i64, String)>> {
        Ok(replication_policy::Entity::find()
            .filter(replication_policy::Column::TriggerType.eq("scheduled"))
            .filter(replication_policy::Column::Enabled.eq(true))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|p| Some((p.id, p.trigger_cron?)))
            .collect())
    }

    /// A policy with its settings decoded, for running it.
    pub async fn replication_policy(&self, id: i64) -> DomainResult<Policy> {
        Ok(Policy::of(find_policy(&self.db, id).await?))
    }

    /// Creates a policy; 409 for a name in use, 400 naming the field for anything invalid.
    pub async fn create_replication_policy(
        &self,
        actor: &Actor,
        input: PolicyInput,
    ) -> DomainResult<PolicyView> {
        crate::service::require_configuration(&self.db, actor, Action::Update).await?;
        let now = Utc::now();
        let blank = replication_policy::Model {
            id: 0,
            name: String::new(),
            description: String::new(),
            src_registry_id: None,
            dest_registry_id: None,
            dest_namespace: String::new(),
            dest_namespace_replace_count: -1,
            filters: "[]".into(),
            trigger_type: "manual".into(),
            trigger_cron: None,
            replicate_deletion: false,
            override_: true,
            enabled: true,
            speed: -1,
            copy_by_chunk: false,
            platforms: "[]".into(),
            security: "{}".into(),
            created_by: actor.principal.name().to_string(),
            created_at: now,
            updated_at: now,
        };
        let txn = crate::db::begin_write(&self.db).await?;
        let row = apply(&*txn, blank, input).await?;
        unique_name(&*txn, &row.name, None).await?;
        let mut active = row.into_active_model().reset_all();
        active.id = sea_orm::ActiveValue::NotSet;
        let created = active.insert(&*txn).await?;
        record(&*txn, actor, "create", "replication_policy", &created.name).await?;
        txn.commit().await?;
        self.policy_view(&self.db, &created).await
    }

    pub async fn update_replication_policy(
        &self,
        actor: &Actor,
        id: i64,
        input: PolicyInput,
    ) -> DomainResult<PolicyView> {
        crate::service::require_configuration(&self.db, actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let current = find_policy(&*txn, id).await?;
        let mut row = apply(&*txn, current, input).await?;
        unique_name(&*txn, &row.name, Some(id)).await?;
        row.updated_at = Utc::now();
        let updated = row.into_active_model().reset_all().update(&*txn).await?;
        record(&*txn, actor, "update", "replication_policy", &updated.name).await?;
        txn.commit().await?;
        self.policy_view(&self.db, &updated).await
    }

    /// Deletes a policy and its executions; 412 while one of them runs.
    pub async fn delete_replication_policy(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        crate::service::require_configuration(&self.db, actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let p = find_policy(&*txn, id).await?;
        let running = replication_execution::Entity::find()
            .filter(replication_execution::Column::PolicyId.eq(id))
            .filter(
                replication_execution::Column::Status.is_in([status::PENDING, status::IN_PROGRESS]),
            )
            .count(&*txn)
            .await?;
        if running > 0 {
            return Err(DomainError::Precondition(format!(
                "replication policy `{}` is running; stop its execution first",
                p.name
            )));
        }
        let executions: Vec<i64> = replication_execution::Entity::find()
            .filter(replication_execution::Column::PolicyId.eq(id))
            .all(&*txn)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        replication_task::Entity::delete_many()
            .filter(replication_task::Column::ExecutionId.is_in(executions))
            .exec(&*txn)
            .await?;
        replication_execution::Entity::delete_many()
            .filter(replication_execution::Column::PolicyId.eq(id))
            .exec(&*txn)
            .await?;
        replication_policy::Entity::delete_by_id(id)
            .exec(&*txn)
            .await?;
        record(&*txn, actor, "delete", "replication_policy", &p.name).await?;
        txn.commit().await?;
        Ok(())
    }
}

pub(super) async fn find_policy(
    conn: &impl ConnectionTrait,
    id: i64,
) -> DomainResult<replication_policy::Model> {
    replication_policy::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("replication policy {id} not found")))
}

async fn unique_name(
    conn: &impl ConnectionTrait,
    name: &str,
    except: Option<i64>,
) -> DomainResult<()> {
    let mut q =
        replication_policy::Entity::find().filter(replication_policy::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(replication_policy::Column::Id.ne(id));
    }
    if q.one(conn).await?.is_some() {
        return Err(DomainError::Conflict(format!(
            "a replication policy named `{name}` exists"
        )));
    }
    Ok(())
}

/// The policy `row` with `input` applied and every setting checked.
async fn apply(
    conn: &impl ConnectionTrait,
    mut row: replication_policy::Model,
    input: PolicyInput,
) -> DomainResult<replication_policy::Model> {
    if let Some(name) = input.name {
        row.name = name.trim().to_string();
    }
    if row.name.is_empty() {
        return Err(DomainError::field(
            "name",
            "a replication policy needs a name",
        ));
    }
    if row.name.chars().count() > 255 {
        return Err(DomainError::field(
            "name",
            "must have at most 255 characters",
        ));
    }
    if let Some(d) = input.description {
        row.description = d;
    }
    let side = |id: i64| (id != 0).then_some(id);
    if let Some(src) = input.src_registry {
        row.src_registry_id = side(src);
    }
    if let Some(dest) = input.dest_registry {
        row.dest_registry_id = side(dest);
    }
    match (row.src_registry_id, row.dest_registry_id) {
        (Some(_), Some(_)) => {
            return Err(DomainError::field(
                "dest_registry",
                "one side of a policy must be this registry (id 0): pull from a remote, or \
                 push to one",
            ))
        }
        (None, None) => {
            return Err(DomainError::field(
                "dest_registry",
                "a policy needs a remote registry as its source or its destination",
            ))
        }
        (Some(id), None) | (None, Some(id)) => {
            if registry::Entity::find_by_id(id).one(conn).await?.is_none() {
                let which = if row.src_registry_id.is_some() {
                    "src_registry"
                } else {
                    "dest_registry"
                };
                return Err(DomainError::field(
                    which,
                    format!("registry {id} does not exist"),
                ));
            }
        }
    }
    if let Some(ns) = input.dest_namespace {
        validate_namespace(ns.trim())?;
        row.dest_namespace = ns.trim().trim_matches('/').to_string();
    }
    if let Some(n) = input.dest_namespace_replace_count {
        if n < -1 {
            return Err(DomainError::field(
                "dest_namespace_replace_count",
                "must be -1 (flatten all levels), 0 (none) or a number of levels",
            ));
        }
        row.dest_namespace_replace_count = n;
    }
    if let Some(filters) = input.filters {
        validate_filters(&filters).map_err(field)?;
        row.filters = serde_json::to_string(&filters).expect("filters serialize");
    }
    if let Some(t) = input.trigger {
        match t.kind.as_str() {
            "manual" | "event_based" => row.trigger_cron = None,
            "scheduled" => {
                let cron = normalise_cron(&t.trigger_settings.cron)
                    .map_err(|e| DomainError::field("trigger.trigger_settings.cron", e))?;
                row.trigger_cron = Some(cron);
            }
            other => {
                return Err(DomainError::field(
                    "trigger.type",
                    format!("`{other}` is not one of manual, scheduled, event_based"),
                ))
            }
        }
        row.trigger_type = t.kind;
    }
    if let Some(v) = input.replicate_deletion {
        row.replicate_deletion = v;
    }
    if let Some(v) = input.override_ {
        row.override_ = v;
    }
    if let Some(v) = input.enabled {
        row.enabled = v;
    }
    if let Some(speed) = input.speed {
        if speed < -1 {
            return Err(DomainError::field(
                "speed",
                "must be a rate in KiB/s, or -1 or 0 for unlimited",
            ));
        }
        row.speed = speed;
    }
    if let Some(v) = input.copy_by_chunk {
        row.copy_by_chunk = v;
    }
    if let Some(platforms) = input.platforms {
        if !platforms.is_empty() {
            // Copying every platform when some were asked for would be a silent surprise.
            return Err(DomainError::field(
                "platforms",
                "platform filters are not supported yet; leave `platforms` empty to copy every platform",
            ));
        }
        for (i, p) in platforms.iter().enumerate() {
            validate_platform(p).map_err(|e| DomainError::field(format!("platforms[{i}]"), e))?;
        }
        row.platforms = serde_json::to_string(&platforms).expect("platforms serialize");
    }
    if let Some(gate) = input.security {
        gate.validate().map_err(field)?;
        row.security = serde_json::to_string(&gate).expect("a gate serializes");
    }
    let gate: SecurityGate = serde_json::from_str(&row.security).unwrap_or_default();
    if !gate.is_open() && row.src_registry_id.is_some() {
        // This registry judges only its own scans and signatures.
        return Err(DomainError::field(
            "security",
            "the security gate applies to push mode (this registry as the source); on arrival \
             here, this registry's own scanning and signature policy apply",
        ));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::normalise_cron;

    #[test]
    fn harbor_six_field_schedules_run_by_the_minute() {
        assert_eq!(normalise_cron("0 0 2 * * *").unwrap(), "0 2 * * *");
        assert_eq!(normalise_cron("*/5 * * * *").unwrap(), "*/5 * * * *");
        assert!(normalise_cron("30 0 2 * * *").is_err());
        assert!(normalise_cron("every day").is_err());
    }
}
