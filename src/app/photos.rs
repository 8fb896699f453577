//! The photos the user opened: a queue (the filmstrip) fed by the worker's events, and which
//! one is shown. A photo that fails never takes the place of the one on screen.

use std::sync::Arc;

use image::RgbImage;

use crate::app::worker::{Event, PhotoId};
use crate::geo::geocells::Granularity;
use crate::photo::exif::PhotoFacts;
use crate::predict::{
    CREDIBLE_MASSES, ClockAnswer, CredibleRegion, OcclusionMap, PlaceGuess, PointGuess, Prediction,
    StageTimes,
};

#[derive(Debug, Clone, PartialEq)]
pub enum PhotoStatus {
    Decoding,
    /// Decoded; waiting for the model (loading, missing, or busy with earlier photos).
    Waiting,
    Running,
    Done,
    Failed(String),
}

/// Places listed per photo.
pub const TOP_PLACES: usize = 10;

pub struct PhotoEntry {
    pub id: PhotoId,
    pub name: String,
    pub status: PhotoStatus,
    /// Downscaled for display.
    pub preview: Option<Arc<RgbImage>>,
    pub texture: Option<egui::TextureHandle>,
    pub facts: PhotoFacts,
    /// The photo's file, when it came from one (sidecars are written beside it).
    pub path: Option<std::path::PathBuf>,
    /// The location the user set for the photo, and where it came from.
    pub chosen: Option<(crate::geo::latlon::LatLonDeg, String)>,
    /// The model's own answer.
    pub plain: Option<Prediction>,
    /// What the photo's clock says (and the answer weighed by it), when EXIF has one.
    pub clock: Option<ClockAnswer>,
    /// Whether the answer shown is the one weighed by the clock (see [`Self::prediction`]).
    clock_applied: bool,
    /// Why the photo's clock could not be used.
    pub clock_note: Option<String>,
    /// Worked out once when the prediction arrives, not every frame: the best point guess
    /// and the top places of each granularity (each a pass over the 100k gallery points).
    pub best_guess: Option<PointGuess>,
    pub top_places: Vec<(Granularity, Vec<PlaceGuess>)>,
    /// The 50 % and 90 % credible regions per granularity, once predicted.
    pub regions: Vec<(Granularity, Vec<CredibleRegion>)>,
    /// How peaked the answer is (0 spread evenly, 1 one point), once predicted.
    pub localizability: Option<f64>,
    pub times: Option<StageTimes>,
    pub occlusion: Option<OcclusionMap>,
    pub occlusion_texture: Option<egui::TextureHandle>,
    /// `(done, total)` while a spatial-support map is being computed.
    pub occlusion_progress: Option<(usize, usize)>,
}

#[derive(Default)]
pub struct PhotoQueue {
    entries: Vec<PhotoEntry>,
    selected: Option<PhotoId>,
    /// Photos of the last drop/open, in order: the first one to decode is shown.
    pending_selection: Vec<PhotoId>,
    next_id: PhotoId,
    /// Whether answers are weighed by their photos' clocks.
    clock_prior: bool,
}

/// The entry of `list` for `granularity`, when there is one.
fn at_granularity<T>(list: &[(Granularity, Vec<T>)], granularity: Granularity) -> Option<&[T]> {
    list.iter()
        .find(|(g, _)| *g == granularity)
        .map(|(_, items)| items.as_slice())
}

impl PhotoEntry {
    /// The top places at a granularity (none before a prediction).
    pub fn places_at(&self, granularity: Granularity) -> Option<&[PlaceGuess]> {
        at_granularity(&self.top_places, granularity)
    }

    /// The credible regions at a granularity (none before a prediction).
    pub fn regions_at(&self, granularity: Granularity) -> Option<&[CredibleRegion]> {
        at_granularity(&self.regions, granularity)
    }

    /// The answer shown: the model's own, or the one weighed by the photo's clock when that
    /// is on and the photo has a clock.
    pub fn prediction(&self) -> Option<&Prediction> {
        match (&self.clock, self.clock_applied) {
            (Some(clock), true) => Some(&clock.prediction),
            _ => self.plain.as_ref(),
        }
    }

    /// Shows the model's own answer, or the one weighed by the photo's clock (when it has one
    /// and `clock_prior`), working out what the panels show once (each a pass over the 100k
    /// gallery points).
    fn show_answer(&mut self, clock_prior: bool) {
        self.clock_applied = clock_prior && self.clock.is_some();
        let Some(prediction) = self.prediction() else {
            return;
        };
        let best_guess = prediction.best_guess();
        let top_places = Granularity::ALL
            .into_iter()
            .map(|g| (g, prediction.top_places(g, TOP_PLACES)))
            .collect();
        let regions = Granularity::ALL
            .into_iter()
            .map(|g| (g, prediction.credible_regions(g, &CREDIBLE_MASSES)))
            .collect();
        let localizability = Some(prediction.localizability());
        self.best_guess = best_guess;
        self.top_places = top_places;
        self.regions = regions;
        self.localizability = localizability;
    }
}

