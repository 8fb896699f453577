//! Where the model's files are (GeoCLIP's heads and gallery, CLIP's image tower, the gallery
//! embeddings' cache) and whether each is in place, without loading any weights.

use std::path::{Path, PathBuf};

use super::ModelError;
use super::clip::weights::default_clip_dir;
use super::geoclip::gallery::{self, GALLERY_FILE};
use super::geoclip::weights::default_model_dir;
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
