//! `electrons models`: what this DE runs, and at what price.

use clap::Args;
use serde_json::Value;

use super::{
    api::{Api, ClientError},
    print, ClientArgs,
};

#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
}

pub async fn run(args: ModelsArgs) -> Result<bool, ClientError> {
    let api = Api::new(&args.client)?;
    let models = api.get("/v1/models").await?;
    if args.client.json {
        print::json(&models);
        return Ok(true);
    }
    let rows = models["data"].as_array().into_iter().flatten().map(|model| {
        vec![
            print::cell(&model["id"]),
            print::cell(&model["modality"]),
            print::cell(&model["provider"]),
            print::cell(&model["status"]),
            pricing(&model["pricing"]),
        ]
    });
    print::table(&["ID", "MODALITY", "PROVIDER", "STATUS", "PRICING (USD)"], rows);
    Ok(true)
}

/// The pricing in a line: each unit price, and how many size or quality
/// prices an image model has besides its base price.
fn pricing(pricing: &Value) -> String {
    let Some(entries) = pricing.as_object() else {
        return "-".into();
    };
    let shown: Vec<String> = entries
        .iter()
        .filter_map(|(name, value)| match value {
            Value::Array(prices) if !prices.is_empty() => Some(format!("{} size/quality prices", prices.len())),
            Value::Number(n) if n.as_f64() != Some(0.0) => Some(format!(
                "{} {n}",
                name.trim_end_matches("_usd")
                    .replace("_usd_per_", " per ")
                    .replace("usd_per_", "per ")
            )),
            _ => None,
        })
        .collect();
    match shown.is_empty() {
        true => "-".into(),
        false => shown.join(", "),
    }
}
