//! The manifest's YAML as a tree of located nodes, built from yaml_rust2 events with every
//! input-controlled cost bounded: nesting depth, node count and text size after alias
//! expansion. Tags, multiple documents, non-text keys and duplicate keys are refused here,
//! each at its own line and column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes (scalars, lists, mappings) after alias expansion.
pub const MAX_NODES: usize = 25_000;
/// Most scalar bytes after alias expansion.
pub const MAX_BYTES: usize = 4 << 20;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Mark {
        Mark { line: m.line().max(1), col: m.col() + 1 }
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    /// `plain`: unquoted, so typed (number, boolean, null) when read.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
    /// Nodes in this subtree.
    nodes: usize,
    /// Scalar bytes in this subtree.
    bytes: usize,
}

impl Node {
    fn leaf(text: String, plain: bool, mark: Mark) -> Node {
        let bytes = text.len();
        Node { value: Value::Scalar { text, plain }, mark, nodes: 1, bytes }
    }

    /// The child at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// A located problem found while reading the YAML.
#[derive(Debug)]
pub struct TreeError {
    pub mark: Mark,
    pub message: String,
    pub help: Option<String>,
}

fn err(mark: Mark, message: impl Into<String>, help: Option<&str>) -> TreeError {
    TreeError { mark, message: message.into(), help: help.map(str::to_string) }
}

enum Open {
    Seq { mark: Mark, anchor: usize, items: Vec<Node> },
    Map { mark: Mark, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
    bytes: usize,
}

/// Parses one YAML document into a tree (None for an empty document).
pub fn parse(text: &str) -> Result<Option<Node>, TreeError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder { stack: Vec::new(), anchors: HashMap::new(), root: None, nodes: 0, bytes: 0 };
    let mut documents = 0;
    loop {
        let (ev, marker) = parser.next_token().map_err(|e| {
            let mark = Mark::from(*e.marker());
            if e.info().contains("recursion limit") { too_deep(mark) } else { err(mark, e.info(), None) }
        })?;
        let mark = Mark::from(marker);
        match ev {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        mark,
                        "a second YAML document",
                        Some("a manifest is one YAML document: remove `---`"),
                    ));
                }
            }
            ev => b.event(text, ev, mark)?,
        }
    }
    Ok(b.root)
}

impl Builder {
    /// One node event: a scalar, an alias, or the start or end of a container.
    fn event(&mut self, text: &str, ev: Event, mark: Mark) -> Result<(), TreeError> {
        let is_seq = matches!(ev, Event::SequenceStart(..));
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                refuse_tag(text, tag.as_ref(), mark)?;
                let node = Node::leaf(value, style == TScalarStyle::Plain, mark);
                self.push(node, anchor, mark)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    err(
                        mark,
                        "alias to an anchor that is not complete here",
                        Some("an alias (`*name`) must come after the whole anchored value (`&name`)"),
                    )
                })?;
                let node = Node { mark, ..node };
                self.push(node, 0, mark)?;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                refuse_tag(text, tag.as_ref(), mark)?;
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep(mark));
                }
                self.stack.push(if is_seq {
                    Open::Seq { mark, anchor, items: Vec::new() }
                } else {
                    Open::Map { mark, anchor, entries: Vec::new(), key: None }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq { mark, anchor, items }) => (container(Value::Seq(items), mark), anchor),
                    Some(Open::Map { mark, anchor, entries, .. }) => {
                        refuse_duplicates(&entries)?;
                        (container(Value::Map(entries), mark), anchor)
                    }
                    None => return Err(err(mark, "unbalanced YAML", None)),
                };
                // Counted when its children were pushed; only the container itself is new.
                self.attach(node, anchor, mark, 1, 0)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The first key (in document order) that repeats an earlier one, located.
