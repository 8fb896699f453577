//! The data geolens ships with: GeoCLIP's heads and GPS gallery, and the demo deck. They are
//! embedded in the binary (as the basemap is), so that a copied, installed or packaged
//! `geolens` needs no files beside it and never looks for the folder it was built in. The model
//! code reads files, so each part is written once, whole, into the user's cache folder
//! (`~/.cache/geolens/shipped/<part>-<checksum>/`, or a temporary folder when there is no
//! writable cache) and read from there; a new build with other data gets a folder of its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One shipped folder: its name and its files' names and bytes.
pub struct Part {
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
    /// Where it was found or written, once per process.
    dir: OnceLock<PathBuf>,
}

macro_rules! shipped_file {
    ($dir:literal, $name:literal) => {
        (
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $name)) as &[u8],
        )
    };
}

/// GeoCLIP's heads, scalars and 100k-point gallery (`models/geoclip`), with their licence and
/// provenance.
pub static GEOCLIP: Part = Part {
    name: "geoclip",
    files: &[
        shipped_file!("models/geoclip", "location_encoder.safetensors"),
        shipped_file!("models/geoclip", "image_head.safetensors"),
        shipped_file!("models/geoclip", "geoclip.json"),
        shipped_file!("models/geoclip", "gallery_100k.csv"),
        shipped_file!("models/geoclip", "LICENSE"),
        shipped_file!("models/geoclip", "PROVENANCE.md"),
    ],
    dir: OnceLock::new(),
};

/// The game's demo deck (`assets/deck`), with its credits.
pub static DEMO_DECK: Part = Part {
    name: "deck",
    files: &[
        shipped_file!("assets/deck", "deck.csv"),
        shipped_file!("assets/deck", "coffee-pikolo.jpg"),
        shipped_file!("assets/deck", "falcon9-dscovr-launch.jpg"),
        shipped_file!("assets/deck", "README.md"),
    ],
    dir: OnceLock::new(),
};

impl Part {
    /// CRC-32 over the part's names and bytes, for its folder's name.
    fn checksum(&self) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        for (name, bytes) in self.files {
            hasher.update(name.as_bytes());
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        hasher.finalize()
    }

    /// Whether `dir` holds every file of the part, at its size.
    fn is_in(&self, dir: &Path) -> bool {
        self.files.iter().all(|(name, bytes)| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        })
    }

    /// Writes the files missing from `dir` (each through a temporary file renamed into place,
    /// so that two processes writing at once both leave whole files).
    fn write_into(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, bytes) in self.files {
            let path = dir.join(name);
            if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
                continue;
            }
            crate::files::write_output(&path, true, |w| w.write_all(bytes))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        Ok(())
    }
}

/// The folder holding `part`'s files, written there on first use: under the user cache, else
/// under the system's temporary folder. If neither can be written, the cache path is still
/// returned, and reading from it fails naming the missing file.
pub fn dir(part: &'static Part) -> PathBuf {
    part.dir
        .get_or_init(|| {
            let leaf = format!("{}-{:08x}", part.name, part.checksum());
            let candidates: Vec<PathBuf> = crate::paths::user_cache_dir()
                .map(|d| d.join("shipped").join(&leaf))
                .into_iter()
                .chain([std::env::temp_dir().join(format!("geolens-shipped-{leaf}"))])
                .collect();
            candidates
                .iter()
                .find(|d| part.is_in(d) || (part.write_into(d).is_ok() && part.is_in(d)))
                .or(candidates.first())
                .cloned()
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_written_whole_and_found_again() {
        for part in [&GEOCLIP, &DEMO_DECK] {
            let dir = dir(part);
            assert!(part.is_in(&dir), "{}", dir.display());
            for (name, bytes) in part.files {
                assert_eq!(
                    std::fs::read(dir.join(name)).expect("read"),
                    *bytes,
                    "{name}"
                );
            }
            // The folder is the binary's own: nothing points into the source tree's copies.
            for source in ["models", "assets"] {
                let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
                assert!(!dir.starts_with(&tree), "{}", dir.display());
            }
        }
    }

    #[test]
    fn a_damaged_copy_is_rewritten() {
        let scratch =
            std::env::temp_dir().join(format!("geolens-shipped-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        DEMO_DECK.write_into(&scratch).expect("writes");
        assert!(DEMO_DECK.is_in(&scratch));
        std::fs::write(scratch.join("deck.csv"), b"cut").expect("damage");
        assert!(!DEMO_DECK.is_in(&scratch));
        DEMO_DECK.write_into(&scratch).expect("rewrites");
        assert!(DEMO_DECK.is_in(&scratch));
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
