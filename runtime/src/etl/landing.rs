//! The landing area: which landed files a source's `landing.pattern` names, their checksums,
//! and the byte streams PostgreSQL's `COPY ... FROM STDIN` receives.
//!
//! A pattern is a glob relative to the landing directory (`seacats/*.csv`); `*` does not
//! cross `/`, `**` does. Files whose name starts with `.` are skipped: uploaders write there
//! first and rename when done, so a half-written file is never loaded.

use crate::error::{codes, Error, Result};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One landed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedFile {
    /// Relative to the landing directory, `/`-separated: the ledger's `path`.
    pub path: String,
    /// Where the engine opens it.
    pub absolute: PathBuf,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
}

/// The files below `landing` matching `pattern`, in name order (of their relative paths).
pub fn list(landing: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| {
            Error::new(
                codes::GENERATED_UNREADABLE,
                format!("plan.json: landing pattern `{pattern}`: {e}"),
            )
            .help("regenerate generated/ with `tally compile`")
        })?
        .compile_matcher();
    if !landing.is_dir() {
        return Err(Error::new(
            codes::LANDING_UNREADABLE,
            format!("the landing area {} is not a directory", landing.display()),
        )
        .help("pass the landing directory with --landing DIR"));
    }
    // Only the directory the pattern's literal part names is walked; a missing one holds no
    // files yet.
    let base = literal_prefix(pattern);
    if !landing.join(&base).is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    walk(landing, &base, &mut found).map_err(|e| {
        Error::new(
            codes::LANDING_UNREADABLE,
            format!("cannot list the landing area {}: {e}", landing.display()),
        )
    })?;
    let mut matching: Vec<(String, PathBuf)> = found
        .into_iter()
        .map(|relative| (slash_path(&relative), relative))
        .filter(|(name, _)| glob.is_match(name))
        .collect();
    matching.sort();
    Ok(matching.into_iter().map(|(_, relative)| relative).collect())
}

/// The leading directories of `pattern` that hold no glob syntax.
fn literal_prefix(pattern: &str) -> PathBuf {
    let parts: Vec<&str> = pattern.split('/').collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    dirs.iter()
        .take_while(|part| !part.contains(['*', '?', '[', '{', '\\']) && !part.is_empty())
        .collect()
}

fn walk(root: &Path, relative: &Path, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(relative))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = relative.join(entry.file_name());
        // Follows symbolic links: a landing area is often a link farm.
        let meta = fs::metadata(root.join(&path))?;
        if meta.is_dir() {
            walk(root, &path, found)?;
        } else if meta.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

/// The path a file is known by in the ledger: relative to the landing area, `/`-separated.
pub fn ledger_path(relative: &Path) -> String {
    slash_path(relative)
}

fn slash_path(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Reads `relative` below `landing` once for its checksum and size.
pub fn inspect(landing: &Path, relative: &Path) -> Result<LandedFile> {
    let absolute = landing.join(relative);
    let unreadable = |e: io::Error| {
        Error::new(codes::LANDING_UNREADABLE, format!("cannot read {}: {e}", absolute.display()))
    };
    let mut file = fs::File::open(&absolute).map_err(unreadable)?;
    let mut hasher = HashingReader::new(&mut file);
    io::copy(&mut hasher, &mut io::sink()).map_err(unreadable)?;
    let (sha256, size) = hasher.finish();
    Ok(LandedFile { path: slash_path(relative), absolute, sha256, size })
}

/// Passes bytes through, hashing them and counting them.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R> std::fmt::Debug for HashingReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingReader").field("size", &self.size).finish()
    }
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), size: 0 }
    }

    /// The checksum (lowercase hex) and size of what was read.
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize().as_slice()), self.size)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// How a landed file's bytes are shaped for `COPY ... FROM STDIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyShape {
    /// CSV: the first `skip` lines dropped (the `HEADER` option drops the header itself).
    Csv { skip: u64 },
    /// JSON lines: blank lines dropped, as DuckDB's reader ignores them, so that record
    /// numbers agree on both engines.
    JsonLines,
    /// As is (a CSV file `convert` wrote).
    Verbatim,
}

/// `input` shaped for COPY. Reads line by line only where lines are dropped.
pub fn copy_stream<'a, R: Read + 'a>(input: R, shape: CopyShape) -> Box<dyn Read + 'a> {
    match shape {
        CopyShape::Csv { skip: 0 } | CopyShape::Verbatim => Box::new(input),
        CopyShape::Csv { skip } => {
            Box::new(LineFilter::new(input, move |n: u64, _: &[u8]| n > skip))
        }
        CopyShape::JsonLines => Box::new(LineFilter::new(input, |_: u64, line: &[u8]| {
            line.iter().any(|b| !b.is_ascii_whitespace())
        })),
    }
}

/// Keeps the lines (`\n`-terminated, the terminator kept) for which `keep(line number from 1,
/// line)` holds.
struct LineFilter<R, F> {
    input: BufReader<R>,
    keep: F,
    line: u64,
    pending: Vec<u8>,
    offset: usize,
}

impl<R: Read, F: FnMut(u64, &[u8]) -> bool> LineFilter<R, F> {
    fn new(input: R, keep: F) -> Self {
        LineFilter {
            input: BufReader::with_capacity(1 << 16, input),
            keep,
            line: 0,
            pending: Vec::new(),
            offset: 0,
        }
    }
}

impl<R: Read, F: FnMut(u64, &[u8]) -> bool> Read for LineFilter<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset == self.pending.len() {
            self.pending.clear();
            self.offset = 0;
            if self.input.read_until(b'\n', &mut self.pending)? == 0 {
                return Ok(0);
            }
            self.line += 1;
            if !(self.keep)(self.line, &self.pending) {
                self.pending.clear();
            }
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(text: &str, shape: CopyShape) -> String {
        let mut out = String::new();
        copy_stream(text.as_bytes(), shape).read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn csv_skip_drops_leading_lines_only() {
        assert_eq!(shaped("junk\nmore\na,b\n1,2\n", CopyShape::Csv { skip: 2 }), "a,b\n1,2\n");
        assert_eq!(shaped("a,b\n1,2", CopyShape::Csv { skip: 0 }), "a,b\n1,2");
        assert_eq!(shaped("only\n", CopyShape::Csv { skip: 3 }), "");
    }

    #[test]
    fn json_lines_lose_blank_lines() {
        assert_eq!(
            shaped("{\"a\":1}\n\n  \n{\"a\":2}", CopyShape::JsonLines),
            "{\"a\":1}\n{\"a\":2}"
        );
    }

    #[test]
    fn patterns_match_relative_paths_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["s/b.csv", "s/a.csv", "s/.partial.csv", "s/x/c.csv", "t/a.csv", "s/a.txt"] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "x").expect("write");
        }
        let names = |pattern: &str| -> Vec<String> {
            list(dir.path(), pattern).expect("list").iter().map(|p| slash_path(p)).collect()
        };
        assert_eq!(names("s/*.csv"), ["s/a.csv", "s/b.csv"]);
        assert_eq!(names("s/**/*.csv"), ["s/a.csv", "s/b.csv", "s/x/c.csv"]);
        assert_eq!(names("t/a.csv"), ["t/a.csv"]);
        let file = inspect(dir.path(), Path::new("t/a.csv")).expect("inspect");
        assert_eq!(file.size, 1);
        assert_eq!(file.sha256, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    }
}