fn refuse_duplicates(entries: &[(Node, Node)]) -> Result<(), TreeError> {
    let mut keys: Vec<(&str, usize)> =
        entries.iter().enumerate().filter_map(|(i, (k, _))| k.as_str().map(|s| (s, i))).collect();
    keys.sort_unstable();
    let (mut first, mut found): (usize, Option<(usize, usize)>) = (0, None);
    for j in 1..keys.len() {
        if keys[j].0 != keys[j - 1].0 {
            first = j;
        } else if found.is_none_or(|(dup, _)| keys[j].1 < dup) {
            found = Some((keys[j].1, keys[first].1));
        }
    }
    let Some((dup, orig)) = found else { return Ok(()) };
    let (k, at) = (&entries[dup].0, entries[orig].0.mark);
    let text = k.as_str().unwrap_or_default();
    let help = format!("`{text}` is already given at line {}, column {}", at.line, at.col);
    Err(err(k.mark, format!("duplicate key `{text}`"), Some(help.as_str())))
}

fn too_deep(mark: Mark) -> TreeError {
    err(
        mark,
        format!("nesting deeper than {MAX_DEPTH} levels"),
        Some("a manifest needs a few levels; check for stray `[`, `{` or `-`"),
    )
}

fn container(value: Value, mark: Mark) -> Node {
    let (nodes, bytes) = match &value {
        Value::Seq(items) => items.iter().fold((1, 0), |(n, b), i| (n + i.nodes, b + i.bytes)),
        Value::Map(entries) => {
            entries.iter().fold((1, 0), |(n, b), (k, v)| (n + k.nodes + v.nodes, b + k.bytes + v.bytes))
        }
        Value::Scalar { text, .. } => (1, text.len()),
    };
    Node { value, mark, nodes, bytes }
}

fn refuse_tag(text: &str, tag: Option<&Tag>, mark: Mark) -> Result<(), TreeError> {
    match tag {
        None => Ok(()),
        Some(t) => Err(err(
            tag_mark(text, mark),
            format!("YAML tag `{}{}` is not accepted", t.handle, t.suffix),
            Some("vodbuild manifests are plain YAML: remove the tag (no `!include`, `!!binary`, `!name`)"),
        )),
    }
}

/// Where the tag of the node at `mark` is written: the last `!` before the node (a block
/// mapping's position is its first key, the line after its tag).
fn tag_mark(text: &str, mark: Mark) -> Mark {
    let Some(at) = super::snippet::offset_of(text, mark.line, mark.col) else { return mark };
    match text[..at.min(text.len())].rfind('!') {
        Some(bang) => {
            let before = &text[..bang];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
            Mark { line, col }
        }
        None => mark,
    }
}

impl Builder {
    /// A finished scalar or alias: counts all of its nodes and bytes.
    fn push(&mut self, node: Node, anchor: usize, mark: Mark) -> Result<(), TreeError> {
        let (n, bytes) = (node.nodes, node.bytes);
        self.attach(node, anchor, mark, n, bytes)
    }

    fn attach(&mut self, node: Node, anchor: usize, mark: Mark, nodes: usize, bytes: usize) -> Result<(), TreeError> {
        self.nodes += nodes;
        self.bytes += bytes;
        if self.nodes > MAX_NODES || self.bytes > MAX_BYTES {
            return Err(err(
                mark,
                format!("the manifest expands to more than {MAX_NODES} values or {} MiB", MAX_BYTES >> 20),
                Some("aliases (`*name`) repeat their anchor's value; a manifest this large is not supported"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    if !matches!(node.value, Value::Scalar { .. }) {
                        return Err(err(node.mark, "a mapping key must be a name, not a list or a mapping", None));
                    }
                    *key = Some(node);
                }
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(text: &str) -> TreeError {
        parse(text).expect_err(text)
    }

    #[test]
    fn builds_located_nodes() {
        let root = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap().unwrap();
        let b = root.get("b").unwrap();
        assert_eq!(b.mark.line, 3);
        let Value::Seq(items) = &b.value else { panic!() };
        assert!(matches!(&items[1].value, Value::Scalar { text, plain: false } if text == "y"));
        assert_eq!(items[1].mark, Mark { line: 4, col: 5 });
    }

    #[test]
    fn refuses_what_a_manifest_never_needs() {
        assert_eq!(fail("a: 1\nb: 2\na: 3\n").mark, Mark { line: 3, col: 1 });
        assert!(fail("a: !include /etc/passwd\n").message.contains("!include"));
        assert!(fail("a: 1\n---\nb: 2\n").message.contains("document"));
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(fail(&deep).message.contains("nesting"));
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        assert!(fail(&bomb).message.contains("expands"));
    }
}
