//! The authorization policy: which subject may perform which action on which resource.
//! This is the only place in Berth that compares roles (see docs/permissions.md).

use serde::{Deserialize, Serialize};

use crate::types::Role;

/// What an action is performed on. Project-scoped unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    Project,
    Member,
    Repository,
    Artifact,
    Tag,
    /// Project robots; with no project, system robots.
    Robot,
    AuditLog,
    Scan,
    TagRetention,
    ImmutableTag,
    Quota,
    /// The project's labels; with no project, global labels (system administrators manage
    /// them, everyone signed in sees them).
    Label,
    /// Attaching labels to the project's artifacts and taking them off.
    ArtifactLabel,
    /// The keys and CA certificates the project trusts for image signatures; with no project,
    /// the system-wide ones (system administrators).
    TrustAnchor,
    /// System scope: local users.
    User,
    /// System scope: user groups.
    UserGroup,
    /// System scope: the registry catalog of every repository.
    Catalog,
    /// System scope: instance settings such as the identity provider.
    Configuration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Read,
    List,
    Create,
    Update,
    Delete,
    Pull,
    Push,
}

/// One permission of a robot account: `namespace` is a project name or `*` for every project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotGrant {
    pub namespace: String,
    pub resource: Resource,
    pub action: Action,
}

/// Who is asking, as far as the rules need to know.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Anonymous,
    User { is_admin: bool },
    Robot { grants: &'a [RobotGrant] },
}

/// The project an action targets, when it targets one.
#[derive(Clone, Copy, Debug)]
pub struct ProjectFacts<'a> {
    pub name: &'a str,
    pub public: bool,
}

use Action::*;
use Resource::*;

/// What a member with `role` may do inside their project. Modelled on Harbor's role matrix:
/// developers push but do not delete or scan; maintainers delete, scan and manage retention
/// and immutability but not members; guests and limited guests only read and pull.
pub fn role_allows(role: Role, resource: Resource, action: Action) -> bool {
    match role {
        Role::ProjectAdmin => matches!(
            resource,
            Project
                | Member
                | Repository
                | Artifact
                | Tag
                | Robot
                | AuditLog
                | Scan
                | TagRetention
                | ImmutableTag
                | Quota
                | Label
                | ArtifactLabel
                | TrustAnchor
        ),
        Role::Maintainer => match resource {
            Project | Quota => matches!(action, Read),
            Label => matches!(action, Read | List | Create | Update | Delete),
            ArtifactLabel => matches!(action, Read | List | Create | Delete),
            Member | Robot => matches!(action, Read | List),
            Repository | Artifact | Tag | TagRetention | ImmutableTag => true,
            Scan => matches!(action, Create | Read),
            TrustAnchor => matches!(action, Read | List),
            _ => false,
        },
        Role::Developer => match resource {
            Project | Quota => matches!(action, Read),
            Label => matches!(action, Read | List),
            ArtifactLabel => matches!(action, Read | List | Create | Delete),
            Member => matches!(action, Read | List),
            Repository => matches!(action, Pull | Push | Read | List | Update),
            Artifact => matches!(action, Read | List | Create),
            Tag => matches!(action, Read | List | Create),
            Scan => matches!(action, Read),
            TagRetention | ImmutableTag | TrustAnchor => matches!(action, Read | List),
            _ => false,
        },
        Role::Guest => match resource {
            Project | Quota => matches!(action, Read),
            Label | ArtifactLabel => matches!(action, Read | List),
            Member => matches!(action, Read | List),
            Repository => matches!(action, Pull | Read | List),
            Artifact | Tag => matches!(action, Read | List),
            Scan => matches!(action, Read),
            TagRetention | ImmutableTag | TrustAnchor => matches!(action, Read | List),
            _ => false,
        },
        Role::LimitedGuest => match resource {
            Project => matches!(action, Read),
            Repository => matches!(action, Pull | Read | List),
            Artifact | Tag => matches!(action, Read | List),
            Scan => matches!(action, Read),
            _ => false,
        },
    }
}

/// What anyone, signed in or not, may do in a public project.
fn public_allows(resource: Resource, action: Action) -> bool {
    match resource {
        Project => matches!(action, Read),
        Label | ArtifactLabel => matches!(action, Read | List),
        Repository => matches!(action, Pull | Read | List),
        Artifact | Tag => matches!(action, Read | List),
        Scan => matches!(action, Read),
        _ => false,
    }
}

