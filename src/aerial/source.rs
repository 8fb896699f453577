//! Where aerial tiles come from: a folder of tiles on disk (offline; `zoom/x/y.jpg`, the layout
//! every tile tool writes), or an online tile server, opt-in, cached on disk, a few requests at
//! a time, only for the tiles that are shown.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use image::RgbImage;

use super::AerialError;
use super::candidates::{MAX_ZOOM, MIN_ZOOM, TileId};
use crate::photo::decode::decode_photo_bytes;

/// Extensions read from a tile folder, in the order they are tried.
const TILE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];
/// A tile larger than this is not a map tile.
const MAX_TILE_BYTES: u64 = 8 << 20;
/// Requests at once to an online server.
pub const ONLINE_PARALLEL: usize = 2;

/// Something that hands out aerial tiles.
pub trait TileSource: Send + Sync {
    /// Short name for status lines ("ESRI World Imagery (online)").
    fn name(&self) -> String;
    /// What must be shown beside the tiles.
    fn attribution(&self) -> String;
    /// The tiles it holds, when it is a finite set (a folder); `None`: any tile (online).
    fn available(&self) -> Option<Vec<TileId>>;
    /// The tile's pixels; an error names the tile and why.
    fn fetch(&self, tile: TileId) -> Result<RgbImage, AerialError>;
    /// How long one run of [`fetch_tiles`] may take in all (`None`: no limit, a folder).
    fn run_deadline(&self) -> Option<Duration> {
        None
    }
}

/// The most one online tile may take, from request to last byte.
pub const TILE_DEADLINE: Duration = Duration::from_secs(10);
/// The most one run of online fetches may take; tiles not fetched by then are reported as such.
pub const ONLINE_RUN_DEADLINE: Duration = Duration::from_secs(60);

fn tile_error(tile: TileId, message: impl Into<String>) -> AerialError {
    AerialError::Tile {
        tile,
        message: message.into(),
    }
}

/// Longest side of a tile that is read, in pixels (map tiles are 256 or 512).
pub const MAX_TILE_PX: u32 = 2048;

/// Decodes a tile, refusing (from its header, before any pixel is allocated) an image larger
/// than a map tile.
fn decode_tile(tile: TileId, bytes: &[u8], name: &str) -> Result<RgbImage, AerialError> {
    let dimensions = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok());
    if let Some((w, h)) = dimensions
        && w.max(h) > MAX_TILE_PX
    {
        return Err(tile_error(
            tile,
            format!("{w}x{h} pixels is not a map tile (at most {MAX_TILE_PX} a side)"),
        ));
    }
    decode_photo_bytes(bytes, Path::new(name)).map_err(|e| tile_error(tile, e.to_string()))
}

/// A folder of tiles `zoom/x/y.{jpg,png,webp}` (zoom 16-18), with its provenance in
/// `ATTRIBUTION.txt` (first line shown beside the tiles).
#[derive(Debug, Clone)]
pub struct TileFolder {
    root: PathBuf,
    tiles: Vec<(TileId, PathBuf)>,
    attribution: String,
}

