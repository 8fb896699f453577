//! A JPEG's own structure, read as a stream: where its main image ends, and whether it is
//! whole. Only the bytes up to the main image's end-of-image marker are read, so a photo
//! followed by gigabytes of trailer or padding costs what the photo itself costs.

use std::io::BufRead;

/// Bytes of a JPEG read through a `BufRead`, with a count of what was consumed.
struct Stream<'r, R> {
    reader: &'r mut R,
    pos: u64,
}

impl<R: BufRead> Stream<'_, R> {
    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let b = self.reader.fill_buf()?.first().copied();
        if b.is_some() {
            self.reader.consume(1);
            self.pos += 1;
        }
        Ok(b)
    }

    /// Reads `out.len()` bytes; `false` where the stream ends first.
    fn exact(&mut self, out: &mut [u8]) -> std::io::Result<bool> {
        match self.reader.read_exact(out) {
            Ok(()) => {
                self.pos += out.len() as u64;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Skips `n` bytes; `false` where the stream ends first.
    fn skip(&mut self, mut n: u64) -> std::io::Result<bool> {
        while n > 0 {
            let available = self.reader.fill_buf()?.len() as u64;
            if available == 0 {
                return Ok(false);
            }
            let step = available.min(n);
            self.reader.consume(step as usize);
            self.pos += step;
            n -= step;
        }
        Ok(true)
    }

    /// Consumes entropy-coded data and the marker that ends it (one that is neither a stuffed
    /// 0xFF00 nor a restart marker); returns the data's length and that marker, or `None`
    /// where the stream ends first.
    fn scan_data(&mut self) -> std::io::Result<Option<(u64, u8)>> {
        let start = self.pos;
        let mut after_ff = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut i = 0;
            let mut marker = None;
            while i < buf.len() {
                if after_ff {
                    match buf[i] {
                        0x00 | 0xD0..=0xD7 => after_ff = false,
                        0xFF => {}
                        m => {
                            marker = Some(m);
                            i += 1;
                            break;
                        }
                    }
                    i += 1;
                } else {
                    match buf[i..].iter().position(|&b| b == 0xFF) {
                        Some(k) => {
                            i += k + 1;
                            after_ff = true;
                        }
                        None => i = buf.len(),
                    }
                }
            }
            self.reader.consume(i);
            self.pos += i as u64;
            if let Some(m) = marker {
                return Ok(Some((self.pos - 2 - start, m)));
            }
        }
    }

    /// The next marker: an 0xFF, any fill 0xFFs, and the marker byte.
    fn marker(&mut self) -> std::io::Result<Option<u8>> {
        if self.byte()? != Some(0xFF) {
            return Ok(None);
        }
        loop {
            match self.byte()? {
                Some(0xFF) => continue,
                other => return Ok(other),
            }
        }
    }
}

/// Walks the JPEG's segments by their lengths (so that nothing inside an APP segment, such as
/// a thumbnail, is taken for the image's own markers) and its entropy-coded scans, and gives
/// the length of its main image, up to and including its end-of-image marker, when that
/// image is whole: it reaches that marker with picture data enough for the size its header
/// declares (a sequential Huffman JPEG codes every 8x8 block in two bits at the least: a
/// 100-megapixel header over a small photo's scan is caught). `None` for a cut or malformed
/// JPEG. Data after the marker (multi-picture trailers, motion photos, padding) is not read.
pub fn main_image_len<R: BufRead>(reader: &mut R) -> std::io::Result<Option<u64>> {
    let mut s = Stream { reader, pos: 0 };
    let mut soi = [0u8; 2];
    if !s.exact(&mut soi)? || soi != [0xFF, 0xD8] {
        return Ok(None);
    }
    // The frame's marker and size, and the entropy-coded bytes of its scans so far.
    let mut frame: Option<(u8, u64, u64)> = None;
    let mut scan_bytes = 0u64;
    // A marker the last scan's data ended on.
    let mut pending = None;
    loop {
        let marker = match pending.take() {
            Some(m) => m,
            None => match s.marker()? {
                Some(m) => m,
                None => return Ok(None),
            },
        };
        match marker {
            0xD9 => return Ok(enough_scan_data(frame, scan_bytes).then_some(s.pos)),
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let mut len = [0u8; 2];
        if !s.exact(&mut len)? {
            return Ok(None);
        }
        let mut rest = u64::from(u16::from_be_bytes(len));
        if rest < 2 {
            return Ok(None);
        }
        rest -= 2;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) && rest >= 5 {
            let mut head = [0u8; 5];
            if !s.exact(&mut head)? {
                return Ok(None);
            }
            let height = u64::from(u16::from_be_bytes([head[1], head[2]]));
            let width = u64::from(u16::from_be_bytes([head[3], head[4]]));
            frame.get_or_insert((marker, width, height));
            rest -= 5;
        }
        if !s.skip(rest)? {
            return Ok(None);
        }
        if marker == 0xDA {
            match s.scan_data()? {
                Some((n, next)) => {
                    scan_bytes += n;
                    pending = Some(next);
                }
                None => return Ok(None),
            }
        }
    }
}

/// [`main_image_len`] of a JPEG held in memory: whether its main image is whole.
#[cfg(test)]
pub fn main_image_is_complete(bytes: &[u8]) -> bool {
    matches!(
        main_image_len(&mut std::io::Cursor::new(bytes)),
        Ok(Some(_))
    )
}

/// Whether a sequential Huffman frame (baseline or extended) has at least one bit of scan
/// data per 8x8 block of its luma (every block costs two at the least); other frames
/// (progressive, arithmetic, lossless) are not judged.
fn enough_scan_data(frame: Option<(u8, u64, u64)>, scan_bytes: u64) -> bool {
    match frame {
        Some((0xC0 | 0xC1, width, height)) => {
            let blocks = width.div_ceil(8) * height.div_ceil(8);
            scan_bytes * 8 >= blocks
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rocket() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/photos/rocket.jpg"),
        )
        .expect("fixture")
    }

    /// Reads through a 7-byte buffer, so that every marker and stuffed byte straddles one.
    #[test]
    fn the_walk_is_the_same_through_any_buffer_and_stops_at_the_main_images_end() {
        let jpeg = rocket();
        let whole = main_image_len(&mut std::io::Cursor::new(&jpeg)).expect("reads");
        assert_eq!(whole, Some(jpeg.len() as u64));
        let mut padded = jpeg.clone();
        padded.extend(std::iter::repeat_n(0u8, 1 << 20));
        let mut small = std::io::BufReader::with_capacity(7, std::io::Cursor::new(&padded));
        assert_eq!(main_image_len(&mut small).expect("reads"), whole);
        // Nothing past the end-of-image marker was read: the cursor stopped there (plus what
        // the 7-byte buffer holds).
        let read = small.get_ref().position();
        assert!(read <= jpeg.len() as u64 + 7, "{read}");
        for cut in [3, 200, jpeg.len() / 2, jpeg.len() - 1] {
            let mut cut_short = std::io::BufReader::with_capacity(7, &jpeg[..cut]);
            assert_eq!(
                main_image_len(&mut cut_short).expect("reads"),
                None,
                "cut at {cut}"
            );
        }
    }
}
