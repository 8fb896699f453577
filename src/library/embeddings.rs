//! CLIP embeddings of a library's photos, computed only for the photos that need them and kept
//! on disk keyed by each photo's path, size and modification time (and by the tower that made
//! them), so that a second run over the same library computes none. No decoded image is held
//! longer than one batch of the tower.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::photo::decode::decode_photo;
use crate::predict::Predictor;

/// The cache file's first bytes: the format, then the embedding length (u32, little-endian).
const MAGIC: &[u8; 8] = b"GLEMB001";

/// What identifies a photo's bytes without reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    /// Modification time in nanoseconds since 1970.
    pub mtime_ns: i128,
}

impl FileStamp {
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let mtime_ns = match mtime.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(Self {
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// Embeddings kept between runs, for one tower.
#[derive(Debug, Default)]
pub struct EmbeddingCache {
    /// `None`: nowhere to keep them (no cache folder); they are computed every run.
    file: Option<PathBuf>,
    dim: usize,
    entries: HashMap<PathBuf, (FileStamp, Vec<f32>)>,
    changed: bool,
}

impl EmbeddingCache {
    /// The cache in `dir` for the tower at `tower_file` (its path, size and modification
    /// time name the cache file, so another tower never reads these), `dim` values an
    /// embedding. A missing or unreadable cache starts empty.
    pub fn open(dir: Option<&Path>, tower_file: &Path, dim: usize) -> Self {
        let file = dir.map(|d| d.join(format!("{}.bin", tower_key(tower_file))));
        let entries = file
            .as_deref()
            .and_then(|f| crate::files::read_regular(f).ok())
            .and_then(|bytes| parse(&bytes, dim))
            .unwrap_or_default();
        Self {
            file,
            dim,
            entries,
            changed: false,
        }
    }

    /// The embedding kept for `path`, if the file is still the one it was made of.
    pub fn get(&self, path: &Path, stamp: FileStamp) -> Option<&[f32]> {
        self.entries
            .get(path)
            .filter(|(s, _)| *s == stamp)
            .map(|(_, e)| e.as_slice())
    }

    pub fn insert(&mut self, path: PathBuf, stamp: FileStamp, embedding: Vec<f32>) {
        if embedding.len() == self.dim {
            self.entries.insert(path, (stamp, embedding));
            self.changed = true;
        }
    }

    /// Writes the cache back (atomically) when anything was added, with what another run
    /// kept in the meantime.
    pub fn save(&mut self) -> Result<(), crate::files::OutputError> {
        let Some(file) = self.file.clone().filter(|_| self.changed) else {
            return Ok(());
        };
        let file = file.as_path();
        if let Some(theirs) = crate::files::read_regular(file)
            .ok()
            .and_then(|bytes| parse(&bytes, self.dim))
        {
            for (path, entry) in theirs {
                self.entries.entry(path).or_insert(entry);
            }
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::files::OutputError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        crate::files::write_output(file, true, |out| {
            out.write_all(MAGIC)?;
            out.write_all(&(self.dim as u32).to_le_bytes())?;
            for (path, (stamp, embedding)) in &self.entries {
                let name = path.as_os_str().as_encoded_bytes();
                // Written as the OS names it (see `path_from_bytes`).
                out.write_all(&(name.len() as u32).to_le_bytes())?;
                out.write_all(name)?;
                out.write_all(&stamp.size.to_le_bytes())?;
                out.write_all(&stamp.mtime_ns.to_le_bytes())?;
                for v in embedding {
                    out.write_all(&v.to_le_bytes())?;
                }
            }
            Ok(())
        })
    }
}

/// A short name for the tower file: a hash of its path, size and modification time.
fn tower_key(tower_file: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let path = std::fs::canonicalize(tower_file).unwrap_or_else(|_| tower_file.to_path_buf());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    if let Some(stamp) = FileStamp::of(tower_file) {
        stamp.size.hash(&mut h);
        stamp.mtime_ns.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// The entries of a cache file; `None` for a file of another format or length, or cut short.
fn parse(bytes: &[u8], dim: usize) -> Option<HashMap<PathBuf, (FileStamp, Vec<f32>)>> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or_default());
    if u32_at(take(4)?) as usize != dim {
        return None;
    }
    let mut entries = HashMap::new();
    while let Some(len) = take(4) {
        let name = take(u32_at(len) as usize)?;
        let path = path_from_bytes(name);
        let size = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let mtime_ns = i128::from_le_bytes(take(16)?.try_into().ok()?);
        let values = take(dim * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        entries.insert(path, (FileStamp { size, mtime_ns }, values));
    }
    Some(entries)
}

/// A path as the cache keeps it: the OS's own bytes for it (not necessarily UTF-8).
#[cfg(unix)]
fn path_from_bytes(name: &[u8]) -> PathBuf {
    PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name))
}

#[cfg(not(unix))]
fn path_from_bytes(name: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(name).into_owned())
}

/// What [`embed`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EmbedStats {
    /// Embeddings computed in this run.
    pub embedded: usize,
    pub from_cache: usize,
    /// Photos that could not be decoded or embedded (left without).
    pub failed: usize,
    /// Stopped on request before all were done (what was computed is kept).
    pub cancelled: bool,
}

/// The unit-length embedding of each photo at `paths` where `wanted`, from the cache or
/// computed (a batch of photos per pass of the tower); `None` where not wanted or not
/// possible. `progress` hears how many of the wanted photos are done, and stops the work by
/// returning `false`.
pub fn embed(
    predictor: &Predictor,
    cache: &mut EmbeddingCache,
    paths: &[PathBuf],
    wanted: &[bool],
    mut progress: impl FnMut(usize, usize) -> bool,
) -> (Vec<Option<Vec<f32>>>, EmbedStats) {
    let mut out: Vec<Option<Vec<f32>>> = vec![None; paths.len()];
    let mut stats = EmbedStats::default();
    let mut missing: Vec<(usize, FileStamp)> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if !wanted.get(i).copied().unwrap_or(false) {
            continue;
        }
        let Some(stamp) = FileStamp::of(path) else {
            stats.failed += 1;
            continue;
        };
        match cache.get(path, stamp) {
            Some(e) => {
                out[i] = Some(e.to_vec());
                stats.from_cache += 1;
            }
            None => missing.push((i, stamp)),
        }
    }
    let total = stats.from_cache + missing.len();
    let batch = predictor.folder_batch().max(1);
    for chunk in missing.chunks(batch) {
        if !progress(stats.from_cache + stats.embedded + stats.failed, total) {
            stats.cancelled = true;
            break;
        }
        let decoded: Vec<(usize, FileStamp, image::RgbImage)> = chunk
            .iter()
            .filter_map(|&(i, stamp)| Some((i, stamp, decode_photo(&paths[i]).ok()?)))
            .collect();
        stats.failed += chunk.len() - decoded.len();
        let images: Vec<&image::RgbImage> = decoded.iter().map(|(_, _, im)| im).collect();
        match crate::model::device_io::without_panics(|| predictor.clip_embeddings(&images, batch))
        {
            Ok(embeddings) => {
                for ((i, stamp, _), e) in decoded.iter().zip(embeddings) {
                    let e = unit(e);
                    cache.insert(paths[*i].clone(), *stamp, e.clone());
                    out[*i] = Some(e);
                    stats.embedded += 1;
                }
            }
            Err(_) => stats.failed += decoded.len(),
        }
    }
    if !stats.cancelled {
        progress(total, total);
    }
    (out, stats)
}