impl TileFolder {
    /// Lists the folder's tiles; an error when it holds none.
    pub fn open(root: &Path) -> Result<Self, AerialError> {
        let read_err = |path: &Path, e: std::io::Error| AerialError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut tiles = Vec::new();
        let entries = std::fs::read_dir(root).map_err(|e| read_err(root, e))?;
        for zoom_dir in entries.filter_map(Result::ok) {
            let Some(zoom) = dir_number(&zoom_dir.path()).and_then(|z| u8::try_from(z).ok()) else {
                continue;
            };
            if !(MIN_ZOOM..=MAX_ZOOM).contains(&zoom) {
                continue;
            }
            for x_dir in std::fs::read_dir(zoom_dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let Some(x) = dir_number(&x_dir.path()) else {
                    continue;
                };
                for file in std::fs::read_dir(x_dir.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let path = file.path();
                    let ext_ok = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        TILE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    });
                    let y = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .and_then(|s| s.parse::<u32>().ok());
                    if let (true, Some(y)) = (ext_ok, y)
                        && let Ok(tile) = format!("{zoom}/{x}/{y}").parse::<TileId>()
                    {
                        tiles.push((tile, path));
                    }
                }
            }
        }
        if tiles.is_empty() {
            return Err(AerialError::Read {
                path: root.to_owned(),
                message: format!(
                    "no aerial tiles here (looked for ZOOM/X/Y.jpg|png|webp, zoom {MIN_ZOOM}-{MAX_ZOOM})"
                ),
            });
        }
        tiles.sort();
        tiles.dedup_by_key(|(t, _)| *t);
        let attribution = std::fs::read_to_string(root.join("ATTRIBUTION.txt"))
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| format!("Tiles from {}", root.display()));
        Ok(Self {
            root: root.to_owned(),
            tiles,
            attribution,
        })
    }

    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

fn dir_number(path: &Path) -> Option<u32> {
    path.is_dir()
        .then(|| path.file_name()?.to_str()?.parse().ok())
        .flatten()
}

impl TileSource for TileFolder {
    fn name(&self) -> String {
        format!(
            "tile folder {} ({} tiles)",
            self.root.display(),
            self.tiles.len()
        )
    }

    fn attribution(&self) -> String {
        self.attribution.clone()
    }

    fn available(&self) -> Option<Vec<TileId>> {
        Some(self.tiles.iter().map(|(t, _)| *t).collect())
    }

    fn fetch(&self, tile: TileId) -> Result<RgbImage, AerialError> {
        let Ok(i) = self.tiles.binary_search_by_key(&tile, |(t, _)| *t) else {
            return Err(tile_error(tile, "not in the tile folder"));
        };
        let path = &self.tiles[i].1;
        let bytes = read_capped(path).map_err(|e| tile_error(tile, e))?;
        decode_tile(tile, &bytes, &path.to_string_lossy())
    }
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let file = crate::files::open_regular(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_TILE_BYTES {
        return Err(format!("{} is larger than a map tile", path.display()));
    }
    Ok(bytes)
}

/// An online tile server (`{z}`, `{x}`, `{y}` in the URL), every tile kept in a disk cache
/// and read from there next time.
pub struct OnlineTiles {
    name: String,
    url_template: String,
    attribution: String,
    cache_dir: Option<PathBuf>,
    client: Result<reqwest::blocking::Client, String>,
    tile_deadline: Duration,
    run_deadline: Duration,
}

/// ESRI World Imagery's tile URL (row before column).
pub const ESRI_WORLD_IMAGERY_URL: &str =
    "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}";
pub const ESRI_ATTRIBUTION: &str =
    "Imagery: Esri, Maxar, Earthstar Geographics, and the GIS User Community";

impl OnlineTiles {
    pub fn new(
        name: impl Into<String>,
        url_template: impl Into<String>,
        attribution: impl Into<String>,
        cache_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            name: name.into(),
            url_template: url_template.into(),
            attribution: attribution.into(),
            cache_dir,
            client: client_with_deadline(TILE_DEADLINE),
            tile_deadline: TILE_DEADLINE,
            run_deadline: ONLINE_RUN_DEADLINE,
        }
    }

    /// The most one tile (request to last byte) and one whole run may take.
    pub fn with_deadlines(mut self, tile: Duration, run: Duration) -> Self {
        self.client = client_with_deadline(tile);
        self.tile_deadline = tile;
        self.run_deadline = run;
        self
    }

    pub fn url(&self, tile: TileId) -> String {
        self.url_template
            .replace("{z}", &tile.zoom.to_string())
            .replace("{x}", &tile.x.to_string())
            .replace("{y}", &tile.y.to_string())
    }

