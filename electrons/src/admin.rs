//! `electrons admin …`: what an operator does before there is any key to call
//! the API with. `create-key` makes a project's first (owner) key — the
//! project is created if it does not exist — and prints the key once, alone
//! on stdout, so a script can capture it; what it made goes to stderr.

use anyhow::Context;
use clap::{Args, Subcommand};
use electrons_domain::{
    auth::{self, key_format::KeyEnvironment, Scope},
    config::Settings,
    db::api_keys::{self, NewKey},
};

use crate::roles;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an API key for a project (created if missing) and print it once.
    CreateKey(CreateKeyArgs),
}

#[derive(Args)]
pub struct CreateKeyArgs {
    /// The project's name; a project of that name is created if there is none.
    #[arg(long)]
    project: String,
    /// What the key is for, shown in key lists.
    #[arg(long, default_value = "")]
    name: String,
    /// Scopes: jobs:write, jobs:read, admin (repeat or comma-separate). Default: all three
    /// (the owner key).
    #[arg(long = "scope", value_delimiter = ',')]
    scopes: Vec<String>,
    /// A test key (`de_test_…`) rather than a live one.
    #[arg(long)]
    test: bool,
    /// Expires after this long (`30d`, `12h`); never when absent.
    #[arg(long)]
    expires_in: Option<humantime::Duration>,
}

pub async fn run(command: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateKey(args) => create_key(args, settings).await,
    }
}

async fn create_key(args: CreateKeyArgs, settings: &Settings) -> anyhow::Result<()> {
    let scopes = match args.scopes.is_empty() {
        true => Scope::ALL.to_vec(),
        false => args
            .scopes
            .iter()
            .map(|s| {
                Scope::parse(s.trim()).with_context(|| format!("--scope {s:?}: not jobs:write, jobs:read or admin"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let expires_at = match args.expires_in {
        Some(after) => Some(chrono::Utc::now() + chrono::Duration::from_std(after.into()).context("--expires-in")?),
        None => None,
    };
    let pool = roles::database(settings).await?;
    let mut tx = pool.begin().await?;
    let project_id = auth::project_named(&mut tx, &args.project).await?;
    tx.commit().await?;
    let (record, key) = api_keys::create(
        &pool,
        NewKey {
            project_id,
            name: args.name,
            environment: if args.test {
                KeyEnvironment::Test
            } else {
                KeyEnvironment::Live
            },
            scopes,
            expires_at,
        },
    )
    .await?;
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    eprintln!(
        "created key {} ({}…) for project {} ({}); scopes {}; {}",
        record.id,
        record.prefix,
        args.project,
        project_id,
        scopes.join(","),
        match record.expires_at {
            Some(at) => format!("expires {}", at.to_rfc3339()),
            None => "never expires".into(),
        }
    );
    eprintln!("this is the only time the key is shown:");
    println!("{}", key.expose());
    Ok(())
}