/// The decision. `role` is the subject's effective role in `project` (highest of direct and
/// group memberships), `None` when not a member or when no project is targeted.
pub fn allows(
    subject: Subject<'_>,
    project: Option<ProjectFacts<'_>>,
    role: Option<Role>,
    resource: Resource,
    action: Action,
) -> bool {
    match (subject, project) {
        (Subject::User { is_admin: true }, _) => true,
        (Subject::Robot { grants }, project) => {
            grants.iter().any(|g| {
                let in_scope = match project {
                    Some(p) => g.namespace == "*" || g.namespace == p.name,
                    None => g.namespace == "*",
                };
                // Any grant in a project lets the robot see that project exists.
                let sees_project = project.is_some() && (resource, action) == (Project, Read);
                in_scope && ((g.resource == resource && g.action == action) || sees_project)
            })
            // What anyone may do in a public project, a robot may too (as in Harbor): signing
            // in never takes away what anonymous access allows.
            || project.is_some_and(|p| p.public && public_allows(resource, action))
        }
        // Without a project: system resources. Any signed-in user may create a project
        // (Harbor's default `project_creation_restriction: everyone`) and list what they see.
        (Subject::User { .. }, None) => matches!(
            (resource, action),
            (Project, Create | List) | (Label, Read | List)
        ),
        (Subject::Anonymous, None) => matches!((resource, action), (Project, List)),
        (Subject::Anonymous, Some(p)) => p.public && public_allows(resource, action),
        (Subject::User { .. }, Some(p)) => {
            role.is_some_and(|r| role_allows(r, resource, action))
                || (p.public && public_allows(resource, action))
        }
    }
}

/// One entry of a bearer token's `access` claim (Docker's token specification).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// Whether a token's `access` grants `action` (any action when `None`; `*` grants every
/// action) on the resource of `kind` and `name`: the one place grants are compared.
pub fn token_grants(
    access: &[GrantedAccess],
    kind: &str,
    name: &str,
    action: Option<&str>,
) -> bool {
    access.iter().any(|a| {
        a.kind == kind
            && a.name == name
            && match action {
                None => !a.actions.is_empty(),
                Some(wanted) => a.actions.iter().any(|x| x == wanted || x == "*"),
            }
    })
}

/// Whether the project's pull gates (the vulnerability rule) let this subject through: system
/// administrators pull anything, to inspect and to clean up.
pub fn exempt_from_pull_gates(subject: Subject<'_>) -> bool {
    matches!(subject, Subject::User { is_admin: true })
}

/// What a robot may be granted: registry and artifact operations, never administration.
pub const ROBOT_GRANTABLE: [(Resource, Action); 10] = [
    (Repository, Pull),
    (Repository, Push),
    (Repository, Delete),
    (Artifact, Read),
    (Artifact, List),
    (Artifact, Delete),
    (Tag, List),
    (Tag, Create),
    (Tag, Delete),
    (Scan, Create),
];

