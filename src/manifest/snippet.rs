//! What a manifest error shows of the manifest: one line, cut to a window of at most
//! [`WIDTH`] characters around the offending column, control characters escaped. Rendering
//! cost and output size stay small whatever the line holds (a 16 MiB scalar, raw escapes).

use std::fmt;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Most characters of the offending line shown.
pub const WIDTH: usize = 200;
const BEFORE: usize = 80;

/// One line of the manifest, as shown.
pub struct Snippet {
    name: String,
    text: String,
    /// 0-based line and column (in characters) of the offending position in the manifest.
    line: usize,
    column: usize,
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snippet({}:{})", self.name, self.line + 1)
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        _span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let all = SourceSpan::from((0, self.text.len()));
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            all,
            self.line,
            self.column,
            1,
        )))
    }
}

/// The snippet around byte `offset` of `text` (1-based `line`), and the offset in it.
pub fn around(name: &str, text: &str, line: usize, offset: usize) -> (Snippet, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let before: Vec<char> = text[start..offset].chars().rev().take(BEFORE + 1).collect();
    let mut shown = String::new();
    if before.len() > BEFORE {
        shown.push('…');
    }
    before.iter().take(BEFORE).rev().for_each(|c| push_escaped(&mut shown, *c));
    let at = shown.len();
    let after_budget = WIDTH - before.len().min(BEFORE);
    let mut after = text[offset..end].chars();
    after.by_ref().take(after_budget).for_each(|c| push_escaped(&mut shown, c));
    if after.next().is_some() {
        shown.push('…');
    }
    let shown = shown.trim_end_matches('\r').to_string();
    let column = text[start..offset].chars().count();
    (Snippet { name: escape(name), text: shown, line: line.saturating_sub(1), column }, at)
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() && c != '\t' {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// `s` with control characters (ESC, BEL, NUL, line breaks...) written as escapes, so that
/// echoed manifest text never drives the terminal.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    s.chars().for_each(|c| if c.is_control() { out.extend(c.escape_default()) } else { out.push(c) });
    out
}

/// Byte offset of a 1-based line and column.
pub fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col_bytes: usize = l.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
            return Some(offset + col_bytes);
        }
        offset += l.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("a: {}X{}\nb: 1\n", "y".repeat(10_000), "z".repeat(10_000));
        let x = text.find('X').unwrap();
        let (s, at) = around("f", &text, 1, x);
        assert!(s.text.chars().count() <= WIDTH + 2, "{}", s.text.len());
        assert!(s.text[at..].starts_with('X'));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}]0;x\u{7}"), "a\\u{1b}]0;x\\u{7}");
        let (s, _) = around("f", "k\u{1b}[31m: v\n", 1, 0);
        assert!(!s.text.contains('\u{1b}'));
    }
}
