//! `geolens models fetch`: CLIP's image tower from a Hugging Face-style file server.
//!
//! Only the vision tensors of `openai/clip-vit-large-patch14`'s `model.safetensors` are
//! downloaded (about 1.2 of its 1.7 GB; the text tower is not needed): the file's safetensors
//! header is read first, then the vision tensors' byte ranges, coalesced into as few HTTP range
//! requests as their layout allows, are streamed into a safetensors record of their own.
//!
//! Nothing half-written is ever left under the final name. Bytes go to
//! `.model.safetensors.partial` beside a small state file naming the source (URL, ETag, digest
//! of its header); a later run resumes where the partial file ends when the source is
//! unchanged (`If-Range`), and starts over when it changed. A connection dropped mid-way is
//! retried from where it stopped. The finished record is checked (size, and SHA-256 against a
//! pinned digest when one is given) before it is renamed into place.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::clip::safetensors::{
    SourceTensor, check_vision_shapes, header_len, is_vision_tensor, select_tensors,
};
use super::clip::weights::{CONFIG_FILE, HF_REPO, SAFETENSORS_FILE, config_from_hf_json};
use crate::net::{HttpError, RangeClient};

/// Where the weights come from by default: the Hugging Face hub, `main` revision.
pub const DEFAULT_BASE_URL: &str =
    "https://huggingface.co/openai/clip-vit-large-patch14/resolve/main";

/// Bytes read from the network between progress reports and cancellation checks.
const CHUNK_BYTES: usize = 1 << 20;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("could not download {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url}: the server answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url}: {message}")]
    BadSource { url: String, message: String },
    #[error("could not write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error(
        "the disk holding {} is full ({needed_mb} MB still to write); free some space and run the command again to resume",
        path.display()
    )]
    DiskFull { path: PathBuf, needed_mb: u64 },
    #[error(
        "checksum mismatch for {url}: expected SHA-256 {expected}, got {found}; the download was discarded"
    )]
    ChecksumMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("cancelled")]
    Cancelled,
}

/// What to fetch and where to put it.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Folder URL holding `model.safetensors` and `config.json` (a Hugging Face `resolve/<rev>`
    /// URL or a mirror).
    pub base_url: String,
    pub out_dir: PathBuf,
    /// SHA-256 the written `model.safetensors` must have (lowercase hex), when known.
    pub expected_sha256: Option<String>,
    /// Replace an installed record.
    pub force: bool,
    /// Store float32 weights as float16 (half the disk; OpenAI released CLIP in float16).
    pub half: bool,
    /// Tries per byte range: a dropped connection is resumed where it stopped this many
    /// times before the run gives up (the partial file stays for the next run).
    pub attempts: u32,
    /// A server that sends nothing for this long (no headers, or no body bytes) is given up
    /// on, as a dropped connection is.
    pub stall_timeout: std::time::Duration,
}

impl FetchOptions {
    pub fn new(base_url: impl Into<String>, out_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_url: base_url.into(),
            out_dir: out_dir.into(),
            expected_sha256: None,
            force: false,
            half: true,
            attempts: 4,
            stall_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Progress of a fetch, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FetchProgress {
    ReadingHeader,
    Downloading { done_bytes: u64, total_bytes: u64 },
    Verifying,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchReport {
    pub path: PathBuf,
    pub tensors: usize,
    pub record_bytes: u64,
    /// Bytes this run took from the network (less than the record when resuming).
    pub downloaded_bytes: u64,
    /// Where the record stood when this run started (0 for a fresh download).
    pub resumed_from_bytes: u64,
    pub sha256: String,
    /// Whether the digest was checked against a pinned value.
    pub checksum_pinned: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    Fetched(FetchReport),
    AlreadyInstalled(PathBuf),
}

/// A run of source bytes copied to one place in the record.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    src_begin: u64,
    out_begin: u64,
    /// Bytes in the record.
    len: u64,
    /// Source bytes per record byte: 2 where float32 is stored as float16, else 1.
    ratio: u64,
}

/// Converts little-endian float32 bytes to float16 (round to nearest even) as they stream
/// in, carrying a partial float between reads.
#[derive(Default)]
struct HalfConverter {
    carry: Vec<u8>,
}

impl HalfConverter {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        out.clear();
        self.carry.extend_from_slice(bytes);
        let whole = self.carry.len() / 4 * 4;
        for f in self.carry[..whole].chunks_exact(4) {
            let v = f32::from_le_bytes([f[0], f[1], f[2], f[3]]);
            out.extend_from_slice(&half::f16::from_f32(v).to_bits().to_le_bytes());
        }
        self.carry.drain(..whole);
    }
}

/// The record to write: its header bytes and where each byte of its data comes from.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    header: Vec<u8>,
    spans: Vec<Span>,
    tensors: usize,
    total_len: u64,
}

