//! The admin lists: models, providers, organizations, instances (with their
//! provider credentials, masked by the API), projects, users, budgets and the
//! audit log, each read from its admin API route with the signed-in
//! credential — the operator's token, a user's token or an admin key see what
//! the API lets them, and anyone else the API's refusal. Changes to these stay
//! with the API and the CLI for now; keys and rate limits have pages of their own.

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    api::Api,
    page::{render, Page},
    session::{encode, Session},
    views::time,
};

/// One admin list: its slug, title, API route and the columns shown.
struct Section {
    slug: &'static str,
    title: &'static str,
    route: &'static str,
    columns: &'static [&'static str],
    about: &'static str,
}

const SECTIONS: &[Section] = &[
    Section {
        slug: "models",
        title: "Models",
        route: "/v1/admin/models",
        columns: &["id", "provider", "modality", "status", "pricing"],
        about: "Every model jobs may name, with its provider, API and pricing. A generic HTTP model's mapping is in its JSON; `POST /v1/admin/models/{id}/dry-run` shows the request it would send.",
    },
    Section {
        slug: "providers",
        title: "Providers",
        route: "/v1/admin/providers",
        columns: &["id", "kind", "base_url", "api_key", "timeout_ms"],
        about: "Where each provider is reached and with which key (masked).",
    },
    Section {
        slug: "organizations",
        title: "Organizations",
        route: "/v1/admin/organizations",
        columns: &["id", "name", "created_at"],
        about: "The tenants: each holds instances.",
    },
    Section {
        slug: "instances",
        title: "Instances",
        route: "/v1/admin/instances",
        columns: &["id", "organization_id", "name", "created_at"],
        about: "Each instance has its projects, members, provider keys (credentials) and budget.",
    },
    Section {
        slug: "projects",
        title: "Projects",
        route: "/v1/admin/projects",
        columns: &["id", "name", "instance_id", "created_at"],
        about: "Jobs, keys and budgets belong to a project.",
    },
    Section {
        slug: "users",
        title: "Users",
        route: "/v1/admin/users",
        columns: &["id", "email", "name", "disabled_at", "created_at"],
        about: "People with tokens and roles in instances.",
    },
    Section {
        slug: "budgets",
        title: "Budgets",
        route: "/v1/admin/budgets",
        columns: &["project_id", "monthly_usd", "month", "spent_usd", "reserved_usd"],
        about: "Monthly spending limits per project: jobs that would pass them are refused at submit.",
    },
    Section {
        slug: "audit",
        title: "Audit log",
        route: "/v1/admin/audit",
        columns: &["at", "actor", "action", "target", "project_id"],
        about: "Who changed what, newest first.",
    },
];

/// An instance's own provider keys (`?instance=`), linked from Instances.
const CREDENTIALS: Section = Section {
    slug: "credentials",
    title: "Credentials",
    route: "/v1/admin/instances/{id}/credentials",
    columns: &["provider", "api_key", "set", "updated_at"],
    about: "The instance's own provider keys (masked): its jobs use them instead of the fleet's.",
};

pub struct SectionLink {
    pub href: String,
    pub title: &'static str,
    pub current: bool,
}

pub struct Row {
    pub cells: Vec<String>,
    /// The whole object, for a closer look.
    pub json: String,
    /// Its credentials' page, for an instance.
    pub credentials: Option<String>,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    page: Page,
    sections: Vec<SectionLink>,
    about: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<Row>,
}

pub async fn index() -> Response {
    axum::response::Redirect::to("/console/admin/models").into_response()
}

#[derive(Deserialize, Default)]
pub struct Instance {
    instance: Option<String>,
}

pub async fn section(
    session: Session,
    Extension(api): Extension<Api>,
    Path(slug): Path<String>,
    Query(instance): Query<Instance>,
) -> Response {
    // An instance's credentials are a list of their own, under Instances.
    let credentials = slug == CREDENTIALS.slug;
    let section = if credentials {
        &CREDENTIALS
    } else {
        match SECTIONS.iter().find(|s| s.slug == slug) {
            Some(section) => section,
            None => return (StatusCode::NOT_FOUND, "no such admin page").into_response(),
        }
    };
    let (title, route) = match (&instance.instance, credentials) {
        (Some(id), true) => (
            format!("Credentials of {id}"),
            format!("/v1/admin/instances/{}/credentials", encode(id)),
        ),
        (None, true) => return axum::response::Redirect::to("/console/admin/instances").into_response(),
        _ => (section.title.to_owned(), section.route.to_owned()),
    };
    let mut page = Page::new(&session, "admin", title);
    let answer = api.get(&session, &route).await;
    if !answer.ok() {
        page.error = Some(match answer.code() {
            Some("unauthorized") => format!(
                "{} is for the operator's token or an instance user's token; this key cannot read it.",
                section.title
            ),
            _ => answer.message(),
        });
    }
    let rows = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|object| Row {
            cells: section.columns.iter().map(|c| cell(&object[*c])).collect(),
            json: serde_json::to_string_pretty(object).unwrap_or_default(),
            credentials: (section.slug == "instances")
                .then(|| {
                    object["id"]
                        .as_str()
                        .map(|id| format!("/console/admin/credentials?instance={}", encode(id)))
                })
                .flatten(),
        })
        .collect();
    render(&AdminPage {
        page,
        sections: SECTIONS
            .iter()
            .map(|s| SectionLink {
                href: format!("/console/admin/{}", s.slug),
                title: s.title,
                current: s.slug == section.slug || (credentials && s.slug == "instances"),
            })
            .collect(),
        about: section.about,
        columns: section.columns.to_vec(),
        rows,
    })
}

/// A value as one table cell: times readable, nested values compact.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => {
            let readable = time(value);
            if readable.is_empty() {
                text.clone()
            } else {
                readable
            }
        }
        Value::Object(_) | Value::Array(_) => {
            let compact = value.to_string();
            if compact.chars().count() > 80 {
                format!("{}…", compact.chars().take(80).collect::<String>())
            } else {
                compact
            }
        }
        other => other.to_string(),
    }
}
