//! GeoCLIP weights: read straight from the `.pth` files in the `geoclip` 1.3.0 wheel (burn's
//! PyTorch reader), stored as safetensors records under `models/geoclip/`, loaded from there.

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, PytorchStore, SafetensorsStore};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::image_head::{ImageHead, ImageHeadConfig};
use super::location::{LocationEncoder, LocationEncoderConfig};
use crate::model::ModelError;
use crate::model::files::{check_complete, write_atomically, write_err};

pub const LOCATION_ENCODER_FILE: &str = "location_encoder.safetensors";
pub const IMAGE_HEAD_FILE: &str = "image_head.safetensors";
pub const SCALARS_FILE: &str = "geoclip.json";

/// The shipped records and gallery (embedded in the binary, see [`crate::shipped`]).
pub fn default_model_dir() -> PathBuf {
    crate::shipped::dir(&crate::shipped::GEOCLIP)
}

/// The scalars GeoCLIP keeps outside its modules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoclipScalars {
    /// Logits are `exp(logit_scale) * cosine`.
    pub logit_scale: f32,
}

/// Both heads and the scalars, loaded.
#[derive(Debug, Clone)]
pub struct GeoclipHeads {
    pub location: LocationEncoder,
    pub image: ImageHead,
    pub scalars: GeoclipScalars,
}

fn bad(path: &Path, message: impl ToString) -> ModelError {
    ModelError::BadWeights {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn require(path: &Path) -> Result<(), ModelError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(ModelError::MissingWeights {
            path: path.to_owned(),
            hint: "run `geolens models import-geoclip <geoclip-1.3.0 wheel or unpacked dir>`"
                .into(),
        })
    }
}

/// Location encoder from GeoCLIP's `location_encoder_weights.pth`.
pub fn location_encoder_from_pth(
    path: &Path,
    device: &Device,
) -> Result<LocationEncoder, ModelError> {
    require(path)?;
    let mut encoder = LocationEncoderConfig::new().init(device);
    let mut store = PytorchStore::from_file(path)
        .with_key_remapping(r"^LocEnc(\d+)\.capsule\.0\.b$", "branches.$1.rff.b")
        .with_key_remapping(r"^LocEnc(\d+)\.capsule\.1\.", "branches.$1.fc1.")
        .with_key_remapping(r"^LocEnc(\d+)\.capsule\.3\.", "branches.$1.fc2.")
        .with_key_remapping(r"^LocEnc(\d+)\.capsule\.5\.", "branches.$1.fc3.")
        .with_key_remapping(r"^LocEnc(\d+)\.head\.0\.", "branches.$1.head.");
    let result = encoder.load_from(&mut store).map_err(|e| bad(path, e))?;
    check_complete(path, result)?;
    Ok(encoder)
}

/// Image head from GeoCLIP's `image_encoder_mlp_weights.pth`.
pub fn image_head_from_pth(path: &Path, device: &Device) -> Result<ImageHead, ModelError> {
    require(path)?;
    let mut head = ImageHeadConfig::new().init(device);
    let mut store = PytorchStore::from_file(path)
        .with_key_remapping(r"^0\.", "fc1.")
        .with_key_remapping(r"^2\.", "fc2.");
    let result = head.load_from(&mut store).map_err(|e| bad(path, e))?;
    check_complete(path, result)?;
    Ok(head)
}

