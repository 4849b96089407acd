//! The compiler's window on the disk: a [`FileSystem`] rooted at a project directory.

use std::fs;
use std::path::{Path, PathBuf};
use tally_compiler::source::FileSystem;

/// Reads files below `root`. Paths handed to and returned from the compiler are relative to
/// `root` and `/`-separated, whatever the platform.
#[derive(Debug)]
pub struct DiskFs {
    root: PathBuf,
}

impl DiskFs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskFs { root: root.into() }
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.root.join(path);
        let bytes = fs::read(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))?;
        if u32::try_from(bytes.len()).is_err() {
            return Err(format!("{} is larger than 4 GiB", full.display()));
        }
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "{} is not UTF-8 text (invalid byte at offset {})",
                full.display(),
                e.utf8_error().valid_up_to()
            )
        })
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let start = self.root.join(dir);
        let mut found = Vec::new();
        walk(&start, &mut found).map_err(|e| format!("cannot list {}: {e}", start.display()))?;
        let mut relative: Vec<String> = found
            .iter()
            .filter_map(|p| p.strip_prefix(&self.root).ok())
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        relative.sort();
        Ok(relative)
    }
}

/// Every file below `dir`, skipping hidden directories and build output.
pub fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else {
            found.push(path);
        }
    }
    Ok(())
}
