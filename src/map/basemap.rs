//! The offline basemap: a walkers [`Tiles`] source over the tile pack embedded in the binary.

use std::collections::HashMap;

use egui::{Rect, pos2};
use walkers::sources::Attribution;
use walkers::{Style, Tile, TileId, TilePiece, Tiles};

use super::tile_pack::{TileKey, TilePack, TilePackError};
use crate::geo::mercator::{TILE_PX, ancestor_tile};

/// Shaded relief with Natural Earth coastlines and borders, z0..z6 (see `assets/README.md`).
pub static EMBEDDED_BASEMAP: &[u8] = include_bytes!("../../assets/basemap.pack");

/// Decoded tile textures kept on the GPU at most; older ones are dropped first.
const MAX_CACHED_TEXTURES: usize = 384;

/// Loads the embedded basemap pack.
pub fn embedded_pack() -> Result<TilePack, TilePackError> {
    TilePack::parse(EMBEDDED_BASEMAP)
}

pub struct OfflineBasemap {
    pack: TilePack,
    egui_ctx: egui::Context,
    /// Decoded textures (None: the blob would not decode) and when each was last used.
    textures: HashMap<TileKey, (Option<Tile>, u64)>,
    uses: u64,
}

impl OfflineBasemap {
    pub fn new(pack: TilePack, egui_ctx: egui::Context) -> Self {
        Self {
            pack,
            egui_ctx,
            textures: HashMap::new(),
            uses: 0,
        }
    }

    fn texture(&mut self, key: TileKey) -> Option<Tile> {
        self.uses += 1;
        if let Some((tile, last_used)) = self.textures.get_mut(&key) {
            *last_used = self.uses;
            return tile.clone();
        }
        if self.textures.len() >= MAX_CACHED_TEXTURES
            && let Some(oldest) = self
                .textures
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
        {
            self.textures.remove(&oldest);
        }
        let zoom = key.zoom.min(u8::MAX as u32) as u8;
        let tile = self
            .pack
            .get(key)
            .and_then(|bytes| Tile::new(bytes, &Style, zoom, TILE_PX, &self.egui_ctx).ok());
        self.textures.insert(key, (tile.clone(), self.uses));
        tile
    }
}

impl Tiles for OfflineBasemap {
    fn at(&mut self, tile_id: TileId) -> Option<TilePiece> {
        let stored_zoom = self.pack.max_zoom().min(u8::MAX as u32) as u8;
        let (x, y, uv_min, uv_max) = ancestor_tile(tile_id.x, tile_id.y, tile_id.zoom, stored_zoom);
        let key = TileKey {
            zoom: u32::from(tile_id.zoom.min(stored_zoom)),
            x,
            y,
        };
        let tile = self.texture(key)?;
        Some(TilePiece::new(
            tile,
            Rect::from_min_max(pos2(uv_min[0], uv_min[1]), pos2(uv_max[0], uv_max[1])),
        ))
    }

    fn attribution(&self) -> Attribution {
        Attribution {
            text: "Relief, borders & country names: Natural Earth (public domain); \
                   place names: GeoNames (CC BY 4.0)",
            url: "https://www.naturalearthdata.com/about/terms-of-use/",
            logo_light: None,
            logo_dark: None,
        }
    }

    fn tile_size(&self) -> u32 {
        TILE_PX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::mercator::{tile_from_world, world_from_lat_lon};

    /// The colour of the shipped basemap at a place, read from its z`zoom` tile.
    fn basemap_rgb(pack: &TilePack, lat_deg: f64, lon_deg: f64, zoom: u8) -> [u8; 3] {
        let p = world_from_lat_lon(lat_deg, lon_deg);
        let (x, y) = tile_from_world(p, zoom);
        let blob = pack
            .get(TileKey {
                zoom: zoom.into(),
                x,
                y,
            })
            .expect("tile present");
        let img = image::load_from_memory(blob)
            .expect("tile decodes")
            .to_rgb8();
        assert_eq!(img.dimensions(), (TILE_PX, TILE_PX));
        let n = f64::from(1u32 << zoom);
        let px = ((p.x * n - f64::from(x)) * f64::from(TILE_PX)) as u32;
        let py = ((p.y * n - f64::from(y)) * f64::from(TILE_PX)) as u32;
        img.get_pixel(px.min(TILE_PX - 1), py.min(TILE_PX - 1)).0
    }

    #[test]
    fn embedded_pack_holds_every_tile_to_zoom_6() {
        let pack = embedded_pack().expect("embedded pack parses");
        assert_eq!(pack.max_zoom(), 6);
        let expected: usize = (0..=6).map(|z| 1usize << (2 * z)).sum();
        assert_eq!(pack.len(), expected);
        for zoom in 0..=6u32 {
            for (x, y) in [(0, 0), ((1 << zoom) - 1, (1 << zoom) - 1)] {
                assert!(pack.get(TileKey { zoom, x, y }).is_some());
            }
        }
    }

    #[test]
    fn embedded_basemap_has_ocean_and_land_where_they_belong() {
        let pack = embedded_pack().expect("embedded pack parses");
        let is_ocean = |[r, g, b]: [u8; 3]| b > r + 40 && b > g;
        for zoom in [0, 3, 6] {
            // Mid-Pacific and mid-Atlantic are water; the Sahara and central Australia are not.
            for (lat, lon) in [(0.0, -140.0), (-30.0, -20.0)] {
                let c = basemap_rgb(&pack, lat, lon, zoom);
                assert!(is_ocean(c), "z{zoom} ({lat}, {lon}) = {c:?}");
            }
            for (lat, lon) in [(23.0, 12.0), (-25.0, 133.0)] {
                let c = basemap_rgb(&pack, lat, lon, zoom);
                assert!(!is_ocean(c), "z{zoom} ({lat}, {lon}) = {c:?}");
            }
        }
    }
}
