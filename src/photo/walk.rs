//! Finding photos in folders: recursively, sorted, each once (symbolic links followed once by
//! their target, so link loops end), entries that cannot be looked at kept so that reading them
//! reports why.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::has_photo_extension;

/// Folders and photos already seen, by canonical path: symbolic links are followed once, so a
/// link loop (`ln -s . a`) or two links to one folder never list a photo twice.
#[derive(Default)]
pub struct Seen(HashSet<PathBuf>);

impl Seen {
    /// True the first time a file or folder is met, by whatever name.
    pub fn first_time(&mut self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(canonical) => self.0.insert(canonical),
            // A dangling link or an unreadable entry: kept, so that it is reported by name.
            Err(_) => true,
        }
    }
}

/// A folder that could not be opened, and why.
pub type WalkError = (PathBuf, std::io::Error);

/// Appends the photos under `dir` to `out` (sorted, photo extensions only); a folder that
/// cannot be opened is an error naming it.
pub fn walk(dir: &Path, seen: &mut Seen, out: &mut Vec<PathBuf>) -> Result<(), WalkError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| (dir.to_path_buf(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if seen.first_time(&path) {
                    walk(&path, seen, out)?;
                }
            }
            Ok(_) => {
                if has_photo_extension(&path) && seen.first_time(&path) {
                    out.push(path);
                }
            }
            // An entry that cannot even be looked at (a name too long for the system, no
            // permission) is listed, so that reading it reports why, instead of vanishing.
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => out.push(path),
            Err(_) => {
                if has_photo_extension(&path) {
                    out.push(path);
                }
            }
        }
    }
    Ok(())
}

/// The photos under `dir`.
pub fn photos_in(dir: &Path) -> Result<Vec<PathBuf>, WalkError> {
    let mut seen = Seen::default();
    let mut out = Vec::new();
    seen.first_time(dir);
    walk(dir, &mut seen, &mut out)?;
    Ok(out)
}
