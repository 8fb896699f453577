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

/// Writes `out_dir/name` through a hidden `.partial` file renamed into place, so that an
/// interrupted write never leaves a damaged file under the final name.
pub fn write_atomically(
    out_dir: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), ModelError> {
    let tmp = out_dir.join(format!(".{name}.partial"));
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(&tmp, e));
    }
    let dest = out_dir.join(name);
    std::fs::rename(&tmp, &dest).map_err(|e| write_err(&dest, e))
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
