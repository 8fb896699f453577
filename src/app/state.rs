//! Everything the GUI remembers between runs, in one serialisable struct.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use walkers::MapMemory;

use crate::aerial::{CandidateOptions, TileChoice, TowerKind};
use crate::geo::geocells::Granularity;
use crate::map::heatmap::HeatmapStyle;
use crate::map::online::OnlineLayer;
use crate::model::backend::BackendChoice;

/// Storage key of [`AppState`] in eframe's persistence.
pub const STATE_KEY: &str = "geolens-state";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the system's light or dark setting.
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    pub const ALL: [ThemeChoice; 3] = [Self::System, Self::Light, Self::Dark];

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Light => egui::ThemePreference::Light,
            Self::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// What the main window shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Mode {
    /// Photos, their heatmaps and results.
    #[default]
    Explore,
    /// The guessing game.
    Game,
    /// A folder of photos read as a library: positions proposed for those without.
    Library,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    pub map_memory: MapMemory,
    pub heatmap_style: HeatmapStyle,
    pub show_heatmap: bool,
    /// Place names (countries, regions, cities) over the map.
    pub show_labels: bool,
    /// The 50 % and 90 % credible regions outlined over a result's heatmap.
    pub show_regions: bool,
    /// The area whose time zones kept the camera clock's offset, outlined.
    pub show_clock: bool,
    /// Answers weighed by their photos' clocks.
    pub clock_prior: bool,
    /// How XMP sidecars are named (as the user's photo organiser expects).
    pub sidecar_naming: crate::sidecar::SidecarNaming,
    /// The format the filmstrip is exported in.
    pub export_format: crate::export::ExportFormat,
    pub granularity: Granularity,
    pub online_layer: OnlineLayer,
    pub side_panel_open: bool,
    pub results_panel_open: bool,
    pub theme: ThemeChoice,
    pub backend: BackendChoice,
    /// CLIP tower folder chosen by the user (`None`: where `geolens models fetch` puts it).
    pub model_dir: Option<PathBuf>,
    /// Where the open dialog starts.
    pub last_folder: Option<PathBuf>,
    /// Show the EXIF position and the line to the model's guess.
    pub show_truth: bool,
    /// Patches per side of the spatial-support map.
    pub occlusion_grid: usize,
    pub mode: Mode,
    /// Which proposals the library screen shows.
    pub library_filter: crate::app::library::LibraryFilter,
    /// Seconds per game round (0: no timer).
    pub game_timer_s: u32,
    pub game_rounds: usize,
    /// Aerial tiles for matching: a folder of `ZOOM/X/Y.jpg` tiles (first choice)...
    pub aerial_folder: Option<PathBuf>,
    /// ...or, when the user allowed it, ESRI World Imagery fetched online.
    pub aerial_online: bool,
    pub aerial_candidates: CandidateOptions,
    pub aerial_prior_weight: f64,
    pub aerial_towers: TowerKind,
}

impl AppState {
    /// Where aerial tiles come from, as set; `None` when neither is set.
    pub fn aerial_tiles(&self) -> Option<TileChoice> {
        match (&self.aerial_folder, self.aerial_online) {
            (Some(dir), _) => Some(TileChoice::Folder(dir.clone())),
            (None, true) => Some(TileChoice::Online {
                url: None,
                cache_dir: None,
            }),
            (None, false) => None,
        }
    }
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
            show_labels: true,
            show_regions: true,
            show_clock: true,
            clock_prior: false,
            sidecar_naming: crate::sidecar::SidecarNaming::default(),
            export_format: crate::export::ExportFormat::default(),
            granularity: Granularity::Middle,
            online_layer: OnlineLayer::Off,
            side_panel_open: true,
            results_panel_open: true,
            theme: ThemeChoice::System,
            backend: BackendChoice::Auto,
            model_dir: None,
            last_folder: None,
            show_truth: true,
            occlusion_grid: 6,
            mode: Mode::Explore,
            library_filter: Default::default(),
            game_timer_s: 0,
            game_rounds: 5,
            aerial_folder: None,
            aerial_online: false,
            aerial_candidates: CandidateOptions::default(),
            aerial_prior_weight: crate::aerial::rank::DEFAULT_PRIOR_WEIGHT,
            aerial_towers: TowerKind::Clip,
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
            theme: ThemeChoice::Dark,
            backend: BackendChoice::Cpu,
            last_folder: Some(PathBuf::from("/photos/2024")),
            ..AppState::default()
        };
        state.heatmap_style.opacity = 0.3;
        let _ = state.map_memory.set_zoom(7.5);
        let json = serde_json::to_string(&state).expect("serialises");
        let back: AppState = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back.granularity, Granularity::Fine);
        assert_eq!(back.online_layer, OnlineLayer::Aerial);
        assert_eq!(back.theme, ThemeChoice::Dark);
        assert_eq!(back.backend, BackendChoice::Cpu);
        assert_eq!(back.last_folder, state.last_folder);
        assert_eq!(back.heatmap_style.opacity, 0.3);
        assert_eq!(back.map_memory.zoom(), 7.5);
        // Settings saved by an older version (fields missing) still load, with defaults.
        let old: AppState = serde_json::from_str(r#"{"show_heatmap": false}"#).expect("loads");
        assert!(!old.show_heatmap);
        assert_eq!(old.online_layer, OnlineLayer::Off);
        assert_eq!(old.theme, ThemeChoice::System);
        assert_eq!(
            old.aerial_tiles(),
            None,
            "no tiles are fetched unless asked"
        );
        let online = AppState {
            aerial_online: true,
            ..AppState::default()
        };
        assert_eq!(
            online.aerial_tiles(),
            Some(TileChoice::Online {
                url: None,
                cache_dir: None,
            })
        );
        let both = AppState {
            aerial_folder: Some(PathBuf::from("/tiles")),
            ..online
        };
        assert_eq!(
            both.aerial_tiles(),
            Some(TileChoice::Folder(PathBuf::from("/tiles"))),
            "a folder is used before the network"
        );
    }
}
