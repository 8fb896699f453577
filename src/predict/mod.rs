//! Prediction: GeoCLIP gallery probabilities turned into what people look at: a probability
//! for every geocell at each granularity, and the most likely gallery points as point guesses.
//! The one call the CLI, the GUI and the game all use.

pub mod certainty;
pub mod clock;

pub use certainty::{CREDIBLE_MASSES, CredibleRegion};
pub use clock::ClockClue;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use burn::tensor::{Device, Tensor, TensorData};

use crate::geo::GeoError;
use crate::geo::geocells::{GeoCells, Granularity};
use crate::geo::partition::LatLonDeg;
use crate::model::ModelError;
use crate::model::backend::{
    BackendChoice, BackendKind, SelectedBackend, cpu_backend, max_tensor_bytes,
};
use crate::model::clip::tower::ClipTower;
use crate::model::clip::vision::ClipVision;
use crate::model::clip::weights::{default_clip_dir, load_clip_vision};
use crate::model::device_io::{read_floats, rows_per_buffer, wait_for, without_panics};
use crate::model::geoclip::gallery::{self, CacheOutcome, GALLERY_FILE, GalleryEmbeddings};
use crate::model::geoclip::scoring::{GalleryMatrix, top_k};
use crate::model::geoclip::weights::{GeoclipHeads, default_model_dir, load_heads};
use crate::photo::exif::PhotoFacts;
use crate::photo::preprocess::clip_pixels;
use crate::scores::CellScore;

/// The gallery points and, for each granularity, the geocell each point falls in.
#[derive(Debug)]
pub struct GalleryIndex {
    pub points: Vec<LatLonDeg>,
    levels: Vec<(Granularity, GeoCells, Vec<Option<u32>>)>,
    /// Each point's time zone, looked up on first use (for the clock prior).
    zones: std::sync::OnceLock<clock::ZoneIndex>,
}

impl GalleryIndex {
    /// Looks every point up in the shipped geocells of all three granularities.
    pub fn new(points: Vec<LatLonDeg>) -> Result<Self, GeoError> {
        let levels = Granularity::ALL
            .into_iter()
            .map(|granularity| {
                let cells = GeoCells::embedded(granularity)?;
                let index = points
                    .iter()
                    .map(|p| cells.lookup_index(p.lat_deg, p.lon_deg).map(|i| i as u32))
                    .collect();
                Ok((granularity, cells, index))
            })
            .collect::<Result<_, GeoError>>()?;
        Ok(Self {
            points,
            levels,
            zones: std::sync::OnceLock::new(),
        })
    }

    fn level(&self, granularity: Granularity) -> (&GeoCells, &[Option<u32>]) {
        let (_, cells, index) = self
            .levels
            .iter()
            .find(|(g, _, _)| *g == granularity)
            .expect("every granularity is indexed in new()");
        (cells, index)
    }

    pub fn cells(&self, granularity: Granularity) -> &GeoCells {
        self.level(granularity).0
    }

    /// Every point's time zone (looked up once, about 0.1 s for the 100k points).
    pub fn zones(&self) -> &clock::ZoneIndex {
        self.zones
            .get_or_init(|| clock::ZoneIndex::new(&self.points))
    }

    /// The cells of a granularity where most gallery points are `inside` (one flag a point).
    pub fn cells_mostly(
        &self,
        granularity: Granularity,
        inside: &[bool],
    ) -> Vec<s2::cellid::CellID> {
        let (cells, index) = self.level(granularity);
        let mut counts = vec![(0u32, 0u32); cells.cells().len()];
        for (cell, inside) in index.iter().zip(inside) {
            if let Some(i) = cell {
                let c = &mut counts[*i as usize];
                c.0 += u32::from(*inside);
                c.1 += 1;
            }
        }
        cells
            .cells()
            .iter()
            .zip(counts)
            .filter(|(_, (inside, all))| 2 * inside > *all)
            .map(|(c, _)| c.cell)
            .collect()
    }
}

/// One gallery location and its probability.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PointGuess {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub probability: f64,
}

