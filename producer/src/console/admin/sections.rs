//! What the Admin pages hold, as data: each section's list route and columns,
//! and the forms that create, change and remove one of its entries, spelled
//! as the admin API's own routes and bodies. The pages (`super`) and the form
//! handling (`form`) are the same for every section.

/// How a form's value becomes part of the request.
pub enum Kind {
    Text,
    /// A number in the body (an integer when it has no fraction).
    Number,
    /// Typed, never shown: blank keeps the stored one.
    Secret,
    Choice(&'static [&'static str]),
    /// A checkbox: `true` when ticked.
    Flag,
    /// The whole body as JSON, prefilled with these fields of the entry.
    Body(&'static [&'static str]),
}

pub struct Field {
    /// The body's field, or a `{name}` of the route.
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    /// The entry's field it is prefilled from when changing one.
    pub from: &'static str,
    pub required: bool,
    pub help: &'static str,
}

const fn field(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field {
        name,
        label,
        kind,
        from: name,
        required: true,
        help: "",
    }
}

impl Field {
    const fn from(mut self, from: &'static str) -> Self {
        self.from = from;
        self
    }

    const fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }
}

#[derive(Clone, Copy)]
pub enum Verb {
    Put,
    Post,
    Patch,
}

/// One form: the API call it makes and the fields it sends.
pub struct Change {
    pub verb: Verb,
    /// With `{instance}` for sections under an instance and `{field}` for
    /// fields that name the entry.
    pub route: &'static str,
    pub fields: &'static [Field],
}

/// A page about one instance, linked from each instance's row.
pub struct Under {
    pub slug: &'static str,
    pub label: &'static str,
}

pub struct Section {
    pub slug: &'static str,
    pub title: &'static str,
    /// Its API list; `{instance}` for a section under an instance.
    pub list: &'static str,
    /// The entry's fields shown, `a.b` for a nested one.
    pub columns: &'static [&'static str],
    /// The entry's field that names it.
    pub key: &'static str,
    /// One entry's noun, for buttons and notices.
    pub noun: &'static str,
    pub about: &'static str,
    pub create: Option<Change>,
    pub edit: Option<Change>,
    /// Its API route for removing one entry.
    pub delete: Option<&'static str>,
    /// Under an instance: the list is reached from Instances only.
    pub under_instance: bool,
    /// Pages about each entry (for instances).
    pub links: &'static [Under],
    /// The list route answers one object, or 404 when there is none.
    pub single: bool,
    /// Who may read it, as a refusal tells a person.
    pub readers: &'static str,
}

const OPERATOR: &str = "the operator's token";
const INSTANCE_USERS: &str = "the operator's token, or a user's token with a role in the instance";

/// What a section is unless it says otherwise: read-only, at the top level.
const READ_ONLY: Section = Section {
    slug: "",
    title: "",
    list: "",
    columns: &[],
    key: "id",
    noun: "entry",
    about: "",
    create: None,
    edit: None,
    delete: None,
    under_instance: false,
    links: &[],
    single: false,
    readers: OPERATOR,
};

/// A form that calls `route` with `verb`.
const fn change(verb: Verb, route: &'static str, fields: &'static [Field]) -> Option<Change> {
    Some(Change { verb, route, fields })
}

impl Section {
    pub fn find(slug: &str) -> Option<&'static Section> {
        SECTIONS.iter().find(|section| section.slug == slug)
    }

    /// The sections of the Admin navigation.
    pub fn navigation() -> impl Iterator<Item = &'static Section> {
        SECTIONS.iter().filter(|section| !section.under_instance)
    }
}

const MODEL_FIELDS: &[&str] = &[
    "modality",
    "provider",
    "provider_model",
    "default_max_tokens",
    "max_output_tokens",
    "pricing",
    "status",
    "retry_unusable_answers",
    "regenerate_unavailable_outputs",
    "prompt_template",
    "http_mapping",
];

const MODEL: &[Field] = &[
    field("id", "Model id", Kind::Text).help("What jobs name in `model`."),
    field("body", "Configuration (JSON)", Kind::Body(MODEL_FIELDS)).help(
        "modality, provider, provider_model, pricing, status, limits; an http provider's model also needs http_mapping.",
    ),
];

const PROVIDER_KINDS: &[&str] = &electrons_domain::catalog::ProviderKind::NAMES;