/// Every project resource and action, for tables and exhaustive tests.
pub const PROJECT_RESOURCES: [Resource; 13] = [
    Project,
    Member,
    Repository,
    Artifact,
    Tag,
    Robot,
    AuditLog,
    Scan,
    TagRetention,
    ImmutableTag,
    Quota,
    Label,
    ArtifactLabel,
];
pub const ACTIONS: [Action; 7] = [Read, List, Create, Update, Delete, Pull, Push];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_grants_match_kind_name_and_action_or_star() {
        let access = vec![
            GrantedAccess {
                kind: "repository".into(),
                name: "team/app".into(),
                actions: vec!["pull".into()],
            },
            GrantedAccess {
                kind: "repository".into(),
                name: "team/all".into(),
                actions: vec!["*".into()],
            },
            GrantedAccess {
                kind: "registry".into(),
                name: "catalog".into(),
                actions: vec![],
            },
        ];
        assert!(token_grants(
            &access,
            "repository",
            "team/app",
            Some("pull")
        ));
        assert!(!token_grants(
            &access,
            "repository",
            "team/app",
            Some("push")
        ));
        assert!(!token_grants(
            &access,
            "repository",
            "team/ap",
            Some("pull")
        ));
        assert!(!token_grants(&access, "registry", "team/app", Some("pull")));
        assert!(token_grants(
            &access,
            "repository",
            "team/all",
            Some("delete")
        ));
        assert!(token_grants(&access, "repository", "team/app", None));
        assert!(
            !token_grants(&access, "registry", "catalog", None),
            "no action granted"
        );
    }

    const PRIVATE: ProjectFacts<'static> = ProjectFacts {
        name: "team",
        public: false,
    };
    const PUBLIC: ProjectFacts<'static> = ProjectFacts {
        name: "library",
        public: true,
    };

    fn user(
        role: Option<Role>,
        project: ProjectFacts<'_>,
        resource: Resource,
        action: Action,
    ) -> bool {
        allows(
            Subject::User { is_admin: false },
            Some(project),
            role,
            resource,
            action,
        )
    }

    /// The expected matrix, written out cell by cell (role, resource, action, allowed), so that a
    /// change to `role_allows` must change a line here too.
    #[rustfmt::skip]
    const MATRIX: &[(Role, Resource, &[Action])] = &[
        (Role::ProjectAdmin, Project,      &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Member,       &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Repository,   &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Artifact,     &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Tag,          &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Robot,        &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, AuditLog,     &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Scan,         &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, TagRetention, &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, ImmutableTag, &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Quota,        &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, Label,        &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::ProjectAdmin, ArtifactLabel,&[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   Project,      &[Read]),
        (Role::Maintainer,   Member,       &[Read, List]),
        (Role::Maintainer,   Repository,   &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   Artifact,     &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   Tag,          &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   Robot,        &[Read, List]),
        (Role::Maintainer,   AuditLog,     &[]),
        (Role::Maintainer,   Scan,         &[Read, Create]),
        (Role::Maintainer,   TagRetention, &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   ImmutableTag, &[Read, List, Create, Update, Delete, Pull, Push]),
        (Role::Maintainer,   Quota,        &[Read]),
        (Role::Maintainer,   Label,        &[Read, List, Create, Update, Delete]),
        (Role::Maintainer,   ArtifactLabel,&[Read, List, Create, Delete]),
        (Role::Developer,    Project,      &[Read]),
        (Role::Developer,    Member,       &[Read, List]),
        (Role::Developer,    Repository,   &[Read, List, Update, Pull, Push]),
        (Role::Developer,    Artifact,     &[Read, List, Create]),
        (Role::Developer,    Tag,          &[Read, List, Create]),
        (Role::Developer,    Robot,        &[]),
        (Role::Developer,    AuditLog,     &[]),
        (Role::Developer,    Scan,         &[Read]),
        (Role::Developer,    TagRetention, &[Read, List]),
        (Role::Developer,    ImmutableTag, &[Read, List]),
        (Role::Developer,    Quota,        &[Read]),
        (Role::Developer,    Label,        &[Read, List]),
        (Role::Developer,    ArtifactLabel,&[Read, List, Create, Delete]),
        (Role::Guest,        Project,      &[Read]),
        (Role::Guest,        Member,       &[Read, List]),
        (Role::Guest,        Repository,   &[Read, List, Pull]),
        (Role::Guest,        Artifact,     &[Read, List]),
        (Role::Guest,        Tag,          &[Read, List]),
        (Role::Guest,        Robot,        &[]),
        (Role::Guest,        AuditLog,     &[]),
        (Role::Guest,        Scan,         &[Read]),
        (Role::Guest,        TagRetention, &[Read, List]),
        (Role::Guest,        ImmutableTag, &[Read, List]),
        (Role::Guest,        Quota,        &[Read]),
        (Role::Guest,        Label,        &[Read, List]),
        (Role::Guest,        ArtifactLabel,&[Read, List]),
        (Role::LimitedGuest, Project,      &[Read]),
        (Role::LimitedGuest, Member,       &[]),
        (Role::LimitedGuest, Repository,   &[Read, List, Pull]),
        (Role::LimitedGuest, Artifact,     &[Read, List]),
        (Role::LimitedGuest, Tag,          &[Read, List]),
        (Role::LimitedGuest, Robot,        &[]),
        (Role::LimitedGuest, AuditLog,     &[]),
        (Role::LimitedGuest, Scan,         &[Read]),
        (Role::LimitedGuest, TagRetention, &[]),
        (Role::LimitedGuest, ImmutableTag, &[]),
        (Role::LimitedGuest, Quota,        &[]),
        (Role::LimitedGuest, Label,        &[]),
        (Role::LimitedGuest, ArtifactLabel,&[]),
    ];

    #[test]
    fn every_cell_of_the_role_matrix() {
        assert_eq!(
            MATRIX.len(),
            Role::ALL.len() * PROJECT_RESOURCES.len(),
            "every (role, resource) row listed"
        );
        let mut cells = 0;
        for (role, resource, allowed) in MATRIX {
            for action in ACTIONS {
                let expected = allowed.contains(&action);
                assert_eq!(
                    user(Some(*role), PRIVATE, *resource, action),
                    expected,
                    "{role:?} {action:?} {resource:?} on a private project"
                );
                cells += 1;
            }
        }
        assert_eq!(cells, 5 * 13 * 7);
    }

    #[test]
    fn system_admins_may_do_everything_everywhere() {
        for resource in PROJECT_RESOURCES {
            for action in ACTIONS {
                assert!(allows(
                    Subject::User { is_admin: true },
                    Some(PRIVATE),
                    None,
                    resource,
                    action
                ));
            }
        }
        for resource in [User, UserGroup, Catalog, Configuration, Robot, AuditLog] {
            assert!(allows(
                Subject::User { is_admin: true },
                None,
                None,
                resource,
                Action::Create
            ));
        }
    }

    #[test]
    fn anonymous_pulls_public_projects_only() {
        let anon = |p, r, a| allows(Subject::Anonymous, Some(p), None, r, a);
        assert!(anon(PUBLIC, Repository, Pull));
        assert!(anon(PUBLIC, Artifact, Read));
        assert!(!anon(PUBLIC, Repository, Push));
        assert!(!anon(PUBLIC, Member, List));
        assert!(!anon(PUBLIC, AuditLog, List));
        for resource in PROJECT_RESOURCES {
            for action in ACTIONS {
                assert!(!anon(PRIVATE, resource, action), "{resource:?} {action:?}");
            }
        }
        assert!(!allows(Subject::Anonymous, None, None, Project, Create));
    }

    #[test]
    fn non_members_read_public_projects_and_nothing_private() {
        assert!(user(None, PUBLIC, Repository, Pull));
        assert!(!user(None, PUBLIC, Repository, Push));
        assert!(!user(None, PRIVATE, Repository, Pull));
        assert!(!user(None, PRIVATE, Project, Read));
    }

    #[test]
    fn system_resources_need_a_system_admin() {
        let plain = Subject::User { is_admin: false };
        for resource in [User, UserGroup, Catalog, Configuration] {
            for action in ACTIONS {
                assert!(
                    !allows(plain, None, None, resource, action),
                    "{resource:?} {action:?}"
                );
            }
        }
        assert!(
            !allows(plain, None, None, Robot, Create),
            "system robots are for admins"
        );
        assert!(
            !allows(plain, None, None, AuditLog, List),
            "the whole audit log is for admins"
        );
        assert!(allows(plain, None, None, Project, Create));
    }

    #[test]
    fn robots_get_exactly_their_grants() {
        let grants = vec![
            RobotGrant {
                namespace: "team".into(),
                resource: Repository,
                action: Pull,
            },
            RobotGrant {
                namespace: "team".into(),
                resource: Repository,
                action: Push,
            },
        ];
        let robot = Subject::Robot { grants: &grants };
        assert!(allows(robot, Some(PRIVATE), None, Repository, Pull));
        assert!(allows(robot, Some(PRIVATE), None, Repository, Push));
        assert!(!allows(robot, Some(PRIVATE), None, Repository, Delete));
        assert!(!allows(robot, Some(PRIVATE), None, Member, Create));
        assert!(
            allows(robot, Some(PRIVATE), None, Project, Read),
            "a robot sees its own project"
        );
        let other = ProjectFacts {
            name: "other",
            public: false,
        };
        assert!(!allows(robot, Some(other), None, Repository, Pull));
        assert!(!allows(robot, Some(other), None, Project, Read));
        let public = ProjectFacts {
            name: "open",
            public: true,
        };
        assert!(
            allows(robot, Some(public), None, Repository, Pull),
            "what anonymous callers may do in a public project, robots may too"
        );
        assert!(!allows(robot, Some(public), None, Repository, Push));

        let everywhere = vec![RobotGrant {
            namespace: "*".into(),
            resource: Repository,
            action: Pull,
        }];
        let system_robot = Subject::Robot {
            grants: &everywhere,
        };
        assert!(allows(system_robot, Some(other), None, Repository, Pull));
        assert!(!allows(system_robot, Some(other), None, Repository, Push));
        assert!(!allows(system_robot, None, None, Project, Create));
    }
}
