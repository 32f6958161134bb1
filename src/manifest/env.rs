//! `${VAR}` / `${VAR:-default}` interpolation from the environment, done on the text before
//! parsing so that every later error still points at the right line. `$$` is a literal `$`.
//! Comments are left alone.

use crate::error::ManifestError;

pub fn interpolate(
    file: &str,
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Box<ManifestError>> {
    let mut out = String::with_capacity(text.len());
    for (lineno, line) in text.split_inclusive('\n').enumerate() {
        let comment = comment_start(line);
        let (code, rest) = line.split_at(comment);
        let mut i = 0;
        let bytes = code.as_bytes();
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') {
                out.push('$');
                i += 2;
            } else if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                let err = |msg: String, help: Option<String>| {
                    let offset = text.split_inclusive('\n').take(lineno).map(str::len).sum::<usize>() + i;
                    Box::new(ManifestError::new(file, text, lineno + 1, i + 1, Some(offset), "", msg, help))
                };
                let Some(end) = code[i..].find('}') else {
                    return Err(err(
                        "unterminated `${`".into(),
                        Some("write `${NAME}` or `$$` for a literal `$`".into()),
                    ));
                };
                let inner = &code[i + 2..i + end];
                let (name, default) = match inner.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (inner, None),
                };
                let valid = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(err(format!("invalid variable name `{name}` in `${{{inner}}}`"), None));
                }
                match lookup(name).or_else(|| default.map(str::to_string)) {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(err(
                            format!("environment variable `{name}` is not set"),
                            Some(format!("set {name}, or give a default: `${{{name}:-value}}`")),
                        ));
                    }
                }
                i += end + 1;
            } else {
                let ch = code[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// Byte index where a YAML comment starts on this line (or the line's length).
fn comment_start(line: &str) -> usize {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return i,
            _ => {}
        }
        prev = c;
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME_DIR").then(|| "/srv".to_string())
    }

    #[test]
    fn replaces_and_defaults() {
        let t = "a: ${HOME_DIR}/x\nb: ${NOPE:-d} # ${IGNORED}\nc: $$5\n";
        assert_eq!(interpolate("f", t, env).unwrap(), "a: /srv/x\nb: d # ${IGNORED}\nc: $5\n");
    }

    #[test]
    fn unset_names_line_and_column() {
        let e = interpolate("f.yaml", "a: 1\nb: x${NOPE}\n", env).unwrap_err();
        assert_eq!(e.location, "f.yaml:2:5");
        assert!(e.message.contains("NOPE"));
    }
}
