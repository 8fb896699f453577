//! The whole model, photo in and prediction out: CLIP's tower and the geolocator, in
//! batches that fit the device.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;

use burn::tensor::{Device, Tensor};

use super::{Geolocator, Prediction};
use crate::model::ModelError;
use crate::model::clip::tower::ClipTower;
use crate::model::clip::vision::ClipVision;
use crate::model::device_io::{read_floats, rows_per_buffer, wait_for, without_panics};
use crate::photo::preprocess::clip_pixels;

/// How long each stage of one prediction took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    pub preprocess_ms: f64,
    pub tower_ms: f64,
    /// Image head, scoring against the gallery and reading the probabilities back.
    pub heads_ms: f64,
}

/// The whole model: photo in, [`Prediction`] out. CLIP's image tower gives 768 features,
/// GeoCLIP's heads turn them into gallery and cell probabilities.
#[derive(Debug)]
pub struct Predictor {
    pub(super) tower: ClipTower,
    pub(super) geolocator: Geolocator,
    pub(super) device: Device,
    /// Photos per pass of the tower: as many as fit the device's buffers, at most
    /// [`MAX_TOWER_BATCH`].
    pub(super) max_batch: usize,
    /// Where the tower was loaded from, for errors that blame its weights.
    pub(super) tower_dir: Option<PathBuf>,
}

/// The most photos sent through the tower in one pass (bounds host memory on the CPU).
pub const MAX_TOWER_BATCH: usize = 16;

/// Photos per pass for folders on the CPU (see [`Predictor::folder_batch`]).
const CPU_FOLDER_BATCH: usize = 4;

impl Predictor {
    pub fn from_parts(
        tower: ClipVision,
        geolocator: Geolocator,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let tower = ClipTower::new(tower, device)?;
        let (features, expected) = (tower.projection_dim(), geolocator.heads.image.input_dim());
        if features != expected {
            return Err(ModelError::Shape(format!(
                "the CLIP tower gives {features} features per photo, GeoCLIP's head takes \
                 {expected} (it needs CLIP ViT-L/14)"
            )));
        }
        let max_batch = rows_per_buffer(
            "one photo in the CLIP tower",
            tower.peak_bytes_per_image(),
            MAX_TOWER_BATCH,
            geolocator.gallery.max_tensor_bytes(),
        )?;
        Ok(Self {
            tower,
            geolocator,
            device: device.clone(),
            max_batch,
            tower_dir: None,
        })
    }

    /// Photos per pass of the tower on this device.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Photos per pass for a folder of photos: as many as fit on a GPU; 4 on the CPU, where a
    /// batch shares each weight's trip through the cache (ViT-L/14, 2 threads: 806 ms a photo
    /// at batch 4, 811 at 8, 845 alone; `models/README.md`) and more only delays the first
    /// answers.
    pub fn folder_batch(&self) -> usize {
        match self.tower {
            ClipTower::Cpu(..) => self.max_batch.min(CPU_FOLDER_BATCH),
            ClipTower::Device(_) => self.max_batch,
        }
    }

    /// What model this is, for status lines.
    pub fn describe(&self) -> String {
        format!("GeoCLIP on {}", self.tower.describe())
    }

    /// The CLIP tower alone ("CLIP ViT-L/14").
    pub fn tower_description(&self) -> String {
        self.tower.describe()
    }

    pub fn geolocator(&self) -> &Geolocator {
        &self.geolocator
    }

    /// Side of the square the tower looks at, in pixels (224 for ViT-L/14).
    pub fn input_size_px(&self) -> u32 {
        self.tower.image_size() as u32
    }

    /// CLIP features `[n, 768]` of preprocessed pixels (`[n, 3, s, s]`, row-major); `n` must
    /// be at most [`Self::max_batch`].
    pub(super) fn features(&self, pixels: Vec<f32>, n: usize) -> Result<Tensor<2>, ModelError> {
        debug_assert!(n <= self.max_batch);
        self.tower.features(pixels, n, &self.device)
    }

