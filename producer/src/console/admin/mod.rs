//! The Admin pages: models, providers, organizations, instances (with their
//! credentials, members and budget), projects, users, budgets and the audit
//! log. Each is a list read from its admin API route, and forms that create,
//! change and remove entries through the same API (`sections` says which
//! route and body each makes), all with the signed-in credential: the
//! operator's token, a user's token or an admin key do what the API lets them,
//! and a refusal shows the API's own words. A model's page also has the dry
//! run (`dry_run`).

mod dry_run;
mod form;
mod sections;

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use serde_json::Value;

pub use dry_run::dry_run;
use form::{FormField, Posted};
use sections::{Change, Section, Verb};

use super::{
    page::{render, Page},
    session::{encode, forbidden, Holder, Session},
    views::{text, time},
};
use crate::in_process::{Answer, Api};

pub struct SectionLink {
    pub href: String,
    pub title: &'static str,
    pub current: bool,
}

pub struct RowLink {
    pub href: String,
    pub label: &'static str,
}

/// A hidden field of a row's delete form: a name the API route needs.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

pub struct Row {
    pub cells: Vec<String>,
    /// The whole object, for a closer look.
    pub json: String,
    /// Pages about it (an instance's credentials, members, budget).
    pub links: Vec<RowLink>,
    pub edit: Option<String>,
    /// What its delete form sends; `None` when it cannot be removed here.
    pub delete: Option<Vec<Hidden>>,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct ListPage {
    page: Page,
    sections: Vec<SectionLink>,
    about: &'static str,
    slug: &'static str,
    noun: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<Row>,
    new_href: Option<String>,
    instance: String,
}

#[derive(Template)]
#[template(path = "console/admin_form.html")]
struct FormPage {
    page: Page,
    sections: Vec<SectionLink>,
    about: &'static str,
    slug: &'static str,
    mode: &'static str,
    instance: String,
    fields: Vec<FormField>,
    submit: String,
    back: String,
    /// A model's page: try its mapping on an input.
    dry_run: Option<dry_run::View>,
}

#[derive(Deserialize, Default)]
pub struct Params {
    instance: Option<String>,
    id: Option<String>,
    saved: Option<String>,
    deleted: Option<String>,
}

/// The form's own fields, named apart from any the API takes (a project's
/// `instance` is not the instance a section is under).
const UNDER_INSTANCE: &str = "_instance";
const MODE: &str = "_mode";

/// The first page a credential can read: a user's token reads instances, not the fleet's models.
pub async fn index(session: Session) -> Response {
    let first = match session.holder {
        Holder::User => "/console/admin/instances",
        Holder::Operator | Holder::Project => "/console/admin/models",
    };
    Redirect::to(first).into_response()
}

/// Why a request names no section it can be drawn for.
pub(super) enum Misplaced {
    Unknown,
    /// A section under an instance, without the instance.
    NoInstance,
}

impl IntoResponse for Misplaced {
    fn into_response(self) -> Response {
        match self {
            Self::Unknown => (StatusCode::NOT_FOUND, "no such admin page").into_response(),
            Self::NoInstance => Redirect::to("/console/admin/instances").into_response(),
        }
    }
}

/// A post that is not a change this console can make.
pub(super) enum NotAChange {
    /// Not from the console's own page.
    Forged,
    Misplaced(Misplaced),
}

impl IntoResponse for NotAChange {
    fn into_response(self) -> Response {
        match self {
            Self::Forged => forbidden(),
            Self::Misplaced(misplaced) => misplaced.into_response(),
        }
    }
}

/// A change form's post: checked to come from the console's page, with the
/// section it is for and the instance that section is under.
pub(super) fn change_request(
    session: &Session,
    headers: &HeaderMap,
    slug: &str,
    posted: Vec<(String, String)>,
) -> Result<(Posted, &'static Section, Option<String>), NotAChange> {
    let posted = Posted(posted);
    if !session.allows_change(headers, posted.trimmed("csrf")) {
        return Err(NotAChange::Forged);
    }
    let (section, instance) = locate(slug, posted.get(UNDER_INSTANCE)).map_err(NotAChange::Misplaced)?;
    Ok((posted, section, instance))
}

/// Which section a slug names, and the instance it is under (required there).
fn locate(slug: &str, instance: Option<&str>) -> Result<(&'static Section, Option<String>), Misplaced> {
    let section = Section::find(slug).ok_or(Misplaced::Unknown)?;
    let instance = instance.map(str::trim).filter(|i| !i.is_empty()).map(str::to_owned);
    if section.under_instance && instance.is_none() {
        return Err(Misplaced::NoInstance);
    }
    Ok((section, instance))
}

fn list_href(section: &Section, instance: Option<&str>) -> String {
    match instance {
        Some(instance) => format!("/console/admin/{}?instance={}", section.slug, encode(instance)),
        None => format!("/console/admin/{}", section.slug),
    }
}

fn title(section: &Section, instance: Option<&str>) -> String {
    match instance {
        Some(instance) => format!("{} of instance {instance}", section.title),
        None => section.title.to_owned(),
    }
}

fn navigation(section: &Section) -> Vec<SectionLink> {
    Section::navigation()
        .map(|s| SectionLink {
            href: format!("/console/admin/{}", s.slug),
            title: s.title,
            current: s.slug == section.slug || (section.under_instance && s.slug == "instances"),
        })
        .collect()
}

fn list_route(section: &Section, instance: Option<&str>) -> String {
    section
        .list
        .replace("{instance}", &encode(instance.unwrap_or_default()))
}

/// The entries an answer holds: a list's `data`, or a single object.
fn entries(section: &Section, answer: &Answer) -> Vec<Value> {
    if !answer.ok() {
        return Vec::new();
    }
    match (&answer.body["data"], section.single) {
        (Value::Array(items), _) => items.clone(),
        (_, true) if answer.body.is_object() => vec![answer.body.clone()],
        _ => Vec::new(),
    }
}

/// Reading a single object that is not there is an empty list, not an error.
fn refusal(section: &Section, answer: &Answer) -> Option<String> {
    if answer.ok() || (section.single && answer.status == StatusCode::NOT_FOUND) {
        return None;
    }
    Some(match answer.code() {
        Some("unauthorized" | "insufficient_scope") => format!(
            "{} can be read with {}; this key cannot read it.",
            section.title, section.readers
        ),
        _ => answer.message(),
    })
}

pub async fn section(
    session: Session,
    Extension(api): Extension<Api>,
    Path(slug): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let (section, instance) = match locate(&slug, params.instance.as_deref()) {
        Ok(found) => found,
        Err(misplaced) => return misplaced.into_response(),
    };
    let notice = match (&params.saved, &params.deleted) {
        (Some(saved), _) => Some(format!("Saved {} {saved}.", section.noun)),
        (None, Some(deleted)) => Some(format!("Removed {} {deleted}.", section.noun)),
        _ => None,
    };
    list_page(&session, &api, section, instance.as_deref(), notice, None).await
}

async fn list_page(
    session: &Session,
    api: &Api,
    section: &'static Section,
    instance: Option<&str>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let answer = api.get(session, &list_route(section, instance)).await;
    let mut page = Page::new(session, "admin", title(section, instance))
        .with_notice(notice)
        .with_error(error);
    page.error = page.error.or_else(|| refusal(section, &answer));
    let instance_query = instance.map(|i| format!("&instance={}", encode(i))).unwrap_or_default();
    let rows = entries(section, &answer)
        .iter()
        .map(|entry| {
            let name = text(&entry[section.key]);
            Row {
                cells: section.columns.iter().map(|c| cell(at(entry, c))).collect(),
                json: serde_json::to_string_pretty(entry).unwrap_or_default(),
                links: section
                    .links
                    .iter()
                    .map(|under| RowLink {
                        href: format!("/console/admin/{}?instance={}", under.slug, encode(&name)),
                        label: under.label,
                    })
                    .collect(),
                edit: section.edit.as_ref().map(|_| {
                    format!(
                        "/console/admin/{}/edit?id={}{instance_query}",
                        section.slug,
                        encode(&name)
                    )
                }),
                delete: section.delete.map(|_| names_of(section, entry)),
            }
        })
        .collect::<Vec<_>>();
    // A single object (an instance's budget) is set or changed, not added to.
    let new_href = section
        .create
        .as_ref()
        .filter(|_| !section.single || rows.is_empty())
        .map(|_| {
            format!("/console/admin/{}/new", section.slug)
                + &instance.map(|i| format!("?instance={}", encode(i))).unwrap_or_default()
        });
    render(&ListPage {
        page,
        sections: navigation(section),
        about: section.about,
        slug: section.slug,
        noun: section.noun,
        columns: section.columns.to_vec(),
        rows,
        new_href,
        instance: instance.unwrap_or_default().to_owned(),
    })
}

/// The names an entry's API routes take (its id, provider, user…).
fn names_of(section: &Section, entry: &Value) -> Vec<Hidden> {
    let Some(change) = &section.edit else { return Vec::new() };
    change
        .fields
        .iter()
        .filter(|f| change.route.contains(&format!("{{{}}}", f.name)))
        .map(|f| Hidden {
            name: f.name,
            value: text(&entry[f.from]),
        })
        .collect()
}

pub async fn new_form(session: Session, Path(slug): Path<String>, Query(params): Query<Params>) -> Response {
    let (section, instance) = match locate(&slug, params.instance.as_deref()) {
        Ok(found) => found,
        Err(misplaced) => return misplaced.into_response(),
    };
    let Some(change) = &section.create else {
        return Redirect::to(&list_href(section, instance.as_deref())).into_response();
    };
    let draft = Draft {
        section,
        change,
        mode: "create",
        instance: instance.as_deref(),
    };
    draft.page(&session, None, None, None, None)
}

pub async fn edit_form(
    session: Session,
    Extension(api): Extension<Api>,
    Path(slug): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let (section, instance) = match locate(&slug, params.instance.as_deref()) {
        Ok(found) => found,
        Err(misplaced) => return misplaced.into_response(),
    };
    let Some(change) = &section.edit else {
        return Redirect::to(&list_href(section, instance.as_deref())).into_response();
    };
    let answer = api.get(&session, &list_route(section, instance.as_deref())).await;
    if let Some(error) = refusal(section, &answer) {
        return list_page(&session, &api, section, instance.as_deref(), None, Some(error)).await;
    }
    let wanted = params.id.unwrap_or_default();
    let Some(entry) = entries(section, &answer)
        .into_iter()
        .find(|entry| text(&entry[section.key]) == wanted)
    else {
        let error = format!("There is no {} {wanted:?} (any more).", section.noun);
        return list_page(&session, &api, section, instance.as_deref(), None, Some(error)).await;
    };
    let draft = Draft {
        section,
        change,
        mode: "edit",
        instance: instance.as_deref(),
    };
    let dry_run = (section.slug == "models")
        .then(|| dry_run::View::blank(&entry))
        .flatten();
    draft.page(&session, Some(&entry), None, None, dry_run)
}

/// A form being filled in: which section, create or edit, under which instance.
struct Draft<'a> {
    section: &'static Section,
    change: &'static Change,
    mode: &'static str,
    instance: Option<&'a str>,
}

