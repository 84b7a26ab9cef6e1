//! What the signed-in user may do, asked of the same policy the server enforces
//! (`domain::policy::authz`): the console only offers what would be allowed.

use domain::policy::authz::{allows, Action as Act, ProjectFacts, Resource as Res, Subject};
use domain::types::dto::ProjectView;

/// Whether the signed-in user may perform `action` on `resource` in this project.
pub fn may(is_admin: bool, project: &ProjectView, resource: Res, action: Act) -> bool {
    allows(
        Subject::User { is_admin },
        Some(ProjectFacts {
            name: &project.name,
            public: project.public,
        }),
        project.current_role,
        resource,
        action,
    )
}

/// Whether the signed-in user may perform a system-scope `action` (no project).
pub fn may_system(is_admin: bool, resource: Res, action: Act) -> bool {
    allows(Subject::User { is_admin }, None, None, resource, action)
}

/// Whether the signed-in user may administer the instance (users, settings, scanners,
/// garbage collection).
pub fn may_administer(is_admin: bool) -> bool {
    may_system(is_admin, Res::Configuration, Act::Update)
}