    /// How many values a CLIP embedding of this tower has.
    pub fn clip_dim(&self) -> usize {
        self.tower.projection_dim()
    }

    /// The tower's weights file, where it was loaded from one (what keys caches of its
    /// embeddings).
    pub fn tower_file(&self) -> Option<std::path::PathBuf> {
        self.tower_dir
            .as_ref()
            .map(|d| d.join(crate::model::clip::weights::SAFETENSORS_FILE))
    }

    /// CLIP image features of images (one vector of [`ClipVision::projection_dim`] values
    /// each), `batch` images per pass of the tower (fewer where the device's buffers are
    /// small). Ground-to-aerial matching uses them for both photos and aerial tiles.
    pub fn clip_embeddings(
        &self,
        images: &[&RgbImage],
        batch: usize,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let size = self.input_size_px();
        let dim = self.tower.projection_dim().max(1);
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(batch.clamp(1, self.max_batch)) {
            let pixels: Vec<f32> = chunk.iter().flat_map(|p| clip_pixels(p, size)).collect();
            let flat = read_floats(self.features(pixels, chunk.len())?)?;
            out.extend(flat.chunks(dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Predicts where `photo` (decoded, upright) was taken, with the time each stage took.
    pub fn predict_photo(&self, photo: &RgbImage) -> Result<(Prediction, StageTimes), ModelError> {
        let mut out = self.predict_photos(&[photo])?;
        out.pop()
            .ok_or_else(|| ModelError::Shape("no prediction for one photo".into()))
    }

    /// [`Self::predict_photo`], with a panic inside the numeric backend turned into an error,
    /// so that one bad photo cannot take a batch run or the app's model thread down.
    pub fn predict_photo_guarded(
        &self,
        photo: &RgbImage,
    ) -> Result<(Prediction, StageTimes), ModelError> {
        without_panics(|| self.predict_photo(photo))
    }

    /// [`Self::predict_photos`], with a panic inside the numeric backend turned into an error.
    pub fn predict_photos_guarded(
        &self,
        photos: &[&RgbImage],
    ) -> Result<Vec<(Prediction, StageTimes)>, ModelError> {
        without_panics(|| self.predict_photos(photos))
    }

    /// Predicts photos, [`Self::max_batch`] at a time through the tower; times are per pass.
    pub fn predict_photos(
        &self,
        photos: &[&RgbImage],
    ) -> Result<Vec<(Prediction, StageTimes)>, ModelError> {
        let mut out = Vec::with_capacity(photos.len());
        for batch in photos.chunks(self.max_batch) {
            out.extend(self.predict_batch(batch)?);
        }
        Ok(out)
    }

    /// Names the weights in a non-finite error: the tower's files or GeoCLIP's heads.
    fn blame_weights(&self, error: ModelError) -> ModelError {
        match (error, &self.tower_dir) {
            (ModelError::NonFinite(_), Some(dir)) => ModelError::NonFinite(format!(
                "the CLIP tower in {} or GeoCLIP's heads are damaged; fetch the tower again \
                 with `geolens models fetch --force`",
                dir.display()
            )),
            (other, _) => other,
        }
    }

    /// One pass of the tower and the heads over photos that fit it.
    fn predict_batch(
        &self,
        photos: &[&RgbImage],
    ) -> Result<Vec<(Prediction, StageTimes)>, ModelError> {
        let started = Instant::now();
        let size = self.input_size_px();
        let pixels: Vec<f32> = photos.iter().flat_map(|p| clip_pixels(p, size)).collect();
        let preprocess_ms = ms_since(started);
        let started = Instant::now();
        let features = self.features(pixels, photos.len())?;
        // Waiting for the device here gives the tower's time its own figure.
        wait_for(&features)?;
        let tower_ms = ms_since(started);
        let started = Instant::now();
        let predictions = self
            .geolocator
            .predict_features(features)
            .map_err(|e| self.blame_weights(e))?;
        let times = StageTimes {
            preprocess_ms,
            tower_ms,
            heads_ms: ms_since(started),
        };
        Ok(predictions.into_iter().map(|p| (p, times)).collect())
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