impl Draft<'_> {
    fn page(
        &self,
        session: &Session,
        entry: Option<&Value>,
        posted: Option<&Posted>,
        error: Option<(String, Option<String>)>,
        dry_run: Option<dry_run::View>,
    ) -> Response {
        let (message, field) = error.map_or((None, None), |(m, f)| (Some(m), f));
        let fields = form::fields(self.change, self.mode == "edit", entry, posted, field.as_deref());
        let verb = if self.mode == "create" { "Create" } else { "Save" };
        let heading = if self.mode == "create" {
            format!("New {}", self.section.noun)
        } else {
            format!("Change {}", self.section.noun)
        };
        let page = Page::new(
            session,
            "admin",
            format!("{} · {heading}", title(self.section, self.instance)),
        )
        .with_error(message);
        render(&FormPage {
            page,
            sections: navigation(self.section),
            about: self.section.about,
            slug: self.section.slug,
            mode: self.mode,
            instance: self.instance.unwrap_or_default().to_owned(),
            fields,
            submit: format!("{verb} {}", self.section.noun),
            back: list_href(self.section, self.instance),
            dry_run,
        })
    }
}

pub async fn save(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Response {
    let (posted, section, instance) = match change_request(&session, &headers, &slug, posted) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let (mode, change) = match (posted.trimmed(MODE), &section.create, &section.edit) {
        ("create", Some(change), _) => ("create", change),
        ("edit", _, Some(change)) => ("edit", change),
        _ => return Redirect::to(&list_href(section, instance.as_deref())).into_response(),
    };
    let draft = Draft {
        section,
        change,
        mode,
        instance: instance.as_deref(),
    };
    let redraw = |message: String, field: Option<String>| {
        let dry_run = (section.slug == "models" && mode == "edit")
            .then(|| dry_run::View::sent(&posted))
            .flatten();
        draft.page(&session, None, Some(&posted), Some((message, field)), dry_run)
    };
    let request = form::route(change.route, &posted, instance.as_deref())
        .and_then(|uri| form::body(change, &posted).map(|body| (uri, body)));
    let (uri, body) = match request {
        Ok(request) => request,
        Err(invalid) => return redraw(invalid.message, Some(invalid.field)),
    };
    let method = match change.verb {
        Verb::Put => Method::PUT,
        Verb::Post => Method::POST,
        Verb::Patch => Method::PATCH,
    };
    let answer = api.send(&session, method, &uri, Some(&body)).await;
    if !answer.ok() {
        // A refusal about one of the form's fields is said next to its label.
        let error = &answer.body["error"];
        let field = error["field"].as_str().map(str::to_owned);
        let labelled = change
            .fields
            .iter()
            .find(|f| field.as_deref() == Some(f.name))
            .zip(error["message"].as_str())
            .map(|(f, message)| format!("{}: {message}", f.label));
        return redraw(labelled.unwrap_or_else(|| answer.message()), field);
    }
    // A created entry's name may be the API's (a project's id): say which.
    let name = Some(text(&answer.body[section.key]))
        .filter(|n| !n.is_empty())
        .or_else(|| Some(posted.trimmed(section.key).to_owned()).filter(|n| !n.is_empty()))
        .or_else(|| instance.clone())
        .unwrap_or_default();
    let separator = if instance.is_some() { '&' } else { '?' };
    Redirect::to(&format!(
        "{}{separator}saved={}",
        list_href(section, instance.as_deref()),
        encode(&name)
    ))
    .into_response()
}

pub async fn delete(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Response {
    let (posted, section, instance) = match change_request(&session, &headers, &slug, posted) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let Some(route) = section.delete else {
        return Redirect::to(&list_href(section, instance.as_deref())).into_response();
    };
    let uri = match form::route(route, &posted, instance.as_deref()) {
        Ok(uri) => uri,
        Err(invalid) => {
            return list_page(
                &session,
                &api,
                section,
                instance.as_deref(),
                None,
                Some(invalid.message),
            )
            .await
        }
    };
    let answer = api.send(&session, Method::DELETE, &uri, None).await;
    if !answer.ok() {
        return list_page(
            &session,
            &api,
            section,
            instance.as_deref(),
            None,
            Some(answer.message()),
        )
        .await;
    }
    let name = names_of_posted(section, &posted)
        .or(instance.clone())
        .unwrap_or_default();
    let separator = if instance.is_some() { '&' } else { '?' };
    Redirect::to(&format!(
        "{}{separator}deleted={}",
        list_href(section, instance.as_deref()),
        encode(&name)
    ))
    .into_response()
}

/// The name a delete form sent for its entry, for the notice.
fn names_of_posted(section: &Section, posted: &Posted) -> Option<String> {
    let change = section.edit.as_ref()?;
    change
        .fields
        .iter()
        .find(|f| change.route.contains(&format!("{{{}}}", f.name)))
        .map(|f| posted.trimmed(f.name).to_owned())
        .filter(|name| !name.is_empty())
}

/// The entry's field at `path`, `a.b` for a nested one.
fn at<'a>(entry: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(entry, |value, key| &value[key])
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
