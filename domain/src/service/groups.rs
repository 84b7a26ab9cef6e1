//! User groups: created by name now, filled from OpenID Connect group claims later.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::authorize;
use super::{page_bounds, Actor, DomainError, DomainResult, Principal, Services};
use crate::entities::user_group;
use crate::policy::authz::{Action, Resource};
use crate::types::dto::{GroupView, Page};

pub const GROUP_TYPES: [&str; 2] = ["oidc", "local"];

fn view(g: user_group::Model) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
        group_type: g.group_type,
    }
}

/// Group administration is a system resource: the policy grants it to system administrators.
async fn require_group_admin(
    services: &Services,
    actor: &Actor,
    action: Action,
) -> DomainResult<()> {
    authorize(
        &services.db,
        &actor.principal,
        None,
        Resource::UserGroup,
        action,
    )
    .await
}

impl Services {
    pub async fn create_group(
        &self,
        actor: &Actor,
        name: &str,
        group_type: &str,
    ) -> DomainResult<GroupView> {
        require_group_admin(self, actor, Action::Create).await?;
        let name = name.trim();
        if name.is_empty() || name.len() > 255 {
            return Err(DomainError::Invalid(
                "group name must have 1-255 characters".into(),
            ));
        }
        if !GROUP_TYPES.contains(&group_type) {
            return Err(DomainError::Invalid(format!(
                "group type must be one of {GROUP_TYPES:?}"
            )));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let exists = user_group::Entity::find()
            .filter(user_group::Column::Name.eq(name))
            .filter(user_group::Column::GroupType.eq(group_type))
            .one(&txn)
            .await?;
        if exists.is_some() {
            return Err(DomainError::Conflict(format!(
                "group `{name}` already exists"
            )));
        }
        let g = user_group::ActiveModel {
            name: Set(name.into()),
            group_type: Set(group_type.into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "create",
                resource_type: "user_group",
                resource: name,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(g))
    }

    pub async fn list_groups(
        &self,
        actor: &Actor,
        query: Option<&str>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<GroupView>> {
        if matches!(actor.principal, Principal::Anonymous) {
            return Err(DomainError::Unauthorized("authentication required".into()));
        }
        let (page, size) = page_bounds(page, page_size);
        let mut q = user_group::Entity::find().order_by_asc(user_group::Column::Name);
        if let Some(text) = query.filter(|s| !s.is_empty()) {
            q = q.filter(user_group::Column::Name.contains(text));
        }
        let paginator = q.paginate(&self.db, size);
        let total = paginator.num_items().await?;
        let items = paginator
            .fetch_page(page - 1)
            .await?
            .into_iter()
            .map(view)
            .collect();
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }

    pub async fn delete_group(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        require_group_admin(self, actor, Action::Delete).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let g = user_group::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("group {id} not found")))?;
        user_group::Entity::delete_by_id(id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "user_group",
                resource: &g.name,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
