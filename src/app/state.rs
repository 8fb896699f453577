//! Everything the GUI remembers between runs, in one serialisable struct.

use serde::{Deserialize, Serialize};
use walkers::MapMemory;

use crate::geo::geocells::Granularity;
use crate::map::heatmap::HeatmapStyle;
use crate::map::online::OnlineLayer;

/// Storage key of [`AppState`] in eframe's persistence.
pub const STATE_KEY: &str = "geolens-state";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    pub map_memory: MapMemory,
    pub heatmap_style: HeatmapStyle,
    pub show_heatmap: bool,
    pub granularity: Granularity,
    pub online_layer: OnlineLayer,
    pub side_panel_open: bool,
}

impl Default for AppState {
    fn default() -> Self {
        let mut map_memory = MapMemory::default();
        map_memory.center_at(walkers::lat_lon(25.0, 10.0));
        let _ = map_memory.set_zoom(2.0);
        Self {
            map_memory,
            heatmap_style: HeatmapStyle::default(),
            show_heatmap: true,
            granularity: Granularity::Middle,
            online_layer: OnlineLayer::Off,
            side_panel_open: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json_and_tolerates_missing_fields() {
        let mut state = AppState {
            granularity: Granularity::Fine,
            online_layer: OnlineLayer::Aerial,
            ..AppState::default()
        };
        state.heatmap_style.opacity = 0.3;
        let _ = state.map_memory.set_zoom(7.5);
        let json = serde_json::to_string(&state).expect("serialises");
        let back: AppState = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back.granularity, Granularity::Fine);
        assert_eq!(back.online_layer, OnlineLayer::Aerial);
        assert_eq!(back.heatmap_style.opacity, 0.3);
        assert_eq!(back.map_memory.zoom(), 7.5);
        // Settings saved by an older version (fields missing) still load, with defaults.
        let old: AppState = serde_json::from_str(r#"{"show_heatmap": false}"#).expect("loads");
        assert!(!old.show_heatmap);
        assert_eq!(old.online_layer, OnlineLayer::Off);
    }
}
