//! The `[[sim:name]]` / `[[sim:name=value]]` directives a request carries in its
//! own text (a prompt, the text to speak, a search query, any string in an edit),
//! and the ones among them that shape what a request produces rather than how it
//! fails. Fault directives are parsed in `faults.rs`; the two kinds mix freely.
//!
//! - `[[sim:operation_ms=N]]`: a long-running operation takes N ms instead of the
//!   configured duration.
//! - `[[sim:operation_fail]]`, `[[sim:operation_fail=REASON]]`: the operation ends
//!   failed, with REASON or the provider's default message.
//! - `[[sim:file_404]]`: links in the answer point at files that answer 404.
//! - `[[sim:file_500=N]]`: the linked files answer 500 to their first N requests
//!   (every request without N), like a CDN having a bad minute.
//! - `[[sim:file_hang=N]]`: the linked files never answer their first N requests.
//! - `[[sim:file_bytes=N]]`: the linked files are N bytes long (the real fixture's
//!   start, then zero padding; streamed, never held in memory).
//! - `[[sim:empty]]`: a search finds nothing.
//! - `[[sim:token_ms=N]]`: a streamed answer sends its pieces N ms apart.
//!
//! For each name the first well-formed directive wins; unknown or badly written
//! ones are ignored, as the real provider would not know about them at all.

const OPEN: &str = "[[sim:";
const CLOSE: &str = "]]";

/// The `(name, value)` of every `[[sim:…]]` in `text`, trimmed, in order.
pub fn directives(text: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let (start, end) = next_span(rest)?;
        let body = &rest[start + OPEN.len()..end - CLOSE.len()];
        rest = &rest[end..];
        Some(match body.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (body.trim(), None),
        })
    })
}

/// `text` without any directive, as simulated outputs echo it.
pub fn strip(text: &str) -> String {
    let mut rest = text;
    let mut kept = String::with_capacity(text.len());
    while let Some((start, end)) = next_span(rest) {
        kept.push_str(&rest[..start]);
        rest = &rest[end..];
    }
    kept.push_str(rest);
    kept.trim().to_string()
}

/// Byte range of the next complete directive, `[[sim:` through `]]`.
fn next_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find(OPEN)?;
    let close = text[start + OPEN.len()..].find(CLOSE)?;
    Some((start, start + OPEN.len() + close + CLOSE.len()))
}

/// What a request's directives ask of the outputs it produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Asks {
    /// The operation's duration instead of the configured one.
    pub operation_ms: Option<u64>,
    /// The operation fails; `Some("")` means with the provider's default reason.
    pub operation_fail: Option<String>,
    pub file: FileAsk,
    /// A search returns no results.
    pub empty: bool,
    /// How long a streamed answer waits between its pieces.
    pub token_ms: Option<u64>,
}

/// How the files an answer links to behave.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FileAsk {
    /// The fixture itself.
    #[default]
    Normal,
    /// The link answers 404.
    Missing,
    /// The file is exactly this many bytes long.
    Bytes(u64),
    /// The link answers 500 this many times (`None`: always), then serves the file.
    Failing(Option<u32>),
    /// The link holds this many requests without answering, then serves the file.
    Hanging(u32),
}

impl Asks {
    pub fn read(text: &str) -> Self {
        let mut asks = Self::default();
        let mut file = None;
        for (name, value) in directives(text) {
            match (name, value) {
                ("operation_ms", Some(v)) if asks.operation_ms.is_none() => asks.operation_ms = v.parse().ok(),
                ("operation_fail", v) if asks.operation_fail.is_none() => {
                    asks.operation_fail = Some(v.unwrap_or_default().to_string());
                }
                ("file_404", None) if file.is_none() => file = Some(FileAsk::Missing),
                ("file_bytes", Some(v)) if file.is_none() => file = v.parse().ok().map(FileAsk::Bytes),
                ("file_500", None) if file.is_none() => file = Some(FileAsk::Failing(None)),
                ("file_500", Some(v)) if file.is_none() => file = v.parse().ok().map(|n| FileAsk::Failing(Some(n))),
                ("file_hang", Some(v)) if file.is_none() => file = v.parse().ok().map(FileAsk::Hanging),
                ("empty", None) => asks.empty = true,
                ("token_ms", Some(v)) if asks.token_ms.is_none() => asks.token_ms = v.parse().ok(),
                _ => {}
            }
        }
        asks.file = file.unwrap_or_default();
        asks
    }

    /// Why the operation fails, if it is to: the directive's reason or `default`.
    pub fn failure(&self, default: &str) -> Option<String> {
        self.operation_fail
            .as_deref()
            .map(|reason| if reason.is_empty() { default } else { reason }.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_cut_from_the_echo() {
        assert_eq!(strip("hi [[sim:hang]] there"), "hi  there");
        assert_eq!(strip("[[sim:429=3]] a [[sim:x]]b"), "a b");
        assert_eq!(strip("no directive ]] [["), "no directive ]] [[");
        assert_eq!(strip("open [[sim:hang"), "open [[sim:hang");
    }

    #[test]
    fn names_and_values_are_trimmed() {
        let found: Vec<_> = directives("[[sim: a = 1 ]] x [[sim:b]] [[sim:c=x=y]]").collect();
        assert_eq!(found, [("a", Some("1")), ("b", None), ("c", Some("x=y"))]);
    }

    #[test]
    fn output_asks_are_read() {
        let asks =
            Asks::read("a cat [[sim:operation_ms=20]] [[sim:operation_fail=Out of credits]] [[sim:file_bytes=5000]]");
        assert_eq!(asks.operation_ms, Some(20));
        assert_eq!(asks.failure("default").as_deref(), Some("Out of credits"));
        assert_eq!(asks.file, FileAsk::Bytes(5000));
        assert!(!asks.empty);

        let asks = Asks::read("[[sim:operation_fail]] [[sim:file_404]] [[sim:file_bytes=3]] [[sim:empty]]");
        assert_eq!(asks.failure("default").as_deref(), Some("default"));
        assert_eq!(asks.file, FileAsk::Missing, "the first file directive wins");
        assert!(asks.empty);

        assert_eq!(Asks::read("plain [[sim:status=500]]"), Asks::default());
        assert_eq!(Asks::read("[[sim:file_bytes=lots]]").file, FileAsk::Normal);
        assert_eq!(Asks::read("[[sim:file_404=yes]]").file, FileAsk::Normal);
        assert_eq!(Asks::read("[[sim:file_500=3]]").file, FileAsk::Failing(Some(3)));
        assert_eq!(Asks::read("[[sim:file_500]]").file, FileAsk::Failing(None));
        assert_eq!(Asks::read("[[sim:file_hang=1]]").file, FileAsk::Hanging(1));
        assert_eq!(Asks::read("[[sim:file_hang]]").file, FileAsk::Normal);
    }
}
