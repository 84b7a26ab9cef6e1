//! Names that validate on construction: project names and the roles of members.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A project name: the first path component of every repository in the project.
/// Lower-case letters and digits separated by single `.`, `_` or `-`, 1–255 characters
/// (the OCI path-component rule, as Harbor applies it to project names).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid_chars = !name.is_empty()
            && name.len() <= 255
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        let bytes = name.as_bytes();
        let separators_ok = valid_chars
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && !bytes
                .windows(2)
                .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric());
        if separators_ok {
            Ok(Self(name.to_string()))
        } else {
            Err(format!(
                "invalid project name `{name}`: use 1-255 lower-case letters and digits, separated by single '.', '_' or '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProjectName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A member's role in a project, from most to least privileged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProjectAdmin,
    Maintainer,
    Developer,
    Guest,
    LimitedGuest,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::ProjectAdmin,
        Role::Maintainer,
        Role::Developer,
        Role::Guest,
        Role::LimitedGuest,
    ];

    /// Harbor's numeric role ids, used by its REST API (`role_id`).
    pub fn harbor_id(self) -> i64 {
        match self {
            Role::ProjectAdmin => 1,
            Role::Developer => 2,
            Role::Guest => 3,
            Role::Maintainer => 4,
            Role::LimitedGuest => 5,
        }
    }

    pub fn from_harbor_id(id: i64) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.harbor_id() == id)
    }

    /// Higher is more privileged; a user's effective role is the highest of their roles.
    pub fn rank(self) -> u8 {
        match self {
            Role::ProjectAdmin => 5,
            Role::Maintainer => 4,
            Role::Developer => 3,
            Role::Guest => 2,
            Role::LimitedGuest => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProjectAdmin => "project_admin",
            Role::Maintainer => "maintainer",
            Role::Developer => "developer",
            Role::Guest => "guest",
            Role::LimitedGuest => "limited_guest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::ProjectAdmin => "Project admin",
            Role::Maintainer => "Maintainer",
            Role::Developer => "Developer",
            Role::Guest => "Guest",
            Role::LimitedGuest => "Limited guest",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        for ok in ["library", "a", "team-1", "my.project", "a_b", "x9"] {
            assert!(ProjectName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Library",
            "-lead",
            "trail-",
            "a--b",
            "a/b",
            "a b",
            &"x".repeat(256),
        ] {
            assert!(ProjectName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_round_trip_and_rank() {
        for r in Role::ALL {
            assert_eq!(Role::from_harbor_id(r.harbor_id()), Some(r));
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!(Role::ProjectAdmin.rank() > Role::Maintainer.rank());
        assert!(Role::Developer.rank() > Role::Guest.rank());
        assert!(Role::Guest.rank() > Role::LimitedGuest.rank());
    }
}
