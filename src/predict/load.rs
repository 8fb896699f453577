//! Loading the model: [`Predictor::load_config`], the one call the commands, the app and the
//! benches use, turns a [`ModelConfig`] into a loaded predictor and the backend it ended on
//! (the CPU when an automatically chosen GPU fails). The calls below it load from known
//! folders onto a known device.

use burn::tensor::Device;
use image::RgbImage;
use thiserror::Error;

use super::{Geolocator, LoadStage, Predictor};
use crate::model::ModelError;
use crate::model::backend::{
    BackendChoice, BackendError, BackendKind, SelectedBackend, cpu_backend, max_tensor_bytes,
    select_backend,
};
use crate::model::clip::weights::{SAFETENSORS_FILE, load_clip_vision};
use crate::model::config::ModelConfig;
use crate::model::device_io::without_panics;
use crate::model::dirs::ModelDirs;

/// Why the model could not be loaded from a [`ModelConfig`].
#[derive(Debug, Error)]
pub enum LoadError {
    /// Not installed (or no data folder to look in): how to get it.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl Predictor {
    /// Loads the model as `config` says: sizes the CPU's thread pool, finds the files (a
    /// missing tower, the common case on a fresh install, is reported before any GPU is
    /// started), picks the backend and loads onto it, falling back to the CPU as
    /// [`Self::load_with_fallback`] does. Returns the backend it ended on.
    pub fn load_config(
        config: &ModelConfig,
        progress: impl FnMut(LoadStage),
    ) -> Result<(Self, SelectedBackend), LoadError> {
        config.apply_threads();
        let dirs = config
            .dirs()
            .map_err(|e| LoadError::Missing(e.to_string()))?;
        if !dirs.clip.join(SAFETENSORS_FILE).is_file() {
            return Err(LoadError::Missing(dirs.tower_hint()));
        }
        let selected = select_backend(config.backend)?;
        Ok(Self::load_with_fallback(
            &dirs,
            selected,
            config.backend,
            progress,
        )?)
    }

    /// Loads the tower first (the part most often missing, so that its absence is reported
    /// before the gallery is embedded), then the heads and the gallery.
    pub fn load(
        dirs: &ModelDirs,
        device: &Device,
        progress: impl FnMut(LoadStage),
    ) -> Result<Self, ModelError> {
        Self::load_within(dirs, device, max_tensor_bytes(device), progress)
    }

    /// [`Self::load`] with every tensor kept within `max_tensor_bytes` (`None`: no limit).
    pub fn load_within(
        dirs: &ModelDirs,
        device: &Device,
        max_tensor_bytes: Option<u64>,
        mut progress: impl FnMut(LoadStage),
    ) -> Result<Self, ModelError> {
        progress(LoadStage::Tower);
        let tower = load_clip_vision(&dirs.clip, device)?;
        let geolocator = Geolocator::load(
            &dirs.geoclip,
            dirs.gallery_cache.as_deref(),
            device,
            max_tensor_bytes,
            &mut progress,
        )?;
        Ok(Self {
            tower_dir: Some(dirs.clip.clone()),
            ..Self::from_parts(tower, geolocator, device)?
        })
    }

    /// Loads the model on `selected`. In `auto` mode a GPU that fails while loading or on a
    /// first trial prediction hands the model over to the CPU, once, with the reason in the
    /// returned backend's `fallback_notice`; an explicit choice fails loudly instead.
    pub fn load_with_fallback(
        dirs: &ModelDirs,
        selected: SelectedBackend,
        choice: BackendChoice,
        mut progress: impl FnMut(LoadStage),
    ) -> Result<(Self, SelectedBackend), ModelError> {
        let may_fall_back = choice == BackendChoice::Auto && selected.kind == BackendKind::Gpu;
        let attempt = without_panics(|| {
            let predictor = Self::load_within(
                dirs,
                &selected.device,
                selected.max_tensor_bytes,
                &mut progress,
            )?;
            if may_fall_back {
                predictor.trial_run()?;
            }
            Ok(predictor)
        });
        match attempt {
            Ok(predictor) => Ok((predictor, selected)),
            Err(e) if may_fall_back => {
                let cpu = cpu_backend(Some(format!(
                    "the GPU ({}) failed: {e}; running on the CPU instead",
                    selected.description
                )));
                let predictor = Self::load(dirs, &cpu.device, progress)?;
                Ok((predictor, cpu))
            }
            Err(e) => Err(e),
        }
    }

    /// One prediction of a plain grey photo: shows that the device runs the whole model.
    fn trial_run(&self) -> Result<(), ModelError> {
        let size = self.input_size_px();
        let grey = RgbImage::from_pixel(size, size, image::Rgb([128, 128, 128]));
        self.predict_photo(&grey).map(|_| ())
    }
}