/// The single scalar tensor saved in GeoCLIP's `logit_scale_weights.pth`. burn's reader wants
/// a dict at the root, so this reads the torch zip itself: exactly one storage, a
/// `FloatStorage` of one little-endian f32.
pub fn logit_scale_from_pth(path: &Path) -> Result<f32, ModelError> {
    use std::io::Read;
    require(path)?;
    let file = std::fs::File::open(path).map_err(|e| bad(path, e))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(path, format!("not a torch zip: {e}")))?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| bad(path, e))?;
    let pickle = names
        .iter()
        .find(|n| n.ends_with("/data.pkl"))
        .ok_or_else(|| bad(path, "no data.pkl"))?;
    let mut pkl = Vec::new();
    archive
        .by_name(pickle)
        .and_then(|mut e| e.read_to_end(&mut pkl).map_err(Into::into))
        .map_err(|e| bad(path, e))?;
    if !pkl.windows(12).any(|w| w == b"FloatStorage") {
        return Err(bad(path, "not a float32 tensor"));
    }
    let storages: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.rsplit_once("/data/")
                .is_some_and(|(_, k)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    let [storage] = storages[..] else {
        return Err(bad(
            path,
            format!("expected one tensor storage, found {}", storages.len()),
        ));
    };
    let mut bytes = Vec::new();
    archive
        .by_name(storage)
        .and_then(|mut e| e.read_to_end(&mut bytes).map_err(Into::into))
        .map_err(|e| bad(path, e))?;
    let four: [u8; 4] = bytes[..]
        .try_into()
        .map_err(|_| bad(path, format!("expected 4 bytes, found {}", bytes.len())))?;
    let value = f32::from_le_bytes(four);
    if !value.is_finite() {
        return Err(bad(path, format!("logit scale {value} is not finite")));
    }
    Ok(value)
}

/// Finds `geoclip/model/weights` inside an unpacked wheel, a site-packages dir, or that dir.
pub fn find_pth_dir(root: &Path) -> Option<PathBuf> {
    [
        root.to_path_buf(),
        root.join("weights"),
        root.join("model").join("weights"),
        root.join("geoclip").join("model").join("weights"),
    ]
    .into_iter()
    .find(|d| d.join("location_encoder_weights.pth").is_file())
}

/// Reads the three `.pth` files from `pth_dir` and writes safetensors records and the scalars
/// into `out_dir`, each through [`write_atomically`].
pub fn import_from_pth(
    pth_dir: &Path,
    out_dir: &Path,
    device: &Device,
) -> Result<GeoclipHeads, ModelError> {
    let location =
        location_encoder_from_pth(&pth_dir.join("location_encoder_weights.pth"), device)?;
    let image = image_head_from_pth(&pth_dir.join("image_encoder_mlp_weights.pth"), device)?;
    let logit_scale = logit_scale_from_pth(&pth_dir.join("logit_scale_weights.pth"))?;
    std::fs::create_dir_all(out_dir).map_err(|e| write_err(out_dir, e))?;
    write_atomically(out_dir, LOCATION_ENCODER_FILE, |tmp| {
        location
            .save_into(&mut SafetensorsStore::from_file(tmp))
            .map_err(|e| e.to_string())
    })?;
    write_atomically(out_dir, IMAGE_HEAD_FILE, |tmp| {
        image
            .save_into(&mut SafetensorsStore::from_file(tmp))
            .map_err(|e| e.to_string())
    })?;
    let scalars = GeoclipScalars { logit_scale };
    write_atomically(out_dir, SCALARS_FILE, |tmp| {
        let json = serde_json::to_string_pretty(&scalars).map_err(|e| e.to_string())?;
        std::fs::write(tmp, json).map_err(|e| e.to_string())
    })?;
    Ok(GeoclipHeads {
        location,
        image,
        scalars,
    })
}

/// Fills `module` from a safetensors record, requiring every parameter to be present.
fn load_record<M: ModuleSnapshot>(mut module: M, path: &Path) -> Result<M, ModelError> {
    require(path)?;
    let result = module
        .load_from(&mut SafetensorsStore::from_file(path))
        .map_err(|e| bad(path, e))?;
    check_complete(path, result)?;
    Ok(module)
}

/// Loads the heads from a directory of records written by [`import_from_pth`].
pub fn load_heads(dir: &Path, device: &Device) -> Result<GeoclipHeads, ModelError> {
    let location = load_record(
        LocationEncoderConfig::new().init(device),
        &dir.join(LOCATION_ENCODER_FILE),
    )?;
    let image = load_record(
        ImageHeadConfig::new().init(device),
        &dir.join(IMAGE_HEAD_FILE),
    )?;
    let scalars_path = dir.join(SCALARS_FILE);
    require(&scalars_path)?;
    let text = std::fs::read_to_string(&scalars_path).map_err(|e| bad(&scalars_path, e))?;
    let scalars: GeoclipScalars = serde_json::from_str(&text).map_err(|e| bad(&scalars_path, e))?;
    Ok(GeoclipHeads {
        location,
        image,
        scalars,
    })
}

