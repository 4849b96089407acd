//! Where a profile problem is in the YAML text: the byte range of a key or a value, found by
//! its path (`sources` → `seacats` → `columns` → `seizure_type` → `weights` → `drug`).
//!
//! The YAML reader keeps no positions in the values it builds, but it puts one on every error
//! it returns. So the text is read once more with a reader that walks down the path and fails
//! on purpose when it reaches the node; the error's position is the node's. This runs only
//! when there is a problem to report.

use super::check::Seg;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The message of the deliberate failure: how a found node is told from a real error.
const FOUND: &str = "\u{0}tally: found";

/// Which part of a map entry a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The key itself (an unknown name).
    Key,
    /// The value under it.
    Value,
}

/// The byte range of the node at `path` in `text` (the key or the value of its last segment),
/// or of the deepest part of the path that exists; `None` when not even the first segment
/// does.
pub fn locate(text: &str, path: &[Seg], at: At) -> Option<(usize, usize)> {
    for depth in (1..=path.len()).rev() {
        let at = if depth == path.len() { at } else { At::Key };
        if let Some(range) = find(text, &path[..depth], at) {
            return Some(range);
        }
    }
    None
}

fn find(text: &str, path: &[Seg], at: At) -> Option<(usize, usize)> {
    let result: Result<(), serde_yaml_ng::Error> =
        Seek { path, at }.deserialize(serde_yaml_ng::Deserializer::from_str(text));
    let error = result.err()?;
    // The message may be prefixed with the node's path (`sources.x: ...`).
    if !error.to_string().contains(FOUND) {
        return None;
    }
    let location = error.location()?;
    let start = byte_offset(text, location.line(), location.column());
    Some((start, token_end(text, start)))
}

/// The byte offset of a 1-based line and column (the column counts characters).
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within: usize = l.chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
            return offset + within;
        }
        offset += l.len();
    }
    text.len()
}

/// The end of the scalar that starts at `start`: a quoted one to its closing quote, a plain one
/// to the `: `, `,`, `]`, `}`, ` #` or line end after it; a collection to the end of its line.
fn token_end(text: &str, start: usize) -> usize {
    let rest = &text[start.min(text.len())..];
    let line = rest.split('\n').next().unwrap_or_default();
    let end = match line.chars().next() {
        Some(q @ ('"' | '\'')) => line[1..].find(q).map_or(line.len(), |i| i + 2),
        Some('{' | '[') | None => line.trim_end().len(),
        Some(_) => {
            let mut end = line.len();
            for stop in [": ", ",", "]", "}", " #"] {
                if let Some(i) = line.find(stop) {
                    end = end.min(i);
                }
            }
            if line.trim_end().ends_with(':') {
                end = end.min(line.trim_end().len() - 1);
            }
            line[..end].trim_end().len()
        }
    };
    start + end.max(1).min(rest.len())
}

struct Seek<'p> {
    path: &'p [Seg],
    at: At,
}

fn found<E: de::Error>() -> E {
    E::custom(FOUND)
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (first, rest) = match self.path.split_first() {
            None => return Err(found()),
            Some((Seg::Key(first), rest)) => (first.as_str(), rest),
            Some((Seg::Index(_), _)) => return skip_map(map),
        };
        let key_target = rest.is_empty() && self.at == At::Key;
        while let Some(hit) = map.next_key_seed(Key { want: first, target: key_target })? {
            if hit {
                return map.next_value_seed(Seek { path: rest, at: self.at });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (index, rest) = match self.path.split_first() {
            None => return Err(found()),
            Some((Seg::Index(index), rest)) => (*index, rest),
            Some((Seg::Key(_), _)) => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(());
            }
        };
        let mut i = 0;
        loop {
            if i == index {
                return seq.next_element_seed(Seek { path: rest, at: self.at }).map(|_| ());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Seek<'_> {
    /// A scalar is the node only when the path ends here.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Reads a map key: whether it is the one wanted, failing on purpose when the key itself is
/// the node sought.
struct Key<'a> {
    want: &'a str,
    target: bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match key == self.want {
            true if self.target => Err(found()),
            hit => Ok(hit),
        }
    }
}
