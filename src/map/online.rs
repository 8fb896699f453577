//! Opt-in online layers: OpenStreetMap and ESRI World Imagery through walkers' [`HttpTiles`],
//! cached on disk, with an honest User-Agent. Off by default; the offline basemap shows
//! through wherever these tiles are missing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use walkers::sources::{Attribution, OpenStreetMap, TileSource};
use walkers::{HttpOptions, HttpTiles, MaxParallelDownloads, TileId};

pub use crate::USER_AGENT;

/// Which online layer to draw over the offline basemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OnlineLayer {
    #[default]
    Off,
    OpenStreetMap,
    Aerial,
}

impl OnlineLayer {
    pub const ALL: [OnlineLayer; 3] = [Self::Off, Self::OpenStreetMap, Self::Aerial];

    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "Offline basemap only",
            Self::OpenStreetMap => "OpenStreetMap (online)",
            Self::Aerial => "Aerial imagery: ESRI (online)",
        }
    }
}

/// ESRI World Imagery. Its terms allow interactive viewing with attribution, not bulk fetching.
pub struct EsriWorldImagery;

impl TileSource for EsriWorldImagery {
    fn tile_url(&self, tile_id: TileId) -> String {
        format!(
            "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{}/{}/{}",
            tile_id.zoom, tile_id.y, tile_id.x
        )
    }

    fn attribution(&self) -> Attribution {
        Attribution {
            text: "Imagery: Esri, Maxar, Earthstar Geographics, and the GIS User Community",
            url: "https://www.esri.com/en-us/legal/terms/full-master-agreement",
            logo_light: None,
            logo_dark: None,
        }
    }

    fn max_zoom(&self) -> u8 {
        18
    }
}

/// Where downloaded tiles are cached: `$XDG_CACHE_HOME/geolens/tiles/<layer>` (or `~/.cache`).
pub fn tile_cache_dir(layer: OnlineLayer) -> Option<PathBuf> {
    let base = crate::paths::user_cache_dir()?;
    let name = match layer {
        OnlineLayer::Off => return None,
        OnlineLayer::OpenStreetMap => "osm",
        OnlineLayer::Aerial => "esri-world-imagery",
    };
    Some(base.join("tiles").join(name))
}

fn http_options(cache: Option<PathBuf>) -> HttpOptions {
    HttpOptions {
        cache,
        user_agent: walkers::HeaderValue::from_str(USER_AGENT).ok(),
        // Two connections: polite to volunteer-run servers, plenty for one person panning.
        max_parallel_downloads: MaxParallelDownloads::value_manually_confirmed_with_provider_limits(
            2,
        ),
        ..HttpOptions::default()
    }
}

/// An HTTP tile layer over any source, with our User-Agent and an optional disk cache.
pub fn http_tiles_from<S>(source: S, cache: Option<PathBuf>, egui_ctx: egui::Context) -> HttpTiles
where
    S: TileSource + Sync + Send + 'static,
{
    // reqwest is built without a default TLS provider: install ring's once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    HttpTiles::with_options(source, http_options(cache), egui_ctx)
}

