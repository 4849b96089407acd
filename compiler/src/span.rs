//! Source positions: which file, which bytes.
//!
//! Every node of the AST and every diagnostic carries a [`Span`]. Offsets are byte offsets into
//! the file's text, so slicing the text with a span is always valid; line and column numbers are
//! derived from offsets only when a diagnostic is rendered (see [`crate::source::SourceMap`]).

use serde::{Serialize, Serializer};
use std::fmt;

/// Identifies one file in a [`crate::source::SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A half-open byte range `start..end` in one file.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start: to_u32(start), end: to_u32(end) }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// An empty span at the start of `self`.
    pub fn start_point(self) -> Span {
        Span { end: self.start, ..self }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Moves the span `by` bytes to the right (used when a piece of a file is parsed alone).
    pub fn shifted(self, by: usize) -> Span {
        Span { file: self.file, start: self.start + to_u32(by), end: self.end + to_u32(by) }
    }
}

fn to_u32(n: usize) -> u32 {
    // Files larger than 4 GiB are refused when they are loaded, so this cannot truncate.
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Spans serialize as `"start..end"`: compact in JSON output and snapshots.
impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}..{}", self.start, self.end))
    }
}