    fn cache_path(&self, tile: TileId) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| {
            d.join(tile.zoom.to_string())
                .join(tile.x.to_string())
                .join(format!("{}.tile", tile.y))
        })
    }

    fn download(&self, tile: TileId) -> Result<Vec<u8>, AerialError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| tile_error(tile, e.clone()))?;
        let url = self.url(tile);
        let started = std::time::Instant::now();
        let response = client
            .get(&url)
            .send()
            .map_err(|e| tile_error(tile, format!("network: {}", network_message(e))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(tile_error(tile, format!("the server answered {status}")));
        }
        // Read in pieces, so that a server trickling bytes cannot hold a tile past its
        // deadline either.
        let mut bytes = Vec::new();
        let mut body = response.take(MAX_TILE_BYTES + 1);
        let mut piece = [0u8; 16 << 10];
        loop {
            if started.elapsed() > self.tile_deadline {
                return Err(tile_error(
                    tile,
                    format!(
                        "the server took longer than {} s",
                        self.tile_deadline.as_secs_f64()
                    ),
                ));
            }
            match body.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&piece[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(tile_error(tile, format!("network: {e}"))),
            }
        }
        if bytes.len() as u64 > MAX_TILE_BYTES {
            return Err(tile_error(tile, "the server sent more than a map tile"));
        }
        Ok(bytes)
    }
}

/// An HTTP client that waits at most `tile` for a connection, the headers or each read (the
/// blocking client's timeout bounds each wait, not the whole body).
fn client_with_deadline(tile: Duration) -> Result<reqwest::blocking::Client, String> {
    crate::net::blocking_client(tile, tile).map_err(|e| e.to_string())
}

/// A network error's message and causes, without the URL (the tile is named already).
fn network_message(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

impl TileSource for OnlineTiles {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn attribution(&self) -> String {
        self.attribution.clone()
    }

    fn available(&self) -> Option<Vec<TileId>> {
        None
    }

    fn run_deadline(&self) -> Option<Duration> {
        Some(self.run_deadline)
    }

    fn fetch(&self, tile: TileId) -> Result<RgbImage, AerialError> {
        let cached = self.cache_path(tile);
        if let Some(path) = &cached
            && let Ok(bytes) = read_capped(path)
            && let Ok(image) = decode_tile(tile, &bytes, "tile")
        {
            return Ok(image);
        }
        let bytes = self.download(tile)?;
        let image = decode_tile(tile, &bytes, "tile")?;
        // Only tiles that decode are kept; a failed write costs a download next time, no more.
        if let Some(path) = cached
            && let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let partial = path.with_extension("part");
            if std::fs::write(&partial, &bytes).is_ok() {
                let _ = std::fs::rename(&partial, &path);
            }
        }
        Ok(image)
    }
}

/// The candidate tiles of a prediction that `source` can give (see
/// [`super::candidates::candidates_around`]); an error when there are none.
pub fn candidates_from(
    source: &dyn TileSource,
    prediction: &crate::predict::Prediction,
    options: &super::CandidateOptions,
) -> Result<Vec<super::Candidate>, AerialError> {
    let available = source.available();
    let candidates = super::candidates::candidate_tiles(prediction, options, available.as_deref())?;
    if candidates.is_empty() {
        return Err(AerialError::Invalid(format!(
            "{} has no tiles near the {} most likely places",
            source.name(),
            options.places
        )));
    }
    Ok(candidates)
}

/// How many tiles to fetch at once: a few threads for a folder, [`ONLINE_PARALLEL`] for a
/// server.
pub fn parallelism(source: &dyn TileSource) -> usize {
    if source.available().is_some() {
        4
    } else {
        ONLINE_PARALLEL
    }
}

