//! File helpers shared by the weight importers, the gallery cache and the fetcher: content
//! hashes and writes that never leave a damaged file under its final name.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ModelError;

pub(crate) fn write_err(path: &Path, e: impl ToString) -> ModelError {
    ModelError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_hex(path: &Path) -> Result<String, ModelError> {
    let read_err = |e: std::io::Error| ModelError::BadWeights {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Writes (or replaces) `out_dir/name` through [`crate::files::write_output_at`]: a temporary
/// file of this writer's own, synced and renamed into place, so that an interrupted write
/// never leaves a damaged file under the final name.
pub fn write_atomically(
    out_dir: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), ModelError> {
    let dest = out_dir.join(name);
    crate::files::write_output_at(&dest, true, |tmp| write(tmp).map_err(std::io::Error::other))
        .map_err(|e| match e {
            crate::files::OutputError::Io { path, source } => write_err(&path, source),
            other => write_err(&dest, other),
        })
}

/// Fails unless every parameter of the module was filled from the file.
pub(crate) fn check_complete(
    path: &Path,
    result: burn::store::ApplyResult,
) -> Result<(), ModelError> {
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(ModelError::BadWeights {
            path: path.to_owned(),
            message: format!(
                "missing {:?}, errors {:?}",
                result.missing.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                result.errors
            ),
        });
    }
    Ok(())
}
