//! `electrons usage`: jobs, usage and cost by day and model.

use clap::Args;

use super::{
    api::{Api, ClientError},
    print, ClientArgs,
};

#[derive(Args, Debug)]
pub struct UsageArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// From (RFC 3339 or a date; default: the start of this month, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// To (default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// Another project's usage (the operator's token only).
    #[arg(long)]
    pub project_id: Option<String>,
    /// The API's CSV, as is.
    #[arg(long)]
    pub csv: bool,
}

pub async fn run(args: UsageArgs) -> Result<bool, ClientError> {
    let api = Api::new(&args.client)?;
    let mut query: Vec<String> = Vec::new();
    query.extend(args.from.map(|f| format!("from={}", encode(&f))));
    query.extend(args.to.map(|t| format!("to={}", encode(&t))));
    query.extend(args.project_id.map(|p| format!("project_id={p}")));
    if args.csv {
        query.push("format=csv".into());
        print!("{}", api.get_text(&format!("/v1/usage?{}", query.join("&"))).await?);
        return Ok(true);
    }
    let report = api.get(&format!("/v1/usage?{}", query.join("&"))).await?;
    if args.client.json {
        print::json(&report);
        return Ok(true);
    }
    let rows = report["data"].as_array().into_iter().flatten().map(|row| {
        vec![
            print::cell(&row["day"]),
            print::cell(&row["model"]),
            print::cell(&row["jobs"]),
            print::cell(&row["succeeded"]),
            print::cell(&row["failed"]),
            print::amounts(&row["usage"]),
            format!("${:.6}", row["cost_usd"].as_f64().unwrap_or(0.0)),
        ]
    });
    print::table(&["DAY", "MODEL", "JOBS", "OK", "FAILED", "USAGE", "COST"], rows);
    println!(
        "{} jobs, ${:.6} from {} to {}",
        print::cell(&report["total"]["jobs"]),
        report["total"]["cost_usd"].as_f64().unwrap_or(0.0),
        print::time(&report["from"]),
        print::time(&report["to"])
    );
    Ok(true)
}

/// A time in a query string (`+` in an offset would read as a space).
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}
