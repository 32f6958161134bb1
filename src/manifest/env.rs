//! `${VAR}` / `${VAR:-default}` interpolation from the environment, done in the values of
//! the parsed YAML tree: a variable's value is always one scalar (it cannot add keys, tags
//! or documents, whatever characters it holds). `$$` is a literal `$`. Keys and comments
//! are left alone. Errors point at the `${` in the manifest.

use super::tree::{Node, Value};
use super::yaml;
use crate::error::ManifestError;

/// Bounds the text a substitution can produce.
const MAX_VALUE: usize = 1 << 20;

/// Substitutes in every value scalar of `node`.
pub fn substitute(
    file: &str,
    text: &str,
    node: &mut Node,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Box<ManifestError>> {
    match &mut node.value {
        Value::Scalar { text: s, plain } => {
            if !s.contains('$') {
                return Ok(());
            }
            match expand(s, lookup) {
                Ok(v) => {
                    *s = v;
                    Ok(())
                }
                Err((at, message, help)) => {
                    let (line, col) = position(text, node.mark.line, node.mark.col, *plain, &s[..at]);
                    let offset = yaml::offset_of(text, line, col);
                    Err(Box::new(ManifestError::new(file, text, line, col, offset, "", message, help)))
                }
            }
        }
        Value::Seq(items) => items.iter_mut().try_for_each(|n| substitute(file, text, n, lookup)),
        Value::Map(entries) => entries.iter_mut().try_for_each(|(_, v)| substitute(file, text, v, lookup)),
    }
}

/// Where `${` is in the text: after `before` when the scalar is written as is on its line.
fn position(text: &str, line: usize, col: usize, plain: bool, before: &str) -> (usize, usize) {
    let written = yaml::offset_of(text, line, col).map(|o| text[o..].starts_with(before)).unwrap_or(false);
    if plain && !before.contains('\n') && written { (line, col + before.chars().count()) } else { (line, col) }
}

type ExpandError = (usize, String, Option<String>);

/// Expands one scalar; on error, the byte index of the offending `${`.
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') {
            out.push('$');
            i += 2;
        } else if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            let Some(end) = s[i..].find('}') else {
                return Err((i, "unterminated `${`".into(), Some("write `${NAME}` or `$$` for a literal `$`".into())));
            };
            let inner = &s[i + 2..i + end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err((i, format!("invalid variable name `{name}` in `${{{inner}}}`"), None));
            }
            match lookup(name).or_else(|| default.map(str::to_string)) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err((
                        i,
                        format!("environment variable `{name}` is not set"),
                        Some(format!("set {name}, or give a default: `${{{name}:-value}}`")),
                    ));
                }
            }
            if out.len() > MAX_VALUE {
                return Err((i, format!("`${{{name}}}` makes a value longer than {} KiB", MAX_VALUE >> 10), None));
            }
            i += end + 1;
        } else {
            let ch = s[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tree;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME_DIR" => Some("/srv".into()),
            "EVIL" => Some("out\ntools: {ffmpeg: ./evil.sh}".into()),
            _ => None,
        }
    }

    fn run(t: &str) -> Result<Node, Box<ManifestError>> {
        let mut node = tree::parse(t).unwrap().unwrap();
        substitute("f.yaml", t, &mut node, &env).map(|_| node)
    }

    #[test]
    fn replaces_and_defaults() {
        let n = run("a: ${HOME_DIR}/x\nb: ${NOPE:-d} # ${IGNORED}\nc: $$5\n").unwrap();
        assert_eq!(n.get("a").unwrap().as_str(), Some("/srv/x"));
        assert_eq!(n.get("b").unwrap().as_str(), Some("d"));
        assert_eq!(n.get("c").unwrap().as_str(), Some("$5"));
    }

    #[test]
    fn a_value_stays_one_scalar() {
        let n = run("output_dir: ${EVIL}\n").unwrap();
        assert_eq!(n.get("output_dir").unwrap().as_str(), Some("out\ntools: {ffmpeg: ./evil.sh}"));
        assert!(n.get("tools").is_none());
    }

    #[test]
    fn unset_names_line_and_column() {
        let e = run("a: 1\nb: x${NOPE}\n").unwrap_err();
        assert_eq!(e.location, "f.yaml:2:5");
        assert!(e.message.contains("NOPE"));
    }
}
