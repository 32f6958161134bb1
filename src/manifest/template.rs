//! A command step's argument template (`steps.NAME.args`): literal text with placeholders
//! `{source}`, `{input:NAME}` (`{input:NAME/FILE}` for one output of a command step with
//! several), `{output:FILE}` and `{param:KEY}`; `{{` and `}}` are literal braces. Parsed at
//! load time ([`super::steps`] checks each reference) and expanded when a job is built
//! ([`crate::kinds::command`]). Plain data: imports nothing of the layers above.

/// One piece of an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Source,
    Input(String),
    Output(String),
    Param(String),
}

/// Parses one argument; the error says what is wrong with which placeholder.
pub fn parse(arg: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("a lone `}` (write `}}` for a literal brace)".into());
        }
        let end = tail.find('}').ok_or("an unclosed `{` (write `{{` for a literal brace)")?;
        let inner = &tail[1..end];
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(placeholder(inner)?);
        rest = &tail[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn placeholder(inner: &str) -> Result<Piece, String> {
    let piece = match inner.split_once(':') {
        None if inner == "source" => Piece::Source,
        Some(("input", name)) if !name.is_empty() => Piece::Input(name.into()),
        Some(("output", file)) if !file.is_empty() => Piece::Output(file.into()),
        Some(("param", key)) if !key.is_empty() => Piece::Param(key.into()),
        _ => {
            return Err(format!(
                "unknown placeholder `{{{inner}}}`: use {{source}}, {{input:NAME}}, {{output:FILE}} or {{param:KEY}}"
            ));
        }
    };
    Ok(piece)
}

/// Joins the pieces of an argument, each placeholder replaced by `value`.
pub fn expand(pieces: &[Piece], mut value: impl FnMut(&Piece) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            other => out.push_str(&value(other)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escapes() {
        let p = parse("--out={output:captions.vtt}").unwrap();
        assert_eq!(p, vec![Piece::Text("--out=".into()), Piece::Output("captions.vtt".into())]);
        assert_eq!(parse("{{x}}").unwrap(), vec![Piece::Text("{x}".into())]);
        assert_eq!(parse("{source}").unwrap(), vec![Piece::Source]);
        assert_eq!(parse("{input:wav/a.wav}").unwrap(), vec![Piece::Input("wav/a.wav".into())]);
        assert!(parse("{sourse}").unwrap_err().contains("unknown placeholder `{sourse}`"));
        assert!(parse("{param:}").is_err());
        assert!(parse("a{b").unwrap_err().contains("unclosed"));
        assert!(parse("a}b").unwrap_err().contains("lone"));
        let s = expand(&parse("{param:lang}-{{1}}").unwrap(), |_| Ok("en".into())).unwrap();
        assert_eq!(s, "en-{1}");
    }
}