/// One of the most likely places: a geocell with its probability and name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlaceGuess {
    pub token: String,
    pub cell_level: u64,
    pub probability: f64,
    pub place_name: String,
    /// Mean location of the cell's photos: a better pin than the cell's geometric centre.
    pub center: LatLonDeg,
}

/// Probabilities over the geocells of one granularity, in the cells' order.
#[derive(Debug, Clone, PartialEq)]
pub struct CellProbabilities {
    pub granularity: Granularity,
    /// Sums to 1: the mass of gallery points outside every kept cell is left out and the rest
    /// renormalised.
    pub scores: Vec<CellScore>,
    /// Probability mass the model put on gallery points in no kept cell (before renormalising).
    pub uncovered: f64,
}

/// What the photo's clock made of an answer.
#[derive(Debug, Clone)]
pub struct ClockAnswer {
    pub clue: ClockClue,
    /// The answer with the clock as a prior.
    pub prediction: Prediction,
    /// For each gallery point, whether its time zone kept the camera's offset.
    pub inside: Vec<bool>,
}

/// The model's answer for one photo: a probability for each gallery point.
#[derive(Debug, Clone)]
pub struct Prediction {
    index: Arc<GalleryIndex>,
    point_probabilities: Vec<f32>,
}

impl Prediction {
    pub fn point_probabilities(&self) -> &[f32] {
        &self.point_probabilities
    }

    /// The `k` most likely gallery points, most likely first.
    pub fn top_points(&self, k: usize) -> Vec<PointGuess> {
        top_k(&self.point_probabilities, k)
            .into_iter()
            .map(|(i, p)| {
                let point = self.index.points[i];
                PointGuess {
                    lat_deg: point.lat_deg,
                    lon_deg: point.lon_deg,
                    probability: f64::from(p),
                }
            })
            .collect()
    }

    /// The model's single answer: its most likely gallery point (GeoCLIP's top-1 guess).
    pub fn best_guess(&self) -> Option<PointGuess> {
        self.top_points(1).pop()
    }

