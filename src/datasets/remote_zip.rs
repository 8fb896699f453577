//! Single files out of a zip on a web server: the end-of-central-directory record from the
//! file's tail (zip64 too), the central directory with one range request, then each wanted
//! entry's local header and data. Stored and deflated entries; CRC-32 checked.

use std::io::Read;

use super::DatasetError;
use super::http::Http;

/// Largest entry read (a street photo is a few MB).
const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Largest central directory read (200k entries of ~60 bytes).
const MAX_DIRECTORY_BYTES: u64 = 64 << 20;
/// The tail read to find the end record (its comment can be up to 64 KiB).
const TAIL_BYTES: u64 = 65_536 + 22 + 20 + 56;

/// One file in a remote zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    /// 0 stored, 8 deflated.
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub local_header_offset: u64,
}

fn bad(url: &str, message: impl Into<String>) -> DatasetError {
    DatasetError::BadZip {
        url: url.to_string(),
        message: message.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The zip64 end record's fixed part, in bytes.
const ZIP64_RECORD_BYTES: u64 = 56;

/// Where a zip64 end record is: in the tail already read, or at an offset still to fetch.
#[derive(Debug, PartialEq)]
enum Zip64Record<'a> {
    InTail(&'a [u8]),
    At(u64),
}

/// Finds the zip64 end record from the locator just before the end record (`eocd`) in `tail`
/// (the file's last bytes, from `tail_start` of `total`); a locator pointing past the file
/// is an error naming the zip.
fn zip64_record<'a>(
    url: &str,
    tail: &'a [u8],
    eocd: usize,
    tail_start: u64,
    total: u64,
) -> Result<Zip64Record<'a>, DatasetError> {
    let locator = eocd
        .checked_sub(20)
        .filter(|&l| tail.get(l..l + 4) == Some(&[0x50, 0x4b, 0x06, 0x07]))
        .ok_or_else(|| bad(url, "zip64 sizes without a zip64 locator"))?;
    let record_at = u64_at(tail, locator + 8).ok_or_else(|| bad(url, "short locator"))?;
    if record_at
        .checked_add(ZIP64_RECORD_BYTES)
        .is_none_or(|end| end > total)
    {
        return Err(bad(
            url,
            format!(
                "its zip64 locator points at byte {record_at}, past the end of the \
                 {total}-byte file"
            ),
        ));
    }
    Ok(match record_at.checked_sub(tail_start) {
        Some(in_tail) => Zip64Record::InTail(tail.get(in_tail as usize..).unwrap_or_default()),
        None => Zip64Record::At(record_at),
    })
}

/// The entries of the zip at `url`.
pub fn central_directory(http: &Http, url: &str) -> Result<Vec<ZipEntry>, DatasetError> {
    let (tail, total) = http.tail(url, TAIL_BYTES)?;
    let tail_start = total - tail.len() as u64;
    let eocd = tail
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| bad(url, "no end-of-central-directory record: not a zip"))?;
    let mut entries = u64::from(u16_at(&tail, eocd + 10).unwrap_or(0));
    let mut dir_size = u64::from(u32_at(&tail, eocd + 12).unwrap_or(0));
    let mut dir_offset = u64::from(u32_at(&tail, eocd + 16).unwrap_or(0));
    // Zip64: a locator just before the end record points at the zip64 end record.
    if entries == 0xFFFF || dir_size == 0xFFFF_FFFF || dir_offset == 0xFFFF_FFFF {
        let record = match zip64_record(url, &tail, eocd, tail_start, total)? {
            Zip64Record::InTail(bytes) => bytes.to_vec(),
            Zip64Record::At(record_at) => {
                http.range(url, record_at, record_at + ZIP64_RECORD_BYTES - 1)?
            }
        };
        if record.get(..4) != Some(&[0x50, 0x4b, 0x06, 0x06]) {
            return Err(bad(
                url,
                "the zip64 end record is not where its locator says",
            ));
        }
        entries = u64_at(&record, 32).ok_or_else(|| bad(url, "short zip64 record"))?;
        dir_size = u64_at(&record, 40).ok_or_else(|| bad(url, "short zip64 record"))?;
        dir_offset = u64_at(&record, 48).ok_or_else(|| bad(url, "short zip64 record"))?;
    }
    if dir_size == 0 {
        return Ok(Vec::new());
    }
    if dir_size > MAX_DIRECTORY_BYTES
        || dir_offset
            .checked_add(dir_size)
            .is_none_or(|end| end > total)
    {
        return Err(bad(
            url,
            format!("a central directory of {dir_size} bytes at {dir_offset}"),
        ));
    }
    let dir = http.range(url, dir_offset, dir_offset + dir_size - 1)?;
    parse_directory(url, &dir, entries)
}

