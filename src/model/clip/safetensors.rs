//! A CLIP checkpoint's safetensors header: how long it may be, which of its tensors the image
//! tower needs, and where each lies in the file. Read by the weight fetcher (over HTTP ranges)
//! and by the loader (from the file), so both accept and refuse the same files.

use serde_json::Value;

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
}