/// Lays the kept tensors out in a new safetensors file, in source order, so that neighbours in
/// the source stay neighbours (one range request each run of them); with `half`, float32
/// tensors are stored as float16. The header is deterministic: sorted keys, padded with
/// spaces to 8 bytes.
fn plan_record(tensors: &[SourceTensor], half: bool) -> Plan {
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        serde_json::json!({ "format": "pt", "source": HF_REPO }),
    );
    let mut offset = 0u64;
    let mut layout = Vec::with_capacity(tensors.len());
    for t in tensors {
        let mut entry = t.entry.clone();
        let ratio = if half && entry["dtype"] == "F32" {
            entry["dtype"] = "F16".into();
            2
        } else {
            1
        };
        let len = (t.end - t.begin) / ratio;
        entry["data_offsets"] = serde_json::json!([offset, offset + len]);
        header.insert(t.name.clone(), entry);
        layout.push((t.begin, offset, len, ratio));
        offset += len;
    }
    let mut json = serde_json::to_vec(&Value::Object(header)).unwrap_or_default();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let data_start = 8 + json.len() as u64;
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    let mut spans: Vec<Span> = Vec::new();
    for (src_begin, out, len, ratio) in layout {
        match spans.last_mut() {
            Some(last) if last.ratio == ratio && last.src_begin + last.len * ratio == src_begin => {
                last.len += len
            }
            _ => spans.push(Span {
                src_begin,
                out_begin: data_start + out,
                len,
                ratio,
            }),
        }
    }
    Plan {
        header: bytes,
        spans,
        tensors: tensors.len(),
        total_len: data_start + offset,
    }
}

/// Identifies the source a partial download came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartialState {
    url: String,
    etag: Option<String>,
    source_header_sha256: String,
}

impl From<HttpError> for FetchError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Network { url, message } => Self::Network { url, message },
            HttpError::Status { url, status } => Self::Http { url, status },
            HttpError::NoRanges { url } => no_ranges(&url),
            // A 206 that is not the range asked for would be written at the wrong place.
            HttpError::WrongRange {
                url,
                first,
                last,
                answered,
            } => Self::BadSource {
                url,
                message: format!(
                    "asked for bytes {first}-{last}, the server answered with other bytes \
                     (Content-Range: {answered}); nothing was written from it"
                ),
            },
        }
    }
}

fn network(url: &str, e: &dyn std::fmt::Display) -> FetchError {
    FetchError::Network {
        url: url.to_string(),
        message: e.to_string(),
    }
}

fn no_ranges(url: &str) -> FetchError {
    FetchError::BadSource {
        url: url.to_string(),
        message: "the server does not answer HTTP range requests, which fetching only the \
                  vision tensors needs; download the whole model.safetensors yourself and \
                  pass its folder with --model-dir"
            .into(),
    }
}

