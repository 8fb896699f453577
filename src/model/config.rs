//! How the model is set up, in one value: which tower folder, which backend, how many CPU
//! threads, where the gallery embeddings are cached. The command line reads it from its global
//! flags (`--model-dir`, `--backend`, `--threads`), the app from its settings; both hand it to
//! [`Predictor::load_config`](crate::predict::Predictor::load_config), the one call that loads
//! the model.

use std::path::PathBuf;

use super::ModelError;
use super::backend::{BackendChoice, set_cpu_threads};
use super::dirs::ModelDirs;

#[derive(Debug, Clone, PartialEq, Default, clap::Args)]
pub struct ModelConfig {
    /// Where the model runs: a hardware GPU when present (auto), the GPU (wgpu) or the CPU.
    #[arg(long, value_enum, global = true, default_value = "auto")]
    pub backend: BackendChoice,
    /// Folder holding CLIP ViT-L/14's config.json and model.safetensors (Hugging Face layout),
    /// instead of where `geolens models fetch` puts them.
    #[arg(long, value_name = "DIR", global = true)]
    pub model_dir: Option<PathBuf>,
    /// Threads for the model on the CPU (default: every core).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Gallery embedding cache folder; `None` for the user cache.
    #[arg(skip)]
    pub gallery_cache: Option<PathBuf>,
}

impl ModelConfig {
    /// The tower at `model_dir` (or where `geolens models fetch` puts it) on `backend`, every
    /// core, the user's gallery cache.
    pub fn new(model_dir: Option<PathBuf>, backend: BackendChoice) -> Self {
        Self {
            model_dir,
            backend,
            ..Self::default()
        }
    }

    /// Sizes the CPU's thread pool as asked. Only the first call in a process takes effect
    /// (rayon's global pool is built once): the binary calls it first thing, and loading
    /// calls it again. Returns the threads in effect.
    pub fn apply_threads(&self) -> usize {
        set_cpu_threads(self.threads.map(usize::from))
    }

    /// Where the CLIP embeddings of a library's photos are kept between runs: beside the
    /// gallery cache (the user cache's `library-embeddings`).
    pub fn embedding_cache_dir(&self) -> Option<PathBuf> {
        match &self.gallery_cache {
            Some(gallery) => gallery.parent().map(|p| p.join("library-embeddings")),
            None => crate::paths::user_cache_dir().map(|d| d.join("library-embeddings")),
        }
    }

    /// Where this configuration's model files are.
    pub fn dirs(&self) -> Result<ModelDirs, ModelError> {
        let mut dirs = ModelDirs::new(self.model_dir.as_deref())?;
        if let Some(cache) = &self.gallery_cache {
            dirs.gallery_cache = Some(cache.clone());
        }
        Ok(dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        model: ModelConfig,
    }

    #[test]
    fn flags_fill_the_config_and_ranges_are_checked() {
        let cli = Cli::try_parse_from([
            "geolens",
            "--backend",
            "cpu",
            "--model-dir",
            "/x",
            "--threads",
            "3",
        ])
        .expect("parses");
        assert_eq!(
            cli.model,
            ModelConfig {
                threads: Some(3),
                ..ModelConfig::new(Some("/x".into()), BackendChoice::Cpu)
            }
        );
        assert_eq!(
            Cli::try_parse_from(["geolens"]).expect("parses").model,
            ModelConfig::default()
        );
        for bad in [
            ["--threads", "0"],
            ["--threads", "257"],
            ["--backend", "tpu"],
        ] {
            assert!(
                Cli::try_parse_from(["geolens", bad[0], bad[1]]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_gallery_cache_given_replaces_the_users() {
        let config = ModelConfig {
            gallery_cache: Some("/cache".into()),
            ..ModelConfig::new(Some("/tower".into()), BackendChoice::Cpu)
        };
        let dirs = config.dirs().expect("dirs");
        assert_eq!(dirs.gallery_cache, Some(PathBuf::from("/cache")));
        assert_eq!(dirs.clip, PathBuf::from("/tower"));
    }
}
