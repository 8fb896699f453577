//! What crosses between the host and the device: read-backs through burn's fallible calls,
//! with the device's failures named for what they are, and the one-buffer size limit that
//! every tensor the model allocates is kept within (see `backend::max_tensor_bytes`).

use burn::tensor::{ExecutionError, Tensor};

use super::ModelError;

/// Names an execution error for what happened: out of memory, device lost, or other.
pub fn device_error(error: &ExecutionError) -> ModelError {
    let reason = error
        .reason()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    match error {
        ExecutionError::DevicePoisoned { .. } => ModelError::DeviceLost(reason),
        _ if is_out_of_memory(&reason) => ModelError::OutOfMemory(reason),
        _ => ModelError::Device(reason),
    }
}

fn is_out_of_memory(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    ["allocate", "out of memory", "outofmemory"]
        .iter()
        .any(|w| reason.contains(w))
}

/// Runs `f`, with a panic inside the numeric backend turned into an error named for what
/// happened, so that one bad photo or a failing device cannot take a batch run or the app's
/// model thread down.
pub fn without_panics<T>(f: impl FnOnce() -> Result<T, ModelError>) -> Result<T, ModelError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let first_line = what.lines().next().unwrap_or("").trim().to_string();
        Err(if is_out_of_memory(&first_line) {
            ModelError::OutOfMemory(first_line)
        } else {
            ModelError::Device(format!("internal error in the model: {first_line}"))
        })
    })
}

/// The tensor's values on the host, as float32; device failures are errors, not panics.
pub fn read_floats<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    tensor
        .try_into_data()
        .map_err(|e| device_error(&e))?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Shape(format!("reading back a tensor: {e:?}")))
}

/// Waits for the device to finish the work queued for `tensor` (reads one value back).
pub fn wait_for<const D: usize>(tensor: &Tensor<D>) -> Result<(), ModelError> {
    let one = tensor.clone().flatten::<1>(0, D - 1).narrow(0, 0, 1);
    read_floats(one).map(|_| ())
}

/// An error when a tensor of `bytes` would not fit in one buffer of the device.
fn check_fits(what: &str, bytes: u64, limit_bytes: Option<u64>) -> Result<(), ModelError> {
    match limit_bytes {
        Some(limit) if bytes > limit => Err(ModelError::DeviceLimit {
            what: what.to_string(),
            needed_bytes: bytes,
            limit_bytes: limit,
        }),
        _ => Ok(()),
    }
}

/// How many rows of `bytes_per_row` fit in one buffer (at most `max_rows`, at least one: a
/// single row that does not fit is an error naming `what` and the limit).
pub fn rows_per_buffer(
    what: &str,
    bytes_per_row: u64,
    max_rows: usize,
    limit_bytes: Option<u64>,
) -> Result<usize, ModelError> {
    check_fits(what, bytes_per_row, limit_bytes)?;
    let rows = match limit_bytes {
        Some(limit) => (limit / bytes_per_row.max(1)).min(max_rows as u64) as usize,
        None => max_rows,
    };
    Ok(rows.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::cpu_device;

    #[test]
    fn rows_are_bounded_by_the_limit_and_a_row_too_large_is_named() {
        assert_eq!(rows_per_buffer("x", 2048, 100_000, None).unwrap(), 100_000);
        assert_eq!(
            rows_per_buffer("x", 2048, 100_000, Some(128 << 20)).unwrap(),
            65_536
        );
        assert_eq!(rows_per_buffer("x", 10, 3, Some(1000)).unwrap(), 3);
        let err = rows_per_buffer("one photo's attention scores", 5000, 4, Some(4096))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("one photo's attention scores")
                && err.contains("5000")
                && err.contains("4096"),
            "{err}"
        );
    }

    #[test]
    fn errors_are_named_for_what_happened() {
        let lost = device_error(&ExecutionError::device_poisoned("illegal access"));
        assert!(matches!(lost, ModelError::DeviceLost(_)), "{lost}");
        let oom = device_error(&ExecutionError::with_context(
            "can't allocate buffer of size: 204800000\nbacktrace...",
        ));
        assert!(matches!(oom, ModelError::OutOfMemory(ref m) if m.ends_with("204800000")));
        let other = device_error(&ExecutionError::generic("kernel compile failed"));
        assert!(matches!(other, ModelError::Device(_)), "{other}");
    }

    #[test]
    fn panics_become_named_errors() {
        let oom = without_panics::<()>(|| panic!("can't allocate buffer of size: 204800000\nat"));
        assert!(matches!(oom, Err(ModelError::OutOfMemory(ref m)) if m.ends_with("204800000")));
        let other = without_panics::<()>(|| panic!("index out of bounds"));
        assert!(
            matches!(other, Err(ModelError::Device(ref m)) if m.contains("index out of bounds"))
        );
        assert_eq!(without_panics(|| Ok(3)).unwrap(), 3);
    }

    #[test]
    fn reads_back_values_and_waits() {
        let t = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &cpu_device());
        wait_for(&t).unwrap();
        assert_eq!(read_floats(t).unwrap(), [1.0, 2.0, 3.0, 4.0]);
    }
}
