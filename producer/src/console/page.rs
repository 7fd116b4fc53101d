//! What every page shares: the layout's navigation, the signed-in kind, the
//! CSRF token its forms carry, a notice or an error, and turning a template
//! into a response.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use super::session::{Holder, Session};

pub struct Page {
    pub title: String,
    /// Which navigation entry is current.
    pub tab: &'static str,
    pub csrf: String,
    pub holder: Holder,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Page {
    pub fn new(session: &Session, tab: &'static str, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            tab,
            csrf: session.csrf(),
            holder: session.holder,
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

    /// Whether the operator's token is signed in.
    pub fn operator(&self) -> bool {
        self.holder == Holder::Operator
    }

    /// The navigation, in order. The operator's token reaches the fleet-wide
    /// pages, a user's token the instances' admin pages, a project key its
    /// project's.
    pub fn nav(&self) -> Vec<NavItem> {
        let entries: &[(&str, &'static str, &'static str)] = match self.holder {
            Holder::Operator => &[
                ("jobs", "Jobs", "/console/jobs"),
                ("rate-limits", "Rate limits", "/console/rate-limits"),
                ("keys", "API keys", "/console/keys"),
                ("admin", "Admin", "/console/admin"),
            ],
            Holder::User => &[("admin", "Admin", "/console/admin/instances")],
            Holder::Project => &[
                ("overview", "Overview", "/console/overview"),
                ("jobs", "Jobs", "/console/jobs"),
                ("playground", "Playground", "/console/playground"),
                ("webhooks", "Webhooks", "/console/webhooks"),
                ("keys", "API keys", "/console/keys"),
                ("rate-limits", "Rate limits", "/console/rate-limits"),
                ("admin", "Admin", "/console/admin"),
            ],
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
