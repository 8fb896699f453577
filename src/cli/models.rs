//! `geolens models ...`: bring model weights into the app's own formats.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CliError, Exit};
use crate::model::ModelError;
use crate::model::backend::cpu_device;
use crate::model::backend::{SelectedBackend, select_backend};
use crate::model::clip::weights::default_clip_dir;
use crate::model::config::ModelConfig;
use crate::model::dirs::ModelDirs;
use crate::model::fetch::FetchOptions;
use crate::model::files::{sha256_hex, write_atomically};
use crate::model::geoclip::gallery::{GALLERY_FILE, load_gallery};
use crate::model::geoclip::weights::{find_pth_dir, import_from_pth};

const PTH_FILES: [&str; 3] = [
    "location_encoder_weights.pth",
    "image_encoder_mlp_weights.pth",
    "logit_scale_weights.pth",
];

/// The gallery coordinates inside the package, relative to its `weights/` directory.
const GALLERY_FROM_WEIGHTS: &str = "../gps_gallery/coordinates_100K.csv";

/// Model weights.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ModelsCommand {
    /// What is installed, where, and how to get what is missing.
    Status,
    /// Download CLIP ViT-L/14's image tower (only its vision tensors, 1.2 GB) from the
    /// Hugging Face hub or a mirror; resumes an interrupted download.
    Fetch {
        /// Folder URL holding model.safetensors and config.json.
        #[arg(long = "from", value_name = "URL", default_value = crate::model::fetch::DEFAULT_BASE_URL)]
        base_url: String,
        /// Where to put it (default: --model-dir, else ~/.local/share/geolens/models/clip-vit-large-patch14).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Refuse the download unless the written model.safetensors has this SHA-256.
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Fetch again even if already installed.
        #[arg(long)]
        force: bool,
        /// Keep the weights in float32 (2x the disk) instead of storing them as float16.
        #[arg(long)]
        f32: bool,
    },
    /// Convert GeoCLIP's heads from the geoclip 1.3.0 wheel (or its unpacked directory).
    ImportGeoclip {
        source: PathBuf,
        /// Where the records go.
        #[arg(long, default_value = "models/geoclip")]
        out: PathBuf,
    },
}

/// A SHA-256 given on the command line, checked before a 1.2 GB download rather than after
/// it; lower case.
fn sha256_arg(hex: &str) -> Result<String, CliError> {
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CliError::Usage(format!(
            "--sha256 must be 64 hexadecimal digits (a SHA-256), not {hex:?}"
        )));
    }
    Ok(hex.to_ascii_lowercase())
}

impl ModelsCommand {
    pub fn run(&self, model: &ModelConfig, out: &mut dyn Write) -> Result<Exit, CliError> {
        let stdout = || CliError::io("standard output");
        let report = match self {
            Self::ImportGeoclip {
                source,
                out: records,
            } => import_geoclip(source, records)?,
            Self::Status => {
                status(&model.dirs()?, &mut *out).map_err(stdout())?;
                let backend = select_backend(model.backend)?;
                backend_line(&backend)
            }
            Self::Fetch {
                base_url,
                out: folder,
                sha256,
                force,
                f32,
            } => {
                let folder = match folder.clone().or_else(|| model.model_dir.clone()) {
                    Some(dir) => dir,
                    None => default_clip_dir().ok_or_else(|| {
                        CliError::Usage("no data directory (HOME unset); pass --out".into())
                    })?,
                };
                let mut options = FetchOptions::new(base_url.clone(), folder);
                options.expected_sha256 = sha256.as_deref().map(sha256_arg).transpose()?;
                options.force = *force;
                options.half = !f32;
                fetch(&options)?
            }
        };
        writeln!(out, "{report}").map_err(stdout())?;
        Ok(Exit::Ok)
    }
}

/// `backend  CPU (flex, 2 threads)` with the device's buffer limit and any fallback notice.
fn backend_line(backend: &SelectedBackend) -> String {
    format!(
        "backend  {}{}{}",
        backend.description,
        backend
            .max_tensor_bytes
            .map(|b| format!("; largest buffer {:.1} MB", b as f64 / 1e6))
            .unwrap_or_default(),
        backend
            .fallback_notice
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    )
}

