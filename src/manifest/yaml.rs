//! All YAML handling lives behind this file ([`tree`] parses with yaml_rust2, [`de`]
//! deserializes from the tree): deserialization with field paths and positions, and finding
//! the position of a field path for errors found after parsing.

use serde::de::DeserializeOwned;

use super::{de, env, tree};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::{ManifestError, Position};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Turns `"key"` or an index into a [`Seg`] (used by the `p!` macro).
pub trait IntoSeg {
    fn into_seg(self) -> Seg;
}

/// `a.b[2].c`
pub fn path_to_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Parse `text` as one YAML document (bounded: see [`tree`]), substitute `${VAR}` in its
/// values, and deserialize `T`; errors carry file, line, column, field path and a hint.
pub fn from_str<T: DeserializeOwned>(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<T, Box<ManifestError>> {
    let at = |line: usize, col: usize, field: &str, message: String, help: Option<String>| {
        Box::new(ManifestError::new(Position::in_text(file, text, line, col), field, message, help))
    };
    let (protected, originals) = env::protect(text);
    let mut root = match tree::parse(&protected) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(at(1, 1, "", "the manifest is empty".into(), Some("start with `version: 1`".into())));
        }
        Err(e) => return Err(at(e.mark.line, e.mark.col, "", e.message, e.help)),
    };
    env::restore_tree(&mut root, &originals);
    env::substitute(file, text, &mut root, lookup)?;
    serde_path_to_error::deserialize(&root).map_err(|err| {
        let field = err.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let inner = err.into_inner();
        let (line, col) = match inner.mark {
            Some(m) => (m.line, m.col),
            None => locate(text, &[]),
        };
        let mut message = de::humanize(&inner.message);
        // Keep the message clean of a parent path prefix ("profiles.video.720p: unknown field").
        if let Some((prefix, rest)) = message.split_once(": ")
            && !prefix.contains(' ')
            && !prefix.is_empty()
        {
            message = rest.to_string();
        }
        let help = did_you_mean(&message);
        at(line, col, &field, message, help)
    })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"),
/// suggest the closest known name.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))?;
    let (bad, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(bad, c), *c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c);
    match best {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if !candidates.is_empty() => Some(format!("expected one of: {}", candidates.join(", "))),
        None => None,
    }
}

/// The 1-based (line, column) of the value at `path` in `text`, if it exists; for a path
/// whose last key is absent, the position of the closest existing parent.
pub fn locate(text: &str, path: &[Seg]) -> (usize, usize) {
    let mut loc = Locator { target: path, stack: Vec::new(), best: (1, 1, 0) };
    // Same lines and columns as `text`, and parseable where `${...}` sits in `[...]`/`{...}`.
    let (protected, _) = env::protect(text);
    let mut parser = Parser::new_from_str(&protected);
    let _ = parser.load(&mut loc, false);
    (loc.best.0, loc.best.1)
}

enum Frame {
    Map { path: Vec<Seg>, key: Option<String> },
    Seq { path: Vec<Seg>, next: usize },
}

struct Locator<'a> {
    target: &'a [Seg],
    stack: Vec<Frame>,
    /// line, column, matched path length
    best: (usize, usize, usize),
}

impl Locator<'_> {
    /// The path of the node that starts now, or None if it is a mapping key.
    fn node_path(&mut self, ev: &Event) -> Option<Vec<Seg>> {
        match self.stack.last_mut() {
            None => Some(Vec::new()),
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    if let Event::Scalar(k, ..) = ev {
                        *key = Some(k.clone());
                    }
                    None
                }
                Some(k) => {
                    let mut p = path.clone();
                    p.push(Seg::Key(k));
                    Some(p)
                }
            },
            Some(Frame::Seq { path, next }) => {
                let mut p = path.clone();
                p.push(Seg::Index(*next));
                *next += 1;
                Some(p)
            }
        }
    }

    fn consider(&mut self, path: &[Seg], mark: Marker, exact_bonus: usize) {
        let n = path.len();
        if n <= self.target.len() && path == &self.target[..n] {
            let score = n * 2 + exact_bonus;
            if score > self.best.2 {
                self.best = (mark.line(), mark.col() + 1, score);
            }
        }
    }
}

impl MarkedEventReceiver for Locator<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match &ev {
            Event::Scalar(..) | Event::Alias(_) => {
                let key_of_parent = match self.stack.last() {
                    Some(Frame::Map { path, key: None }) => Some(path.clone()),
                    _ => None,
                };
                match self.node_path(&ev) {
                    Some(p) => self.consider(&p, mark, 1),
                    None => {
                        // A key: its own position is a good answer for the key's path.
                        if let (Some(mut p), Event::Scalar(k, ..)) = (key_of_parent, &ev) {
                            p.push(Seg::Key(k.clone()));
                            self.consider(&p, mark, 0);
                        }
                    }
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.node_path(&ev).unwrap_or_default();
                self.consider(&path, mark, 1);
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map { path, key: None },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_values() {
        let text = "a: 1\nb:\n  c: [x, y]\n  d:\n    - e: 5\n";
        let p = |s: &[Seg]| locate(text, s);
        assert_eq!(p(&[Seg::Key("a".into())]), (1, 4));
        assert_eq!(p(&[Seg::Key("b".into()), Seg::Key("c".into()), Seg::Index(1)]), (3, 10));
        let e = [Seg::Key("b".into()), Seg::Key("d".into()), Seg::Index(0), Seg::Key("e".into())];
        assert_eq!(p(&e), (5, 10));
        // absent key: falls back to the parent
        assert_eq!(p(&[Seg::Key("b".into()), Seg::Key("zz".into())]).0, 3);
    }

    #[test]
    fn suggests_close_field() {
        let m = "unknown field `bitrat`, expected one of `codec`, `bitrate`, `crf`";
        assert_eq!(did_you_mean(m).unwrap(), "did you mean `bitrate`?");
    }
}
