//! The files of a project as the compiler sees them: names and texts, never paths on a disk.
//!
//! The compiler never reads files itself (see `docs/architecture.md`). A caller hands it a
//! [`FileSystem`]: the CLI's reads the disk, tests use [`MemoryFs`]. Once loaded, every file
//! lives in a [`SourceMap`] under a [`FileId`], which turns byte offsets into lines and columns
//! for diagnostics.

use crate::span::{FileId, Span};
use std::collections::BTreeMap;

/// Read access to a project's files. Paths are `/`-separated and relative to the project root.
pub trait FileSystem {
    /// The text of one file, or a message saying why it could not be read.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Every file below `dir` (recursively), sorted, as paths relative to the project root.
    fn list(&self, dir: &str) -> Result<Vec<String>, String>;
}

/// An in-memory [`FileSystem`], for tests and for tools that build projects on the fly.
#[derive(Debug, Clone, Default)]
pub struct MemoryFs {
    files: BTreeMap<String, String>,
}

impl MemoryFs {
    pub fn new() -> Self {
        MemoryFs::default()
    }

    pub fn with(mut self, path: &str, text: &str) -> Self {
        self.insert(path, text);
        self
    }

    pub fn insert(&mut self, path: &str, text: &str) {
        self.files.insert(normalize(path), text.to_string());
    }
}

fn normalize(path: &str) -> String {
    path.trim_start_matches("./").trim_end_matches('/').to_string()
}

impl FileSystem for MemoryFs {
    fn read(&self, path: &str) -> Result<String, String> {
        self.files.get(&normalize(path)).cloned().ok_or_else(|| format!("no such file: {path}"))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let dir = normalize(dir);
        let prefix = if dir.is_empty() || dir == "." { String::new() } else { format!("{dir}/") };
        Ok(self.files.keys().filter(|p| p.starts_with(&prefix)).cloned().collect())
    }
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to users (relative to where the command was run, `/`-separated).
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { name: name.into(), text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts.get(line.wrapping_sub(1)).copied().unwrap_or(self.text.len());
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// All files of one compilation.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(name, text));
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file).and_then(|f| f.text.get(span.range())).unwrap_or("")
    }
}
