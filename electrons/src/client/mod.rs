//! The command line as a client of a running DE (`submit`, `jobs`, `models`,
//! `keys`, `usage`): each command is one file here, speaking the public HTTP
//! API with `DE_URL` and `DE_API_KEY`. People get tables and a live status
//! line; `--json` prints the API's own JSON on stdout for scripts. Errors go to
//! stderr with the API's code, message and field, and a non-zero exit.

pub mod api;
pub mod jobs;
pub mod keys;
pub mod models;
mod print;
pub mod submit;
pub mod usage;
mod watch;

use clap::Args;

/// Where DE is and who is asking; on every client command.
#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
    /// DE's base URL.
    #[arg(long, env = "DE_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// The API key (a project key, or the operator's admin token for `keys`).
    #[arg(long, env = "DE_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// Print the API's JSON on stdout instead of tables and status lines.
    #[arg(long, global = true)]
    pub json: bool,
}