/// Fetches `tiles` with at most `parallel` at once, calling `each(index, result)` as each one
/// finishes (on the fetching threads); stops starting new ones once `cancelled()` is true.
/// One tile's failure does not stop the others. Past the source's run deadline, the tiles not
/// started are reported as not fetched.
pub fn fetch_tiles(
    source: &dyn TileSource,
    tiles: &[TileId],
    parallel: usize,
    each: &(dyn Fn(usize, Result<RgbImage, AerialError>) + Sync),
    cancelled: &(dyn Fn() -> bool + Sync),
) {
    let next = AtomicUsize::new(0);
    let deadline = source
        .run_deadline()
        .map(|d| (std::time::Instant::now() + d, d));
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, 8).min(tiles.len()) {
            scope.spawn(|| {
                loop {
                    if cancelled() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&tile) = tiles.get(i) else {
                        return;
                    };
                    match deadline {
                        Some((at, d)) if std::time::Instant::now() > at => each(
                            i,
                            Err(tile_error(
                                tile,
                                format!("not fetched: the run's {} s deadline passed", d.as_secs()),
                            )),
                        ),
                        _ => each(i, source.fetch(tile)),
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Faults, LoopbackServer};
    use std::sync::Mutex;

    fn png_of(colour: [u8; 3]) -> Vec<u8> {
        let mut bytes = Vec::new();
        RgbImage::from_pixel(16, 16, image::Rgb(colour))
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .expect("encodes");
        bytes
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("geolens-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_tile_folder_lists_and_reads_its_tiles() {
        let root = scratch("tile-folder");
        let write = |rel: &str, bytes: &[u8]| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        };
        write("17/100/200.png", &png_of([10, 200, 10]));
        write("16/50/100.jpg", b"not a jpeg");
        write("12/1/1.png", &png_of([1, 2, 3])); // too coarse: ignored
        write(
            "18/7/7.png",
            &crate::testing::huge_png_header(30_000, 30_000),
        );
        write("17/100/notes.txt", b"ignored");
        write("ATTRIBUTION.txt", b"Test tiles, public domain\nmore");
        let folder = TileFolder::open(&root).expect("opens");
        let tiles = folder.available().expect("finite");
        let t = |s: &str| s.parse::<TileId>().expect("tile");
        assert_eq!(tiles, [t("16/50/100"), t("17/100/200"), t("18/7/7")]);
        assert_eq!(folder.attribution(), "Test tiles, public domain");
        let image = folder.fetch(t("17/100/200")).expect("reads");
        assert_eq!(image.get_pixel(3, 3).0, [10, 200, 10]);
        let err = folder
            .fetch(t("16/50/100"))
            .expect_err("corrupt")
            .to_string();
        assert!(err.starts_with("tile 16/50/100:"), "{err}");
        let err = folder.fetch(t("18/7/7")).expect_err("huge").to_string();
        assert!(
            err.contains("30000x30000 pixels is not a map tile"),
            "{err}"
        );
        let err = folder.fetch(t("18/1/1")).expect_err("missing").to_string();
        assert!(err.contains("not in the tile folder"), "{err}");

        let empty = scratch("tile-folder-empty");
        std::fs::create_dir_all(&empty).expect("mkdir");
        let err = TileFolder::open(&empty).expect_err("no tiles").to_string();
        assert!(err.contains("no aerial tiles"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
        let _ = std::fs::remove_dir_all(&empty);
    }

    #[test]
    fn online_tiles_are_cached_and_failures_stay_per_tile() {
        let server = LoopbackServer::start(
            vec![
                ("17/1/2.png".into(), png_of([200, 10, 10])),
                ("17/1/3.png".into(), b"<html>quota exceeded</html>".to_vec()),
            ],
            Faults::default(),
        )
        .expect("server");
        let cache = scratch("online-tiles");
        let source = OnlineTiles::new(
            "test server",
            format!("{}/{{z}}/{{x}}/{{y}}.png", server.base_url),
            "Test",
            Some(cache.clone()),
        );
        let t = |s: &str| s.parse::<TileId>().expect("tile");
        let tiles = [t("17/1/2"), t("17/1/3"), t("17/1/4")];
        let results = Mutex::new(vec![None, None, None]);
        fetch_tiles(
            &source,
            &tiles,
            ONLINE_PARALLEL,
            &|i, r| results.lock().expect("lock")[i] = Some(r.map_err(|e| e.to_string())),
            &|| false,
        );
        let results = results.into_inner().expect("lock");
        let ok = results[0]
            .as_ref()
            .expect("done")
            .as_ref()
            .expect("fetched");
        assert_eq!(ok.get_pixel(0, 0).0, [200, 10, 10]);
        let bad = results[1]
            .as_ref()
            .expect("done")
            .as_ref()
            .expect_err("not an image");
        assert!(bad.starts_with("tile 17/1/3:"), "{bad}");
        let missing = results[2]
            .as_ref()
            .expect("done")
            .as_ref()
            .expect_err("404");
        assert!(missing.contains("404"), "{missing}");
        assert!(cache.join("17/1/2.tile").is_file());
        assert!(
            !cache.join("17/1/3.tile").exists(),
            "only decodable tiles are cached"
        );
        assert!(server.requests().iter().all(|r| {
            r.user_agent
                .as_deref()
                .is_some_and(|ua| ua.starts_with("geolens/"))
        }));

        // The cached tile is served without the network.
        let served = server.requests().len();
        drop(server);
        let again = source.fetch(t("17/1/2")).expect("from the cache");
        assert_eq!(again.get_pixel(0, 0).0, [200, 10, 10]);
        assert!(served >= 3);
        // With the server gone, an uncached tile fails with a network error, quickly.
        let err = source.fetch(t("17/1/9")).expect_err("offline").to_string();
        assert!(err.contains("network"), "{err}");
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn a_stalling_server_holds_no_tile_past_its_deadline_nor_a_run_past_its_own() {
        let faults = Faults {
            stall_after_bytes: Some(3),
            stall_for: Duration::from_secs(30),
            ..Faults::default()
        };
        let files: Vec<(String, Vec<u8>)> = (0..10)
            .map(|y| (format!("16/1/{y}.png"), png_of([10, 20, 30])))
            .collect();
        let server = LoopbackServer::start(files, faults).expect("server");
        let source = OnlineTiles::new(
            "stalling",
            format!("{}/{{z}}/{{x}}/{{y}}.png", server.base_url),
            "",
            None,
        )
        .with_deadlines(Duration::from_millis(700), Duration::from_millis(2000));
        let tiles: Vec<TileId> = (0..10).map(|y| TileId { zoom: 16, x: 1, y }).collect();
        let results = Mutex::new(vec![None; 10]);
        let started = std::time::Instant::now();
        fetch_tiles(
            &source,
            &tiles,
            2,
            &|i, r| {
                results.lock().expect("lock")[i] = Some(r.map(|_| ()).map_err(|e| e.to_string()))
            },
            &|| false,
        );
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        let results = results.into_inner().expect("lock");
        assert!(
            results.iter().all(|r| matches!(r, Some(Err(_)))),
            "{results:?}"
        );
        let deadline = results
            .iter()
            .filter(|r| matches!(r, Some(Err(e)) if e.contains("deadline passed")))
            .count();
        assert!((1..10).contains(&deadline), "{results:?}");
    }

    #[test]
    fn fetching_stops_when_cancelled() {
        let source = OnlineTiles::new("nowhere", "http://127.0.0.1:9/{z}/{x}/{y}", "", None);
        let tiles: Vec<TileId> = (0..10).map(|y| TileId { zoom: 16, x: 1, y }).collect();
        let calls = AtomicUsize::new(0);
        fetch_tiles(
            &source,
            &tiles,
            2,
            &|_, _| {
                calls.fetch_add(1, Ordering::SeqCst);
            },
            &|| calls.load(Ordering::SeqCst) >= 2,
        );
        assert!(calls.load(Ordering::SeqCst) <= 3);
    }
}
