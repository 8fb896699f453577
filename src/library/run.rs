//! One pass over a library, clue by clue, for `geotag` and the app alike: the metadata's clues
//! first (a track, the photos before and after), then what the pictures show where a model is
//! installed (look-alikes, their camera clock offsets, and GeoCLIP last, which also checks the
//! other clues' proposals against its 90 % region).

use std::path::PathBuf;

use super::clocks::{ClockFoundBy, Clocks, camera_of};
use super::embeddings::{EmbedStats, EmbeddingCache, embed};
use super::lookalikes::{LookalikeSettings, Lookalikes};
use super::propose::{
    Proposal, ProposalSource, ProposeSettings, distance_m, metres_text, proposal, propose,
};
use super::{LibraryPhoto, Track};
use crate::geo::geocells::Granularity;
use crate::geo::latlon::LatLonDeg;
use crate::model::ModelError;
use crate::predict::Predictor;

/// The share of the model's probability its radius holds.
const MODEL_MASS: f64 = 0.9;

/// What the pictures can add: the loaded model, where its embeddings are kept, and the
/// look-alike limits.
pub struct PictureClues<'a> {
    pub predictor: &'a Predictor,
    /// Folder of the embedding caches (`None`: computed every run).
    pub cache_dir: Option<PathBuf>,
    pub lookalikes: LookalikeSettings,
}

/// What a pass over the library found.
#[derive(Debug, Clone)]
pub struct LibraryAnswer {
    pub photos: Vec<LibraryPhoto>,
    /// One per photo: `None` for a photo that has a position or that no clue covers.
    pub proposals: Vec<Option<Proposal>>,
    pub clocks: Clocks,
    /// The tracks the pass used.
    pub tracks: Vec<Track>,
    pub embeddings: EmbedStats,
    /// What the user should know about the pass ("the embedding cache could not be written").
    pub notes: Vec<String>,
}

/// Proposes a position for each photo of `photos` that has none. `progress` hears the
/// embeddings done and wanted, and stops the pictures' part by returning `false` (the
/// metadata's proposals are still made; the embeddings done are kept).
pub fn geotag_library(
    photos: Vec<LibraryPhoto>,
    given: &[(String, i64)],
    tracks: &[Track],
    settings: &ProposeSettings,
    pictures: Option<PictureClues<'_>>,
    progress: impl FnMut(usize, usize) -> bool,
) -> LibraryAnswer {
    let mut clocks = Clocks::work_out(&photos, given);
    let mut proposals = propose(&photos, &clocks, tracks, settings);
    let (embeddings, notes) = match pictures {
        Some(pictures) => {
            let mut clues = Clues {
                photos: &photos,
                clocks: &mut clocks,
                proposals: &mut proposals,
                tracks,
                settings,
            };
            clues.add_pictures(&pictures, progress)
        }
        None => (EmbedStats::default(), Vec::new()),
    };
    LibraryAnswer {
        photos,
        proposals,
        clocks,
        tracks: tracks.to_vec(),
        embeddings,
        notes,
    }
}

/// What a pass has made of the metadata, for the pictures' clues to add to.
struct Clues<'a> {
    photos: &'a [LibraryPhoto],
    clocks: &'a mut Clocks,
    proposals: &'a mut Vec<Option<Proposal>>,
    tracks: &'a [Track],
    settings: &'a ProposeSettings,
}

