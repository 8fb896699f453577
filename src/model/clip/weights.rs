//! CLIP vision weights in the Hugging Face layout (`openai/clip-vit-large-patch14`:
//! `config.json` + `model.safetensors`, whose `vision_model.*` and `visual_projection.weight`
//! tensors are the ones used; the text tower in the same file is ignored), loaded without
//! Python.

use std::path::{Path, PathBuf};

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use burn::store::burn_pack::{Error as PackError, Tensor as PackTensor};
use burn::store::{
    FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter, bridge,
};
use burn::tensor::{DType, Device, TensorData};
use serde_json::Value;

use super::safetensors::{check_vision_shapes, header_len, is_vision_tensor, select_tensors};
use super::vision::{ClipVision, ClipVisionConfig};
use crate::model::ModelError;
use crate::model::files::check_complete;

pub const SAFETENSORS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
/// The Hugging Face repository the weights come from.
pub const HF_REPO: &str = "openai/clip-vit-large-patch14";

/// Where `geolens models fetch` puts the tower: `<user data>/models/clip-vit-large-patch14`.
pub fn default_clip_dir() -> Option<PathBuf> {
    crate::paths::user_data_dir().map(|d| d.join("models").join("clip-vit-large-patch14"))
}

fn bad(path: &Path, message: impl ToString) -> ModelError {
    ModelError::BadWeights {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// The vision tower's shape from a Hugging Face `config.json`: a full `CLIPConfig` (vision
/// settings under `vision_config`, projection width at the top) or a `CLIPVisionConfig`.
/// Fields left out take Hugging Face's `CLIPVisionConfig` defaults, as `transformers` does.
pub fn config_from_hf_json(text: &str) -> Result<ClipVisionConfig, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let (vision, projection_dim) = match root.get("vision_config") {
        Some(vision) => (vision, root.get("projection_dim")),
        None => (&root, root.get("projection_dim")),
    };
    let int = |key: &str, default: usize| -> Result<usize, String> {
        match vision.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("{key} must be a positive integer, found {v}")),
        }
    };
    if let Some(act) = vision.get("hidden_act").and_then(Value::as_str)
        && act != "quick_gelu"
    {
        return Err(format!(
            "hidden_act {act:?} is not supported (CLIP uses quick_gelu)"
        ));
    }
    let projection_dim = match projection_dim {
        None | Some(Value::Null) => 512,
        Some(v) => v
            .as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("projection_dim must be a positive integer, found {v}"))?
            as usize,
    };
    let config = ClipVisionConfig::new()
        .with_image_size(int("image_size", 224)?)
        .with_patch_size(int("patch_size", 32)?)
        .with_num_channels(int("num_channels", 3)?)
        .with_hidden_size(int("hidden_size", 768)?)
        .with_intermediate_size(int("intermediate_size", 3072)?)
        .with_num_hidden_layers(int("num_hidden_layers", 12)?)
        .with_num_attention_heads(int("num_attention_heads", 12)?)
        .with_projection_dim(projection_dim)
        .with_layer_norm_eps(
            vision
                .get("layer_norm_eps")
                .and_then(Value::as_f64)
                .unwrap_or(1e-5),
        );
    if !config.image_size.is_multiple_of(config.patch_size)
        || !config
            .hidden_size
            .is_multiple_of(config.num_attention_heads)
    {
        return Err(format!(
            "inconsistent shape: image {} / patch {}, hidden {} / heads {}",
            config.image_size, config.patch_size, config.hidden_size, config.num_attention_heads
        ));
    }
    Ok(config)
}

/// Reads `dir/config.json` (ViT-L/14 when absent) and fills the tower from
/// `dir/model.safetensors`, requiring every vision parameter to be present.
pub fn load_clip_vision(dir: &Path, device: &Device) -> Result<ClipVision, ModelError> {
    let weights = dir.join(SAFETENSORS_FILE);
    if !weights.is_file() {
        return Err(ModelError::MissingWeights {
            path: weights,
            hint: format!(
                "CLIP's ViT-L/14 image tower ({HF_REPO}) is not installed; run \
                 `geolens models fetch` (a 1.2 GB download), or pass --model-dir pointing at a \
                 folder with its config.json and model.safetensors"
            ),
        });
    }
    let config_path = dir.join(CONFIG_FILE);
    let config = if config_path.is_file() {
        let text = std::fs::read_to_string(&config_path).map_err(|e| bad(&config_path, e))?;
        config_from_hf_json(&text).map_err(|e| bad(&config_path, e))?
    } else {
        ClipVisionConfig::vit_large_patch14()
    };
    let tensors = vision_tensors(&weights, &config)?;
    let remapper = KeyRemapper::from_patterns(vec![
        (r"^vision_model\.encoder\.layers\.", "layers."),
        (r"^vision_model\.pre_layrnorm\.", "pre_layernorm."),
        (r"^vision_model\.", ""),
    ])
    .map_err(|e| bad(&weights, e))?;
    let (tensors, _) = remapper.remap(tensors);
    // Records fetched by geolens store float16; the model computes in float32.
    let adapter = PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32));
    let mut tower = config.init(device);
    let result = tower.apply(tensors, None, Some(Box::new(adapter)), false);
    check_complete(&weights, result)?;
    Ok(tower)
}

