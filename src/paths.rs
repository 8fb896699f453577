//! Where geolens keeps per-user files: caches (downloaded tiles, precomputed gallery
//! embeddings) and data (converted model weights). XDG layout, falling back to `~/.cache` and
//! `~/.local/share`.

use std::path::PathBuf;

fn xdg_dir(var: &str, fallback_under_home: &[&str]) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                fallback_under_home
                    .iter()
                    .fold(PathBuf::from(home), |p, part| p.join(part))
            })
        })
        .map(|base| base.join("geolens"))
}

/// `$XDG_CACHE_HOME/geolens` or `~/.cache/geolens`: anything here can be rebuilt.
pub fn user_cache_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", &[".cache"])
}

/// `$XDG_DATA_HOME/geolens` or `~/.local/share/geolens`: downloaded model weights.
pub fn user_data_dir() -> Option<PathBuf> {
    xdg_dir("XDG_DATA_HOME", &[".local", "share"])
}