impl Clues<'_> {
    /// Embeds the photos that need it, finds camera clocks from look-alikes (and proposes
    /// again with them), proposes from look-alikes, then weighs everything with GeoCLIP.
    /// Returns what the embedding did and the notes for the user.
    fn add_pictures(
        &mut self,
        pictures: &PictureClues<'_>,
        progress: impl FnMut(usize, usize) -> bool,
    ) -> (EmbedStats, Vec<String>) {
        let photos = self.photos;
        let mut notes = Vec::new();
        let wanted = wanted(photos, self.clocks, self.proposals);
        let mut cache = match pictures.predictor.tower_file() {
            Some(t) => EmbeddingCache::open(
                pictures.cache_dir.as_deref(),
                &t,
                pictures.predictor.clip_dim(),
            ),
            None => EmbeddingCache::default(),
        };
        let paths: Vec<PathBuf> = photos.iter().map(|p| p.path.clone()).collect();
        let (embeddings, stats) = embed(pictures.predictor, &mut cache, &paths, &wanted, progress);
        if stats.cancelled {
            notes.push(format!(
                "stopped after {} of the photos' embeddings: the pictures' clues cover only those",
                stats.embedded + stats.from_cache
            ));
        }
        if let Err(e) = cache.save() {
            notes.push(format!("the embedding cache was not kept: {e}"));
        }
        let lookalikes = Lookalikes::new(&embeddings, pictures.lookalikes);
        lookalikes.find_clock_offsets(photos, self.clocks);
        if self
            .clocks
            .cameras
            .iter()
            .any(|c| c.found_by == ClockFoundBy::Lookalikes)
        {
            *self.proposals = propose(photos, self.clocks, self.tracks, self.settings);
        }
        let geotagged: Vec<usize> = (0..photos.len())
            .filter(|&i| photos[i].position.is_some())
            .collect();
        for (i, slot) in self.proposals.iter_mut().enumerate() {
            if slot.is_none() && photos[i].position.is_none() {
                *slot = lookalikes.propose(photos, i, &geotagged);
            }
        }
        if let Err(e) = weigh_with_model(pictures.predictor, photos, &embeddings, self.proposals) {
            notes.push(format!("the model's guesses were left out: {e}"));
        }
        (stats, notes)
    }
}

/// The photos whose embeddings the pass needs: every photo without a position (look-alike
/// search and the model), and, where a camera's clock is unknown or a photo has no proposal
/// yet, the photos that could be its look-alike (those with a position or a known clock).
fn wanted(photos: &[LibraryPhoto], clocks: &Clocks, proposals: &[Option<Proposal>]) -> Vec<bool> {
    let clock_unknown = clocks
        .cameras
        .iter()
        .any(|c| c.found_by == ClockFoundBy::None);
    let unproposed = photos
        .iter()
        .zip(proposals)
        .any(|(p, q)| p.position.is_none() && q.is_none());
    photos
        .iter()
        .map(|p| {
            p.position.is_none()
                || (unproposed && p.position.is_some())
                || (clock_unknown && p.taken_local.is_some() && clocks.is_known(camera_of(p)))
        })
        .collect()
}

/// GeoCLIP's answer for each photo with an embedding and no position: the proposal of a photo
/// nothing else covers, and a flag on another clue's proposal outside its 90 % region.
fn weigh_with_model(
    predictor: &Predictor,
    photos: &[LibraryPhoto],
    embeddings: &[Option<Vec<f32>>],
    proposals: &mut [Option<Proposal>],
) -> Result<(), ModelError> {
    for ((slot, embedding), photo) in proposals.iter_mut().zip(embeddings).zip(photos) {
        let Some(embedding) = embedding.as_ref().filter(|_| photo.position.is_none()) else {
            continue;
        };
        match slot {
            Some(p) if p.source == ProposalSource::Model => {}
            Some(p) => {
                let guess = model_guess(predictor, embedding)?;
                let apart_m = distance_m(p.at(), guess.at());
                if apart_m > guess.radius_m + p.radius_m {
                    p.flags.push(format!(
                        "GeoCLIP puts it {} away, outside its 90 % region ({})",
                        metres_text(apart_m),
                        metres_text(guess.radius_m)
                    ));
                }
            }
            None => *slot = Some(model_guess(predictor, embedding)?),
        }
    }
    Ok(())
}

/// The model's proposal from a photo's CLIP features.
fn model_guess(predictor: &Predictor, features: &[f32]) -> Result<Proposal, ModelError> {
    let prediction = crate::model::device_io::without_panics(|| {
        predictor.geolocator().predict_feature_vector(features)
    })?;
    let best = prediction
        .best_guess()
        .ok_or_else(|| ModelError::Shape("the model gave no answer".into()))?;
    let at = LatLonDeg {
        lat_deg: best.lat_deg,
        lon_deg: best.lon_deg,
    };
    let radius_m = prediction.radius_holding_km(at, MODEL_MASS) * 1000.0;
    let top = prediction.top_places(Granularity::default(), 1);
    let (place, probability) = top
        .first()
        .map(|p| (p.place_name.clone(), p.probability))
        .unwrap_or_default();
    let mut guess = proposal(
        at,
        radius_m,
        ProposalSource::Model,
        format!(
            "GeoCLIP's best guess, in {place} ({:.1} % there); 90 % of its probability within {}",
            probability * 100.0,
            metres_text(radius_m)
        ),
    );
    guess.probability = Some(probability);
    Ok(guess)
}