    /// The `k` most likely geocells of a granularity, most likely first (ties: S2 order).
    pub fn top_places(&self, granularity: Granularity, k: usize) -> Vec<PlaceGuess> {
        let probabilities = self.cell_probabilities(granularity);
        let cells = self.index.cells(granularity).cells();
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by(|&a, &b| {
            probabilities.scores[b]
                .probability
                .total_cmp(&probabilities.scores[a].probability)
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|i| PlaceGuess {
                token: cells[i].cell.to_token(),
                cell_level: cells[i].cell.level(),
                probability: probabilities.scores[i].probability,
                place_name: cells[i].place_name.clone(),
                center: cells[i].mean,
            })
            .collect()
    }

    /// The answer with the photo's clock as a prior (points outside the time zones that kept
    /// the camera's UTC offset on the capture date scaled down, see [`clock`]), with what the
    /// clock said. `Ok(None)` when EXIF has no clock offset; `Err` with a note when it cannot
    /// be read (the plain answer stands).
    pub fn clock_answer(&self, facts: &PhotoFacts) -> Result<Option<ClockAnswer>, String> {
        let Some(camera) = clock::camera_clock(facts)? else {
            return Ok(None);
        };
        let zones = self.index.zones();
        let inside = zones.points_matching(&camera);
        let mut point_probabilities = self.point_probabilities.clone();
        let mass_in_zones = clock::apply_clock_prior(&mut point_probabilities, &inside);
        let agrees_with_gps = facts
            .gps
            .and_then(|g| camera.matches_zone(clock::zone_at(g)));
        Ok(Some(ClockAnswer {
            clue: ClockClue {
                clock: camera.describe(),
                matching_zones: zones.matching_zones(&camera),
                mass_in_zones,
                applied: false,
                agrees_with_gps,
            },
            prediction: Prediction {
                index: self.index.clone(),
                point_probabilities,
            },
            inside,
        }))
    }

    /// The cells of a granularity where most gallery points are flagged `inside`.
    pub fn cells_mostly(
        &self,
        granularity: Granularity,
        inside: &[bool],
    ) -> Vec<s2::cellid::CellID> {
        self.index.cells_mostly(granularity, inside)
    }

    /// The smallest sets of cells of a granularity holding each of `masses` of the probability.
    pub fn credible_regions(
        &self,
        granularity: Granularity,
        masses: &[f64],
    ) -> Vec<CredibleRegion> {
        let probabilities = self.cell_probabilities(granularity);
        let cells = self.index.cells(granularity);
        masses
            .iter()
            .map(|&mass| certainty::credible_region(&probabilities, cells, mass))
            .collect()
    }

    /// How peaked the answer is, from 0 (the same on every gallery point) to 1 (one point).
    pub fn localizability(&self) -> f64 {
        certainty::localizability(&self.point_probabilities)
    }

    /// Each geocell's probability: the sum over the gallery points inside it.
    pub fn cell_probabilities(&self, granularity: Granularity) -> CellProbabilities {
        let (cells, index) = self.index.level(granularity);
        let mut sums = vec![0f64; cells.len()];
        let mut uncovered = 0f64;
        for (cell, p) in index.iter().zip(&self.point_probabilities) {
            match cell {
                Some(i) => sums[*i as usize] += f64::from(*p),
                None => uncovered += f64::from(*p),
            }
        }
        let covered: f64 = sums.iter().sum();
        let scale = if covered > 0.0 { 1.0 / covered } else { 0.0 };
        CellProbabilities {
            granularity,
            scores: cells
                .cells()
                .iter()
                .zip(sums)
                .map(|(c, s)| CellScore {
                    cell: c.cell,
                    probability: s * scale,
                })
                .collect(),
            uncovered: uncovered / (covered + uncovered).max(f64::MIN_POSITIVE),
        }
    }
}

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
    heads: GeoclipHeads,
    gallery: GalleryMatrix,
    index: Arc<GalleryIndex>,
    device: Device,
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

/// Where the model's files are: GeoCLIP's heads and gallery (shipped in `models/geoclip`) and
/// CLIP's image tower (fetched into the user's data directory, or a folder given by the user).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDirs {
    pub geoclip: PathBuf,
    pub clip: PathBuf,
    /// Where the gallery embeddings are cached (`None`: computed on every start).
    pub gallery_cache: Option<PathBuf>,
}

impl ModelDirs {
    /// The shipped heads and the tower at `clip_dir`, or where `geolens models fetch` puts it.
    pub fn new(clip_dir: Option<&Path>) -> Result<Self, ModelError> {
        let clip = match clip_dir {
            Some(dir) => dir.to_owned(),
            None => default_clip_dir().ok_or_else(|| ModelError::MissingWeights {
                path: PathBuf::from("~/.local/share/geolens"),
                hint: "neither XDG_DATA_HOME nor HOME is set, so there is no data directory; \
                       pass --model-dir"
                    .into(),
            })?,
        };
        Ok(Self {
            geoclip: default_model_dir(),
            clip,
            gallery_cache: gallery::default_cache_dir(),
        })
    }
}

/// Whether one part of the model is in place.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentStatus {
    pub name: &'static str,
    pub path: PathBuf,
    /// `Ok(detail)` when present; `Err(how to get it)` when missing or damaged.
    pub state: Result<String, String>,
}

impl ModelDirs {
    /// How to get CLIP's image tower into `self.clip`.
    pub fn tower_hint(&self) -> String {
        format!(
            "CLIP's ViT-L/14 image tower is not installed (expected {}). Get it with \
             `geolens models fetch` (a 1.2 GB download from huggingface.co), or point \
             --model-dir at a folder holding config.json and model.safetensors of {}.",
            self.clip
                .join(crate::model::clip::weights::SAFETENSORS_FILE)
                .display(),
            crate::model::clip::weights::HF_REPO
        )
    }

