//! One file holding a whole tile pyramid: a sorted index followed by the encoded tiles.
//!
//! Layout (little endian), written by `tools/build_basemap.py` and [`write_pack`]:
//! `b"GLTPACK\0"`, `u32 version = 1`, `u32 tile_count`, then `tile_count` entries of
//! `{ u32 zoom, u32 x, u32 y, u64 offset, u32 len }` sorted by `(zoom, x, y)`, then the blobs.
//! Offsets count from the start of the file.

use std::borrow::Cow;

use thiserror::Error;

const MAGIC: &[u8; 8] = b"GLTPACK\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 16;
const ENTRY_LEN: usize = 24;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TilePackError {
    #[error("not a geolens tile pack (bad magic bytes)")]
    BadMagic,
    #[error("tile pack version {0} is not supported (expected {VERSION})")]
    UnsupportedVersion(u32),
    #[error("tile pack is truncated: {0}")]
    Truncated(&'static str),
    #[error("tile pack index is not sorted or has duplicates at entry {0}")]
    UnsortedIndex(usize),
    #[error("tile {zoom}/{x}/{y} points outside the pack")]
    BlobOutOfBounds { zoom: u32, x: u32, y: u32 },
}

/// Address of a tile in the pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileKey {
    pub zoom: u32,
    pub x: u32,
    pub y: u32,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: TileKey,
    offset: usize,
    len: usize,
}

/// A parsed tile pack over borrowed (for example embedded) or owned bytes.
#[derive(Debug, Clone)]
pub struct TilePack {
    bytes: Cow<'static, [u8]>,
    entries: Vec<Entry>,
    max_zoom: u32,
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl TilePack {
    /// Parses and validates the index; tiles are sliced out lazily.
    pub fn parse(bytes: impl Into<Cow<'static, [u8]>>) -> Result<Self, TilePackError> {
        let bytes = bytes.into();
        let b: &[u8] = &bytes;
        if b.len() < HEADER_LEN {
            return Err(TilePackError::Truncated("header"));
        }
        if &b[..8] != MAGIC {
            return Err(TilePackError::BadMagic);
        }
        let version = read_u32(b, 8);
        if version != VERSION {
            return Err(TilePackError::UnsupportedVersion(version));
        }
        let count = read_u32(b, 12) as usize;
        let index_end = count
            .checked_mul(ENTRY_LEN)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .ok_or(TilePackError::Truncated("index"))?;
        if b.len() < index_end {
            return Err(TilePackError::Truncated("index"));
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = HEADER_LEN + i * ENTRY_LEN;
            let key = TileKey {
                zoom: read_u32(b, at),
                x: read_u32(b, at + 4),
                y: read_u32(b, at + 8),
            };
            let offset = read_u64(b, at + 12);
            let len = read_u32(b, at + 20) as u64;
            let end = offset.checked_add(len);
            if offset < index_end as u64 || end.is_none_or(|e| e > b.len() as u64) {
                return Err(TilePackError::BlobOutOfBounds {
                    zoom: key.zoom,
                    x: key.x,
                    y: key.y,
                });
            }
            if let Some(prev) = entries.last().map(|e: &Entry| e.key)
                && prev >= key
            {
                return Err(TilePackError::UnsortedIndex(i));
            }
            entries.push(Entry {
                key,
                offset: offset as usize,
                len: len as usize,
            });
        }
        let max_zoom = entries.iter().map(|e| e.key.zoom).max().unwrap_or(0);
        Ok(Self {
            bytes,
            entries,
            max_zoom,
        })
    }

    /// The encoded tile, if the pack holds it.
    pub fn get(&self, key: TileKey) -> Option<&[u8]> {
        let i = self.entries.binary_search_by(|e| e.key.cmp(&key)).ok()?;
        let e = self.entries[i];
        self.bytes.get(e.offset..e.offset + e.len)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Deepest zoom level stored.
    pub fn max_zoom(&self) -> u32 {
        self.max_zoom
    }

    pub fn keys(&self) -> impl Iterator<Item = TileKey> + '_ {
        self.entries.iter().map(|e| e.key)
    }
}

/// Serialises tiles into the pack layout (any input order; duplicates keep the last).
pub fn write_pack(tiles: &[(TileKey, Vec<u8>)]) -> Vec<u8> {
    let mut sorted: std::collections::BTreeMap<TileKey, &[u8]> = Default::default();
    for (key, blob) in tiles {
        sorted.insert(*key, blob);
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    let mut offset = (HEADER_LEN + ENTRY_LEN * sorted.len()) as u64;
    for (key, blob) in &sorted {
        for v in [key.zoom, key.x, key.y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        offset += blob.len() as u64;
    }
    for blob in sorted.values() {
        out.extend_from_slice(blob);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(zoom: u32, x: u32, y: u32) -> TileKey {
        TileKey { zoom, x, y }
    }

    #[test]
    fn index_round_trips() {
        let tiles = vec![
            (key(1, 1, 0), b"one-one-zero".to_vec()),
            (key(0, 0, 0), b"root".to_vec()),
            (key(1, 0, 1), vec![]),
            (key(2, 3, 3), vec![7u8; 1000]),
        ];
        let pack = TilePack::parse(write_pack(&tiles)).expect("parses");
        assert_eq!(pack.len(), 4);
        assert_eq!(pack.max_zoom(), 2);
        for (k, blob) in &tiles {
            assert_eq!(pack.get(*k), Some(blob.as_slice()), "{k:?}");
        }
        assert_eq!(pack.get(key(1, 0, 0)), None);
        let keys: Vec<_> = pack.keys().collect();
        assert_eq!(
            keys,
            vec![key(0, 0, 0), key(1, 0, 1), key(1, 1, 0), key(2, 3, 3)]
        );
    }

    #[test]
    fn damaged_packs_are_rejected_not_panicked_on() {
        let good = write_pack(&[
            (key(0, 0, 0), b"root".to_vec()),
            (key(1, 0, 0), b"a".to_vec()),
        ]);
        assert_eq!(
            TilePack::parse(Vec::new()).unwrap_err(),
            TilePackError::Truncated("header")
        );
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert_eq!(
            TilePack::parse(bad_magic).unwrap_err(),
            TilePackError::BadMagic
        );
        let mut bad_version = good.clone();
        bad_version[8] = 9;
        assert_eq!(
            TilePack::parse(bad_version).unwrap_err(),
            TilePackError::UnsupportedVersion(9)
        );
        // Every truncation of a valid pack is an error, never a panic.
        for cut in 0..good.len() {
            assert!(
                TilePack::parse(good[..cut].to_vec()).is_err(),
                "cut at {cut}"
            );
        }
        // A huge tile count cannot overflow into a bogus small index.
        let mut huge = good.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(TilePack::parse(huge).is_err());
        // Swapped index entries are caught.
        let mut unsorted = good;
        let (a, b) = (HEADER_LEN, HEADER_LEN + ENTRY_LEN);
        let first: Vec<u8> = unsorted[a..b].to_vec();
        let second: Vec<u8> = unsorted[b..b + ENTRY_LEN].to_vec();
        unsorted[a..b].copy_from_slice(&second);
        unsorted[b..b + ENTRY_LEN].copy_from_slice(&first);
        assert_eq!(
            TilePack::parse(unsorted).unwrap_err(),
            TilePackError::UnsortedIndex(1)
        );
    }
}
