//! GeoCLIP's GPS gallery: the 100k candidate locations a photo is scored against, and their
//! location embeddings, computed once (31.5 s on a 2-core CPU) and cached on disk.
//!
//! Cache precision: float32 (205 MB for 100k x 512). Measured by `cargo bench --bench geoclip`
//! over the full gallery and 200 query embeddings (table in `models/README.md`): float16
//! storage changed the ordered top-5 of 15 queries in 200, bfloat16 of 50, 8-bit of 96; only
//! float32 keeps every top-5 identical, and it makes a warm cache bit-identical to a cold run.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use sha2::{Digest, Sha256};

use super::location::LocationEncoder;
use super::scoring::{GalleryMatrix, l2_normalize};
use super::weights::LOCATION_ENCODER_FILE;
use crate::geo::partition::{LatLonDeg, read_points_csv};
use crate::model::ModelError;
use crate::model::backend::max_tensor_bytes;
use crate::model::device_io::{read_floats, rows_per_buffer};
use crate::model::files::sha256_hex;

/// The gallery coordinates, shipped beside the head records.
pub const GALLERY_FILE: &str = "gallery_100k.csv";

/// Version 2 added the checksum: version-1 files are recomputed once.
const CACHE_MAGIC: &[u8; 8] = b"GLGEMB02";
const HEADER_LEN: usize = 20;

/// Rows embedded per step: bounds peak memory (a 10k chunk holds ~120 MB of activations) and
/// gives progress reports.
pub const EMBED_CHUNK: usize = 5_000;

fn bad(path: &Path, message: impl ToString) -> ModelError {
    ModelError::BadWeights {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Reads a gallery CSV (`LAT,LON` header, one point per row).
pub fn load_gallery(path: &Path) -> Result<Vec<LatLonDeg>, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::MissingWeights {
        path: path.to_owned(),
        hint: format!("{e}; run `geolens models import-geoclip <geoclip-1.3.0 wheel>` to write it"),
    })?;
    let points = read_points_csv(std::io::BufReader::new(file)).map_err(|e| bad(path, e))?;
    if points.is_empty() {
        return Err(bad(path, "the gallery has no points"));
    }
    Ok(points)
}

/// Unit-length location embeddings of a gallery, row-major `[n, dim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryEmbeddings {
    pub n: usize,
    pub dim: usize,
    pub values: Vec<f32>,
}