    /// What is in place and what is missing, without loading any weights.
    pub fn check(&self) -> Vec<ComponentStatus> {
        use crate::model::clip::weights::{CONFIG_FILE, SAFETENSORS_FILE};
        use crate::model::geoclip::weights::{
            IMAGE_HEAD_FILE, LOCATION_ENCODER_FILE, SCALARS_FILE,
        };
        let size_mb = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).ok();
        let heads: Vec<PathBuf> = [LOCATION_ENCODER_FILE, IMAGE_HEAD_FILE, SCALARS_FILE]
            .iter()
            .map(|f| self.geoclip.join(f))
            .collect();
        let shipped = if self.geoclip == default_model_dir() {
            ", shipped inside geolens"
        } else {
            ""
        };
        let heads_state = match heads.iter().find(|p| !p.is_file()) {
            None => Ok(format!(
                "{:.1} MB{shipped}",
                heads.iter().filter_map(|p| size_mb(p)).sum::<f64>()
            )),
            Some(missing) => Err(format!(
                "{} is missing; rebuild it with `geolens models import-geoclip <geoclip-1.3.0 wheel>`",
                missing.display()
            )),
        };
        let gallery_path = self.geoclip.join(GALLERY_FILE);
        let gallery_state = match gallery::load_gallery(&gallery_path) {
            Ok(points) => Ok(format!("{} points", points.len())),
            Err(e) => Err(e.to_string()),
        };
        let cache_state = match (
            self.gallery_cache.clone(),
            gallery::cache_file_name(&self.geoclip, &gallery_path),
        ) {
            (Some(dir), Ok(name)) if dir.join(&name).is_file() => {
                Ok(format!("cached at {}", dir.join(name).display()))
            }
            (Some(dir), Ok(_)) => Ok(format!(
                "not computed yet: the first prediction embeds the gallery (about 30 s on a \
                 2-core CPU) and caches it under {}",
                dir.display()
            )),
            (None, _) => Ok("no cache directory (HOME unset): embedded on every start".into()),
            (_, Err(e)) => Err(e.to_string()),
        };
        let tower_file = self.clip.join(SAFETENSORS_FILE);
        let tower_state = if tower_file.is_file() {
            let config = if self.clip.join(CONFIG_FILE).is_file() {
                "with config.json"
            } else {
                "no config.json: ViT-L/14 assumed"
            };
            verify_fetched_record(&self.clip).map(|checked| {
                format!(
                    "{:.0} MB, {config}{checked}",
                    size_mb(&tower_file).unwrap_or(0.0)
                )
            })
        } else {
            Err(self.tower_hint())
        };
        vec![
            ComponentStatus {
                name: "GeoCLIP heads",
                path: self.geoclip.clone(),
                state: heads_state,
            },
            ComponentStatus {
                name: "GPS gallery",
                path: gallery_path,
                state: gallery_state,
            },
            ComponentStatus {
                name: "gallery embeddings",
                path: self.gallery_cache.clone().unwrap_or_default(),
                state: cache_state,
            },
            ComponentStatus {
                name: "CLIP image tower",
                path: self.clip.clone(),
                state: tower_state,
            },
        ]
    }
}

/// For a tower that `geolens models fetch` wrote: its SHA-256 against the one recorded in
/// `PROVENANCE.md` when it was fetched (", SHA-256 checked"); an error saying how to repair a
/// record that changed since. Towers from elsewhere have nothing to check against ("").
fn verify_fetched_record(dir: &Path) -> Result<&'static str, String> {
    let Ok(provenance) = std::fs::read_to_string(dir.join("PROVENANCE.md")) else {
        return Ok("");
    };
    let Some(recorded) = provenance
        .split("SHA-256 `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    else {
        return Ok("");
    };
    let file = dir.join(crate::model::clip::weights::SAFETENSORS_FILE);
    let found = crate::model::files::sha256_hex(&file).map_err(|e| e.to_string())?;
    if found.eq_ignore_ascii_case(recorded) {
        Ok(", SHA-256 checked")
    } else {
        Err(format!(
            "{} is damaged: its SHA-256 is {found}, not the {recorded} recorded when it was \
             fetched; run `geolens models fetch --force`",
            file.display()
        ))
    }
}

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
    tower: ClipTower,
    geolocator: Geolocator,
    device: Device,
    /// Photos per pass of the tower: as many as fit the device's buffers, at most
    /// [`MAX_TOWER_BATCH`].
    max_batch: usize,
    /// Where the tower was loaded from, for errors that blame its weights.
    tower_dir: Option<PathBuf>,
}

