//! Logging set-up, in one place. `RUST_LOG` filters (default: info for DE, warn for
//! the libraries); `DE_LOG_FORMAT=json` switches to one JSON object per line.

use tracing_subscriber::{fmt, EnvFilter};

const DEFAULT: &str = "info,sqlx=warn,lapin=warn,amq_protocol=warn,tower_http=warn,hyper=warn";

pub fn init() {
    init_with(DEFAULT)
}

/// Like `init`, with another filter when `RUST_LOG` is unset.
pub fn init_with(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("DE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
