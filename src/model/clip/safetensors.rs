//! A CLIP checkpoint's safetensors header: how long it may be, which of its tensors the image
//! tower needs, and where each lies in the file. Read by the weight fetcher (over HTTP ranges)
//! and by the loader (from the file), so both accept and refuse the same files.

use serde_json::Value;

use super::vision::ClipVisionConfig;

/// Largest safetensors header accepted (the real one is about 70 KB).
pub(crate) const MAX_HEADER_BYTES: u64 = 16 << 20;

/// The header length in a safetensors file's first 8 bytes (little-endian), when it is
/// plausible: not zero, at most [`MAX_HEADER_BYTES`], and inside the file when its length
/// (`file_len`) is known.
pub(crate) fn header_len(first_8: &[u8], file_len: Option<u64>) -> Result<u64, String> {
    let len = <[u8; 8]>::try_from(first_8).map_or(u64::MAX, u64::from_le_bytes);
    let room = file_len.map_or(u64::MAX, |n| n.saturating_sub(8));
    if len == 0 || len > MAX_HEADER_BYTES.min(room) {
        let file = file_len
            .map(|n| format!(", file {n} bytes"))
            .unwrap_or_default();
        return Err(format!(
            "not a safetensors file (header length {len}{file})"
        ));
    }
    Ok(len)
}

/// Which tensors of a CLIP checkpoint the image tower needs.
pub fn is_vision_tensor(name: &str) -> bool {
    name.starts_with("vision_model.") || name == "visual_projection.weight"
}

/// One tensor of the source file: its header entry and absolute byte range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceTensor {
    pub(crate) name: String,
    /// The tensor's header entry (`dtype`, `shape`, `data_offsets`), checked for consistency.
    pub(crate) entry: Value,
    /// Absolute byte range in the file.
    pub(crate) begin: u64,
    pub(crate) end: u64,
}