impl GalleryEmbeddings {
    /// Embeds and L2-normalises every point, `EMBED_CHUNK` rows at a time (fewer where the
    /// device's buffers are small); `progress(done,
    /// total)` is called after each chunk.
    pub fn compute(
        encoder: &LocationEncoder,
        points: &[LatLonDeg],
        device: &Device,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Self, ModelError> {
        let mut values = Vec::new();
        let mut dim = 0;
        let rows = rows_per_buffer(
            "one gallery point's location encoding",
            encoder.widest_row_bytes(),
            EMBED_CHUNK,
            max_tensor_bytes(device),
        )?;
        let mut done = 0;
        for chunk in points.chunks(rows) {
            let coords: Vec<(f64, f64)> = chunk.iter().map(|p| (p.lat_deg, p.lon_deg)).collect();
            let unit = l2_normalize(encoder.embed(&coords, device));
            dim = unit.dims()[1];
            values.extend(read_floats(unit)?);
            done += chunk.len();
            progress(done, points.len());
        }
        Ok(Self {
            n: points.len(),
            dim,
            values,
        })
    }

    /// The embeddings on `device`, in blocks that fit its buffers (see [`GalleryMatrix`]).
    pub fn to_matrix(
        &self,
        device: &Device,
        max_tensor_bytes: Option<u64>,
    ) -> Result<GalleryMatrix, ModelError> {
        GalleryMatrix::new(&self.values, self.n, self.dim, device, max_tensor_bytes)
    }

    /// Cache file bytes: magic, `n` and `dim` as little-endian u32, the CRC-32 of the values'
    /// bytes, then the little-endian float32 values.
    pub fn to_cache_bytes(&self) -> Vec<u8> {
        let body: Vec<u8> = self.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.extend_from_slice(CACHE_MAGIC);
        bytes.extend_from_slice(&(self.n as u32).to_le_bytes());
        bytes.extend_from_slice(&(self.dim as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Parses [`Self::to_cache_bytes`]; `None` for anything else (wrong magic, truncated,
    /// trailing bytes, a checksum that does not match, non-finite values).
    pub fn from_cache_bytes(bytes: &[u8]) -> Option<Self> {
        let (header, body) = bytes.split_at_checked(HEADER_LEN)?;
        if &header[..8] != CACHE_MAGIC {
            return None;
        }
        let n = u32::from_le_bytes(header[8..12].try_into().ok()?) as usize;
        let dim = u32::from_le_bytes(header[12..16].try_into().ok()?) as usize;
        if n.checked_mul(dim)?.checked_mul(4)? != body.len() {
            return None;
        }
        let crc = u32::from_le_bytes(header[16..20].try_into().ok()?);
        if crc32fast::hash(body) != crc {
            return None;
        }
        let values: Vec<f32> = body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        values
            .iter()
            .all(|v| v.is_finite())
            .then_some(Self { n, dim, values })
    }
}

/// Cache file name for a location-encoder record and gallery: both files' SHA-256 go into the
/// key, so new weights or a new gallery never reuse stale embeddings.
pub fn cache_file_name(model_dir: &Path, gallery_path: &Path) -> Result<String, ModelError> {
    let mut hasher = Sha256::new();
    hasher.update(sha256_hex(&model_dir.join(LOCATION_ENCODER_FILE))?);
    hasher.update(sha256_hex(gallery_path)?);
    let key = format!("{:x}", hasher.finalize());
    Ok(format!("gallery-{}.f32", &key[..16]))
}

/// Where [`load_or_compute`] keeps its cache: `<user cache>/geoclip/`.
pub fn default_cache_dir() -> Option<PathBuf> {
    crate::paths::user_cache_dir().map(|d| d.join("geoclip"))
}

/// Whether the embeddings came from the cache or were computed (and then written to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Computed; `written` is false when the cache directory could not be written (the
    /// embeddings are still correct, only not saved for next time).
    Computed {
        written: bool,
    },
}

/// Reads the cached embeddings for this encoder and gallery, or computes them and writes the
/// cache. A damaged cache file is ignored and replaced.
pub fn load_or_compute(
    encoder: &LocationEncoder,
    points: &[LatLonDeg],
    cache_dir: Option<&Path>,
    cache_name: &str,
    device: &Device,
    progress: impl FnMut(usize, usize),
) -> Result<(GalleryEmbeddings, CacheOutcome), ModelError> {
    if let Some(dir) = cache_dir {
        let mut bytes = Vec::new();
        let cached = std::fs::File::open(dir.join(cache_name))
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .ok()
            .and_then(|_| GalleryEmbeddings::from_cache_bytes(&bytes))
            .filter(|e| e.n == points.len());
        if let Some(embeddings) = cached {
            return Ok((embeddings, CacheOutcome::Hit));
        }
    }
    let embeddings = GalleryEmbeddings::compute(encoder, points, device, progress)?;
    let bytes = embeddings.to_cache_bytes();
    // Each writer has a temporary file of its own, renamed into place whole: two first runs
    // at once both leave a good cache.
    let written = cache_dir.is_some_and(|dir| {
        std::fs::create_dir_all(dir).is_ok()
            && crate::files::write_output(&dir.join(cache_name), true, |w| w.write_all(&bytes))
                .is_ok()
    });
    Ok((embeddings, CacheOutcome::Computed { written }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GalleryEmbeddings {
        GalleryEmbeddings {
            n: 3,
            dim: 2,
            values: vec![0.6, 0.8, -1.0, 0.0, 0.123_456_7, -0.992_35],
        }
    }

    #[test]
    fn cache_bytes_round_trip_exactly() {
        let e = sample();
        let bytes = e.to_cache_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 6 * 4);
        assert_eq!(GalleryEmbeddings::from_cache_bytes(&bytes), Some(e));
    }

    #[test]
    fn damaged_cache_bytes_are_rejected() {
        let bytes = sample().to_cache_bytes();
        for cut in 0..bytes.len() {
            assert!(GalleryEmbeddings::from_cache_bytes(&bytes[..cut]).is_none());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(GalleryEmbeddings::from_cache_bytes(&longer).is_none());
        let mut wrong_magic = bytes.clone();
        wrong_magic[0] = b'X';
        assert!(GalleryEmbeddings::from_cache_bytes(&wrong_magic).is_none());
        let mut zeroed = bytes.clone();
        zeroed[HEADER_LEN + 4..HEADER_LEN + 12].fill(0);
        assert!(
            GalleryEmbeddings::from_cache_bytes(&zeroed).is_none(),
            "zeroed values fail the checksum"
        );
        let mut nan = bytes;
        nan[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(GalleryEmbeddings::from_cache_bytes(&nan).is_none());
    }

    #[test]
    fn the_cache_is_written_once_reused_and_replaced_when_damaged() {
        use crate::model::backend::cpu_device;
        use crate::model::geoclip::weights::{default_model_dir, load_heads};
        let device = cpu_device();
        let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
        let points: Vec<LatLonDeg> = (0..50)
            .map(|i| LatLonDeg {
                lat_deg: -80.0 + 3.2 * f64::from(i),
                lon_deg: -179.0 + 7.1 * f64::from(i),
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("geolens-gcache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = |progress: &mut Vec<usize>| {
            load_or_compute(
                &heads.location,
                &points,
                Some(&dir),
                "g.f32",
                &device,
                |d, _| progress.push(d),
            )
            .expect("embeds")
        };
        let mut progress = Vec::new();
        let (first, outcome) = run(&mut progress);
        assert_eq!(outcome, CacheOutcome::Computed { written: true });
        assert_eq!(progress, vec![50]);
        assert_eq!((first.n, first.dim), (50, 512));
        let norm: f32 = first.values[..512]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit rows: {norm}");

        let mut progress = Vec::new();
        let (second, outcome) = run(&mut progress);
        assert_eq!(outcome, CacheOutcome::Hit);
        assert!(progress.is_empty(), "nothing recomputed");
        assert_eq!(second, first, "a warm cache gives bit-identical values");

        std::fs::write(dir.join("g.f32"), b"GLGEMB01 truncated").expect("damage");
        let (third, outcome) = run(&mut Vec::new());
        assert_eq!(outcome, CacheOutcome::Computed { written: true });
        assert_eq!(third, first);
        assert!(
            std::fs::read_dir(&dir)
                .expect("dir")
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".partial"))
        );
        let _ = std::fs::remove_dir_all(&dir);

        // An unwritable cache location still gives correct embeddings.
        let file_not_dir =
            std::env::temp_dir().join(format!("geolens-gfile-{}", std::process::id()));
        std::fs::write(&file_not_dir, b"x").expect("file");
        let (fourth, outcome) = load_or_compute(
            &heads.location,
            &points,
            Some(&file_not_dir),
            "g.f32",
            &device,
            |_, _| (),
        )
        .expect("embeds");
        assert_eq!(outcome, CacheOutcome::Computed { written: false });
        assert_eq!(fourth, first);
        let _ = std::fs::remove_file(&file_not_dir);
    }

    #[test]
    fn a_bad_gallery_file_names_itself() {
        let dir = std::env::temp_dir().join(format!("geolens-gallery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = load_gallery(&dir.join("none.csv")).expect_err("missing");
        assert!(missing.to_string().contains("import-geoclip"), "{missing}");
        let path = dir.join("bad.csv");
        std::fs::write(&path, "LAT,LON\n10,20\n95,0\n").expect("write");
        let err = load_gallery(&path).expect_err("lat 95").to_string();
        assert!(err.contains("bad.csv") && err.contains("row 3"), "{err}");
        std::fs::write(&path, "LAT,LON\n").expect("write");
        assert!(load_gallery(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
