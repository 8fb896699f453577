//! `geolens models ...`: bring model weights into the app's own formats.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::ModelError;
use crate::model::backend::cpu_device;
use crate::model::geoclip::weights::{find_pth_dir, import_from_pth};

const PTH_FILES: [&str; 3] = [
    "location_encoder_weights.pth",
    "image_encoder_mlp_weights.pth",
    "logit_scale_weights.pth",
];

fn sha256_hex(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::BadWeights {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| ModelError::BadWeights {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Copies the three `.pth` members of a geoclip wheel into `dir`.
fn extract_wheel(wheel: &Path, dir: &Path) -> Result<(), ModelError> {
    let bad = |message: String| ModelError::BadWeights {
        path: wheel.to_owned(),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(|e| bad(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a wheel: {e}")))?;
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    for name in PTH_FILES {
        let member = format!("geoclip/model/weights/{name}");
        let mut entry = archive.by_name(&member).map_err(|_| {
            bad(format!(
                "{member} is not in this wheel (is it geoclip 1.3.0?)"
            ))
        })?;
        let mut out = std::fs::File::create(dir.join(name)).map_err(|e| bad(e.to_string()))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// Imports GeoCLIP's heads from a wheel or a directory holding its `.pth` files, writes the
/// records plus `PROVENANCE.md` into `out_dir`, and returns a short report.
pub fn import_geoclip(source: &Path, out_dir: &Path) -> Result<String, ModelError> {
    let scratch;
    let pth_dir = if source.is_file() {
        scratch = std::env::temp_dir().join(format!("geolens-import-{}", std::process::id()));
        extract_wheel(source, &scratch)?;
        scratch.clone()
    } else {
        scratch = PathBuf::new();
        find_pth_dir(source).ok_or_else(|| ModelError::MissingWeights {
            path: source.to_owned(),
            hint: "expected a geoclip-1.3.0 wheel, or a directory with geoclip/model/weights/*.pth"
                .into(),
        })?
    };
    let started = std::time::Instant::now();
    let result = import_from_pth(&pth_dir, out_dir, &cpu_device());
    let hashes: Vec<(String, Result<String, ModelError>)> = PTH_FILES
        .iter()
        .map(|n| (n.to_string(), sha256_hex(&pth_dir.join(n))))
        .collect();
    if !scratch.as_os_str().is_empty() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let heads = result?;
    let mut provenance = String::from(
        "# GeoCLIP heads (converted)\n\n\
         Location encoder, image head and logit scale of GeoCLIP (Vivanco Cepeda, Nayak, Shah:\n\
         \"GeoCLIP: Clip-Inspired Alignment between Locations and Images for Effective Worldwide\n\
         Geo-localization\", NeurIPS 2023), from the Python package `geoclip` 1.3.0 on PyPI,\n\
         `geoclip/model/weights/`. Licence: MIT (Copyright (c) 2024 Vicente Vivanco);\n\
         the licence text is in `LICENSE` beside this file.\n\n\
         Converted by `geolens models import-geoclip` (burn's PyTorch reader -> safetensors,\n\
         Linear weights stored as [in, out]); no values changed.\n\nSource files (SHA-256):\n\n",
    );
    for (name, hash) in hashes {
        provenance += &format!("- `{name}`: `{}`\n", hash?);
    }
    provenance += &format!("\nlogit_scale = {}\n", heads.scalars.logit_scale);
    let path = out_dir.join("PROVENANCE.md");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(provenance.as_bytes()))
        .map_err(|e| ModelError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
    Ok(format!(
        "imported GeoCLIP heads ({} location branches, logit scale {:.4}) into {} in {:.1} s",
        heads.location.branches.len(),
        heads.scalars.logit_scale,
        out_dir.display(),
        started.elapsed().as_secs_f64()
    ))
}