#[cfg(test)]
mod parity_tests {
    //! The burn port against the reference GeoCLIP (fixtures from tools/geoclip_reference.py),
    //! on the shipped records in models/geoclip.
    use super::*;
    use crate::model::backend::cpu_device;
    use crate::model::geoclip::gallery::GalleryEmbeddings;
    use crate::model::geoclip::reference_fixture::fixture;
    use crate::model::geoclip::scoring::top_k;
    use burn::tensor::{Tensor, TensorData};

    fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let [_, d] = t.dims();
        let flat = t.into_data().try_to_vec::<f32>().expect("f32");
        flat.chunks(d).map(<[f32]>::to_vec).collect()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        dot / (na * nb)
    }

    fn matrix(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
        let d = rows[0].len();
        Tensor::from_data(TensorData::new(rows.concat(), [rows.len(), d]), device)
    }

    #[test]
    fn shipped_heads_match_the_reference() {
        let device = cpu_device();
        let heads =
            load_heads(&default_model_dir(), &device).expect("shipped GeoCLIP records load");
        let f = fixture();
        assert!((heads.scalars.logit_scale - f.logit_scale).abs() < 1e-6);

        let coords: Vec<(f64, f64)> = f.coordinates.iter().map(|c| (c[0], c[1])).collect();
        let ours = rows(heads.location.embed(&coords, &device));
        for (i, (a, b)) in ours.iter().zip(&f.location_embeddings).enumerate() {
            let c = cosine(a, b);
            assert!(c > 0.9999, "location {i} {:?}: cosine {c}", coords[i]);
        }

        let ours = rows(heads.image.forward(matrix(&f.clip_inputs, &device)));
        for (i, (a, b)) in ours.iter().zip(&f.image_embeddings).enumerate() {
            let c = cosine(a, b);
            assert!(c > 0.9999, "image head {i}: cosine {c}");
        }

        let gallery =
            GalleryEmbeddings::compute(&heads.location, &f.gallery_points(), &device, |_, _| ())
                .expect("gallery embeds");
        let probs = gallery
            .to_matrix(&device, None)
            .expect("fits")
            .probabilities(
                matrix(&f.image_embeddings, &device),
                heads.scalars.logit_scale,
            )
            .expect("scores");
        for (i, row) in probs.chunks(gallery.n).enumerate() {
            let top = top_k(row, 5);
            let indices: Vec<usize> = top.iter().map(|(j, _)| *j).collect();
            assert_eq!(indices, f.top5_indices[i], "image {i}");
            for ((_, p), q) in top.iter().zip(&f.top5_probabilities[i]) {
                // Logits are cosines times exp(3.68) ~ 40, so float32 cosine noise of ~1e-5
                // moves probabilities by up to ~0.2%.
                assert!(
                    (p - q).abs() < 5e-3 * q,
                    "image {i}: {p} vs {q} (0.5% relative)"
                );
            }
        }
    }

    #[test]
    fn missing_or_damaged_records_are_clear_errors() {
        let device = cpu_device();
        let empty = std::env::temp_dir().join(format!("geolens-no-weights-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("dir");
        let err = load_heads(&empty, &device)
            .expect_err("no records")
            .to_string();
        assert!(
            err.contains("location_encoder.safetensors") && err.contains("import-geoclip"),
            "{err}"
        );
        std::fs::write(empty.join(LOCATION_ENCODER_FILE), b"not safetensors").expect("write");
        assert!(load_heads(&empty, &device).is_err());
        std::fs::write(empty.join("logit_scale_weights.pth"), b"PK garbage").expect("write");
        assert!(logit_scale_from_pth(&empty.join("logit_scale_weights.pth")).is_err());
        let _ = std::fs::remove_dir_all(&empty);
    }
}