fn write_error(path: &Path, e: &std::io::Error, remaining_bytes: u64) -> FetchError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        FetchError::DiskFull {
            path: path.to_owned(),
            needed_mb: remaining_bytes.div_ceil(1_000_000),
        }
    } else {
        FetchError::Write {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}

fn sha256_file(path: &Path) -> Result<String, FetchError> {
    super::files::sha256_hex(path).map_err(|e| FetchError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Whether the file at `path` begins with `prefix` (reads only that much).
fn starts_with(path: &Path, prefix: &[u8]) -> bool {
    let mut head = vec![0u8; prefix.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == prefix)
}

fn is_cancelled(cancel: Option<&AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::Relaxed))
}

/// Fetches the CLIP image tower into `options.out_dir` (`model.safetensors`, `config.json`,
/// `PROVENANCE.md`). `progress` is called as bytes arrive; setting `cancel` stops the
/// download (the partial file stays, and the next run resumes it).
pub fn fetch_clip_vision(
    options: &FetchOptions,
    progress: impl FnMut(FetchProgress),
    cancel: Option<&AtomicBool>,
) -> Result<FetchOutcome, FetchError> {
    fetch_with_writer(options, progress, cancel, &|file| Box::new(file))
}

/// [`fetch_clip_vision`] with the partial file's writer wrapped by `wrap` (tests inject disk
/// faults here).
pub fn fetch_with_writer(
    options: &FetchOptions,
    mut progress: impl FnMut(FetchProgress),
    cancel: Option<&AtomicBool>,
    wrap: &dyn Fn(std::fs::File) -> Box<dyn Write>,
) -> Result<FetchOutcome, FetchError> {
    let out_dir = options.out_dir.as_path();
    let final_path = out_dir.join(SAFETENSORS_FILE);
    if final_path.is_file() && !options.force {
        return Ok(FetchOutcome::AlreadyInstalled(final_path));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| write_error(out_dir, &e, 0))?;
    let partial_path = out_dir.join(format!(".{SAFETENSORS_FILE}.partial"));
    let state_path = out_dir.join(format!(".{SAFETENSORS_FILE}.partial.json"));
    let base = options.base_url.trim_end_matches('/');
    let url = format!("{base}/{SAFETENSORS_FILE}");
    let config_url = format!("{base}/{CONFIG_FILE}");
    // The client gives up on a server silent for `stall_timeout`: it bounds the wait for the
    // headers and each read of the body, not the whole (1.2 GB) download.
    let http = RangeClient::new(std::time::Duration::from_secs(20), options.stall_timeout)?;

    // 1. The tower's shape, then the source's header: what the vision tensors are and where
    // they lie, each held to the shape the config gives it before any of its bytes is fetched.
    progress(FetchProgress::ReadingHeader);
    let config_text = String::from_utf8(http.whole(&config_url, 1 << 20)?)
        .map_err(|e| network(&config_url, &e))?;
    let config = config_from_hf_json(&config_text).map_err(|message| FetchError::BadSource {
        url: config_url.clone(),
        message,
    })?;
    let (len_bytes, first_bytes) = http.range_bytes(&url, 0, 7)?;
    let etag = first_bytes.etag.clone();
    drop(first_bytes);
    let header_len = header_len(&len_bytes, None).map_err(|message| FetchError::BadSource {
        url: url.clone(),
        message,
    })?;
    let (header_json, _) = http.range_bytes(&url, 8, 8 + header_len - 1)?;
    let tensors = select_tensors(&header_json, 8 + header_len, is_vision_tensor)
        .and_then(|tensors| check_vision_shapes(tensors, &config))
        .map_err(|message| FetchError::BadSource {
            url: url.clone(),
            message,
        })?;
    let plan = plan_record(&tensors, options.half);
    let state = PartialState {
        url: url.clone(),
        etag: etag.clone(),
        source_header_sha256: format!("{:x}", Sha256::digest(&header_json)),
    };

    // 2. Resume a partial download of the same source, or start over.
    let previous: Option<PartialState> = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let partial_len = std::fs::metadata(&partial_path)
        .map(|m| m.len())
        .unwrap_or(0);
    let resumable = previous.as_ref() == Some(&state)
        && state.etag.is_some()
        && partial_len >= plan.header.len() as u64
        && partial_len <= plan.total_len
        && starts_with(&partial_path, &plan.header);
    let mut done = if resumable { partial_len } else { 0 };
    // A float16 span must resume on a whole value: drop half a value written before a cut.
    if let Some(span) = plan
        .spans
        .iter()
        .find(|sp| sp.out_begin <= done && done < sp.out_begin + sp.len)
        && span.ratio == 2
        && !(done - span.out_begin).is_multiple_of(2)
    {
        done -= 1;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&partial_path)
            .and_then(|f| f.set_len(done))
            .map_err(|e| write_error(&partial_path, &e, plan.total_len - done))?;
    }
    let resumed_from_bytes = done;
    if !resumable {
        std::fs::write(&partial_path, &plan.header)
            .map_err(|e| write_error(&partial_path, &e, plan.total_len))?;
        done = plan.header.len() as u64;
        let state_json = serde_json::to_vec_pretty(&state).unwrap_or_default();
        std::fs::write(&state_path, state_json).map_err(|e| write_error(&state_path, &e, 0))?;
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&partial_path)
        .map_err(|e| write_error(&partial_path, &e, plan.total_len - done))?;
    let mut writer = wrap(file);

    // 3. The vision tensors' bytes, span by span, retrying dropped connections.
    let mut downloaded_bytes = 0u64;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut converted = Vec::with_capacity(CHUNK_BYTES / 2);
    progress(FetchProgress::Downloading {
        done_bytes: done,
        total_bytes: plan.total_len,
    });
    for span in &plan.spans {
        let span_end = span.out_begin + span.len;
        let mut tries_left = options.attempts.max(1);
        while done < span_end {
            if is_cancelled(cancel) {
                return Err(FetchError::Cancelled);
            }
            let first = span.src_begin + (done - span.out_begin) * span.ratio;
            let last = span.src_begin + span.len * span.ratio - 1;
            let attempt = http
                .get(&url, Some((first, last)), etag.as_deref())
                .map_err(FetchError::from)
                .and_then(|answer| {
                    if answer.status == 206 {
                        Ok(answer.body)
                    } else if etag.is_some() {
                        // If-Range failed: the file changed under us. Start over next run.
                        let _ = std::fs::remove_file(&state_path);
                        Err(FetchError::BadSource {
                            url: url.clone(),
                            message: "the file changed on the server during the download; run \
                                      the command again to start over"
                                .into(),
                        })
                    } else {
                        Err(no_ranges(&url))
                    }
                });
            let mut body = match attempt {
                Ok(body) => body,
                Err(FetchError::Network { .. }) if tries_left > 1 => {
                    tries_left -= 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let want = last - first + 1;
            let mut got = 0u64;
            let mut converter = (span.ratio == 2).then(HalfConverter::default);
            let read_result = loop {
                if got == want {
                    break Ok(());
                }
                if is_cancelled(cancel) {
                    let _ = writer.flush();
                    return Err(FetchError::Cancelled);
                }
                let max = (want - got).min(buf.len() as u64) as usize;
                match body.read(&mut buf[..max]) {
                    Ok(0) => break Err("the connection closed early".to_string()),
                    Ok(n) => {
                        let out: &[u8] = match &mut converter {
                            Some(c) => {
                                c.push(&buf[..n], &mut converted);
                                &converted
                            }
                            None => &buf[..n],
                        };
                        writer
                            .write_all(out)
                            .map_err(|e| write_error(&partial_path, &e, plan.total_len - done))?;
                        got += n as u64;
                        done += out.len() as u64;
                        downloaded_bytes += n as u64;
                        progress(FetchProgress::Downloading {
                            done_bytes: done,
                            total_bytes: plan.total_len,
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e.to_string()),
                }
            };
            if let Err(message) = read_result {
                writer
                    .flush()
                    .map_err(|e| write_error(&partial_path, &e, plan.total_len - done))?;
                if tries_left > 1 {
                    tries_left -= 1;
                    continue;
                }
                return Err(FetchError::Network { url, message });
            }
        }
    }
    writer
        .flush()
        .map_err(|e| write_error(&partial_path, &e, plan.total_len - done))?;
    drop(writer);

    // 4. Check what was written, then put it in place with its config and provenance.
    progress(FetchProgress::Verifying);
    std::fs::File::open(&partial_path)
        .and_then(|f| f.sync_all())
        .map_err(|e| write_error(&partial_path, &e, 0))?;
    let written = std::fs::metadata(&partial_path)
        .map(|m| m.len())
        .map_err(|e| write_error(&partial_path, &e, 0))?;
    if written != plan.total_len {
        let _ = std::fs::remove_file(&partial_path);
        let _ = std::fs::remove_file(&state_path);
        return Err(FetchError::BadSource {
            url,
            message: format!(
                "the record came out {written} bytes long instead of {}; discarded",
                plan.total_len
            ),
        });
    }
    let sha256 = sha256_file(&partial_path)?;
    if let Some(expected) = &options.expected_sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        let _ = std::fs::remove_file(&partial_path);
        let _ = std::fs::remove_file(&state_path);
        return Err(FetchError::ChecksumMismatch {
            url,
            expected: expected.clone(),
            found: sha256,
        });
    }
    let to_write_err = |e: super::ModelError| FetchError::Write {
        path: out_dir.to_owned(),
        message: e.to_string(),
    };
    super::files::write_atomically(out_dir, CONFIG_FILE, |tmp| {
        std::fs::write(tmp, &config_text).map_err(|e| e.to_string())
    })
    .map_err(to_write_err)?;
    let provenance = provenance_text(&url, etag.as_deref(), &sha256, &plan, options);
    super::files::write_atomically(out_dir, "PROVENANCE.md", |tmp| {
        std::fs::write(tmp, &provenance).map_err(|e| e.to_string())
    })
    .map_err(to_write_err)?;
    std::fs::rename(&partial_path, &final_path).map_err(|e| write_error(&final_path, &e, 0))?;
    let _ = std::fs::remove_file(&state_path);
    Ok(FetchOutcome::Fetched(FetchReport {
        path: final_path,
        tensors: plan.tensors,
        record_bytes: plan.total_len,
        downloaded_bytes,
        resumed_from_bytes,
        sha256,
        checksum_pinned: options.expected_sha256.is_some(),
    }))
}

fn provenance_text(
    url: &str,
    etag: Option<&str>,
    sha256: &str,
    plan: &Plan,
    options: &FetchOptions,
) -> String {
    format!(
        "# CLIP ViT-L/14 image tower\n\n\
         The vision tensors ({tensors} of them: `vision_model.*`, `visual_projection.weight`) of\n\
         OpenAI's CLIP ViT-L/14 (Radford et al., \"Learning Transferable Visual Models From\n\
         Natural Language Supervision\", ICML 2021), Hugging Face repository `{HF_REPO}`.\n\
         Licence: MIT (OpenAI's CLIP release, github.com/openai/CLIP).\n\n\
         Fetched by `geolens models fetch` with HTTP range requests from\n\
         {url}\n\
         (ETag {etag}); {values}.\n\n\
         - `model.safetensors`: {bytes} bytes, SHA-256 `{sha256}` ({checked})\n\
         - `config.json`: copied from the same folder\n",
        tensors = plan.tensors,
        etag = etag.unwrap_or("none"),
        bytes = plan.total_len,
        values = if options.half {
            "float32 values stored as float16 (round to nearest even), others unchanged"
        } else {
            "values copied unchanged"
        },
        checked = if options.expected_sha256.is_some() {
            "matched the pinned digest"
        } else {
            "no pinned digest to check against"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Faults, LoopbackServer};

    fn tiny_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip_tiny")
    }

    /// The tiny tower's files, with two text-tower tensors added in front and behind the
    /// vision ones so that the fetch has something to skip.
    fn source_files() -> Vec<(String, Vec<u8>)> {
        let dir = tiny_dir();
        let model = std::fs::read(dir.join(SAFETENSORS_FILE)).expect("fixture");
        let config = std::fs::read(dir.join(CONFIG_FILE)).expect("fixture");
        vec![
            ("m/model.safetensors".into(), with_text_tensors(&model)),
            ("m/config.json".into(), config),
        ]
    }

    fn with_text_tensors(model: &[u8]) -> Vec<u8> {
        let n = u64::from_le_bytes(model[..8].try_into().expect("8 bytes")) as usize;
        let mut header: serde_json::Map<String, Value> =
            serde_json::from_slice(&model[8..8 + n]).expect("header");
        let data = &model[8 + n..];
        let text_a = vec![7u8; 4096];
        let text_b = vec![9u8; 1000];
        for (_, v) in header.iter_mut() {
            if let Some(o) = v.get_mut("data_offsets") {
                let (b, e) = (o[0].as_u64().expect("b"), o[1].as_u64().expect("e"));
                *o = serde_json::json!([b + 4096, e + 4096]);
            }
        }
        let end = 4096 + data.len() as u64;
        header.insert(
            "text_model.a".into(),
            serde_json::json!({"dtype": "U8", "shape": [4096], "data_offsets": [0, 4096]}),
        );
        header.insert(
            "text_projection.weight".into(),
            serde_json::json!({"dtype": "U8", "shape": [1000], "data_offsets": [end, end + 1000]}),
        );
        let json = serde_json::to_vec(&header).expect("json");
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&json);
        out.extend_from_slice(&text_a);
        out.extend_from_slice(data);
        out.extend_from_slice(&text_b);
        out
    }

    /// name -> (dtype, raw bytes) of every tensor in a safetensors file.
    fn safetensors_values(file: &[u8]) -> std::collections::HashMap<String, (String, Vec<u8>)> {
        let n = u64::from_le_bytes(file[..8].try_into().expect("8 bytes")) as usize;
        let header: serde_json::Map<String, Value> =
            serde_json::from_slice(&file[8..8 + n]).expect("header");
        let data = &file[8 + n..];
        header
            .into_iter()
            .filter(|(k, _)| k != "__metadata__")
            .map(|(k, v)| {
                let o = &v["data_offsets"];
                let (b, e) = (
                    o[0].as_u64().expect("b") as usize,
                    o[1].as_u64().expect("e") as usize,
                );
                (
                    k,
                    (
                        v["dtype"].as_str().expect("dtype").to_string(),
                        data[b..e].to_vec(),
                    ),
                )
            })
            .collect()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("geolens-fetch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn options(server: &LoopbackServer, out: &Path) -> FetchOptions {
        FetchOptions::new(format!("{}/m", server.base_url), out)
    }

    fn fetched(outcome: FetchOutcome) -> FetchReport {
        match outcome {
            FetchOutcome::Fetched(r) => r,
            other => panic!("expected a fetch, got {other:?}"),
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn fetches_only_the_vision_tensors_and_the_tower_loads_and_matches() {
        let server = LoopbackServer::start(source_files(), Faults::default()).expect("server");
        let out = scratch("full");
        let mut reports = Vec::new();
        let report = fetched(
            fetch_clip_vision(&options(&server, &out), |p| reports.push(p), None).expect("fetch"),
        );
        assert_eq!(report.resumed_from_bytes, 0);
        assert!(!report.checksum_pinned);
        assert!(matches!(reports.last(), Some(FetchProgress::Verifying)));
        // Neither text tensor was downloaded: the data requests cover the vision bytes only.
        let source = &source_files()[0].1;
        assert!(report.downloaded_bytes < source.len() as u64 - 5000);
        for r in server.requests() {
            assert!(
                r.user_agent
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("geolens/")
            );
        }
        // Every float32 weight is stored as the float16 nearest to it.
        let record =
            safetensors_values(&std::fs::read(out.join(SAFETENSORS_FILE)).expect("record"));
        let fixture =
            safetensors_values(&std::fs::read(tiny_dir().join(SAFETENSORS_FILE)).expect("fixture"));
        assert_eq!(
            record.len(),
            fixture.len(),
            "all vision tensors and nothing else"
        );
        for (name, (dtype, bytes)) in &record {
            let (source_dtype, source) = &fixture[name];
            assert_eq!(
                (dtype.as_str(), source_dtype.as_str()),
                ("F16", "F32"),
                "{name}"
            );
            let expected: Vec<u8> = source
                .chunks_exact(4)
                .flat_map(|f| {
                    let v = f32::from_le_bytes([f[0], f[1], f[2], f[3]]);
                    half::f16::from_f32(v).to_bits().to_le_bytes()
                })
                .collect();
            assert_eq!(bytes, &expected, "{name}");
        }
        // The record loads (cast to float32) and gives the reference outputs to float16
        // precision; fetched without conversion, bit for bit.
        let device = crate::model::backend::cpu_device();
        let outputs = |dir: &Path| {
            let tower = crate::model::clip::weights::load_clip_vision(dir, &device).expect("loads");
            let x = burn::tensor::Tensor::<4>::ones([1, 3, 28, 28], &device);
            tower
                .forward(x)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")
        };
        let (ours, theirs) = (outputs(&out), outputs(&tiny_dir()));
        let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        let max_diff = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            max_diff > 0.0 && max_diff < 0.02 * scale,
            "{max_diff} of {scale}"
        );
        let full = scratch("full-f32");
        let mut f32_options = options(&server, &full);
        f32_options.half = false;
        fetched(fetch_clip_vision(&f32_options, |_| (), None).expect("fetch"));
        assert_eq!(outputs(&full), theirs);
        let _ = std::fs::remove_dir_all(&full);
        let mut names = leftovers(&out);
        names.sort();
        assert_eq!(names, ["PROVENANCE.md", "config.json", "model.safetensors"]);
        let provenance = std::fs::read_to_string(out.join("PROVENANCE.md")).expect("written");
        assert!(provenance.contains(&report.sha256) && provenance.contains("MIT"));

        // A second run finds it installed; --force fetches again, bit for bit the same.
        let again = fetch_clip_vision(&options(&server, &out), |_| (), None).expect("runs");
        assert_eq!(
            again,
            FetchOutcome::AlreadyInstalled(out.join(SAFETENSORS_FILE))
        );
        let mut forced = options(&server, &out);
        forced.force = true;
        forced.expected_sha256 = Some(report.sha256.clone());
        let second = fetched(fetch_clip_vision(&forced, |_| (), None).expect("refetch"));
        assert_eq!(second.sha256, report.sha256);
        assert!(second.checksum_pinned);
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_cut_connection_is_resumed_where_it_stopped() {
        // Every data response is cut after 1000 bytes twice; the third try completes.
        let faults = Faults {
            cut_responses: 2,
            cut_after_bytes: 1000,
            cut_bodies_longer_than: 20_000,
            ..Faults::default()
        };
        let server = LoopbackServer::start(source_files(), faults).expect("server");
        let out = scratch("cut");
        let report =
            fetched(fetch_clip_vision(&options(&server, &out), |_| (), None).expect("fetch"));
        let clean = LoopbackServer::start(source_files(), Faults::default()).expect("server");
        let reference_dir = scratch("cut-ref");
        let reference =
            fetched(fetch_clip_vision(&options(&clean, &reference_dir), |_| (), None).expect("ok"));
        assert_eq!(report.sha256, reference.sha256);
        // The retries asked for the rest, not the whole span again.
        let ranges: Vec<String> = server
            .requests()
            .into_iter()
            .filter_map(|r| r.range)
            .collect();
        let starts: Vec<u64> = ranges
            .iter()
            .filter_map(|r| r.strip_prefix("bytes=")?.split('-').next()?.parse().ok())
            .collect();
        assert!(
            starts.windows(2).any(|w| w[1] > w[0] && w[0] > 8),
            "{ranges:?}"
        );
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(&reference_dir);
    }

    #[test]
    fn an_interrupted_run_is_resumed_by_the_next_one() {
        let faults = Faults {
            cut_responses: 1,
            cut_after_bytes: 20_000,
            cut_bodies_longer_than: 20_000,
            ..Faults::default()
        };
        let server = LoopbackServer::start(source_files(), faults).expect("server");
        let out = scratch("resume");
        let mut first = options(&server, &out);
        first.attempts = 1;
        // The first data response is cut at 20 kB and this run gives up...
        let err = fetch_clip_vision(&first, |_| (), None).expect_err("cut");
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(
            !out.join(SAFETENSORS_FILE).exists(),
            "nothing under the final name"
        );
        let partial = std::fs::metadata(out.join(".model.safetensors.partial"))
            .expect("partial kept")
            .len();
        // The 20 kB that arrived became 10 kB of float16 after the header.
        assert!(partial >= 10_000 + 4_000, "{partial}");
        // ...and the next one takes it from there.
        let report = fetched(fetch_clip_vision(&first, |_| (), None).expect("resumes"));
        assert_eq!(report.resumed_from_bytes, partial);
        // Float32 bytes from the network, float16 into the record.
        assert_eq!(report.downloaded_bytes, (report.record_bytes - partial) * 2);
        assert!(
            crate::model::clip::weights::load_clip_vision(
                &out,
                &crate::model::backend::cpu_device()
            )
            .is_ok()
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_checksum_mismatch_is_rejected_and_nothing_is_left() {
        let server = LoopbackServer::start(source_files(), Faults::default()).expect("server");
        let out = scratch("sha");
        let mut opts = options(&server, &out);
        opts.expected_sha256 = Some("00".repeat(32));
        let err = fetch_clip_vision(&opts, |_| (), None).expect_err("mismatch");
        assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("discarded"), "{err}");
        assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
        let _ = std::fs::remove_dir_all(&out);
    }

    /// A writer that fails like a full disk after `room` bytes.
    struct FullDisk {
        file: std::fs::File,
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.file.write(&buf[..n])
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.file.flush()
        }
    }

    #[test]
    fn a_full_disk_or_an_unwritable_folder_is_reported_clearly() {
        let server = LoopbackServer::start(source_files(), Faults::default()).expect("server");
        let out = scratch("full-disk");
        let err = fetch_with_writer(&options(&server, &out), |_| (), None, &|file| {
            Box::new(FullDisk { file, room: 5000 })
        })
        .expect_err("disk full");
        assert!(matches!(err, FetchError::DiskFull { .. }), "{err}");
        assert!(err.to_string().contains("disk") && err.to_string().contains("resume"));
        assert!(!out.join(SAFETENSORS_FILE).exists());
        // With room again, the same command finishes from where the disk filled up.
        let report =
            fetched(fetch_clip_vision(&options(&server, &out), |_| (), None).expect("resumes"));
        assert!(report.resumed_from_bytes > 5000);

        // A folder that cannot be created (its parent is a file).
        let blocker = scratch("blocker");
        std::fs::write(&blocker, b"a file").expect("write");
        let err = fetch_clip_vision(&options(&server, &blocker.join("sub")), |_| (), None)
            .expect_err("unwritable");
        assert!(matches!(err, FetchError::Write { .. }), "{err}");
        assert!(err.to_string().contains("sub"), "{err}");
        let _ = std::fs::remove_file(&blocker);
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_server_without_the_file_or_without_ranges_says_so() {
        let server = LoopbackServer::start(source_files(), Faults::default()).expect("server");
        let out = scratch("404");
        let opts = FetchOptions::new(format!("{}/nothing-here", server.base_url), &out);
        let err = fetch_clip_vision(&opts, |_| (), None).expect_err("404");
        assert!(err.to_string().contains("404"), "{err}");
        let no_ranges = Faults {
            no_ranges: true,
            ..Faults::default()
        };
        let server = LoopbackServer::start(source_files(), no_ranges).expect("server");
        let err = fetch_clip_vision(&options(&server, &out), |_| (), None).expect_err("200");
        assert!(err.to_string().contains("range requests"), "{err}");
        // Unreachable: nothing listens on this port any more.
        let gone = server.base_url.clone();
        drop(server);
        let err = fetch_clip_vision(&FetchOptions::new(format!("{gone}/m"), &out), |_| (), None)
            .expect_err("unreachable");
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_header_claiming_a_tensor_the_config_does_not_have_fetches_no_data() {
        let mut files = source_files();
        let model = &files[0].1;
        let n = u64::from_le_bytes(model[..8].try_into().expect("8 bytes")) as usize;
        let mut header: serde_json::Map<String, Value> =
            serde_json::from_slice(&model[8..8 + n]).expect("header");
        let name = "vision_model.encoder.layers.1.mlp.fc1.weight";
        let begin = header[name]["data_offsets"][0].as_u64().expect("begin");
        // 10^15 values, self-consistent in the header (4 bytes each).
        header[name] = serde_json::json!({
            "dtype": "F32",
            "shape": [1_000_000_000u64, 1_000_000u64],
            "data_offsets": [begin, begin + 4_000_000_000_000_000u64],
        });
        let json = serde_json::to_vec(&header).expect("json");
        let mut forged = (json.len() as u64).to_le_bytes().to_vec();
        forged.extend_from_slice(&json);
        forged.extend_from_slice(&model[8 + n..]);
        files[0].1 = forged;
        let server = LoopbackServer::start(files, Faults::default()).expect("server");
        let out = scratch("huge-claim");
        for _rerun in 0..2 {
            let err = fetch_clip_vision(&options(&server, &out), |_| (), None)
                .expect_err("not the config's tower");
            assert!(matches!(err, FetchError::BadSource { .. }), "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        let header_end = 8 + json.len() as u64;
        for r in server.requests() {
            let Some(range) = r.range.as_deref() else {
                assert!(r.path.ends_with("config.json"), "{r:?}");
                continue;
            };
            let last: u64 = range
                .rsplit('-')
                .next()
                .and_then(|l| l.parse().ok())
                .expect("a-b");
            assert!(last < header_end, "data fetched: {range}");
        }
        assert!(
            leftovers(&out).iter().all(|f| !f.contains("partial")),
            "{:?}",
            leftovers(&out)
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn the_record_plan_keeps_source_order_and_merges_neighbours() {
        let header = serde_json::json!({
            "__metadata__": {"format": "pt"},
            "text_model.x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "vision_model.b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
            "vision_model.a": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]},
            "text_projection.weight": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]},
            "visual_projection.weight": {"dtype": "F32", "shape": [1], "data_offsets": [20, 24]},
        });
        let json = serde_json::to_vec(&header).expect("json");
        let tensors = select_tensors(&json, 100, is_vision_tensor).expect("parses");
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "vision_model.b",
                "vision_model.a",
                "visual_projection.weight"
            ]
        );
        let plan = plan_record(&tensors, false);
        assert_eq!(plan.header.len() % 8, 0);
        let data_start = plan.header.len() as u64;
        assert_eq!(
            plan.spans,
            [
                Span {
                    src_begin: 108,
                    out_begin: data_start,
                    len: 8,
                    ratio: 1
                },
                Span {
                    src_begin: 120,
                    out_begin: data_start + 8,
                    len: 4,
                    ratio: 1
                },
            ]
        );
        assert_eq!(plan.total_len, data_start + 12);
        // Stored as float16: half the bytes, each span reading twice as many as it writes.
        let half = plan_record(&tensors, true);
        let data_start = half.header.len() as u64;
        assert_eq!(half.spans[0].len, 4);
        assert_eq!(half.spans[0].ratio, 2);
        assert_eq!(half.spans[1].out_begin, data_start + 4);
        assert_eq!(half.total_len, data_start + 6);
        assert!(String::from_utf8_lossy(&half.header).contains("F16"));
        let mut converter = HalfConverter::default();
        let mut out = Vec::new();
        let bytes: Vec<u8> = [1.0f32, -2.5, 65504.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        converter.push(&bytes[..5], &mut out);
        assert_eq!(out, half::f16::from_f32(1.0).to_bits().to_le_bytes());
        converter.push(&bytes[5..], &mut out);
        let rest: Vec<u8> = [-2.5f32, 65504.0]
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_bits().to_le_bytes())
            .collect();
        assert_eq!(out, rest, "a float split across reads is carried over");
        assert!(select_tensors(b"{}", 8, is_vision_tensor).is_err());
        assert!(select_tensors(b"nope", 8, is_vision_tensor).is_err());
    }

    #[test]
    fn a_tensor_whose_bytes_do_not_match_its_shape_is_a_bad_source() {
        // 10 bytes for one float32 (the fetcher once looped forever on such a tensor).
        for (dtype, shape, offsets, needle) in [
            ("F32", serde_json::json!([1]), [0, 10], "holds 10 bytes"),
            (
                "F32",
                serde_json::json!([3]),
                [0, 10],
                "3 values of F32 take 12",
            ),
            ("F16", serde_json::json!([2, 2]), [0, 6], "take 8"),
            ("Q4", serde_json::json!([1]), [0, 1], "unknown dtype Q4"),
        ] {
            let header = serde_json::json!({
                "vision_model.w": {"dtype": dtype, "shape": shape, "data_offsets": offsets},
            });
            let json = serde_json::to_vec(&header).expect("json");
            let err = match select_tensors(&json, 8, is_vision_tensor) {
                Err(e) => e,
                Ok(_) => panic!("{dtype} {shape} {offsets:?} accepted"),
            };
            assert!(
                err.contains("vision_model.w") && err.contains(needle),
                "{err}"
            );
        }
    }

    #[test]
    fn an_answer_from_the_wrong_offset_is_refused_and_nothing_is_installed() {
        let faults = Faults {
            range_shifted_by: 4,
            ..Faults::default()
        };
        let server = LoopbackServer::start(source_files(), faults).expect("server");
        let out = scratch("shifted");
        let err =
            fetch_clip_vision(&options(&server, &out), |_| (), None).expect_err("shifted ranges");
        let text = err.to_string();
        assert!(
            matches!(err, FetchError::BadSource { .. }) && text.contains("Content-Range"),
            "{text}"
        );
        assert!(!out.join(SAFETENSORS_FILE).exists());
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_server_that_stalls_mid_body_is_given_up_on_in_bounded_time() {
        let faults = Faults {
            stall_after_bytes: Some(1000),
            stall_for: std::time::Duration::from_secs(20),
            ..Faults::default()
        };
        let server = LoopbackServer::start(source_files(), faults).expect("server");
        let out = scratch("stall");
        let mut opts = options(&server, &out);
        opts.stall_timeout = std::time::Duration::from_secs(1);
        opts.attempts = 2;
        let started = std::time::Instant::now();
        let err = fetch_clip_vision(&opts, |_| (), None).expect_err("stalls");
        assert!(matches!(err, FetchError::Network { .. }), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
        assert!(!out.join(SAFETENSORS_FILE).exists());
        let _ = std::fs::remove_dir_all(&out);
    }
}
