//! A template string: literal text and `{{name}}` placeholders. A string that
//! is exactly one placeholder takes the value whole, with its JSON type; one
//! inside other text is written into the text.

/// One part of a template string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// The parts of `template`, or why it is not one (an unclosed `{{`, a name
/// that is not lowercase letters, digits and `_`).
pub(crate) fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "`{{{{` at character {} is never closed with `}}}}`",
                template.len() - rest.len() + open
            )
        })?;
        let name = after[..close].trim();
        if !is_name(name) {
            return Err(format!(
                "`{{{{{}}}}}` is not a placeholder: a name is lowercase letters, digits and _",
                &after[..close]
            ));
        }
        parts.push(Piece::Slot(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Piece::Text(rest));
    }
    Ok(parts)
}

/// The placeholder `template` is, when it is nothing but one.
pub(crate) fn whole(template: &str) -> Option<&str> {
    match pieces(template).ok()?.as_slice() {
        [Piece::Slot(name)] => Some(name),
        _ => None,
    }
}

pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_placeholders() {
        assert_eq!(
            pieces("Bearer {{ api_key }}").unwrap(),
            vec![Piece::Text("Bearer "), Piece::Slot("api_key")]
        );
        assert_eq!(
            pieces("/v1/{{model}}:generate?x=1").unwrap(),
            vec![Piece::Text("/v1/"), Piece::Slot("model"), Piece::Text(":generate?x=1")]
        );
        assert_eq!(pieces("plain").unwrap(), vec![Piece::Text("plain")]);
        assert_eq!(whole("{{temperature}}"), Some("temperature"));
        assert_eq!(whole(" {{temperature}}"), None);
        assert!(pieces("{{prompt").is_err());
        assert!(pieces("{{Prompt}}").is_err());
        assert!(pieces("{{}}").is_err());
    }
}