/// Parses a safetensors header (the JSON after the 8-byte length) and lists the tensors kept,
/// in file order, with absolute offsets (`data_start` = 8 + header length).
pub(crate) fn select_tensors(
    header_json: &[u8],
    data_start: u64,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<SourceTensor>, String> {
    let root: serde_json::Map<String, Value> =
        serde_json::from_slice(header_json).map_err(|e| format!("not a safetensors file: {e}"))?;
    let mut tensors = Vec::new();
    for (name, entry) in root {
        if name == "__metadata__" || !keep(&name) {
            continue;
        }
        let offsets = entry
            .get("data_offsets")
            .and_then(Value::as_array)
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
            .filter(|(b, e)| b <= e)
            .ok_or_else(|| format!("tensor {name} has no valid data_offsets"))?;
        let (Some(dtype), Some(shape)) = (
            entry.get("dtype").and_then(Value::as_str),
            entry.get("shape").and_then(Value::as_array),
        ) else {
            return Err(format!("tensor {name} has no dtype or shape"));
        };
        let values = shape
            .iter()
            .try_fold(1u64, |n, d| n.checked_mul(d.as_u64()?))
            .ok_or_else(|| format!("tensor {name} has a bad shape"))?;
        let bytes_per_value = match dtype {
            "F64" | "I64" | "U64" => 8,
            "F32" | "I32" | "U32" => 4,
            "F16" | "BF16" | "I16" | "U16" => 2,
            "I8" | "U8" | "BOOL" => 1,
            other => return Err(format!("tensor {name} has an unknown dtype {other}")),
        };
        if values.checked_mul(bytes_per_value) != Some(offsets.1 - offsets.0) {
            return Err(format!(
                "tensor {name} holds {} bytes, but {values} values of {dtype} take {}",
                offsets.1 - offsets.0,
                values.saturating_mul(bytes_per_value)
            ));
        }
        tensors.push(SourceTensor {
            name,
            entry,
            begin: data_start + offsets.0,
            end: data_start + offsets.1,
        });
    }
    if tensors.is_empty() {
        return Err("the file holds no CLIP vision tensors (vision_model.*)".into());
    }
    tensors.sort_by_key(|t| (t.begin, t.end));
    Ok(tensors)
}

/// The shape a tower of `config` gives the tensor `name` (Hugging Face layout), or `None`
/// where the tower has no such tensor.
pub(crate) fn vision_tensor_shape(config: &ClipVisionConfig, name: &str) -> Option<Vec<u64>> {
    let (h, i) = (config.hidden_size as u64, config.intermediate_size as u64);
    let tokens = config.num_patches() as u64 + 1;
    let (c, p) = (config.num_channels as u64, config.patch_size as u64);
    let shape = match name {
        "vision_model.embeddings.class_embedding" => vec![h],
        "vision_model.embeddings.patch_embedding.weight" => vec![h, c, p, p],
        "vision_model.embeddings.position_embedding.weight" => vec![tokens, h],
        "vision_model.embeddings.position_ids" => vec![1, tokens],
        "visual_projection.weight" => vec![config.projection_dim as u64, h],
        _ => {
            let norm = name.strip_prefix("vision_model.").and_then(|n| {
                n.strip_prefix("pre_layrnorm.")
                    .or(n.strip_prefix("post_layernorm."))
            });
            if let Some("weight" | "bias") = norm {
                return Some(vec![h]);
            }
            let rest = name.strip_prefix("vision_model.encoder.layers.")?;
            let (layer, part) = rest.split_once('.')?;
            if layer.parse::<usize>().ok()? >= config.num_hidden_layers || layer.starts_with('+') {
                return None;
            }
            match part {
                "self_attn.q_proj.weight"
                | "self_attn.k_proj.weight"
                | "self_attn.v_proj.weight"
                | "self_attn.out_proj.weight" => vec![h, h],
                "self_attn.q_proj.bias"
                | "self_attn.k_proj.bias"
                | "self_attn.v_proj.bias"
                | "self_attn.out_proj.bias"
                | "layer_norm1.weight"
                | "layer_norm1.bias"
                | "layer_norm2.weight"
                | "layer_norm2.bias"
                | "mlp.fc2.bias" => vec![h],
                "mlp.fc1.weight" => vec![i, h],
                "mlp.fc1.bias" => vec![i],
                "mlp.fc2.weight" => vec![h, i],
                _ => return None,
            }
        }
    };
    Some(shape)
}

/// `tensors` (from [`select_tensors`]) checked against the tower `config` describes, before
/// any of their bytes is read: each of the tower's tensors present, of a float dtype and the
/// shape the config gives it; tensors the tower has no use for (`position_ids`, anything
/// else under `vision_model.`) dropped, so that nothing a header claims beyond the tower's
/// own size is ever fetched or read.
pub(crate) fn check_vision_shapes(
    tensors: Vec<SourceTensor>,
    config: &ClipVisionConfig,
) -> Result<Vec<SourceTensor>, String> {
    let mut kept = Vec::with_capacity(tensors.len());
    for t in tensors {
        if t.name == "vision_model.embeddings.position_ids" {
            continue;
        }
        let Some(expected) = vision_tensor_shape(config, &t.name) else {
            continue;
        };
        let shape: Option<Vec<u64>> = t
            .entry
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|dims| dims.iter().map(Value::as_u64).collect());
        if shape.as_ref() != Some(&expected) {
            return Err(format!(
                "tensor {} has shape {}, where the config's tower has {expected:?}",
                t.name,
                t.entry
                    .get("shape")
                    .map_or("(none)".into(), Value::to_string),
            ));
        }
        match t.entry.get("dtype").and_then(Value::as_str) {
            Some("F32" | "F16" | "BF16") => kept.push(t),
            other => {
                return Err(format!(
                    "tensor {} has dtype {}, where CLIP's weights are floats",
                    t.name,
                    other.unwrap_or("(none)")
                ));
            }
        }
    }
    let wanted = 8 + 16 * config.num_hidden_layers;
    if kept.len() != wanted {
        let missing = vision_tensor_names(config)
            .find(|n| !kept.iter().any(|t| &t.name == n))
            .unwrap_or_default();
        return Err(format!(
            "the file holds {} of the tower's {wanted} tensors ({missing} is missing)",
            kept.len()
        ));
    }
    Ok(kept)
}