/// Copies the three `.pth` members and the gallery of a geoclip wheel into `dir`, keeping their
/// layout under `geoclip/`.
fn extract_wheel(wheel: &Path, dir: &Path) -> Result<(), ModelError> {
    let bad = |message: String| ModelError::BadWeights {
        path: wheel.to_owned(),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(|e| bad(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a wheel: {e}")))?;
    let members = PTH_FILES
        .iter()
        .map(|name| format!("model/weights/{name}"))
        .chain(["model/gps_gallery/coordinates_100K.csv".to_string()]);
    for member in members {
        let mut entry = archive.by_name(&format!("geoclip/{member}")).map_err(|_| {
            bad(format!(
                "geoclip/{member} is not in this wheel (is it geoclip 1.3.0?)"
            ))
        })?;
        let out_path = dir.join(&member);
        if let Some(parent) = out_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| bad(e.to_string()))?;
        }
        let mut out = std::fs::File::create(&out_path).map_err(|e| bad(e.to_string()))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// Checks the gallery parses and copies it into `out_dir` under [`GALLERY_FILE`].
fn import_gallery(source: &Path, out_dir: &Path) -> Result<usize, ModelError> {
    let points = load_gallery(source)?;
    let bytes = std::fs::read(source).map_err(|e| ModelError::BadWeights {
        path: source.to_owned(),
        message: e.to_string(),
    })?;
    write_atomically(out_dir, GALLERY_FILE, |tmp| {
        std::fs::write(tmp, &bytes).map_err(|e| e.to_string())
    })?;
    Ok(points.len())
}

/// Imports GeoCLIP's heads and gallery from a wheel or a directory holding its `.pth` files,
/// writes the records, the gallery and `PROVENANCE.md` into `out_dir`, and returns a short
/// report.
pub fn import_geoclip(source: &Path, out_dir: &Path) -> Result<String, ModelError> {
    let scratch;
    let pth_dir = if source.is_file() {
        scratch = std::env::temp_dir().join(format!("geolens-import-{}", std::process::id()));
        let extracted = extract_wheel(source, &scratch);
        if let Err(e) = extracted {
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(e);
        }
        scratch.join("model").join("weights")
    } else {
        scratch = PathBuf::new();
        find_pth_dir(source).ok_or_else(|| ModelError::MissingWeights {
            path: source.to_owned(),
            hint: "expected a geoclip-1.3.0 wheel, or a directory with geoclip/model/weights/*.pth"
                .into(),
        })?
    };
    let gallery_source = pth_dir.join(GALLERY_FROM_WEIGHTS);
    let started = std::time::Instant::now();
    let result = import_from_pth(&pth_dir, out_dir, &cpu_device())
        .and_then(|heads| Ok((heads, import_gallery(&gallery_source, out_dir)?)));
    let hashes: Vec<(String, Result<String, ModelError>)> = PTH_FILES
        .iter()
        .map(|n| (format!("model/weights/{n}"), sha256_hex(&pth_dir.join(n))))
        .chain([(
            "model/gps_gallery/coordinates_100K.csv".to_string(),
            sha256_hex(&gallery_source),
        )])
        .collect();
    if !scratch.as_os_str().is_empty() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let (heads, gallery_points) = result?;
    let mut provenance = String::from(
        "# GeoCLIP heads (converted) and GPS gallery\n\n\
         Location encoder, image head, logit scale and 100k-point GPS gallery of GeoCLIP\n\
         (Vivanco Cepeda, Nayak, Shah:\n\
         \"GeoCLIP: Clip-Inspired Alignment between Locations and Images for Effective Worldwide\n\
         Geo-localization\", NeurIPS 2023), from the Python package `geoclip` 1.3.0 on PyPI,\n\
         `geoclip/model/weights/` and `geoclip/model/gps_gallery/`. Licence: MIT (Copyright (c) 2024 Vicente Vivanco);\n\
         the licence text is in `LICENSE` beside this file.\n\n\
         Converted by `geolens models import-geoclip` (burn's PyTorch reader -> safetensors,\n\
         Linear weights stored as [in, out]); no values changed. The gallery is copied as is\n\
         to `gallery_100k.csv`.\n\nSource files (SHA-256):\n\n",
    );
    for (name, hash) in hashes {
        provenance += &format!("- `{name}`: `{}`\n", hash?);
    }
    provenance += &format!("\nlogit_scale = {}\n", heads.scalars.logit_scale);
    let path = out_dir.join("PROVENANCE.md");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(provenance.as_bytes()))
        .map_err(|e| ModelError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
    Ok(format!(
        "imported GeoCLIP heads ({} location branches, logit scale {:.4}) and a {}-point gallery into {} in {:.1} s",
        heads.location.branches.len(),
        heads.scalars.logit_scale,
        gallery_points,
        out_dir.display(),
        started.elapsed().as_secs_f64()
    ))
}

/// `geolens models fetch`: CLIP's image tower into `out_dir`, with a progress bar on a
/// terminal. Returns the report line.
pub fn fetch(
    options: &crate::model::fetch::FetchOptions,
) -> Result<String, crate::model::fetch::FetchError> {
    use crate::model::fetch::{FetchOutcome, FetchProgress, fetch_clip_vision};
    let mut bar = super::progress::Progress::always();
    let outcome = fetch_clip_vision(
        options,
        |p| match p {
            FetchProgress::ReadingHeader => bar.update(0, 1, "reading the file's header"),
            FetchProgress::Downloading {
                done_bytes,
                total_bytes,
            } => bar.update(
                done_bytes >> 20,
                total_bytes >> 20,
                "MiB of CLIP's image tower",
            ),
            FetchProgress::Verifying => bar.update(1, 1, "checking"),
        },
        None,
    )?;
    drop(bar);
    Ok(match outcome {
        FetchOutcome::AlreadyInstalled(path) => format!(
            "already installed: {} (pass --force to fetch it again)",
            path.display()
        ),
        FetchOutcome::Fetched(r) => format!(
            "fetched {} tensors ({:.1} MB{}) into {}; SHA-256 {} ({})",
            r.tensors,
            r.record_bytes as f64 / 1e6,
            if r.resumed_from_bytes > 0 {
                format!(", resumed at {:.1} MB", r.resumed_from_bytes as f64 / 1e6)
            } else {
                String::new()
            },
            r.path.display(),
            r.sha256,
            if r.checksum_pinned {
                "matches the pinned digest"
            } else {
                "no pinned digest given; written to PROVENANCE.md"
            }
        ),
    })
}

/// `geolens models status`: what is installed, where, and how to get what is missing.
/// Returns whether everything needed to geolocate photos is in place.
pub fn status(dirs: &ModelDirs, out: &mut dyn Write) -> std::io::Result<bool> {
    let mut ready = true;
    for c in dirs.check() {
        match &c.state {
            Ok(detail) => writeln!(
                out,
                "ok       {:<20} {}  ({detail})",
                c.name,
                c.path.display()
            )?,
            Err(hint) => {
                ready = false;
                writeln!(out, "MISSING  {:<20} {hint}", c.name)?;
            }
        }
    }
    Ok(ready)
}
