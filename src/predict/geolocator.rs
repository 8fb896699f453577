//! GeoCLIP's heads with the gallery embedded: CLIP image features in, predictions out.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use super::{GalleryIndex, Prediction};
use crate::geo::partition::LatLonDeg;
use crate::model::ModelError;
use crate::model::backend::max_tensor_bytes;
use crate::model::geoclip::gallery::{self, CacheOutcome, GALLERY_FILE, GalleryEmbeddings};
use crate::model::geoclip::scoring::GalleryMatrix;
use crate::model::geoclip::weights::{GeoclipHeads, load_heads};

/// Progress of [`Predictor::load`] and [`Geolocator::load`], for a status line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadStage {
    /// Reading CLIP's image tower (1.2 GB for ViT-L/14).
    Tower,
    Heads,
    /// Embedding the gallery (first run only): points done of total.
    EmbeddingGallery {
        done: usize,
        total: usize,
    },
    Ready,
}

/// GeoCLIP's heads with the gallery embedded: turns CLIP image features into predictions.
#[derive(Debug)]
pub struct Geolocator {
    pub(super) heads: GeoclipHeads,
    pub(super) gallery: GalleryMatrix,
    pub(super) index: Arc<GalleryIndex>,
    pub(super) device: Device,
    pub cache: CacheOutcome,
}

impl Geolocator {
    /// Loads the head records and gallery from `model_dir`, with gallery embeddings from
    /// `cache_dir` (computed and cached there on the first run; always computed without one),
    /// every tensor within `max_tensor_bytes` (`None`: no limit).
    pub fn load(
        model_dir: &Path,
        cache_dir: Option<&Path>,
        device: &Device,
        max_tensor_bytes: Option<u64>,
        mut progress: impl FnMut(LoadStage),
    ) -> Result<Self, ModelError> {
        progress(LoadStage::Heads);
        let heads = load_heads(model_dir, device)?;
        let gallery_path = model_dir.join(GALLERY_FILE);
        let points = gallery::load_gallery(&gallery_path)?;
        let cache_name = gallery::cache_file_name(model_dir, &gallery_path)?;
        let (embeddings, cache) = gallery::load_or_compute(
            &heads.location,
            &points,
            cache_dir,
            &cache_name,
            device,
            |done, total| progress(LoadStage::EmbeddingGallery { done, total }),
        )?;
        let geolocator =
            Self::from_parts_within(heads, points, &embeddings, device, max_tensor_bytes)?;
        progress(LoadStage::Ready);
        Ok(Self {
            cache,
            ..geolocator
        })
    }

    /// From already-loaded parts (tests and benches use a gallery subset), within the
    /// device's buffer limit ([`max_tensor_bytes`]).
    pub fn from_parts(
        heads: GeoclipHeads,
        points: Vec<LatLonDeg>,
        embeddings: &GalleryEmbeddings,
        device: &Device,
    ) -> Result<Self, ModelError> {
        Self::from_parts_within(heads, points, embeddings, device, max_tensor_bytes(device))
    }

    /// [`Self::from_parts`] with every tensor kept within `max_tensor_bytes` (`None`: no
    /// limit).
    pub fn from_parts_within(
        heads: GeoclipHeads,
        points: Vec<LatLonDeg>,
        embeddings: &GalleryEmbeddings,
        device: &Device,
        max_tensor_bytes: Option<u64>,
    ) -> Result<Self, ModelError> {
        if embeddings.n != points.len() {
            return Err(ModelError::Shape(format!(
                "{} gallery embeddings for {} gallery points",
                embeddings.n,
                points.len()
            )));
        }
        let index = GalleryIndex::new(points).map_err(|e| ModelError::Shape(e.to_string()))?;
        Ok(Self {
            heads,
            gallery: embeddings.to_matrix(device, max_tensor_bytes)?,
            index: Arc::new(index),
            device: device.clone(),
            cache: CacheOutcome::Computed { written: false },
        })
    }

    pub fn gallery(&self) -> &GalleryIndex {
        &self.index
    }

    /// How many device buffers the gallery embeddings occupy (more than one where the device
    /// limits a buffer to less than the gallery).
    pub fn gallery_blocks(&self) -> usize {
        self.gallery.block_count()
    }

    /// Predictions for a batch of CLIP ViT-L/14 image features (`[n, 768]`, one row a photo).
    pub fn predict_features(
        &self,
        clip_features: Tensor<2>,
    ) -> Result<Vec<Prediction>, ModelError> {
        let expected = self.heads.image.input_dim();
        if clip_features.dims()[1] != expected {
            return Err(ModelError::Shape(format!(
                "image features have {} values, the GeoCLIP head takes {expected}",
                clip_features.dims()[1]
            )));
        }
        let image_embeddings = self.heads.image.forward(clip_features);
        let flat = self
            .gallery
            .probabilities(image_embeddings, self.heads.scalars.logit_scale)?;
        let n_gallery = self.gallery.len();
        Ok(flat
            .chunks(n_gallery.max(1))
            .map(|row| Prediction {
                index: Arc::clone(&self.index),
                point_probabilities: row.to_vec(),
            })
            .collect())
    }

    /// Prediction for one photo's CLIP features (768 values).
    pub fn predict_feature_vector(&self, clip_features: &[f32]) -> Result<Prediction, ModelError> {
        let features = Tensor::<2>::from_data(
            TensorData::new(clip_features.to_vec(), [1, clip_features.len()]),
            &self.device,
        );
        self.predict_features(features)?
            .pop()
            .ok_or_else(|| ModelError::Shape("no prediction for one input".into()))
    }
}
