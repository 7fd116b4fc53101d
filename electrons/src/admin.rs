//! `electrons admin …`: what an operator does before there is any key to call
//! the API with. `create-key` makes a project's first (owner) key — the
//! project is created if it does not exist — and prints the key once, alone
//! on stdout, so a script can capture it; what it made goes to stderr.
//! `rotate-secrets` seals stored provider keys again under the keyring's
//! first key; `new-secret-key` prints a key to put there.

use anyhow::Context;
use clap::{Args, Subcommand};
use electrons_domain::{
    auth::{self, key_format::KeyEnvironment, Scope},
    catalog::provider_key_binding,
    config::Settings,
    db::{
        api_keys::{self, NewKey},
        providers,
    },
    keyring::{last4, Keyring},
    secret::Secret,
};

use crate::roles;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an API key for a project (created if missing) and print it once.
    CreateKey(CreateKeyArgs),
    /// Seal every stored provider key again under the first key of
    /// DE_SECRET_KEYS (after adding a new one in front), and seal keys still
    /// stored in plaintext. Prints how many it sealed.
    RotateSecrets,
    /// Print a new random key for DE_SECRET_KEYS (`id:base64`).
    NewSecretKey {
        /// The key's id, as sealed values name it.
        #[arg(long)]
        id: String,
    },
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
        AdminCommand::RotateSecrets => rotate_secrets(settings).await,
        AdminCommand::NewSecretKey { id } => {
            println!("{}", Keyring::generate_entry(&id));
            Ok(())
        }
    }
}

async fn rotate_secrets(settings: &Settings) -> anyhow::Result<()> {
    let keyring = settings
        .keyring
        .as_ref()
        .context("DE_SECRET_KEYS is not set: there is no key to seal with")?;
    let pool = roles::database(settings).await?;
    let mut sealed = 0;
    for stored in providers::stored_keys(&pool).await? {
        if stored.sealed.as_deref().is_some_and(|s| keyring.is_current(s)) && stored.plaintext.is_none() {
            continue;
        }
        let binding = provider_key_binding(&stored.id);
        let key = match (&stored.sealed, &stored.plaintext) {
            (Some(old), _) => keyring
                .open(old, &binding)
                .with_context(|| format!("provider {}: its key does not open with DE_SECRET_KEYS", stored.id))?,
            (None, Some(plain)) => Secret::new(plain.clone()),
            (None, None) => continue,
        };
        let resealed = keyring.seal(&key, &binding);
        if providers::reseal(&pool, &stored.id, &stored, &resealed, &last4(&key)).await? {
            sealed += 1;
        } else {
            eprintln!("provider {}: changed meanwhile; run again", stored.id);
        }
    }
    eprintln!("sealed {sealed} provider key(s) under {:?}", keyring.current());
    Ok(())
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
