//! Test support shared by unit tests, end-to-end tests and benches: a file server on loopback
//! with HTTP range requests, ETags, a request log and injectable faults (connections cut
//! mid-body, unreachable files). Never used by the app itself.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// The `Range` header, if any (`bytes=a-b`).
    pub range: Option<String>,
    pub user_agent: Option<String>,
}

/// What the server does to its responses.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Cut this many GET responses short (after `cut_after_bytes` of the body), then behave.
    pub cut_responses: usize,
    pub cut_after_bytes: usize,
    /// Only bodies longer than this are cut (so small requests, like a file's header, pass).
    pub cut_bodies_longer_than: usize,
    /// Ignore `Range` headers (answer 200 with the whole file), as some servers do.
    pub no_ranges: bool,
    /// Answer range requests with 206 and a `Content-Range`, but from this many bytes further
    /// on than asked (a broken proxy or cache).
    pub range_shifted_by: usize,
    /// Send the headers and this many body bytes, then go silent (keep the connection open
    /// without sending more) for `stall_for`.
    pub stall_after_bytes: Option<usize>,
    pub stall_for: Duration,
    /// Send the body one byte at a time, this long apart (a server trickling).
    pub trickle_every: Option<Duration>,
}

/// A file server on 127.0.0.1, stopped when dropped.
pub struct LoopbackServer {
    pub base_url: String,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

struct Shared {
    files: HashMap<String, (Vec<u8>, String)>,
    faults: Faults,
    cuts_done: AtomicUsize,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
}

impl LoopbackServer {
    /// Serves `files` (path without the leading slash -> bytes), each with a content-derived
    /// ETag.
    pub fn start(files: Vec<(String, Vec<u8>)>, faults: Faults) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let log: Arc<Mutex<Vec<LoggedRequest>>> = Arc::default();
        let shared = Arc::new(Shared {
            files: files
                .into_iter()
                .map(|(path, bytes)| {
                    let etag = format!("\"{:016x}-{}\"", fnv1a(&bytes), bytes.len());
                    (path, (bytes, etag))
                })
                .collect(),
            faults,
            cuts_done: AtomicUsize::new(0),
            log: log.clone(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let handle = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let shared = shared.clone();
                        std::thread::spawn(move || serve(conn, &shared));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Self {
            base_url,
            log,
            stop,
            handle: Some(handle),
        })
    }

    /// The requests served so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `bytes=a-b` or `bytes=a-` against a body of `len` bytes -> inclusive range.
fn parse_range(value: &str, len: usize) -> Option<(usize, usize)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: usize = a.trim().parse().ok()?;
    let end: usize = match b.trim() {
        "" => len.checked_sub(1)?,
        b => b.parse::<usize>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end && end < len).then_some((start, end))
}

fn serve(conn: TcpStream, shared: &Shared) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut out = write_half;
    // One request per connection keeps the fault injection simple.
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    if let Ok(mut log) = shared.log.lock() {
        log.push(LoggedRequest {
            method: method.clone(),
            path: path.clone(),
            range: headers.get("range").cloned(),
            user_agent: headers.get("user-agent").cloned(),
        });
    }
    let Some((body, etag)) = shared.files.get(path.trim_start_matches('/')) else {
        let _ = out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        return;
    };
    let if_range_ok = headers.get("if-range").is_none_or(|v| v == etag);
    let range = headers
        .get("range")
        .filter(|_| !shared.faults.no_ranges && if_range_ok)
        .map(|r| parse_range(r, body.len()));
    let (status, slice, extra) = match range {
        Some(Some((a, b))) => {
            let shift = shared.faults.range_shifted_by;
            let (a, b) = (
                (a + shift).min(body.len() - 1),
                (b + shift).min(body.len() - 1),
            );
            (
                "206 Partial Content",
                &body[a..=b],
                format!("Content-Range: bytes {a}-{b}/{}\r\n", body.len()),
            )
        }
        Some(None) => {
            let _ = out.write_all(
                format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            return;
        }
        None => ("200 OK", &body[..], String::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nETag: {etag}\r\n{extra}Connection: close\r\n\r\n",
        slice.len()
    );
    if out.write_all(head.as_bytes()).is_err() || method == "HEAD" {
        return;
    }
    let cut = shared.faults.cut_responses > 0
        && slice.len() > shared.faults.cut_bodies_longer_than
        && shared
            .cuts_done
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < shared.faults.cut_responses).then_some(n + 1)
            })
            .is_ok();
    if cut {
        let n = shared.faults.cut_after_bytes.min(slice.len());
        let _ = out.write_all(&slice[..n]);
        let _ = out.flush();
        let _ = out.shutdown(std::net::Shutdown::Both);
        return;
    }
    if let Some(n) = shared.faults.stall_after_bytes {
        let _ = out.write_all(&slice[..n.min(slice.len())]);
        let _ = out.flush();
        std::thread::sleep(shared.faults.stall_for);
        return;
    }
    if let Some(every) = shared.faults.trickle_every {
        for byte in slice {
            // A client that gave up closes the connection: the next write fails.
            if out.write_all(std::slice::from_ref(byte)).is_err() || out.flush().is_err() {
                return;
            }
            std::thread::sleep(every);
        }
        return;
    }
    let _ = out.write_all(slice);
    let _ = out.flush();
}

