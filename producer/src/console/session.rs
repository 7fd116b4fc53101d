//! Signing in to the console: the person pastes an API key (or the operator's
//! token); it is kept in an HttpOnly, SameSite=Strict cookie scoped to
//! `/console`, never in the page or in localStorage, and checked by the API on
//! every call, so revoking the key ends the session. Changes are CSRF-safe
//! twice over: the cookie is never sent on another site's requests, and every
//! form carries a token derived from the credential that another site cannot
//! compute, checked along with the `Origin`.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use crate::state::AppState;

const COOKIE: &str = "de_console";
/// A day: a forgotten session on a shared machine does not last.
const MAX_AGE_SECONDS: u64 = 24 * 60 * 60;

/// Who is signed in.
pub struct Session {
    /// What was pasted at sign-in, sent to the API as the bearer.
    pub credential: String,
    pub holder: Holder,
}

impl crate::in_process::Bearer for Session {
    fn bearer(&self) -> &str {
        &self.credential
    }
}

/// What the pasted credential is, which decides the pages offered (the API
/// still decides what each may do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A project's API key.
    Project,
    /// The operator's token (`DE_ADMIN_TOKEN`).
    Operator,
    /// A user's token, with roles in instances.
    User,
}

impl Holder {
    fn letter(self) -> &'static str {
        match self {
            Self::Project => "p",
            Self::Operator => "o",
            Self::User => "u",
        }
    }

    fn from_letter(letter: &str) -> Self {
        match letter {
            "o" => Self::Operator,
            "u" => Self::User,
            _ => Self::Project,
        }
    }

    /// As the page's header names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Project => "Project key",
            Self::Operator => "Operator",
            Self::User => "User",
        }
    }
}

impl Session {
    /// The token forms carry: a hash of the credential, so another site cannot
    /// forge it and it reveals nothing of the key.
    pub fn csrf(&self) -> String {
        let digest = Sha256::digest(format!("de-console-csrf\0{}", self.credential));
        hex::encode(&digest[..16])
    }

    /// Whether a change request is this console's own: its token matches and
    /// its `Origin`, when the browser sends one, is this host.
    pub fn allows_change(&self, headers: &HeaderMap, token: &str) -> bool {
        let same_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
            (Some(origin), Some(host)) => {
                let origin = origin.to_str().unwrap_or_default();
                let host = host.to_str().unwrap_or_default();
                origin.split_once("://").is_some_and(|(_, authority)| authority == host)
            }
            (Some(_), None) => false,
            (None, _) => true,
        };
        same_origin && constant_time_eq(token.as_bytes(), self.csrf().as_bytes())
    }

    /// The `Set-Cookie` that signs `credential` in.
    pub fn cookie(credential: &str, holder: Holder, secure: bool) -> HeaderValue {
        let kind = holder.letter();
        let value = encode(credential);
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={kind}.{value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={MAX_AGE_SECONDS}{secure}"
        );
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("de_console=; Path=/console"))
    }

    /// The `Set-Cookie` that signs out.
    pub fn cleared() -> HeaderValue {
        HeaderValue::from_static("de_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = cookie(headers, COOKIE)?;
        let (kind, credential) = value.split_once('.')?;
        let credential = credential.to_owned();
        (!credential.is_empty()).then_some(Self {
            credential,
            holder: Holder::from_letter(kind),
        })
    }
}

/// The value of the cookie `name` the request carries, percent-decoded.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, value)| *found == name && !value.is_empty())
        .and_then(|(_, value)| percent_decode_str(value).decode_utf8().ok().map(|v| v.into_owned()))
}

pub use crate::in_process::encode;

/// A change form's token (`Session::csrf`).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// A change that did not come from the console's own page.
pub fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "This request did not come from the console page (its form token or origin did not match). Reload the page and try again.",
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Not signed in: pages send the person to sign in, fragments say so.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/console/sign-in").into_response()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers).ok_or(SignInFirst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn the_cookie_round_trips_any_credential() {
        let cookie = Session::cookie("de_live_a+b/c=d;e", Holder::Operator, false);
        let pair = cookie
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("pair")
            .to_owned();
        let session = Session::from_headers(&headers(&[("cookie", &format!("other=1; {pair}"))])).expect("session");
        assert_eq!(session.credential, "de_live_a+b/c=d;e");
        assert_eq!(session.holder, Holder::Operator);
        assert!(cookie.to_str().expect("ascii").contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn changes_need_the_token_and_the_same_origin() {
        let session = Session {
            credential: "key".into(),
            holder: Holder::Project,
        };
        let token = session.csrf();
        let same = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]);
        let other = headers(&[("host", "127.0.0.1:8080"), ("origin", "https://evil.example")]);
        assert!(session.allows_change(&same, &token));
        assert!(!session.allows_change(&other, &token));
        assert!(!session.allows_change(&same, "0000"));
        assert!(!token.contains("key"));
    }
}