/// The central directory's `count` file headers.
fn parse_directory(url: &str, dir: &[u8], count: u64) -> Result<Vec<ZipEntry>, DatasetError> {
    let mut out = Vec::with_capacity(count.min(1 << 20) as usize);
    let mut at = 0usize;
    for _ in 0..count {
        if dir.get(at..at + 4) != Some(&[0x50, 0x4b, 0x01, 0x02]) {
            return Err(bad(
                url,
                format!("central directory entry {} is damaged", out.len()),
            ));
        }
        let short = || bad(url, "a central directory entry is cut short");
        let method = u16_at(dir, at + 10).ok_or_else(short)?;
        let crc32 = u32_at(dir, at + 16).ok_or_else(short)?;
        let mut compressed_size = u64::from(u32_at(dir, at + 20).ok_or_else(short)?);
        let mut size = u64::from(u32_at(dir, at + 24).ok_or_else(short)?);
        let name_len = usize::from(u16_at(dir, at + 28).ok_or_else(short)?);
        let extra_len = usize::from(u16_at(dir, at + 30).ok_or_else(short)?);
        let comment_len = usize::from(u16_at(dir, at + 32).ok_or_else(short)?);
        let mut offset = u64::from(u32_at(dir, at + 42).ok_or_else(short)?);
        let name_bytes = dir.get(at + 46..at + 46 + name_len).ok_or_else(short)?;
        let extra = dir
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(short)?;
        // Zip64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in order.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let (id, len) = (
                u16_at(extra, e).unwrap_or(0),
                usize::from(u16_at(extra, e + 2).unwrap_or(0)),
            );
            if id == 0x0001 {
                let mut field = e + 4;
                for value in [&mut size, &mut compressed_size, &mut offset] {
                    if *value == 0xFFFF_FFFF {
                        *value = u64_at(extra, field).ok_or_else(short)?;
                        field += 8;
                    }
                }
            }
            e += 4 + len;
        }
        out.push(ZipEntry {
            name: String::from_utf8_lossy(name_bytes).into_owned(),
            method,
            crc32,
            compressed_size,
            size,
            local_header_offset: offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The bytes of one entry: its local header read first (its name and extra lengths may differ
/// from the central directory's), then the data; inflated and checked against the CRC-32.
pub fn read_entry(http: &Http, url: &str, entry: &ZipEntry) -> Result<Vec<u8>, DatasetError> {
    let what = |m: &str| bad(url, format!("{}: {m}", entry.name));
    if entry.compressed_size > MAX_ENTRY_BYTES || entry.size > MAX_ENTRY_BYTES {
        return Err(what("larger than a photo can be"));
    }
    let header = http.range(
        url,
        entry.local_header_offset,
        entry.local_header_offset + 29,
    )?;
    if header.get(..4) != Some(&[0x50, 0x4b, 0x03, 0x04]) {
        return Err(what("no local header where the directory says"));
    }
    let name_len = u64::from(u16_at(&header, 26).unwrap_or(0));
    let extra_len = u64::from(u16_at(&header, 28).unwrap_or(0));
    let data_at = entry.local_header_offset + 30 + name_len + extra_len;
    let data = if entry.compressed_size == 0 {
        Vec::new()
    } else {
        http.range(url, data_at, data_at + entry.compressed_size - 1)?
    };
    let bytes = match entry.method {
        0 => data,
        8 => {
            let mut out = Vec::with_capacity(entry.size as usize);
            flate2::read::DeflateDecoder::new(data.as_slice())
                .take(MAX_ENTRY_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| what(&format!("does not inflate ({e})")))?;
            out
        }
        m => return Err(what(&format!("compression method {m} is not supported"))),
    };
    if bytes.len() as u64 != entry.size || crc32fast::hash(&bytes) != entry.crc32 {
        return Err(what("damaged (size or CRC-32 does not match)"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip's tail: a zip64 locator pointing at `record_at`, then an end record whose sizes
    /// say "see zip64".
    fn tail(record_at: u64) -> Vec<u8> {
        let mut t = vec![0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0];
        t.extend_from_slice(&record_at.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        t.extend_from_slice(&[0xFF; 8]);
        t.extend_from_slice(&[0, 0]);
        t
    }

    #[test]
    fn a_zip64_locator_past_the_file_is_an_error_naming_the_zip() {
        for record_at in [1_000_000_000_000, u64::MAX, u64::MAX - 10] {
            let t = tail(record_at);
            let err = zip64_record("https://mirror/x.zip", &t, 20, 0, t.len() as u64)
                .expect_err("refused");
            let text = err.to_string();
            assert!(
                text.contains("x.zip") && text.contains("past the end"),
                "{text}"
            );
        }
        // A record inside the tail, and one before it (to fetch), are found.
        let mut t = vec![0u8; 56];
        t[..4].copy_from_slice(&[0x50, 0x4b, 0x06, 0x06]);
        t.extend(tail(1000));
        let total = 1000 + t.len() as u64;
        match zip64_record("z", &t, 56 + 20, 1000, total).expect("found") {
            Zip64Record::InTail(bytes) => assert_eq!(&bytes[..4], &[0x50, 0x4b, 0x06, 0x06]),
            other => panic!("{other:?}"),
        }
        let t = tail(10);
        assert_eq!(
            zip64_record("z", &t, 20, 500, 500 + t.len() as u64).expect("found"),
            Zip64Record::At(10)
        );
    }
}