/// The gallery-embedding cache every test shares (the full 100k gallery takes ~30 s to embed):
/// `<target dir>/tmp/xdg-cache/geolens/geoclip`, the folder the end-to-end tests' binaries
/// use through `XDG_CACHE_HOME`. Found from the running test executable
/// (`<target dir>/<profile>/deps/...`).
pub fn shared_gallery_cache_dir() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join("tmp/xdg-cache/geolens/geoclip")
}

/// A valid PNG header claiming `width` x `height` pixels, then an empty image-data chunk and
/// nothing else: what a decoder must refuse before allocating any pixel.
pub fn huge_png_header(width: u32, height: u32) -> Vec<u8> {
    png_header(width, height, 8, 2)
}

/// [`huge_png_header`] of another bit depth and PNG colour type (6: RGBA).
pub fn png_header(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    push_png_chunk(&mut png, b"IHDR", &ihdr);
    push_png_chunk(&mut png, b"IDAT", &[]);
    png
}

fn png_crc(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn push_png_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = png_crc(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream that inflates to `n` zero bytes, about 13 bits per 258 of them (one fixed-
/// Huffman block of back-references): a decompression bomb for metadata tests.
pub fn zlib_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first.
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.len;
            self.len += count;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            let reversed = (0..count).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
            self.put(reversed, count);
        }
    }
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        len: 0,
    };
    bits.put(0b011, 3); // final block, fixed Huffman codes
    let mut left = n;
    if left > 0 {
        bits.code(0b0011_0000, 8); // literal 0
        left -= 1;
    }
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b0011_0000, 8);
    }
    bits.code(0, 7); // end of block
    if bits.len > 0 {
        bits.put(0, 8 - bits.len);
    }
    // Adler-32 of n zeros: a = 1, b = n.
    let adler = ((n % 65_521) << 16) as u32 | 1;
    bits.out.extend_from_slice(&adler.to_be_bytes());
    bits.out
}

/// A valid 16 x 16 grey PNG whose ICC profile (iCCP chunk) inflates to `profile_bytes`.
pub fn png_with_icc_profile_of(profile_bytes: u64) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    push_png_chunk(&mut png, b"IHDR", &ihdr);
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend(zlib_zeros(profile_bytes));
    push_png_chunk(&mut png, b"iCCP", &iccp);
    // 16 rows of filter byte 0 and 16 grey pixels.
    push_png_chunk(&mut png, b"IDAT", &zlib_zeros(16 * 17));
    push_png_chunk(&mut png, b"IEND", &[]);
    png
}

// EXIF blocks for tests of GPS reading (real photos with GPS are few and personal).

/// A big-endian TIFF/EXIF block with Make, Model, DateTimeOriginal and GPS
/// (`lat`/`lon` as degrees, minutes, seconds with their N/S/E/W references).
pub fn exif_block(lat: (u32, u32, u32, u8), lon: (u32, u32, u32, u8), taken_at: &str) -> Vec<u8> {
    exif_block_with_offset(lat, lon, taken_at, None)
}

/// [`exif_block`] with `OffsetTimeOriginal` (the camera clock's UTC offset, e.g. "+09:00")
/// in the Exif IFD when `utc_offset` is given.
pub fn exif_block_with_offset(
    lat: (u32, u32, u32, u8),
    lon: (u32, u32, u32, u8),
    taken_at: &str,
    utc_offset: Option<&str>,
) -> Vec<u8> {
    test_exif(&TestExif {
        make: "Canon",
        model: "Canon EOS 5D",
        gps: Some((lat, lon)),
        taken_at,
        utc_offset,
    })
}

/// A coordinate as EXIF writes it: degrees, minutes, hundredths of seconds, reference letter.
pub type Dms = (u32, u32, u32, u8);