/// The CLIP vision tensors of a safetensors file, each read from disk only when the model
/// takes it in. burn's `SafetensorsStore` maps the whole file, and every page it touches
/// counts as resident until loading ends: with a float32 file that is the model twice over
/// (2.5 GB peak for one photo with ViT-L/14's 1.2 GB of weights). Read one at a time, loading
/// holds the model plus the tensor being converted (1.8 GB peak, 1.6 GB after it, measured
/// 2026-12-07), and the text tower of a full CLIP file is never read.
fn vision_tensors(path: &Path, config: &ClipVisionConfig) -> Result<Vec<PackTensor>, ModelError> {
    let mut file = File::open(path).map_err(|e| bad(path, e))?;
    let file_len = file.metadata().map_err(|e| bad(path, e))?.len();
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes)
        .map_err(|e| bad(path, format!("not a safetensors file ({e})")))?;
    let header_len =
        header_len(&len_bytes, Some(file_len)).map_err(|message| bad(path, message))?;
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(|e| bad(path, e))?;
    let sources = select_tensors(&header, 8 + header_len, is_vision_tensor)
        .and_then(|tensors| check_vision_shapes(tensors, config))
        .map_err(|message| bad(path, message))?;
    let file = Arc::new(Mutex::new(file));
    sources
        .into_iter()
        .map(|source| {
            if source.end > file_len {
                return Err(bad(
                    path,
                    format!(
                        "the file is cut short: tensor {} ends at byte {}, the file has {file_len}",
                        source.name, source.end
                    ),
                ));
            }
            let (dtype, shape) = float_layout(&source.entry)
                .map_err(|message| bad(path, format!("tensor {}: {message}", source.name)))?;
            let file = Arc::clone(&file);
            let (begin, len) = (source.begin, (source.end - source.begin) as usize);
            let read_shape = shape.clone();
            Ok(bridge::deferred(
                source.name,
                dtype,
                shape.into(),
                None,
                move || {
                    let bytes = read_at(&file, begin, len)
                        .map_err(|e| PackError::IoError(format!("reading at byte {begin}: {e}")))?;
                    TensorData::try_from_bytes_vec(bytes, read_shape.clone(), dtype)
                        .map_err(|e| PackError::TensorBytesSizeMismatch(e.to_string()))
                },
            ))
        })
        .collect()
}

/// A tensor entry's float dtype and shape (`select_tensors` has checked they agree with its
/// byte range).
fn float_layout(entry: &Value) -> Result<(DType, Vec<usize>), String> {
    let dtype = match entry.get("dtype").and_then(Value::as_str) {
        Some("F32") => DType::F32,
        Some("F16") => DType::F16,
        Some("BF16") => DType::BF16,
        other => {
            let dtype = other.unwrap_or("(none)");
            return Err(format!("dtype {dtype}, where CLIP's weights are floats"));
        }
    };
    let shape = entry
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|dims| dims.iter().map(|d| Some(d.as_u64()? as usize)).collect())
        .ok_or("no shape")?;
    Ok((dtype, shape))
}

