//! What every page shares: the layout's navigation, the signed-in kind, the
//! CSRF token its forms carry, a notice or an error, and turning a template
//! into a response.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use super::session::Session;

pub struct Page {
    pub title: String,
    /// Which navigation entry is current.
    pub tab: &'static str,
    pub csrf: String,
    pub operator: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Page {
    pub fn new(session: &Session, tab: &'static str, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            tab,
            csrf: session.csrf(),
            operator: session.operator,
            notice: None,
            error: None,
        }
    }

    pub fn with_error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    /// The navigation, in order. The operator's token reaches the fleet-wide
    /// pages; a project key its project's.
    pub fn nav(&self) -> Vec<NavItem> {
        let entries: &[(&str, &'static str, &'static str)] = if self.operator {
            &[
                ("rate-limits", "Rate limits", "/console/rate-limits"),
                ("keys", "API keys", "/console/keys"),
                ("admin", "Admin", "/console/admin"),
            ]
        } else {
            &[
                ("overview", "Overview", "/console/overview"),
                ("jobs", "Jobs", "/console/jobs"),
                ("playground", "Playground", "/console/playground"),
                ("keys", "API keys", "/console/keys"),
                ("rate-limits", "Rate limits", "/console/rate-limits"),
                ("admin", "Admin", "/console/admin"),
            ]
        };
        entries
            .iter()
            .map(|(tab, label, href)| NavItem {
                label,
                href,
                current: *tab == self.tab,
            })
            .collect()
    }
}

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the console could not draw this page",
            )
                .into_response()
        }
    }
}
