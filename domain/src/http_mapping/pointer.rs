//! JSON pointers (RFC 6901) as a mapping writes them: empty for the whole
//! document, else `/`-separated tokens in which `~` is only `~0` or `~1`.
//! Reading one is `serde_json::Value::pointer`.

/// Whether `pointer` is a JSON pointer.
pub fn is_valid_pointer(pointer: &str) -> bool {
    if pointer.is_empty() {
        return true;
    }
    if !pointer.starts_with('/') {
        return false;
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_pointers_from_paths() {
        for good in ["", "/", "/choices/0/text", "/a~1b/~0c", "/data/images"] {
            assert!(is_valid_pointer(good), "{good}");
        }
        for bad in ["choices/0", ".output", "/a~2", "/a~", "$.output"] {
            assert!(!is_valid_pointer(bad), "{bad}");
        }
    }
}
