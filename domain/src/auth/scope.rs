//! What an API key may do. Every request needs exactly one scope, fixed by
//! its route (`Scope::needed_for`), so no handler can forget to check.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// Submit, cancel and redeliver; rotate the project's webhook secret.
    #[serde(rename = "jobs:write")]
    JobsWrite,
    /// Read jobs, their deliveries, models and the webhook secret.
    #[serde(rename = "jobs:read")]
    JobsRead,
    /// The admin API, for the key's own project.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::JobsWrite, Scope::JobsRead, Scope::Admin];
    /// What a key gets when its creator names no scopes.
    pub const DEFAULT: [Scope; 2] = [Scope::JobsWrite, Scope::JobsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobsWrite => "jobs:write",
            Self::JobsRead => "jobs:read",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The scope a request needs: the admin API needs `admin`; reading
    /// (GET, HEAD) needs `jobs:read`; anything else changes something and
    /// needs `jobs:write`.
    pub fn needed_for(method: &str, path: &str) -> Self {
        if path == "/v1/admin" || path.starts_with("/v1/admin/") {
            Self::Admin
        } else if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
            Self::JobsRead
        } else {
            Self::JobsWrite
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::JobsWrite => 1,
            Self::JobsRead => 2,
            Self::Admin => 4,
        }
    }
}

/// A key's scopes, small enough to cache per key by the thousand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn allows(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.allows(*s)).collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Self(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_scope_of_what_they_do() {
        assert_eq!(Scope::needed_for("POST", "/v1/jobs"), Scope::JobsWrite);
        assert_eq!(Scope::needed_for("POST", "/v1/jobs/x/cancel"), Scope::JobsWrite);
        assert_eq!(Scope::needed_for("GET", "/v1/jobs/x"), Scope::JobsRead);
        assert_eq!(Scope::needed_for("HEAD", "/v1/models"), Scope::JobsRead);
        assert_eq!(Scope::needed_for("GET", "/v1/admin/keys"), Scope::Admin);
        assert_eq!(Scope::needed_for("DELETE", "/v1/admin/keys/x"), Scope::Admin);
        assert_eq!(Scope::needed_for("GET", "/v1/administer"), Scope::JobsRead);
    }

    #[test]
    fn scopes_round_trip_through_text_and_bits() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        let scopes: Scopes = [Scope::JobsRead].into_iter().collect();
        assert!(scopes.allows(Scope::JobsRead) && !scopes.allows(Scope::JobsWrite) && !scopes.allows(Scope::Admin));
        assert_eq!(
            Scope::DEFAULT.into_iter().collect::<Scopes>().list(),
            Scope::DEFAULT.to_vec()
        );
        assert_eq!(Scope::parse("jobs:delete"), None);
    }
}