/// Every tensor name of the tower `config` describes.
fn vision_tensor_names(config: &ClipVisionConfig) -> impl Iterator<Item = String> {
    let fixed = [
        "vision_model.embeddings.class_embedding",
        "vision_model.embeddings.patch_embedding.weight",
        "vision_model.embeddings.position_embedding.weight",
        "visual_projection.weight",
        "vision_model.pre_layrnorm.weight",
        "vision_model.pre_layrnorm.bias",
        "vision_model.post_layernorm.weight",
        "vision_model.post_layernorm.bias",
    ];
    let parts = [
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.out_proj",
        "layer_norm1",
        "layer_norm2",
        "mlp.fc1",
        "mlp.fc2",
    ];
    let layers = (0..config.num_hidden_layers).flat_map(move |l| {
        parts.into_iter().flat_map(move |p| {
            ["weight", "bias"].map(|w| format!("vision_model.encoder.layers.{l}.{p}.{w}"))
        })
    });
    fixed.into_iter().map(str::to_string).chain(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths_outside_the_file_or_the_bound_are_refused() {
        assert_eq!(header_len(&70_000u64.to_le_bytes(), None), Ok(70_000));
        assert_eq!(header_len(&100u64.to_le_bytes(), Some(108)), Ok(100));
        for (bytes, file_len) in [
            (0u64.to_le_bytes().to_vec(), None),
            ((MAX_HEADER_BYTES + 1).to_le_bytes().to_vec(), None),
            (101u64.to_le_bytes().to_vec(), Some(108)),
            (vec![1, 2, 3], None),
        ] {
            let refused = header_len(&bytes, file_len).expect_err("refused");
            assert!(refused.starts_with("not a safetensors file"), "{refused}");
        }
    }

    fn tiny_config() -> ClipVisionConfig {
        ClipVisionConfig::new()
            .with_image_size(28)
            .with_hidden_size(32)
            .with_intermediate_size(64)
            .with_num_hidden_layers(2)
            .with_num_attention_heads(4)
            .with_projection_dim(16)
    }

    fn header_of(config: &ClipVisionConfig, mut edit: impl FnMut(&str, &mut Vec<u64>)) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut offset = 0u64;
        let names: Vec<String> = vision_tensor_names(config)
            .chain(["vision_model.embeddings.position_ids".to_string()])
            .collect();
        for name in names {
            let mut shape = vision_tensor_shape(config, &name).expect("known");
            edit(&name, &mut shape);
            let (dtype, size) = if name.ends_with("position_ids") {
                ("I64", 8)
            } else {
                ("F32", 4)
            };
            let bytes = shape.iter().product::<u64>() * size;
            header.insert(
                name,
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes]}),
            );
            offset += bytes;
        }
        serde_json::to_vec(&Value::Object(header)).expect("json")
    }

    #[test]
    fn tensors_are_held_to_the_configs_shapes_before_any_byte_is_read() {
        let config = tiny_config();
        let tensors =
            select_tensors(&header_of(&config, |_, _| {}), 8, is_vision_tensor).expect("plausible");
        let kept = check_vision_shapes(tensors, &config).expect("the tower's own shapes");
        assert_eq!(kept.len(), 8 + 16 * 2);
        assert!(kept.iter().all(|t| !t.name.ends_with("position_ids")));
        // A header claiming a 10^15-byte tensor (consistent with its own offsets) is refused.
        let huge = header_of(&config, |name, shape| {
            if name.ends_with("layers.1.mlp.fc1.weight") {
                *shape = vec![250_000_000, 1_000_000];
            }
        });
        let tensors = select_tensors(&huge, 8, is_vision_tensor).expect("self-consistent");
        let err = check_vision_shapes(tensors, &config).expect_err("not the config's tower");
        assert!(
            err.contains("layers.1.mlp.fc1.weight") && err.contains("[250000000,1000000]"),
            "{err}"
        );
        // A tensor missing, or a layer beyond the config's, are told apart.
        let tensors = select_tensors(&header_of(&config, |_, _| {}), 8, |n| {
            is_vision_tensor(n) && !n.ends_with("post_layernorm.bias")
        })
        .expect("plausible");
        let err = check_vision_shapes(tensors, &config).expect_err("missing");
        assert!(err.contains("post_layernorm.bias is missing"), "{err}");
        let smaller = tiny_config().with_num_hidden_layers(1);
        let tensors =
            select_tensors(&header_of(&config, |_, _| {}), 8, is_vision_tensor).expect("plausible");
        assert_eq!(
            check_vision_shapes(tensors, &smaller)
                .expect("extra layer dropped")
                .len(),
            24
        );
        assert_eq!(
            vision_tensor_shape(&config, "vision_model.encoder.layers.2.mlp.fc1.weight"),
            None
        );
        assert_eq!(
            vision_tensor_shape(&config, "vision_model.encoder.layers.+1.mlp.fc1.weight"),
            None
        );
    }
}
