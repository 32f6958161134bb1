//! `${VAR}` / `${VAR:-default}` interpolation from the environment, done in the values of
//! the parsed YAML tree: a variable's value is always one scalar (it cannot add keys, tags
//! or documents, whatever characters it holds). `$$` is a literal `$`. Keys and comments
//! are left alone. Errors point at the `${` in the manifest.
//!
//! So that `${A:-x}` stays usable unquoted inside `[...]` and `{...}` (where `{`, `}` and
//! `,` are YAML syntax), [`protect`] first replaces each `${...}` in the text by a token of
//! the same length in characters made of private-use characters (plain text in any YAML
//! context; lines and columns unchanged); [`substitute`] puts the original back in each
//! scalar before expanding it.

use super::snippet::offset_of;
use super::tree::{Node, Value};
use crate::error::{ManifestError, Position};

/// Bounds the text a substitution can produce.
const MAX_VALUE: usize = 1 << 20;

const MARK: char = '\u{E000}';
const PAD: char = '\u{E001}';
const DIGIT0: u32 = 0xE100;

/// The text with every `${...}` (on one line) replaced by a same-length token, and the
/// originals in order. `$$` is skipped.
pub fn protect(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("$$") {
            out.push_str("$$");
            rest = &rest[2..];
            continue;
        }
        let end = rest.find(['}', '\n']).filter(|&e| rest.starts_with("${") && rest.as_bytes()[e] == b'}');
        match end {
            Some(e) if rest[..=e].chars().count() >= 4 && found.len() < (1 << 24) => {
                let original = &rest[..=e];
                out.push_str(&token(found.len(), original.chars().count()));
                found.push(original.to_string());
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('$');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    (out, found)
}

/// MARK, the index in base 256 (3 digits), padding up to `len` characters.
fn token(index: usize, len: usize) -> String {
    let mut t = String::from(MARK);
    for shift in [16, 8, 0] {
        t.push(char::from_u32(DIGIT0 + ((index >> shift) & 0xff) as u32).unwrap_or(PAD));
    }
    t.extend(std::iter::repeat_n(PAD, len - 4));
    t
}

/// `s` with protected tokens replaced by their originals.
pub fn restore(s: &str, originals: &[String]) -> String {
    if !s.contains(MARK) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != MARK {
            out.push(c);
            continue;
        }
        let mut index = 0usize;
        for _ in 0..3 {
            let d = chars.next().map(|d| d as u32).unwrap_or(DIGIT0);
            index = (index << 8) | d.saturating_sub(DIGIT0) as usize;
        }
        while chars.peek() == Some(&PAD) {
            chars.next();
        }
        out.push_str(originals.get(index).map(String::as_str).unwrap_or(""));
    }
    out
}

/// Puts the originals back in every key and value of `node`.
pub fn restore_tree(node: &mut Node, originals: &[String]) {
    if originals.is_empty() {
        return;
    }
    match &mut node.value {
        Value::Scalar { text, .. } => {
            if text.contains(MARK) {
                *text = restore(text, originals);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| restore_tree(n, originals)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            restore_tree(k, originals);
            restore_tree(v, originals);
        }),
    }
}

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
                    Err(Box::new(ManifestError::new(Position::in_text(file, text, line, col), "", message, help)))
                }
            }
        }
        Value::Seq(items) => items.iter_mut().try_for_each(|n| substitute(file, text, n, lookup)),
        Value::Map(entries) => entries.iter_mut().try_for_each(|(_, v)| substitute(file, text, v, lookup)),
    }
}

/// Where `${` is in the text: after `before` when the scalar is written as is on its line.
fn position(text: &str, line: usize, col: usize, plain: bool, before: &str) -> (usize, usize) {
    let written = offset_of(text, line, col).map(|o| text[o..].starts_with(before)).unwrap_or(false);
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
        let (protected, originals) = protect(t);
        assert_eq!(protected.chars().count(), t.chars().count());
        let mut node = tree::parse(&protected).unwrap().unwrap();
        restore_tree(&mut node, &originals);
        substitute("f.yaml", t, &mut node, &env).map(|_| node)
    }

    #[test]
    fn works_unquoted_in_flow_collections() {
        let n = run("a: {b: ${NOPE:-200k}, c: [${HOME_DIR}, $$x]}\n").unwrap();
        let a = n.get("a").unwrap();
        assert_eq!(a.get("b").unwrap().as_str(), Some("200k"));
        let Value::Seq(c) = &a.get("c").unwrap().value else { panic!() };
        assert_eq!(c[0].as_str(), Some("/srv"));
        assert_eq!(c[1].as_str(), Some("$x"));
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
