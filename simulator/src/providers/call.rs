//! One request to a simulated endpoint, as every endpoint reads it: headers,
//! path parameters, query string and JSON body, plus the simulator's own state
//! for endpoints that hand out files or start operations.

use std::convert::Infallible;

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::{header::HOST, request::Parts, HeaderMap},
};
use serde_json::Value;

use crate::controls::Controls;

pub struct Call<'a> {
    pub controls: &'a Controls,
    pub headers: &'a HeaderMap,
    pub params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    /// `None` when the body was empty or not JSON.
    pub body: Option<&'a Value>,
}

impl Call<'_> {
    /// A path parameter; "" if the route has none by that name.
    pub fn param(&self, name: &str) -> &str {
        find(self.params, name).unwrap_or_default()
    }

    /// The first query parameter called `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        find(self.query, name)
    }

    /// A header's value, trimmed; `None` if absent, empty or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// `http://` and the host the request was sent to, so links work on
    /// whatever address the simulator was reached at.
    pub fn base(&self) -> String {
        format!("http://{}", self.header(HOST.as_str()).unwrap_or("127.0.0.1"))
    }
}

fn find<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The matched route's path parameters, percent-decoded; none for routes without
/// any (where axum's own extractors refuse).
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map(|params| params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .unwrap_or_default();
        Ok(Self(params))
    }
}

/// `a=1&b=x%20y` as decoded pairs.
pub fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}