/// What [`test_exif`] writes: a camera, an optional GPS position (degrees, minutes,
/// hundredths of seconds, reference letter), the capture time and an optional UTC offset.
pub struct TestExif<'a> {
    pub make: &'a str,
    pub model: &'a str,
    pub gps: Option<(Dms, Dms)>,
    pub taken_at: &'a str,
    pub utc_offset: Option<&'a str>,
}

/// A position in degrees as EXIF's (degrees, minutes, hundredths of seconds, reference).
pub fn dms(value_deg: f64, positive: u8, negative: u8) -> Dms {
    let reference = if value_deg < 0.0 { negative } else { positive };
    let hundredths = (value_deg.abs() * 360_000.0).round() as u64;
    let (d, rest) = (hundredths / 360_000, hundredths % 360_000);
    (
        d as u32,
        (rest / 6000) as u32,
        (rest % 6000) as u32,
        reference,
    )
}

/// A big-endian TIFF/EXIF block as [`TestExif`] says (GPS IFD only with a position).
pub fn test_exif(e: &TestExif) -> Vec<u8> {
    // Layout: header, IFD0 (Make, Model, ExifIFD pointer, GPS pointer), Exif IFD
    // (DateTimeOriginal), GPS IFD (4 entries), then the out-of-line values.
    let (taken_at, utc_offset) = (e.taken_at, e.utc_offset);
    let make = [e.make.as_bytes(), b"\0"].concat();
    let model = [e.model.as_bytes(), b"\0"].concat();
    let (lat, lon) = e.gps.unwrap_or(((0, 0, 0, b'N'), (0, 0, 0, b'E')));
    let with_gps = e.gps.is_some();
    let mut date = taken_at.as_bytes().to_vec();
    date.push(0);
    let ifd0_at = 8u32;
    let ifd0_entries = 3 + u32::from(with_gps);
    let ifd0_len = 2 + ifd0_entries * 12 + 4;
    let exif_at = ifd0_at + ifd0_len;
    let exif_entries = 1 + u32::from(utc_offset.is_some());
    let exif_len = 2 + 12 * exif_entries + 4;
    let gps_at = exif_at + exif_len;
    let gps_len = 2 + 4 * 12 + 4;
    let data_at = gps_at + gps_len;
    let mut values: Vec<u8> = Vec::new();
    let mut place = |bytes: &[u8]| -> u32 {
        let at = data_at + values.len() as u32;
        values.extend_from_slice(bytes);
        if values.len() % 2 == 1 {
            values.push(0);
        }
        at
    };
    let make_at = place(&make);
    let model_at = place(&model);
    let date_at = place(&date);
    let offset = utc_offset.map(|o| [o.as_bytes(), b"\0"].concat());
    // Four bytes or fewer sit in the entry itself, as TIFF says; longer ones out of line.
    let offset_at = offset.as_deref().map(|o| match o.len() {
        0..=4 => u32::from_be_bytes([0, 1, 2, 3].map(|i| o.get(i).copied().unwrap_or(0))),
        _ => place(o),
    });
    let rationals = |(d, m, s, _): (u32, u32, u32, u8)| -> Vec<u8> {
        [(d, 1u32), (m, 1), (s, 100)]
            .iter()
            .flat_map(|(n, den)| [n.to_be_bytes(), den.to_be_bytes()].concat())
            .collect()
    };
    let lat_at = place(&rationals(lat));
    let lon_at = place(&rationals(lon));
    let entry = |tag: u16, kind: u16, count: u32, value: u32| -> Vec<u8> {
        [
            tag.to_be_bytes().to_vec(),
            kind.to_be_bytes().to_vec(),
            count.to_be_bytes().to_vec(),
            value.to_be_bytes().to_vec(),
        ]
        .concat()
    };
    let inline_ascii = |c: u8| u32::from_be_bytes([c, 0, 0, 0]);
    let mut out = b"MM\0\x2a".to_vec();
    out.extend_from_slice(&ifd0_at.to_be_bytes());
    out.extend_from_slice(&(ifd0_entries as u16).to_be_bytes());
    out.extend(entry(0x010F, 2, make.len() as u32, make_at));
    out.extend(entry(0x0110, 2, model.len() as u32, model_at));
    out.extend(entry(0x8769, 4, 1, exif_at));
    if with_gps {
        out.extend(entry(0x8825, 4, 1, gps_at));
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&(exif_entries as u16).to_be_bytes());
    out.extend(entry(0x9003, 2, date.len() as u32, date_at));
    if let (Some(offset), Some(at)) = (&offset, offset_at) {
        out.extend(entry(0x9011, 2, offset.len() as u32, at));
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&4u16.to_be_bytes());
    out.extend(entry(0x0001, 2, 2, inline_ascii(lat.3)));
    out.extend(entry(0x0002, 5, 3, lat_at));
    out.extend(entry(0x0003, 2, 2, inline_ascii(lon.3)));
    out.extend(entry(0x0004, 5, 3, lon_at));
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&values);
    out
}