fn read_at(file: &Mutex<File>, begin: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut file = file
        .lock()
        .map_err(|_| std::io::Error::other("an earlier read panicked"))?;
    file.seek(SeekFrom::Start(begin))?;
    let mut bytes = vec![0u8; len];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shape_of_clip_vit_large() {
        // The vision part of openai/clip-vit-large-patch14's config.json, as transformers
        // writes it (fields equal to the defaults left out).
        let text = r#"{
            "architectures": ["CLIPModel"],
            "projection_dim": 768,
            "vision_config": {
                "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 512,
                "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05
            }
        }"#;
        assert_eq!(
            config_from_hf_json(text).expect("parses"),
            ClipVisionConfig::vit_large_patch14()
        );
    }

    #[test]
    fn rejects_what_this_tower_cannot_run() {
        for (text, needle) in [
            ("not json", "not JSON"),
            (r#"{"hidden_act": "gelu"}"#, "quick_gelu"),
            (r#"{"hidden_size": -3}"#, "hidden_size"),
            (r#"{"image_size": 225, "patch_size": 14}"#, "inconsistent"),
            (
                r#"{"hidden_size": 100, "num_attention_heads": 16}"#,
                "inconsistent",
            ),
        ] {
            let err = config_from_hf_json(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn a_missing_tower_says_how_to_get_it() {
        let dir = std::env::temp_dir().join("geolens-no-clip-here");
        let err = load_clip_vision(&dir, &crate::model::backend::cpu_device())
            .expect_err("nothing there")
            .to_string();
        assert!(
            err.contains("model.safetensors") && err.contains("geolens models fetch"),
            "{err}"
        );
    }

    #[test]
    fn the_tower_matches_transformers_on_a_tiny_random_model() {
        use burn::tensor::{Tensor, TensorData};
        #[derive(serde::Deserialize)]
        struct Reference {
            pixels: Vec<f32>,
            image_embeds: Vec<Vec<f32>>,
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip_tiny");
        let reference: Reference = serde_json::from_str(
            &std::fs::read_to_string(dir.join("reference.json")).expect("fixture"),
        )
        .expect("parses");
        let device = crate::model::backend::cpu_device();
        let tower = load_clip_vision(&dir, &device).expect("tiny tower loads");
        assert_eq!(tower.image_size(), 28);
        let pixels = Tensor::<4>::from_data(
            TensorData::new(reference.pixels.clone(), [2, 3, 28, 28]),
            &device,
        );
        let ours = tower
            .forward(pixels)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let theirs: Vec<f32> = reference.image_embeds.concat();
        assert_eq!(ours.len(), theirs.len());
        let max_diff = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-4, "max abs diff {max_diff}");
        assert!(
            theirs.iter().any(|v| v.abs() > 0.1),
            "a fixture with real signal"
        );
    }

    #[test]
    fn a_file_without_the_vision_tensors_is_rejected() {
        let dir = std::env::temp_dir().join(format!("geolens-clip-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip_tiny");
        std::fs::copy(tiny.join(CONFIG_FILE), dir.join(CONFIG_FILE)).expect("copy");
        // The geoclip head record: a valid safetensors file, but none of CLIP's tensors.
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/geoclip/image_head.safetensors"),
            dir.join(SAFETENSORS_FILE),
        )
        .expect("copy");
        let err = load_clip_vision(&dir, &crate::model::backend::cpu_device())
            .expect_err("no vision tensors")
            .to_string();
        assert!(err.contains("no CLIP vision tensors"), "{err}");
        std::fs::write(dir.join(SAFETENSORS_FILE), b"\x10\0\0\0\0\0\0\0{}").expect("write");
        assert!(load_clip_vision(&dir, &crate::model::backend::cpu_device()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_cut_short_or_of_other_dtypes_names_the_tensor() {
        let dir = std::env::temp_dir().join(format!("geolens-clip-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip_tiny");
        std::fs::copy(tiny.join(CONFIG_FILE), dir.join(CONFIG_FILE)).expect("copy");
        let whole = std::fs::read(tiny.join(SAFETENSORS_FILE)).expect("fixture");
        let load = || {
            load_clip_vision(&dir, &crate::model::backend::cpu_device())
                .expect_err("damaged")
                .to_string()
        };
        std::fs::write(dir.join(SAFETENSORS_FILE), &whole[..whole.len() - 100]).expect("write");
        let err = load();
        assert!(
            err.contains("cut short") && err.contains("tensor "),
            "{err}"
        );
        // The same file with its float dtype renamed to an integer one of the same width.
        let header_len = u64::from_le_bytes(whole[..8].try_into().expect("8 bytes")) as usize;
        let header = String::from_utf8(whole[8..8 + header_len].to_vec()).expect("utf-8");
        let mut renamed = whole[..8].to_vec();
        renamed.extend(header.replace("\"F32\"", "\"I32\"").into_bytes());
        renamed.extend(&whole[8 + header_len..]);
        std::fs::write(dir.join(SAFETENSORS_FILE), &renamed).expect("write");
        let err = load();
        assert!(
            err.contains("I32") && err.contains("vision_model."),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
