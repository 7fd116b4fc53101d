//! What can go wrong with a request, and how a prompt asks for it:
//! `[[sim:status=500]]`, `[[sim:429=3]]`, `[[sim:hang]]`, `[[sim:malformed]]`,
//! `[[sim:latency=1500]]`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status and the provider's own error body.
    Status { status: u16 },
    /// 429 with `retry-after` and the provider's rate-limit body.
    RateLimit { retry_after_secs: u64 },
    /// Never answer.
    Hang,
    /// 200 with a body that is not the endpoint's JSON.
    Malformed,
    /// Delay, then answer normally.
    Latency { ms: u64 },
}

/// The fault named in a prompt, if any.
pub fn directive(prompt: &str) -> Option<Fault> {
    let start = prompt.find("[[sim:")?;
    let rest = &prompt[start + 6..];
    let body = &rest[..rest.find("]]")?];
    let (name, value) = body.split_once('=').map_or((body, None), |(n, v)| (n, Some(v)));
    let number = || value.and_then(|v| v.trim().parse::<u64>().ok());
    match name.trim() {
        "status" => number().map(|s| Fault::Status { status: s as u16 }),
        "429" => Some(Fault::RateLimit {
            retry_after_secs: number().unwrap_or(1),
        }),
        "hang" => Some(Fault::Hang),
        "malformed" => Some(Fault::Malformed),
        "latency" => number().map(|ms| Fault::Latency { ms }),
        _ => None,
    }
}

/// The prompt without its directive, for the echoed reply.
pub fn strip_directive(prompt: &str) -> String {
    match (prompt.find("[[sim:"), prompt.find("]]")) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{}", &prompt[..start], &prompt[end + 2..]).trim().to_string()
        }
        _ => prompt.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        assert_eq!(directive("hi [[sim:status=500]]"), Some(Fault::Status { status: 500 }));
        assert_eq!(
            directive("[[sim:429=3]] x"),
            Some(Fault::RateLimit { retry_after_secs: 3 })
        );
        assert_eq!(directive("[[sim:hang]]"), Some(Fault::Hang));
        assert_eq!(directive("[[sim:malformed]]"), Some(Fault::Malformed));
        assert_eq!(directive("[[sim:latency=20]]"), Some(Fault::Latency { ms: 20 }));
        assert_eq!(directive("plain"), None);
        assert_eq!(directive("[[sim:nonsense]]"), None);
        assert_eq!(strip_directive("hi [[sim:hang]] there"), "hi  there");
    }
}