impl PhotoQueue {
    /// Weighs answers by their photos' clocks, or not; the photos with a clock are worked out
    /// again. Returns whether any answer changed.
    pub fn set_clock_prior(&mut self, on: bool) -> bool {
        if self.clock_prior == on {
            return false;
        }
        self.clock_prior = on;
        let mut changed = false;
        for entry in &mut self.entries {
            if entry.clock.is_some() && entry.plain.is_some() {
                entry.show_answer(on);
                changed = true;
            }
        }
        changed
    }

    /// Adds photos (one drop or one dialog) and returns their ids.
    pub fn add_batch(&mut self, names: Vec<String>) -> Vec<PhotoId> {
        let ids: Vec<PhotoId> = names
            .into_iter()
            .map(|name| {
                self.next_id += 1;
                self.entries.push(PhotoEntry {
                    id: self.next_id,
                    name,
                    status: PhotoStatus::Decoding,
                    preview: None,
                    texture: None,
                    facts: PhotoFacts::default(),
                    path: None,
                    chosen: None,
                    plain: None,
                    clock_applied: false,
                    clock: None,
                    clock_note: None,
                    best_guess: None,
                    top_places: Vec::new(),
                    regions: Vec::new(),
                    localizability: None,
                    times: None,
                    occlusion: None,
                    occlusion_texture: None,
                    occlusion_progress: None,
                });
                self.next_id
            })
            .collect();
        self.pending_selection = ids.clone();
        ids
    }

    pub fn entries(&self) -> &[PhotoEntry] {
        &self.entries
    }

    pub fn get(&self, id: PhotoId) -> Option<&PhotoEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn get_mut(&mut self, id: PhotoId) -> Option<&mut PhotoEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    pub fn selected(&self) -> Option<&PhotoEntry> {
        self.selected.and_then(|id| self.get(id))
    }

    pub fn selected_mut(&mut self) -> Option<&mut PhotoEntry> {
        let id = self.selected?;
        self.get_mut(id)
    }

    /// The credible regions of the photo on screen at a granularity, when predicted.
    pub fn selected_regions(&self, granularity: Granularity) -> Option<&[CredibleRegion]> {
        self.selected()?.regions_at(granularity)
    }

    /// The top places of the photo on screen at a granularity, when predicted.
    pub fn selected_places(&self, granularity: Granularity) -> Option<&[PlaceGuess]> {
        self.selected()?.places_at(granularity)
    }

    pub fn selected_id(&self) -> Option<PhotoId> {
        self.selected
    }

    /// Shows a photo that has decoded (failed or still decoding photos cannot be shown).
    pub fn select(&mut self, id: PhotoId) {
        if self.get(id).is_some_and(|e| e.preview.is_some()) {
            self.selected = Some(id);
            self.pending_selection.clear();
        }
    }

    /// Removes a photo from the filmstrip; shows a neighbour if it was on screen.
    pub fn remove(&mut self, id: PhotoId) {
        let Some(i) = self.entries.iter().position(|e| e.id == id) else {
            return;
        };
        self.entries.remove(i);
        self.pending_selection.retain(|p| *p != id);
        if self.selected == Some(id) {
            self.selected = self
                .entries
                .get(i)
                .or_else(|| i.checked_sub(1).and_then(|j| self.entries.get(j)))
                .filter(|e| e.preview.is_some())
                .map(|e| e.id);
        }
    }

    /// Whether any photo is still being decoded or run.
    pub fn busy(&self) -> bool {
        self.entries.iter().any(|e| {
            matches!(e.status, PhotoStatus::Decoding | PhotoStatus::Running)
                || e.occlusion_progress.is_some()
        })
    }