/// Builds the HTTP tile layer; `None` for [`OnlineLayer::Off`]. Nothing is fetched until the
/// map asks for a tile.
pub fn http_tiles(layer: OnlineLayer, egui_ctx: egui::Context) -> Option<HttpTiles> {
    let cache = tile_cache_dir(layer);
    match layer {
        OnlineLayer::Off => None,
        OnlineLayer::OpenStreetMap => Some(http_tiles_from(OpenStreetMap, cache, egui_ctx)),
        OnlineLayer::Aerial => Some(http_tiles_from(EsriWorldImagery, cache, egui_ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esri_urls_use_row_before_column() {
        let url = EsriWorldImagery.tile_url(TileId {
            x: 3,
            y: 5,
            zoom: 4,
        });
        assert!(url.ends_with("/tile/4/5/3"), "{url}");
    }

    #[test]
    fn user_agent_is_a_valid_header_naming_the_app() {
        assert!(walkers::HeaderValue::from_str(USER_AGENT).is_ok());
        assert!(USER_AGENT.starts_with("geolens/"));
    }

    /// Tiles from a server on loopback.
    struct Loopback(String);

    impl TileSource for Loopback {
        fn tile_url(&self, t: TileId) -> String {
            format!("{}/{}/{}/{}.png", self.0, t.zoom, t.x, t.y)
        }

        fn attribution(&self) -> Attribution {
            Attribution {
                text: "test",
                url: "http://127.0.0.1",
                logo_light: None,
                logo_dark: None,
            }
        }
    }

    /// Serves one PNG (cacheable for a day) to every request, recording the request heads,
    /// until `stop` is set. Bounded: at most 50 connections.
    fn serve_png(
        listener: std::net::TcpListener,
        heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        use std::io::{Read, Write};
        let mut png = Vec::new();
        image::RgbImage::from_pixel(256, 256, image::Rgb([10, 200, 30]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode png");
        listener.set_nonblocking(true).expect("nonblocking");
        let mut served = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) && served < 50 {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            };
            served += 1;
            let _ = conn.set_nonblocking(false);
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            heads
                .lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&head).into_owned());
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nCache-Control: public, max-age=86400\r\nConnection: close\r\n\r\n",
                png.len()
            );
            let _ = conn.write_all(reply.as_bytes());
            let _ = conn.write_all(&png);
        }
    }

    /// Polls `at` (as the map does every frame) until a tile arrives or 10 s pass.
    fn wait_for_tile(tiles: &mut HttpTiles, id: TileId) -> bool {
        use walkers::Tiles;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(10) {
            if tiles.at(id).is_some() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn fetches_with_our_user_agent_caches_on_disk_and_serves_the_cache_offline() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let cache = std::env::temp_dir().join(format!("geolens-tile-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let heads: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (heads, stop) = (heads.clone(), stop.clone());
            std::thread::spawn(move || serve_png(listener, heads, stop))
        };
        let tile = TileId {
            x: 1,
            y: 2,
            zoom: 3,
        };
        let ctx = egui::Context::default();
        let mut online = http_tiles_from(Loopback(base.clone()), Some(cache.clone()), ctx.clone());
        assert!(wait_for_tile(&mut online, tile), "tile never arrived");
        let first = heads
            .lock()
            .expect("lock")
            .first()
            .cloned()
            .unwrap_or_default();
        assert!(first.starts_with("GET /3/1/2.png"), "{first}");
        assert!(
            first
                .to_ascii_lowercase()
                .contains(&format!("user-agent: {}", USER_AGENT.to_ascii_lowercase())),
            "{first}"
        );
        let cached_files = walk_files(&cache);
        assert!(cached_files > 0, "nothing cached under {}", cache.display());

        // Server gone: a new layer over the same cache still shows the tile; an uncached tile
        // stays missing (so the offline basemap shows through) and nothing panics.
        stop.store(true, Ordering::SeqCst);
        server.join().expect("server thread");
        let requests_before = heads.lock().expect("lock").len();
        let mut offline = http_tiles_from(Loopback(base), Some(cache.clone()), ctx);
        assert!(
            wait_for_tile(&mut offline, tile),
            "cached tile not served offline"
        );
        use walkers::Tiles;
        let uncached = TileId {
            x: 0,
            y: 0,
            zoom: 3,
        };
        for _ in 0..20 {
            assert!(offline.at(uncached).is_none());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(heads.lock().expect("lock").len(), requests_before);
        let _ = std::fs::remove_dir_all(&cache);
    }

    fn walk_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk_files(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }

    #[test]
    fn each_online_layer_has_its_own_cache_and_off_has_none() {
        assert!(tile_cache_dir(OnlineLayer::Off).is_none());
        if std::env::var_os("HOME").is_some() {
            let osm = tile_cache_dir(OnlineLayer::OpenStreetMap).expect("cache dir");
            let aerial = tile_cache_dir(OnlineLayer::Aerial).expect("cache dir");
            assert_ne!(osm, aerial);
            assert!(osm.ends_with("geolens/tiles/osm"));
        }
    }
}
