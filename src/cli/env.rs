//! `${VAR}` and `${VAR:-default}` in the file's values: replaced by the
//! environment variable's value, or the default when it is unset or empty.

/// `text` with every `${NAME}` / `${NAME:-default}` replaced through
/// `lookup`; `$$` is a literal `$`.
///
/// # Errors
/// A reference to a variable that is unset (or empty) and has no default,
/// or a `${` without its `}`, or a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(inner) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = inner.find('}') else {
            return Err("`${` without its closing `}`".to_owned());
        };
        let reference = &inner[..end];
        let (name, default) = match reference.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        if !is_name(name) {
            return Err(format!(
                "`${{{reference}}}`: `{name}` is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"
            ));
        }
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "the environment variable {name} is not set (write ${{{name}:-default}} \
                     for a default)"
                ))
            }
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `text` names at least one variable (`${…}`), that is, whether
/// its value comes from the environment rather than from the file.
pub(crate) fn has_reference(text: &str) -> bool {
    text.replace("$$", "").contains("${")
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_and_defaults_are_replaced() {
        let s = |t| substitute(t, &env);
        assert_eq!(
            s("postgres://${HOST}/x").as_deref(),
            Ok("postgres://db.local/x")
        );
        assert_eq!(s("${NOPE:-fallback}").as_deref(), Ok("fallback"));
        assert_eq!(s("${EMPTY:-fallback}").as_deref(), Ok("fallback"));
        assert_eq!(s("${HOST:-fallback}").as_deref(), Ok("db.local"));
        assert_eq!(s("a$$b $x").as_deref(), Ok("a$b $x"));
        assert_eq!(s("${NOPE:-}").as_deref(), Ok(""));
    }

    #[test]
    fn bad_references_are_errors() {
        let s = |t| substitute(t, &env);
        assert!(s("${NOPE}").unwrap_err().contains("NOPE is not set"));
        assert!(s("${HOST").unwrap_err().contains("closing"));
        assert!(s("${1X}").unwrap_err().contains("not a variable name"));
    }

    #[test]
    fn references_are_found() {
        assert!(has_reference("${SECRET}"));
        assert!(has_reference("x${A:-b}"));
        assert!(!has_reference("plain"));
        assert!(!has_reference("$${NOT}"));
    }
}
