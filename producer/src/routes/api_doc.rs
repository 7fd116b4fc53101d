//! The API reference: `GET /openapi.json`, an OpenAPI 3.1 document generated
//! from each handler's `#[utoipa::path]`, and Swagger UI at `/docs`, its
//! assets compiled into the binary (nothing is fetched from a CDN). Both are
//! unauthenticated. `routes::router` registers every route and its
//! documentation from the same `routes!` list, so the two cannot drift; what
//! every route of a kind answers alike (a refused credential, a body that is
//! not JSON) is added here once instead of on every handler.

use axum::Router;
use utoipa::{
    openapi::{
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder,
    },
    Modify, OpenApi,
};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiErrorBody;

/// The security scheme every authenticated operation names.
pub const BEARER: &str = "bearerAuth";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Distributed Electrons",
        version = env!("CARGO_PKG_VERSION"),
        description = "Submit AI jobs (text, image, audio, media, video) to any provider through one API: \
            queued, rate limited, budgeted, retried, stored, with webhooks. Every error answers \
            `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable `code`.",
    ),
    modifiers(&BearerAuth),
    components(schemas(ApiErrorBody)),
    tags(
        (name = "jobs", description = "Submit, read, list and cancel jobs"),
        (name = "webhooks", description = "A job's webhook deliveries, disabled endpoints and the signing secret"),
        (name = "feedback", description = "Ratings of a job's output, and their summary per model and prompt template"),
        (name = "models", description = "The models a key may submit to"),
        (name = "usage", description = "What jobs used and cost, per day, project and model"),
        (name = "files", description = "Outputs in the local store, behind signed links"),
        (name = "budgets", description = "Monthly spending limits of projects and instances"),
        (name = "keys", description = "A project's API keys (the operator, or a key with the `admin` scope)"),
        (name = "audit", description = "The trail of admin changes"),
        (name = "admin-providers", description = "Providers and their keys (the operator)"),
        (name = "admin-models", description = "Model configurations (the operator)"),
        (name = "admin-tenants", description = "Organizations, instances, their members and provider keys"),
        (name = "admin-users", description = "Users and their tokens"),
        (name = "admin-projects", description = "Projects of an instance and their keys"),
        (name = "admin-rate-limits", description = "Rate limits, their live state and counters (the operator)"),
        (name = "health", description = "Liveness, readiness and Prometheus metrics (unauthenticated)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, document: &mut Document) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "`Authorization: Bearer <credential>`: a project's API key (`de_live_…`, `de_test_…`) for the \
                 job API; for the admin API, the operator's token (`DE_ADMIN_TOKEN`), a key with the `admin` \
                 scope for its own project, or a user's token (`de_user_…`) by the user's role in an instance.",
            ))
            .build();
        document
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The document the handlers' attributes made, finished: axum's catch-all
/// `{*key}` written as OpenAPI's `{key}`, and the answers shared by every
/// authenticated route and every route that takes a body.
pub fn finish(mut document: Document) -> Document {
    document.paths.paths = std::mem::take(&mut document.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            shared_answers(operation);
        }
    }
    document
}

fn shared_answers(operation: &mut Operation) {
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        answer(
            operation,
            "401",
            "No valid credential: missing, unknown, revoked (`unauthorized`) or expired (`key_expired`)",
        );
    }
    // `json_body::JsonBody`, the one way a route takes a body.
    if operation.request_body.is_some() {
        answer(
            operation,
            "400",
            "The body is not what the route takes (`invalid_body`)",
        );
        answer(
            operation,
            "413",
            "The body is over the size limit (`payload_too_large`)",
        );
        answer(
            operation,
            "415",
            "The body is not labelled `Content-Type: application/json` (`unsupported_media_type`)",
        );
    }
}

/// Adds an error answer for `status` unless the handler documents its own.
fn answer(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ApiErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", content)
                    .build(),
            )
        });
}

/// `GET /openapi.json` and Swagger UI under `/docs`, reading it.
pub fn serve<S: Clone + Send + Sync + 'static>(document: Document) -> Router<S> {
    SwaggerUi::new("/docs").url("/openapi.json", document).into()
}