    /// Applies a worker event. Returns the error of a photo that failed, for a notice.
    pub fn apply(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::Decoded { id, preview, facts } => {
                let entry = self.get_mut(*id)?;
                entry.preview = Some(preview.clone());
                entry.facts = facts.clone();
                if entry.status == PhotoStatus::Decoding {
                    entry.status = PhotoStatus::Waiting;
                }
                // The first of the latest batch is shown; and something always is: a photo
                // of an earlier batch (replaced by a drop that came before it decoded) is
                // shown when nothing is.
                let orphan = self.selected.is_none() && !self.pending_selection.contains(id);
                if self.pending_selection.first() == Some(id) || orphan {
                    self.select(*id);
                }
                None
            }
            Event::Running { id } => {
                self.get_mut(*id)?.status = PhotoStatus::Running;
                None
            }
            Event::Predicted {
                id,
                prediction,
                clock,
                times,
            } => {
                let clock_prior = self.clock_prior;
                let entry = self.get_mut(*id)?;
                match clock.as_ref() {
                    Ok(answer) => entry.clock = answer.clone(),
                    Err(note) => entry.clock_note = Some(note.to_string()),
                }
                entry.plain = Some((**prediction).clone());
                entry.show_answer(clock_prior);
                entry.times = Some(*times);
                entry.status = PhotoStatus::Done;
                None
            }
            Event::Failed { id, error } => {
                let entry = self.get_mut(*id)?;
                entry.occlusion_progress = None;
                if entry.preview.is_none() || entry.status == PhotoStatus::Running {
                    entry.status = PhotoStatus::Failed(error.to_string());
                }
                // The next photo of the batch gets its chance to be shown.
                self.pending_selection.retain(|p| p != id);
                if let Some(next) = self.pending_selection.first().copied()
                    && self.get(next).is_some_and(|e| e.preview.is_some())
                {
                    self.select(next);
                }
                Some(error.to_string())
            }
            Event::OcclusionProgress { id, done, total } => {
                self.get_mut(*id)?.occlusion_progress = Some((*done, *total));
                None
            }
            Event::Occlusion { id, map } => {
                let entry = self.get_mut(*id)?;
                entry.occlusion = Some(map.clone());
                entry.occlusion_texture = None;
                entry.occlusion_progress = None;
                None
            }
            Event::Model(_)
            | Event::Fetching(_)
            | Event::Fetched(_)
            | Event::AerialStarted { .. }
            | Event::AerialTile { .. }
            | Event::AerialRanked { .. }
            | Event::AerialFailed { .. }
            | Event::LibraryProgress { .. }
            | Event::LibraryDone { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(id: PhotoId, w: u32) -> Event {
        Event::Decoded {
            id,
            preview: Arc::new(RgbImage::new(w, w / 2)),
            facts: PhotoFacts::default(),
        }
    }

    fn corrupt(name: &str) -> crate::app::worker::WorkerError {
        crate::photo::PhotoError::Corrupt {
            path: name.into(),
            message: "bad bytes".into(),
        }
        .into()
    }

    #[test]
    fn a_failed_photo_never_replaces_the_one_on_screen() {
        let mut q = PhotoQueue::default();
        let first = q.add_batch(vec!["a.jpg".into()])[0];
        q.apply(&decoded(first, 2000));
        assert_eq!(q.selected_id(), Some(first));

        let broken = q.add_batch(vec!["broken.jpg".into()])[0];
        let error = q.apply(&Event::Failed {
            id: broken,
            error: corrupt("broken.jpg"),
        });
        assert_eq!(
            error.as_deref(),
            Some("broken.jpg: corrupt or truncated image: bad bytes")
        );
        assert_eq!(
            q.selected_id(),
            Some(first),
            "the previous photo stays on screen"
        );
        assert!(matches!(
            q.get(broken).map(|e| &e.status),
            Some(PhotoStatus::Failed(_))
        ));
        q.select(broken);
        assert_eq!(
            q.selected_id(),
            Some(first),
            "a failed photo cannot be shown"
        );
    }

    #[test]
    fn the_first_photo_of_a_batch_to_decode_is_shown_and_results_land_on_their_photo() {
        let mut q = PhotoQueue::default();
        let ids = q.add_batch(vec!["x.jpg".into(), "y.jpg".into(), "z.jpg".into()]);
        q.apply(&Event::Failed {
            id: ids[0],
            error: corrupt("x.jpg"),
        });
        assert_eq!(q.selected_id(), None);
        q.apply(&decoded(ids[2], 100));
        assert_eq!(q.selected_id(), None, "y comes first in the batch");
        q.apply(&decoded(ids[1], 100));
        assert_eq!(q.selected_id(), Some(ids[1]));
        q.apply(&Event::Running { id: ids[2] });
        assert!(q.busy());
        assert_eq!(
            q.get(ids[2]).map(|e| e.status.clone()),
            Some(PhotoStatus::Running)
        );
        assert!(
            q.get(ids[1])
                .is_some_and(|e| e.status == PhotoStatus::Waiting)
        );
        q.remove(ids[1]);
        assert_eq!(q.selected_id(), Some(ids[2]), "a neighbour is shown");
        assert!(
            q.apply(&Event::Running { id: 999 }).is_none(),
            "unknown ids are ignored"
        );
    }
}