/// The most photos sent through the tower in one pass (bounds host memory on the CPU).
pub const MAX_TOWER_BATCH: usize = 16;

/// Photos per pass for folders on the CPU (see [`Predictor::folder_batch`]).
const CPU_FOLDER_BATCH: usize = 4;

impl Predictor {
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
    fn features(&self, pixels: Vec<f32>, n: usize) -> Result<Tensor<2>, ModelError> {
        debug_assert!(n <= self.max_batch);
        self.tower.features(pixels, n, &self.device)
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

/// PlaNet's "spatial support for decision": how much hiding each part of the photo lowers
/// the probability of the model's top cell.
#[derive(Debug, Clone, PartialEq)]
pub struct OcclusionMap {
    /// Patches per side; `drops` is row-major, `grid * grid` long.
    pub grid: usize,
    /// Top-cell probability without the patch minus with it (positive: the patch supports
    /// the decision).
    pub drops: Vec<f32>,
    /// The cell whose probability is tracked, and its probability on the whole photo.
    pub top_place: PlaceGuess,
    /// Side of the square crop the grid covers, in pixels of the model's input.
    pub input_size_px: u32,
}

impl Predictor {
    /// Occludes the model's input with a `grid` x `grid` raster of mean-grey patches (CLIP's
    /// mean colour: zero after normalisation), one at a time, and records how much each lowers
    /// the top cell's probability at `granularity`. `progress(done, total)` after each batch;
    /// returns `None` when `cancelled` turns true.
    pub fn occlusion_map(
        &self,
        photo: &RgbImage,
        granularity: Granularity,
        grid: usize,
        batch: usize,
        mut progress: impl FnMut(usize, usize),
        cancelled: impl Fn() -> bool,
    ) -> Result<Option<OcclusionMap>, ModelError> {
        let grid = grid.clamp(1, 32);
        let size = self.input_size_px();
        let s = size as usize;
        let base = clip_pixels(photo, size);
        let baseline = self
            .geolocator
            .predict_features(self.features(base.clone(), 1)?)?
            .pop()
            .ok_or_else(|| ModelError::Shape("no prediction".into()))?;
        let top_place = baseline
            .top_places(granularity, 1)
            .pop()
            .ok_or_else(|| ModelError::Shape("no geocells".into()))?;
        let cells = self.geolocator.index.cells(granularity);
        let top_index = cells
            .lookup_index(top_place.center.lat_deg, top_place.center.lon_deg)
            .ok_or_else(|| ModelError::Shape("top cell not found".into()))?;
        let patches: Vec<(usize, usize)> = (0..grid)
            .flat_map(|gy| (0..grid).map(move |gx| (gy, gx)))
            .collect();
        let mut drops = Vec::with_capacity(patches.len());
        for chunk in patches.chunks(batch.clamp(1, self.max_batch)) {
            if cancelled() {
                return Ok(None);
            }
            let mut pixels = Vec::with_capacity(chunk.len() * base.len());
            for &(gy, gx) in chunk {
                let mut occluded = base.clone();
                let (y0, y1) = (gy * s / grid, (gy + 1) * s / grid);
                let (x0, x1) = (gx * s / grid, (gx + 1) * s / grid);
                for c in 0..3 {
                    for y in y0..y1 {
                        let row = c * s * s + y * s;
                        occluded[row + x0..row + x1].fill(0.0);
                    }
                }
                pixels.extend(occluded);
            }
            let predictions = self
                .geolocator
                .predict_features(self.features(pixels, chunk.len())?)?;
            for p in predictions {
                let probability = p.cell_probabilities(granularity).scores[top_index].probability;
                drops.push((top_place.probability - probability) as f32);
            }
            progress(drops.len(), patches.len());
        }
        Ok(Some(OcclusionMap {
            grid,
            drops,
            top_place,
            input_size_px: size,
        }))
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::cpu_device;
    use crate::model::geoclip::reference_fixture::fixture;

    /// The shipped heads over the fixture's 4,000-point gallery subset.
    fn subset_geolocator() -> (
        Geolocator,
        crate::model::geoclip::reference_fixture::Fixture,
    ) {
        let device = cpu_device();
        let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
        let f = fixture();
        let points = f.gallery_points();
        let embeddings = GalleryEmbeddings::compute(&heads.location, &points, &device, |_, _| ())
            .expect("embeds");
        let geolocator =
            Geolocator::from_parts(heads, points, &embeddings, &device).expect("parts fit");
        (geolocator, f)
    }

    #[test]
    fn predictions_give_the_reference_points_and_cell_probabilities() {
        let (geolocator, f) = subset_geolocator();
        let device = cpu_device();
        let features = Tensor::<2>::from_data(
            TensorData::new(f.clip_inputs.concat(), [f.clip_inputs.len(), 768]),
            &device,
        );
        let predictions = geolocator.predict_features(features).expect("predicts");
        assert_eq!(predictions.len(), f.clip_inputs.len());
        for (i, prediction) in predictions.iter().enumerate() {
            let top = prediction.top_points(5);
            let expected: Vec<(f64, f64)> = f.top5_indices[i]
                .iter()
                .map(|&j| (f.gallery_coordinates[j][0], f.gallery_coordinates[j][1]))
                .collect();
            let got: Vec<(f64, f64)> = top.iter().map(|g| (g.lat_deg, g.lon_deg)).collect();
            assert_eq!(got, expected, "image {i}: top-5 point guesses");

            assert_eq!(prediction.best_guess(), top.first().copied());
            for granularity in Granularity::ALL {
                let places = prediction.top_places(granularity, 5);
                assert_eq!(places.len(), 5);
                assert!(
                    places
                        .windows(2)
                        .all(|w| w[0].probability >= w[1].probability)
                );
                assert!(!places[0].place_name.is_empty());
                let cells = prediction.cell_probabilities(granularity);
                let best = cells
                    .scores
                    .iter()
                    .map(|s| s.probability)
                    .fold(0.0, f64::max);
                assert_eq!(places[0].probability, best);
                let total: f64 = cells.scores.iter().map(|s| s.probability).sum();
                assert!(
                    (total - 1.0).abs() < 1e-9,
                    "{granularity:?}: sums to {total}"
                );
                assert!((0.0..0.2).contains(&cells.uncovered), "{}", cells.uncovered);
                // The best point's cell holds at least that point's mass.
                let geocells = geolocator.gallery().cells(granularity);
                if let Some(k) = geocells.lookup_index(top[0].lat_deg, top[0].lon_deg) {
                    assert_eq!(cells.scores[k].cell, geocells.cells()[k].cell);
                    assert!(cells.scores[k].probability >= top[0].probability);
                }
            }
        }
    }

    #[test]
    fn a_photo_goes_through_tower_and_heads_to_cell_probabilities() {
        let dir = std::env::temp_dir().join(format!("geolens-test-tower-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 7)
            .expect("write tower");
        let device = cpu_device();
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let (geolocator, _) = subset_geolocator();
        let predictor = Predictor::from_parts(tower, geolocator, &device).expect("fits");
        assert_eq!(predictor.input_size_px(), 28);
        let photo = crate::photo::decode::decode_photo(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"),
        )
        .expect("decodes");
        let (prediction, times) = predictor.predict_photo(&photo).expect("predicts");
        assert!(times.tower_ms > 0.0 && times.heads_ms > 0.0);
        let total: f32 = prediction.point_probabilities().iter().sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        // The same photo twice in a batch gives the same answer as alone: the same places, the
        // probabilities up to rounding (the matrix kernels tile a batch differently).
        let batch = predictor.predict_photos(&[&photo, &photo]).expect("batch");
        assert_eq!(batch.len(), 2);
        let alone = prediction.top_points(3);
        for (answer, _) in &batch {
            let top = answer.top_points(3);
            for (b, a) in top.iter().zip(&alone) {
                assert_eq!((b.lat_deg, b.lon_deg), (a.lat_deg, a.lon_deg));
                assert!(
                    (b.probability - a.probability).abs() <= 1e-5 * a.probability,
                    "{top:?} vs {alone:?}"
                );
            }
        }

        // A tower with the wrong feature width is refused up front.
        let narrow = crate::testing::TestTower {
            projection_dim: 16,
            ..Default::default()
        };
        crate::testing::write_test_clip_tower(&dir, narrow, 7).expect("write tower");
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let err = Predictor::from_parts(tower, subset_geolocator().0, &device)
            .expect_err("16 features")
            .to_string();
        assert!(err.contains("16") && err.contains("768"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn occlusion_maps_cover_the_grid_and_can_be_cancelled() {
        let dir = std::env::temp_dir().join(format!("geolens-occl-tower-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 3)
            .expect("write tower");
        let device = cpu_device();
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let predictor = Predictor::from_parts(tower, subset_geolocator().0, &device).expect("fits");
        let photo = crate::photo::decode::decode_photo(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/coffee.png"),
        )
        .expect("decodes");
        let mut reports = Vec::new();
        let map = predictor
            .occlusion_map(
                &photo,
                Granularity::Coarse,
                3,
                4,
                |d, t| reports.push((d, t)),
                || false,
            )
            .expect("runs")
            .expect("not cancelled");
        assert_eq!(map.grid, 3);
        assert_eq!(map.drops.len(), 9);
        assert_eq!(reports, [(4, 9), (8, 9), (9, 9)]);
        assert!(map.drops.iter().all(|d| d.is_finite() && d.abs() <= 1.0));
        // The stand-in tower is noise, but hiding parts of the photo still changes its answer.
        assert!(map.drops.iter().any(|d| d.abs() > 0.0));
        let top = predictor.predict_photo(&photo).expect("predicts").0;
        assert_eq!(top.top_places(Granularity::Coarse, 1)[0], map.top_place);
        let cancelled = predictor
            .occlusion_map(&photo, Granularity::Coarse, 3, 4, |_, _| (), || true)
            .expect("runs");
        assert!(cancelled.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_gpu_that_fails_while_loading_hands_over_to_the_cpu_in_auto_mode_only() {
        let dir = std::env::temp_dir().join(format!("geolens-fallback-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 5)
            .expect("write tower");
        let dirs = ModelDirs {
            geoclip: default_model_dir(),
            clip: dir.clone(),
            gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
        };
        // A "GPU" whose buffers cannot hold one gallery point (2,048 bytes).
        let failing = SelectedBackend {
            description: "GPU: a test adapter".into(),
            kind: BackendKind::Gpu,
            max_tensor_bytes: Some(1000),
            ..cpu_backend(None)
        };
        let (predictor, used) =
            Predictor::load_with_fallback(&dirs, failing.clone(), BackendChoice::Auto, |_| ())
                .expect("falls back to the CPU");
        assert_eq!(used.kind, BackendKind::Cpu);
        let notice = used.fallback_notice.expect("says why");
        assert!(
            notice.contains("GPU: a test adapter")
                && notice.contains("2048 bytes")
                && notice.contains("1000 bytes")
                && notice.ends_with("running on the CPU instead"),
            "{notice}"
        );
        let grey = RgbImage::from_pixel(40, 30, image::Rgb([90, 120, 200]));
        assert!(predictor.predict_photo(&grey).is_ok());
        // Asked for the GPU by name, the same failure is an error naming the limit.
        let err = Predictor::load_with_fallback(&dirs, failing, BackendChoice::Gpu, |_| ())
            .expect_err("no fallback for --backend gpu");
        assert!(
            matches!(
                err,
                ModelError::DeviceLimit {
                    limit_bytes: 1000,
                    ..
                }
            ),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damaged_weights_give_an_error_naming_them_not_a_nan_answer() {
        let dir = std::env::temp_dir().join(format!("geolens-nan-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 5)
            .expect("write tower");
        // Overwrite the projection's first float32 with NaN, as a bad download would.
        let path = dir.join(crate::model::clip::weights::SAFETENSORS_FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value =
            serde_json::from_slice(&bytes[8..8 + header_len]).expect("header");
        let entry = &header["visual_projection.weight"];
        assert_eq!(entry["dtype"], "F32");
        let start = 8 + header_len + entry["data_offsets"][0].as_u64().unwrap() as usize;
        bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        std::fs::write(&path, bytes).expect("write");
        let dirs = ModelDirs {
            geoclip: default_model_dir(),
            clip: dir.clone(),
            gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
        };
        let predictor = Predictor::load(&dirs, &cpu_device(), |_| ()).expect("loads");
        let grey = RgbImage::from_pixel(40, 30, image::Rgb([90, 120, 200]));
        let err = predictor.predict_photo(&grey).expect_err("NaN").to_string();
        assert!(
            err.contains("not a number") && err.contains(&dir.display().to_string()),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn photos_go_through_the_tower_in_batches_that_fit_the_device() {
        let dir = std::env::temp_dir().join(format!("geolens-batches-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 7)
            .expect("write tower");
        let device = cpu_device();
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let peak = tower.peak_bytes_per_image();
        let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
        let f = fixture();
        let points = f.gallery_points();
        let embeddings = GalleryEmbeddings::compute(&heads.location, &points, &device, |_, _| ())
            .expect("embeds");
        // Room for two photos at a time in the tower (three passes for five photos), and nine
        // gallery points a block.
        let limit = Some(2 * peak);
        let geolocator = Geolocator::from_parts_within(heads, points, &embeddings, &device, limit)
            .expect("fits");
        let small = Predictor::from_parts(tower, geolocator, &device).expect("fits");
        assert_eq!(small.max_batch(), 2);
        assert_eq!(small.geolocator().gallery_blocks(), 4000usize.div_ceil(9));
        let (whole, _) = subset_geolocator();
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let unlimited = Predictor::from_parts(tower, whole, &device).expect("fits");
        assert_eq!(unlimited.max_batch(), MAX_TOWER_BATCH);
        let photos: Vec<RgbImage> = (0..5u8)
            .map(|i| RgbImage::from_pixel(50, 40, image::Rgb([40 * i, 200 - 30 * i, 90])))
            .collect();
        let refs: Vec<&RgbImage> = photos.iter().collect();
        let a = small.predict_photos(&refs).expect("predicts in passes");
        let b = unlimited
            .predict_photos(&refs)
            .expect("predicts in one pass");
        assert_eq!(a.len(), 5);
        for ((pa, _), (pb, _)) in a.iter().zip(&b) {
            assert_eq!(pa.top_points(5).len(), 5);
            let same: Vec<_> = pa
                .top_points(5)
                .iter()
                .map(|p| (p.lat_deg, p.lon_deg))
                .collect();
            let other: Vec<_> = pb
                .top_points(5)
                .iter()
                .map(|p| (p.lat_deg, p.lon_deg))
                .collect();
            assert_eq!(same, other);
        }
        // A device too small for one photo in the tower is refused up front, naming the limit.
        let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
        let tight = Geolocator::from_parts_within(
            heads,
            f.gallery_points(),
            &embeddings,
            &device,
            Some(peak - 1),
        )
        .expect("a gallery point fits");
        let tower = load_clip_vision(&dir, &device).expect("loads");
        let err = Predictor::from_parts(tower, tight, &device).expect_err("too small");
        assert!(
            err.to_string().contains("one photo in the CLIP tower"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn features_of_the_wrong_width_are_an_error_not_a_panic() {
        let (geolocator, _) = subset_geolocator();
        let err = geolocator
            .predict_feature_vector(&[0.5; 512])
            .expect_err("512 values")
            .to_string();
        assert!(err.contains("512") && err.contains("768"), "{err}");
    }
}
