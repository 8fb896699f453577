//! Opt-in online layers: OpenStreetMap and ESRI World Imagery through walkers' [`HttpTiles`],
//! cached on disk, with an honest User-Agent. Off by default; the offline basemap shows
//! through wherever these tiles are missing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use walkers::sources::{Attribution, OpenStreetMap, TileSource};
use walkers::{HttpOptions, HttpTiles, MaxParallelDownloads, TileId};

/// Sent with every tile request, as the OSM tile usage policy asks.
pub const USER_AGENT: &str = concat!(
    "geolens/",
    env!("CARGO_PKG_VERSION"),
    " (offline-first photo geolocation desktop app)"
);

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
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let name = match layer {
        OnlineLayer::Off => return None,
        OnlineLayer::OpenStreetMap => "osm",
        OnlineLayer::Aerial => "esri-world-imagery",
    };
    Some(base.join("geolens").join("tiles").join(name))
}

fn http_options(layer: OnlineLayer) -> HttpOptions {
    HttpOptions {
        cache: tile_cache_dir(layer),
        user_agent: walkers::HeaderValue::from_str(USER_AGENT).ok(),
        // Two connections: polite to volunteer-run servers, plenty for one person panning.
        max_parallel_downloads: MaxParallelDownloads::value_manually_confirmed_with_provider_limits(
            2,
        ),
        ..HttpOptions::default()
    }
}

/// Builds the HTTP tile layer; `None` for [`OnlineLayer::Off`]. Nothing is fetched until the
/// map asks for a tile.
pub fn http_tiles(layer: OnlineLayer, egui_ctx: egui::Context) -> Option<HttpTiles> {
    // reqwest is built without a default TLS provider: install ring's once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match layer {
        OnlineLayer::Off => None,
        OnlineLayer::OpenStreetMap => Some(HttpTiles::with_options(
            OpenStreetMap,
            http_options(layer),
            egui_ctx,
        )),
        OnlineLayer::Aerial => Some(HttpTiles::with_options(
            EsriWorldImagery,
            http_options(layer),
            egui_ctx,
        )),
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
