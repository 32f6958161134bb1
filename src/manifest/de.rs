//! A serde deserializer over the located [`tree`](super::tree): unquoted scalars are typed
//! (YAML 1.2 core schema: null, booleans, integers, floats incl. `.inf`/`.nan`) when a number
//! or boolean is wanted, and read as text when text is wanted (`id: 2024`). Every error
//! carries the line and column of the node it is about.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::tree::{Mark, Node, Value};

#[derive(Debug)]
pub struct DeError {
    pub message: String,
    pub mark: Option<Mark>,
}

impl DeError {
    fn at(mut self, mark: Mark) -> DeError {
        self.mark.get_or_insert(mark);
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { message: msg.to_string(), mark: None }
    }
}

/// What an unquoted scalar means.
enum Typed<'a> {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn resolve(text: &str) -> Typed<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
        "true" | "True" | "TRUE" => return Typed::Bool(true),
        "false" | "False" | "FALSE" => return Typed::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Typed::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Typed::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Typed::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(u) = text.strip_prefix('+').unwrap_or(text).parse::<u64>() {
            return Typed::Uint(u);
        }
        if let Ok(i) = text.parse::<i64>() {
            return Typed::Int(i);
        }
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Typed::Uint(u);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Typed::Uint(u);
    }
    let numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b));
    if numeric && let Ok(f) = text.parse::<f64>() {
        return Typed::Float(f);
    }
    Typed::Str(text)
}

/// Deserializes `T` from a node.
pub fn from_node<'de, T: serde::Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(node)
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.value {
            Value::Scalar { text, plain: true } => match resolve(text) {
                Typed::Null => v.visit_unit(),
                Typed::Bool(b) => v.visit_bool(b),
                Typed::Uint(u) => v.visit_u64(u),
                Typed::Int(i) => v.visit_i64(i),
                Typed::Float(f) => v.visit_f64(f),
                Typed::Str(s) => v.visit_str(s),
            },
            Value::Scalar { text, plain: false } => v.visit_str(text),
            Value::Seq(items) => v.visit_seq(Items(items.iter())),
            Value::Map(entries) => v.visit_map(Entries { it: entries.iter(), value: None }),
        };
        r.map_err(|e: DeError| e.at(self.mark))
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.value {
            Value::Scalar { text, .. } => v.visit_str(text).map_err(|e: DeError| e.at(self.mark)),
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.value {
            Value::Scalar { text, plain: true } if matches!(resolve(text), Typed::Null) => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, v: V) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.value {
            Value::Map(_) => self.deserialize_any(v),
            _ => Err(DeError {
                message: format!("expected a mapping (`name: value` lines), found {}", kind(self)),
                mark: Some(self.mark),
            }),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.value {
            Value::Scalar { text, .. } => v
                .visit_enum(<&str as IntoDeserializer<'de, DeError>>::into_deserializer(text.as_str()))
                .map_err(|e: DeError| e.at(self.mark)),
            _ => Err(DeError { message: format!("expected a name, found {}", kind(self)), mark: Some(self.mark) }),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq
        tuple tuple_struct map
    }
}

fn kind(node: &Node) -> &'static str {
    match &node.value {
        Value::Scalar { .. } => "a single value",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

struct Items<'de>(std::slice::Iter<'de, Node>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        self.0.next().map(|n| seed.deserialize(n).map_err(|e: DeError| e.at(n.mark))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de> {
    it: std::slice::Iter<'de, (Node, Node)>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.it.next() else { return Ok(None) };
        self.value = Some(v);
        seed.deserialize(Key(k)).map(Some).map_err(|e: DeError| e.at(k.mark))
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let v = self.value.take().ok_or_else(|| DeError { message: "value without a key".into(), mark: None })?;
        seed.deserialize(v).map_err(|e: DeError| e.at(v.mark))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.it.len())
    }
}

/// A mapping key: always text (keys are names, never numbers).
struct Key<'de>(&'de Node);

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = DeError;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.0.as_str() {
            Some(s) => v.visit_str(s),
            None => self.0.deserialize_any(v),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// serde's messages name Rust types (`expected u32`, `struct RawManifest`); say it in
/// manifest terms instead.
pub fn humanize(message: &str) -> String {
    let mut m = message.to_string();
    if let Some(i) = m.rfind("expected ") {
        let (head, wanted) = m.split_at(i + "expected ".len());
        let plain = match wanted {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Some("a whole number (0 or more)"),
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Some("a whole number"),
            "f32" | "f64" => Some("a number"),
            "a sequence" => Some("a list"),
            "a map" => Some("a mapping"),
            "a boolean" => Some("true or false"),
            w if w.starts_with("struct ") => Some("a mapping (`name: value` lines)"),
            w if w.starts_with("enum ") => Some("one of the documented names"),
            _ => None,
        };
        if let Some(p) = plain {
            m = format!("{head}{p}");
        }
    }
    let m = m
        .replace("invalid type: sequence", "invalid type: a list")
        .replace("invalid type: map", "invalid type: a mapping")
        .replace("invalid type: unit value", "invalid type: an empty value");
    // Anything else that still names a Rust path.
    m.split(' ').map(|w| if w.contains("::") { "a value" } else { w }).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed() {
        assert!(matches!(resolve("12"), Typed::Uint(12)));
        assert!(matches!(resolve("-3"), Typed::Int(-3)));
        assert!(matches!(resolve("2.5"), Typed::Float(f) if f == 2.5));
        assert!(matches!(resolve(".nan"), Typed::Float(f) if f.is_nan()));
        assert!(matches!(resolve("~"), Typed::Null));
        assert!(matches!(resolve("3000k"), Typed::Str(_)));
        assert!(matches!(resolve("e5"), Typed::Str(_)));
    }

    #[test]
    fn no_rust_type_names() {
        assert_eq!(
            humanize("invalid type: string \"x\", expected u32"),
            "invalid type: string \"x\", expected a whole number (0 or more)"
        );
        assert!(!humanize("expected alloc::string::String").contains("::"));
    }
}
