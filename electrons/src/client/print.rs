//! How the client commands show things to a person: tables, a job's summary
//! and its output as a reader wants it. `--json` bypasses all of it.

use comfy_table::{ContentArrangement, LineStyle, Table, TableStyle};
use serde_json::Value;

/// Pretty JSON on stdout, for `--json`.
pub fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Columns and a line under the header, nothing else: easy to read and to grep.
const PLAIN: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// A table with `header` over `rows`, fitted to the terminal.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let mut table = Table::new();
    table
        .load_style(PLAIN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    let mut empty = true;
    for row in rows {
        table.add_row(row);
        empty = false;
    }
    if empty {
        println!("(none)");
    } else {
        println!("{table}");
    }
}

/// A JSON value as one cell: strings without quotes, nothing as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time to the second, in UTC (`2026-12-03 14:42:05`).
pub fn time(value: &Value) -> String {
    match value.as_str().map(chrono::DateTime::parse_from_rfc3339) {
        Some(Ok(at)) => at.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => cell(value),
    }
}

/// An object of amounts as `name amount, …` (`images 1, requests 1`).
pub fn amounts(value: &Value) -> String {
    let Some(entries) = value.as_object() else {
        return cell(value);
    };
    let shown: Vec<String> = entries
        .iter()
        .map(|(name, amount)| match amount.as_f64() {
            Some(n) if n.fract() == 0.0 => format!("{name} {n:.0}"),
            _ => format!("{name} {}", cell(amount)),
        })
        .collect();
    match shown.is_empty() {
        true => "-".into(),
        false => shown.join(", "),
    }
}

/// A job for a person: what it is, how it went, and its output.
pub fn job(job: &Value) {
    let status = job["status"].as_str().unwrap_or("?");
    println!("{}  {}  {status}", cell(&job["id"]), cell(&job["model"]));
    let metrics = &job["metrics"];
    let mut facts = Vec::new();
    if let Some(attempts) = job["attempts"].as_i64().filter(|a| *a > 0) {
        facts.push(format!("attempts {attempts}"));
    }
    if let Some(ms) = metrics["run_ms"].as_u64() {
        facts.push(format!("ran {ms} ms"));
    }
    if let Some(cost) = metrics["cost_usd"].as_f64() {
        facts.push(format!("cost ${cost:.6}"));
    }
    if !facts.is_empty() {
        println!("{}", facts.join(", "));
    }
    if let Some(error) = job["error"].as_object() {
        println!(
            "error: {}: {}",
            error.get("code").map(cell).unwrap_or_default(),
            error.get("message").map(cell).unwrap_or_default()
        );
    }
    output(&job["output"]);
}

/// Text as text, files as their links, anything else as JSON.
pub fn output(output: &Value) {
    match output {
        Value::Null => {}
        Value::String(text) => println!("{text}"),
        Value::Object(object) if object.contains_key("files") => {
            for file in object["files"].as_array().into_iter().flatten() {
                println!(
                    "{}  {}",
                    cell(&file["content_type"]),
                    file["url"].as_str().or(file["key"].as_str()).unwrap_or("-")
                );
            }
        }
        other => json(other),
    }
}