/// `jpeg` with `tiff` inserted as its APP1 EXIF segment.
pub fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=90-500", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}

/// Shape of a stand-in CLIP tower for tests of the whole pipeline (the real ViT-L/14 is 1.2 GB
/// and cannot be fetched on CI). Its weights are seeded noise: its predictions mean nothing,
/// and nothing but tests ever loads it.
#[derive(Debug, Clone, Copy)]
pub struct TestTower {
    pub image_size: usize,
    pub patch_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub projection_dim: usize,
}

impl Default for TestTower {
    /// Small and fast, with the 768 features GeoCLIP's head takes.
    fn default() -> Self {
        Self {
            image_size: 28,
            patch_size: 14,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            projection_dim: 768,
        }
    }
}

/// Writes `config.json` and `model.safetensors` for `tower` into `dir`, in the Hugging Face
/// layout of `CLIPVisionModelWithProjection` (PyTorch `[out, in]` linear weights).
pub fn write_test_clip_tower(
    dir: &std::path::Path,
    tower: TestTower,
    seed: u64,
) -> std::io::Result<()> {
    let (h, i) = (tower.hidden_size, tower.intermediate_size);
    let positions = (tower.image_size / tower.patch_size).pow(2) + 1;
    let mut tensors: Vec<(String, Vec<usize>)> = vec![
        ("vision_model.embeddings.class_embedding".into(), vec![h]),
        (
            "vision_model.embeddings.patch_embedding.weight".into(),
            vec![h, 3, tower.patch_size, tower.patch_size],
        ),
        (
            "vision_model.embeddings.position_embedding.weight".into(),
            vec![positions, h],
        ),
        ("vision_model.pre_layrnorm.weight".into(), vec![h]),
        ("vision_model.pre_layrnorm.bias".into(), vec![h]),
    ];
    for l in 0..tower.num_hidden_layers {
        let p = format!("vision_model.encoder.layers.{l}");
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            tensors.push((format!("{p}.self_attn.{proj}.weight"), vec![h, h]));
            tensors.push((format!("{p}.self_attn.{proj}.bias"), vec![h]));
        }
        for norm in ["layer_norm1", "layer_norm2"] {
            tensors.push((format!("{p}.{norm}.weight"), vec![h]));
            tensors.push((format!("{p}.{norm}.bias"), vec![h]));
        }
        tensors.push((format!("{p}.mlp.fc1.weight"), vec![i, h]));
        tensors.push((format!("{p}.mlp.fc1.bias"), vec![i]));
        tensors.push((format!("{p}.mlp.fc2.weight"), vec![h, i]));
        tensors.push((format!("{p}.mlp.fc2.bias"), vec![h]));
    }
    tensors.push(("vision_model.post_layernorm.weight".into(), vec![h]));
    tensors.push(("vision_model.post_layernorm.bias".into(), vec![h]));
    tensors.push((
        "visual_projection.weight".into(),
        vec![tower.projection_dim, h],
    ));

    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape) in &tensors {
        let count: usize = shape.iter().product();
        let is_norm_scale = name.ends_with("norm.weight")
            || name.ends_with("layernorm.weight")
            || name.ends_with("layer_norm1.weight")
            || name.ends_with("layer_norm2.weight");
        let begin = data.len();
        for _ in 0..count {
            let v = if is_norm_scale {
                1.0 + 0.1 * next()
            } else {
                0.5 * next()
            };
            data.extend_from_slice(&(v as f32).to_le_bytes());
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [begin, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&serde_json::Value::Object(header))?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    std::fs::create_dir_all(dir)?;
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&json);
    file.extend_from_slice(&data);
    std::fs::write(dir.join("model.safetensors"), file)?;
    let config = serde_json::json!({
        "architectures": ["CLIPVisionModelWithProjection"],
        "model_type": "clip_vision_model",
        "_comment": "geolens test stand-in: seeded noise, not a trained model",
        "hidden_act": "quick_gelu",
        "image_size": tower.image_size,
        "patch_size": tower.patch_size,
        "hidden_size": h,
        "intermediate_size": i,
        "num_hidden_layers": tower.num_hidden_layers,
        "num_attention_heads": tower.num_attention_heads,
        "projection_dim": tower.projection_dim,
        "layer_norm_eps": 1e-5,
    });
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)
}
