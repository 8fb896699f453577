//! Prediction: GeoCLIP gallery probabilities turned into what people look at: a probability
//! for every geocell at each granularity, and the most likely gallery points as point guesses.
//! The one call the CLI, the GUI and the game all use.

pub mod certainty;
pub mod clock;
pub mod load;

pub use certainty::{CREDIBLE_MASSES, CredibleRegion};
pub use clock::ClockClue;
pub use load::LoadError;

mod gallery_index;
mod geolocator;
mod occlusion;
mod prediction;
mod predictor;
#[cfg(test)]
mod tests;

pub use gallery_index::GalleryIndex;
pub use geolocator::{Geolocator, LoadStage};
pub use occlusion::OcclusionMap;
pub use prediction::{CellProbabilities, ClockAnswer, PlaceGuess, PointGuess, Prediction};
pub use predictor::{MAX_TOWER_BATCH, Predictor, StageTimes};