const PROVIDER: &[Field] = &[
    field("id", "Provider id", Kind::Text),
    field("kind", "Kind", Kind::Choice(PROVIDER_KINDS)),
    field("base_url", "Base URL", Kind::Text),
    field("timeout_ms", "Timeout (ms)", Kind::Number).optional(),
    field("api_key", "API key", Kind::Secret)
        .optional()
        .help("Blank keeps the stored key; it is never shown again."),
];

const ORGANIZATION: &[Field] = &[
    field("id", "Organization id", Kind::Text),
    field("name", "Name", Kind::Text),
];

const INSTANCE: &[Field] = &[
    field("id", "Instance id", Kind::Text),
    field("organization", "Organization id", Kind::Text),
    field("name", "Name", Kind::Text),
];

const NEW_PROJECT: &[Field] = &[
    field("name", "Name", Kind::Text),
    field("instance", "Instance id", Kind::Text)
        .optional()
        .help("Blank: `default`."),
];

const PROJECT_CHANGE: &[Field] = &[
    field("id", "Project id", Kind::Text),
    field("name", "Name", Kind::Text).optional(),
    field("instance", "Instance id", Kind::Text)
        .optional()
        .help("Changing it moves the project (the operator's)."),
];

const NEW_USER: &[Field] = &[field("email", "Email", Kind::Text), field("name", "Name", Kind::Text)];

const USER_CHANGE: &[Field] = &[
    field("id", "User id", Kind::Text),
    field("disabled", "Disabled", Kind::Flag)
        .from("disabled_at")
        .help("A disabled user's tokens stop working."),
];

const BUDGET: &[Field] = &[
    field("project_id", "Project id", Kind::Text),
    field("monthly_usd", "US dollars a month", Kind::Number),
];

const INSTANCE_BUDGET: &[Field] = &[field("monthly_usd", "US dollars a month", Kind::Number)];

const CREDENTIAL: &[Field] = &[
    field("provider", "Provider id", Kind::Text),
    field("api_key", "API key", Kind::Secret).help("Stored encrypted; only its last four characters are shown."),
];

const ROLES: &[&str] = &["viewer", "member", "admin", "owner"];

const MEMBER: &[Field] = &[
    field("user", "User id", Kind::Text).from("user_id"),
    field("role", "Role", Kind::Choice(ROLES)),
];

