//! `electrons keys create|list|revoke`: the project's API keys. A new key is
//! printed once, as the API shows it once.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::{
    api::{Api, ClientError},
    print, ClientArgs,
};

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// A new key for the project (the operator names the project).
    Create {
        #[arg(long, default_value = "")]
        name: String,
        /// Comma-separated scopes (default: the API's default set).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// When it stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z).
        #[arg(long)]
        expires_at: Option<String>,
        /// live or test.
        #[arg(long)]
        environment: Option<String>,
        /// The project (the operator's token must name one; a project key makes keys for its own).
        #[arg(long)]
        project_id: Option<String>,
    },
    /// The project's keys (never the secrets).
    List {
        #[arg(long)]
        project_id: Option<String>,
    },
    /// Revoke a key: every producer refuses it within a second.
    Revoke { id: String },
}

pub async fn run(args: KeysArgs) -> Result<bool, ClientError> {
    let api = Api::new(&args.client)?;
    let as_json = args.client.json;
    match args.command {
        KeysCommand::Create {
            name,
            scopes,
            expires_at,
            environment,
            project_id,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            let optional = [
                ("scopes", scopes.map(|s| json!(s))),
                ("expires_at", expires_at.map(|e| json!(e))),
                ("environment", environment.map(|e| json!(e))),
                ("project_id", project_id.map(|p| json!(p))),
            ];
            for (field, value) in optional {
                if let Some(value) = value {
                    body.insert(field.into(), value);
                }
            }
            let key = api.post("/v1/admin/keys", &Value::Object(body)).await?;
            match as_json {
                true => print::json(&key),
                false => {
                    println!("{}", print::cell(&key["key"]));
                    eprintln!(
                        "key {} for project {}; shown this once, keep it now",
                        print::cell(&key["id"]),
                        print::cell(&key["project_id"])
                    );
                }
            }
        }
        KeysCommand::List { project_id } => {
            let path = match project_id {
                Some(project) => format!("/v1/admin/keys?project_id={project}"),
                None => "/v1/admin/keys".into(),
            };
            let keys = api.get(&path).await?;
            match as_json {
                true => print::json(&keys),
                false => list(&keys),
            }
        }
        KeysCommand::Revoke { id } => {
            let key = api.delete(&format!("/v1/admin/keys/{id}")).await?;
            match as_json {
                true => print::json(&key),
                false => println!("{id}  revoked at {}", print::cell(&key["revoked_at"])),
            }
        }
    }
    Ok(true)
}

fn list(keys: &Value) {
    let rows = keys["data"].as_array().into_iter().flatten().map(|key| {
        let scopes = key["scopes"]
            .as_array()
            .map(|s| s.iter().map(print::cell).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        vec![
            print::cell(&key["id"]),
            print::cell(&key["name"]),
            format!("{}…", print::cell(&key["prefix"])),
            scopes,
            print::time(&key["expires_at"]),
            match key["revoked_at"].is_null() {
                true => "active".into(),
                false => format!("revoked {}", print::time(&key["revoked_at"])),
            },
        ]
    });
    print::table(&["ID", "NAME", "PREFIX", "SCOPES", "EXPIRES", "STATE"], rows);
}