/// `v` scaled to unit length (a zero vector stays zero).
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The cosine similarity of two unit-length embeddings.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_reads_back_what_it_kept_and_forgets_a_changed_file() {
        let dir = std::env::temp_dir().join(format!("geolens-emb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tower = dir.join("model.safetensors");
        std::fs::write(&tower, b"tower").expect("tower");
        let photo = dir.join("IMG_1.jpg");
        std::fs::write(&photo, b"photo").expect("photo");
        let stamp = FileStamp::of(&photo).expect("stamp");
        let mut cache = EmbeddingCache::open(Some(&dir), &tower, 3);
        cache.insert(photo.clone(), stamp, vec![0.6, 0.8, 0.0]);
        cache.insert(dir.join("wrong.jpg"), stamp, vec![1.0]);
        cache.save().expect("save");

        let again = EmbeddingCache::open(Some(&dir), &tower, 3);
        assert_eq!(again.get(&photo, stamp), Some([0.6, 0.8, 0.0].as_slice()));
        assert_eq!(
            again.entries.len(),
            1,
            "an embedding of the wrong length is not kept"
        );
        let changed = FileStamp {
            size: stamp.size + 1,
            ..stamp
        };
        assert_eq!(again.get(&photo, changed), None);
        // Another tower, or another length, reads none of it.
        assert!(
            EmbeddingCache::open(Some(&dir), &photo, 3)
                .entries
                .is_empty()
        );
        assert!(
            EmbeddingCache::open(Some(&dir), &tower, 4)
                .entries
                .is_empty()
        );
        // A cut file is no cache, not an error.
        let file = dir.join(format!("{}.bin", tower_key(&tower)));
        let bytes = std::fs::read(&file).expect("cache file");
        std::fs::write(&file, &bytes[..bytes.len() - 2]).expect("cut");
        assert!(
            EmbeddingCache::open(Some(&dir), &tower, 3)
                .entries
                .is_empty()
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn similarity_of_unit_vectors_is_their_cosine() {
        let a = unit(vec![3.0, 4.0]);
        let b = unit(vec![4.0, 3.0]);
        assert!((similarity(&a, &b) - 0.96).abs() < 1e-6);
        assert_eq!(unit(vec![0.0, 0.0]), vec![0.0, 0.0]);
    }
}