const SECTIONS: &[Section] = &[
    Section {
        slug: "models",
        title: "Models",
        list: "/v1/admin/models",
        columns: &["id", "provider", "modality", "status", "pricing"],
        noun: "model",
        about: "Every model jobs may name, with its provider, API and pricing. A generic HTTP model's mapping is in its configuration; its page has a dry run that shows the request it would send.",
        create: change(Verb::Put, "/v1/admin/models/{id}", MODEL),
        edit: change(Verb::Put, "/v1/admin/models/{id}", MODEL),
        delete: Some("/v1/admin/models/{id}"),
        ..READ_ONLY
    },
    Section {
        slug: "providers",
        title: "Providers",
        list: "/v1/admin/providers",
        columns: &["id", "kind", "base_url", "api_key.last4", "timeout_ms"],
        noun: "provider",
        about: "Where each provider is reached and with which key (masked).",
        create: change(Verb::Put, "/v1/admin/providers/{id}", PROVIDER),
        edit: change(Verb::Put, "/v1/admin/providers/{id}", PROVIDER),
        delete: Some("/v1/admin/providers/{id}"),
        ..READ_ONLY
    },
    Section {
        slug: "organizations",
        title: "Organizations",
        list: "/v1/admin/organizations",
        columns: &["id", "name", "created_at"],
        noun: "organization",
        about: "The tenants: each holds instances.",
        create: change(Verb::Put, "/v1/admin/organizations/{id}", ORGANIZATION),
        edit: change(Verb::Put, "/v1/admin/organizations/{id}", ORGANIZATION),
        delete: Some("/v1/admin/organizations/{id}"),
        ..READ_ONLY
    },
    Section {
        slug: "instances",
        readers: INSTANCE_USERS,
        title: "Instances",
        list: "/v1/admin/instances",
        columns: &["id", "organization", "name", "created_at"],
        noun: "instance",
        about: "Each instance has its projects, members, provider keys (credentials) and budget.",
        create: change(Verb::Put, "/v1/admin/instances/{id}", INSTANCE),
        edit: change(Verb::Put, "/v1/admin/instances/{id}", INSTANCE),
        delete: Some("/v1/admin/instances/{id}"),
        links: &[
            Under {
                slug: "credentials",
                label: "credentials",
            },
            Under {
                slug: "members",
                label: "members",
            },
            Under {
                slug: "instance-budget",
                label: "budget",
            },
        ],
        ..READ_ONLY
    },
    Section {
        slug: "projects",
        readers: INSTANCE_USERS,
        title: "Projects",
        list: "/v1/admin/projects",
        columns: &["id", "name", "instance", "created_at"],
        noun: "project",
        about: "Jobs, keys and budgets belong to a project.",
        create: change(Verb::Post, "/v1/admin/projects", NEW_PROJECT),
        edit: change(Verb::Patch, "/v1/admin/projects/{id}", PROJECT_CHANGE),
        ..READ_ONLY
    },
    Section {
        slug: "users",
        readers: INSTANCE_USERS,
        title: "Users",
        list: "/v1/admin/users",
        columns: &["id", "email", "name", "disabled_at", "created_at"],
        noun: "user",
        about: "People with tokens and roles in instances (roles are set on an instance's members).",
        create: change(Verb::Post, "/v1/admin/users", NEW_USER),
        edit: change(Verb::Patch, "/v1/admin/users/{id}", USER_CHANGE),
        ..READ_ONLY
    },
    Section {
        slug: "budgets",
        title: "Budgets",
        list: "/v1/admin/budgets",
        columns: &["project_id", "monthly_usd", "month", "spent_usd", "reserved_usd"],
        key: "project_id",
        noun: "budget",
        about: "Monthly spending limits per project: jobs that would pass them are refused at submit. An instance's budget is on its page under Instances.",
        create: change(Verb::Put, "/v1/admin/budgets/{project_id}", BUDGET),
        edit: change(Verb::Put, "/v1/admin/budgets/{project_id}", BUDGET),
        delete: Some("/v1/admin/budgets/{project_id}"),
        ..READ_ONLY
    },
    Section {
        slug: "audit",
        readers: "the operator's token, or a key with the admin scope",
        title: "Audit log",
        list: "/v1/admin/audit",
        columns: &["at", "actor", "action", "target", "project_id"],
        about: "Who changed what, newest first.",
        ..READ_ONLY
    },
    Section {
        slug: "credentials",
        readers: INSTANCE_USERS,
        title: "Credentials",
        list: "/v1/admin/instances/{instance}/credentials",
        columns: &["provider", "credential_id", "api_key.last4", "updated_at"],
        key: "provider",
        noun: "credential",
        about: "The instance's own provider keys (masked): its jobs use them instead of the fleet's.",
        create: change(Verb::Put, "/v1/admin/instances/{instance}/credentials/{provider}", CREDENTIAL),
        edit: change(Verb::Put, "/v1/admin/instances/{instance}/credentials/{provider}", CREDENTIAL),
        delete: Some("/v1/admin/instances/{instance}/credentials/{provider}"),
        under_instance: true,
        ..READ_ONLY
    },
    Section {
        slug: "members",
        readers: INSTANCE_USERS,
        title: "Members",
        list: "/v1/admin/instances/{instance}/members",
        columns: &["email", "user_id", "role", "updated_at"],
        key: "user_id",
        noun: "member",
        about: "Who may do what in the instance: viewers read, members make jobs keys, admins manage projects and keys, owners everything.",
        create: change(Verb::Put, "/v1/admin/instances/{instance}/members/{user}", MEMBER),
        edit: change(Verb::Put, "/v1/admin/instances/{instance}/members/{user}", MEMBER),
        delete: Some("/v1/admin/instances/{instance}/members/{user}"),
        under_instance: true,
        ..READ_ONLY
    },
    Section {
        slug: "instance-budget",
        readers: INSTANCE_USERS,
        title: "Budget",
        list: "/v1/admin/instances/{instance}/budget",
        columns: &["monthly_usd", "month", "spent_usd", "reserved_usd", "updated_at"],
        key: "instance",
        noun: "budget",
        about: "A monthly limit over all the instance's projects together, on top of each project's own.",
        create: change(Verb::Put, "/v1/admin/instances/{instance}/budget", INSTANCE_BUDGET),
        edit: change(Verb::Put, "/v1/admin/instances/{instance}/budget", INSTANCE_BUDGET),
        delete: Some("/v1/admin/instances/{instance}/budget"),
        under_instance: true,
        single: true,
        ..READ_ONLY
    },
];
