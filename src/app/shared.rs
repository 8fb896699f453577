//! What every screen shares, lent to the active view for one frame: the settings, the photo
//! queue, the model worker and what the model said, and the map's heatmap. A view draws with
//! it and asks the app, through its own state, for what only the app can do (open a dialog,
//! open photos).

use super::photos::PhotoQueue;
use super::state::AppState;
use super::view::Fitted;
use super::worker::Worker;
use super::{HeatmapKey, ModelView};
use walkers::lat_lon;

use crate::geo::geocells::Granularity;
use crate::map::heatmap::Heatmap;
use crate::scores::CellScore;

/// The shared parts of [`GeolensApp`], borrowed apart from the view that draws.
pub struct Shared<'a> {
    pub(super) state: &'a mut AppState,
    pub(super) photos: &'a mut PhotoQueue,
    pub(super) worker: &'a Worker,
    pub(super) model: &'a mut ModelView,
    pub(super) heatmap: &'a mut Option<(HeatmapKey, Granularity, Heatmap)>,
    /// What the map was last fitted to (cleared to fit it again).
    pub(super) fitted: &'a mut Option<Fitted>,
    pub(super) file_scores: &'a Option<(String, Vec<CellScore>)>,
    /// The system's file dialog could not be shown.
    pub(super) dialog_unavailable: bool,
}

impl Shared<'_> {
    /// Flies the map to a place at a zoom that shows a cell of `cell_level`.
    pub(super) fn fly_to(&mut self, lat_deg: f64, lon_deg: f64, cell_level: u64) {
        self.state.map_memory.center_at(lat_lon(lat_deg, lon_deg));
        let _ = self
            .state
            .map_memory
            .set_zoom((cell_level as f64 + 1.5).clamp(2.0, 16.0));
    }

    /// What the heatmap shows, in a sentence.
    pub(super) fn heatmap_description(&self) -> String {
        match self.heatmap.as_ref().map(|(k, _, _)| *k) {
            Some(HeatmapKey::Photo(_)) => format!(
                "The model's probability for each of the {} geocells.",
                self.state.granularity.label()
            ),
            Some(HeatmapKey::File) => match &self.file_scores {
                Some((name, scores)) if scores.len() == 1 => format!("1 cell from {name}"),
                Some((name, scores)) => format!("{} cells from {name}", scores.len()),
                None => String::new(),
            },
            _ => format!(
                "Sample layer (no prediction shown): where people take photos. Density of the \
                 100k geotagged photos in GeoCLIP's gallery over the {} geocells, per 1000 km².",
                self.state.granularity.label()
            ),
        }
    }
}
