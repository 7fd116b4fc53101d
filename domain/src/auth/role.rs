//! A user's role in an instance, from the least to the most it allows. Each
//! admin route names the least role it needs; a user with no role in the
//! instance is told it does not exist (404), one with too little is refused
//! (403).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    /// Reads the instance, its projects, members, provider keys (last four) and budget.
    Viewer,
    /// A viewer who also makes jobs keys (`jobs:read`, `jobs:write`) for the instance's projects.
    Member,
    /// Manages projects, their keys, the instance's provider keys and the
    /// members below admin.
    Admin,
    /// Everything in the instance: its budget, its admins and owners, removing it.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_from_least_to_most() {
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Admin && Role::Admin < Role::Owner);
        assert_eq!(serde_json::to_value(Role::Owner).ok(), Some(serde_json::json!("owner")));
    }
}
