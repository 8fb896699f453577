//! `geolens` with no arguments opens the app; subcommands run the command line.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use geolens::app::{self, LaunchOptions};
use geolens::geo::geocells::Granularity;
use geolens::geo::partition::PartitionParams;
use geolens::model::backend::BackendChoice;

/// `println!` that reports a closed or full standard output as an error (one line, exit 1)
/// instead of panicking, as `... | true` or a full disk would make it.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).context("writing to standard output")?
    }};
}

#[derive(Parser)]
#[command(
    name = "geolens",
    version,
    about = "Tells where a photo was taken. No command: open the app (with any photos given)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    gui: GuiArgs,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Where the model runs: a hardware GPU when present (auto), the GPU (wgpu) or the CPU.
    #[arg(long, value_enum, global = true, default_value = "auto")]
    backend: Backend,
    /// Folder holding CLIP ViT-L/14's config.json and model.safetensors (Hugging Face layout),
    /// instead of where `geolens models fetch` puts them.
    #[arg(long, value_name = "DIR", global = true)]
    model_dir: Option<PathBuf>,
    /// Threads for the model on the CPU (default: every core).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Auto,
    Gpu,
    Cpu,
}

impl From<Backend> for BackendChoice {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Auto => BackendChoice::Auto,
            Backend::Gpu => BackendChoice::Gpu,
            Backend::Cpu => BackendChoice::Cpu,
        }
    }
}

/// Which towers score photo against tile.
#[derive(Clone, Copy, ValueEnum)]
enum Towers {
    /// CLIP's image tower for both (needs the CLIP weights).
    Clip,
    /// Colour histograms: a baseline that needs no weights.
    Colour,
}

impl From<Towers> for geolens::cli::aerial::TowerChoice {
    fn from(t: Towers) -> Self {
        match t {
            Towers::Clip => Self::Clip,
            Towers::Colour => Self::Colour,
        }
    }
}

/// Export formats.
#[derive(Clone, Copy, ValueEnum)]
enum ExportFormatArg {
    Geojson,
    Gpx,
    Kml,
    Csv,
}

/// How sidecars are named.
#[derive(Clone, Copy, ValueEnum)]
enum XmpNaming {
    Digikam,
    Darktable,
}

/// A probability given on the command line: a number from 0 to 1.
fn probability(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{text:?} is not a probability from 0 to 1"))
}

/// Whether the photo's clock (EXIF capture time and UTC offset) weighs the answer.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args)]
struct GuiArgs {
    /// Photos to open in the app.
    #[arg(value_name = "PHOTO")]
    photos: Vec<PathBuf>,
    /// Start in the guessing game.
    #[arg(long)]
    game: bool,
    /// Show these cell scores (CSV `token,probability`) instead of the sample heatmap.
    #[arg(long, value_name = "CSV")]
    heatmap: Option<PathBuf>,
    /// Centre the map here, as `LAT,LON` in degrees.
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    center: Option<String>,
    /// Map zoom level (0 = whole world in 256 px).
    #[arg(long)]
    zoom: Option<f64>,
    /// Cell granularity for the heatmap.
    #[arg(long, value_enum)]
    level: Option<Level>,
    /// Render the window once, save it as PNG (plus a .json with the map's geometry), quit.
    #[arg(long, value_name = "PNG")]
    screenshot: Option<PathBuf>,
    /// With --screenshot: replace an existing PNG and .json.
    #[arg(long)]
    force: bool,
    /// Pan and zoom the map for N frames, print frame-time statistics, quit (for
    /// `cargo bench --bench frames`).
    #[arg(long, value_name = "N", hide = true)]
    bench_frames: Option<usize>,
    /// Window size as `WIDTHxHEIGHT` in points.
    #[arg(long, value_name = "WxH", default_value = "1280x800")]
    window_size: String,
    /// Do not load or save settings.
    #[arg(long)]
    ephemeral: bool,
    /// Folder of aerial tiles (ZOOM/X/Y.jpg) to match photos against.
    #[arg(long, value_name = "DIR")]
    aerial_tiles: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    Coarse,
    Middle,
    Fine,
}

impl From<Level> for Granularity {
    fn from(l: Level) -> Self {
        match l {
            Level::Coarse => Granularity::Coarse,
            Level::Middle => Granularity::Middle,
            Level::Fine => Granularity::Fine,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Where was each photo taken? Files or folders (searched recursively). Exit code 2 when
    /// some photos could not be read (each reported on stderr; the others still printed).
    Predict {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// How many places to list per photo.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        top: u16,
        /// Cell granularity of the listed places.
        #[arg(long, value_enum, default_value = "middle")]
        level: Level,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Weigh the answer by the photo's own clock: gallery points outside the time zones
        /// that kept its EXIF UTC offset on its capture date count for a twentieth.
        #[arg(long, value_enum, default_value = "on")]
        clock_prior: OnOff,
        /// Keep each best guess in an XMP sidecar beside its photo (exif:GPSLatitude and
        /// exif:GPSLongitude, with a note of where it came from); the photo is never changed.
        #[arg(long)]
        write_xmp: bool,
        /// With --write-xmp: only photos whose most likely place holds at least this
        /// probability (0 to 1).
        #[arg(long, value_name = "P", requires = "write_xmp", value_parser = probability)]
        min_confidence: Option<f64>,
        /// With --write-xmp: replace a position a sidecar already has.
        #[arg(long, requires = "write_xmp")]
        replace_gps: bool,
        /// With --write-xmp: how sidecars are named, as your photo organiser expects
        /// (digikam: IMG_1.xmp, also Lightroom; darktable: IMG_1.JPG.xmp).
        #[arg(long, value_enum, default_value = "digikam", requires = "write_xmp")]
        xmp_naming: XmpNaming,
    },
    /// One point per photo for other tools: the location its XMP sidecar holds, else the
    /// model's best guess, with probability and certainty. Files or folders.
    Export {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "geojson")]
        format: ExportFormatArg,
        /// Cell granularity for the most likely place and the credible region.
        #[arg(long, value_enum, default_value = "middle")]
        level: Level,
        /// Weigh answers by the photos' clocks (as `predict`).
        #[arg(long, value_enum, default_value = "on")]
        clock_prior: OnOff,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Accuracy on a benchmark: a CSV of `path,lat,lon` (im2gps / im2gps3k layout) and the
    /// folder its paths are relative to.
    Eval {
        dataset: PathBuf,
        #[arg(long, value_name = "DIR")]
        images: PathBuf,
        /// Per-photo results CSV (default: <DATASET>.results.csv beside the dataset).
        #[arg(long, value_name = "CSV")]
        results: Option<PathBuf>,
        /// Overwrite an existing results file.
        #[arg(long)]
        force: bool,
        /// Weigh answers by the photos' clocks (off by default, so benchmarks compare with
        /// the literature's).
        #[arg(long, value_enum, default_value = "off")]
        clock_prior: OnOff,
    },
    /// Aerial tiles around the photo's most likely places, ranked against it (Where-CNN's
    /// ground-to-aerial matching). Tiles from a folder (ZOOM/X/Y.jpg) or, opt-in, online.
    /// Exit code 2 when some tiles could not be had.
    Match {
        photo: PathBuf,
        /// Folder of aerial tiles, ZOOM/X/Y.{jpg,png,webp} (zoom 16-18).
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "online",
            required_unless_present = "online"
        )]
        tiles: Option<PathBuf>,
        /// Fetch the tiles from ESRI World Imagery (cached on disk, two requests at a time).
        #[arg(long)]
        online: bool,
        /// Another tile server for --online, as a URL with {z}, {x} and {y}.
        #[arg(long, value_name = "URL", requires = "online")]
        tile_url: Option<String>,
        /// Tile zoom (16-18).
        #[arg(long, default_value_t = 17)]
        zoom: u8,
        /// How many of the most likely places to look around (1-10).
        #[arg(long, default_value_t = 3)]
        places: usize,
        /// Tiles on each side of a place's centre (1: a 3x3 grid; at most 4).
        #[arg(long, default_value_t = 1)]
        radius: u32,
        /// At most this many tiles in all (1-200).
        #[arg(long, default_value_t = 27)]
        max_tiles: usize,
        /// Weight of the geolocation prior against appearance (0: appearance only).
        #[arg(long, default_value_t = geolens::aerial::rank::DEFAULT_PRIOR_WEIGHT)]
        prior_weight: f64,
        #[arg(long, value_enum, default_value = "clip")]
        towers: Towers,
        #[arg(long)]
        json: bool,
    },
    /// A two-tower scorer on labelled (photo, aerial tile) pairs: average precision and the
    /// distance distributions of positive and negative pairs. CSV columns: ground,aerial,same.
    MatchEval {
        pairs: PathBuf,
        /// Folder the CSV's paths are relative to (default: the CSV's folder).
        #[arg(long, value_name = "DIR")]
        images: Option<PathBuf>,
        /// Also draw the two distance distributions into this PNG.
        #[arg(long, value_name = "PNG")]
        histogram: Option<PathBuf>,
        /// Overwrite an existing histogram file.
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value = "clip")]
        towers: Towers,
        #[arg(long)]
        json: bool,
    },
    /// Adaptive S2 partitions (PlaNet's geocells).
    Cells {
        #[command(subcommand)]
        command: CellsCommand,
    },
    /// Model weights.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Public benchmark photos, fetched only when asked.
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
}

#[derive(Subcommand)]
enum DatasetsCommand {
    /// A reproducible sample of a dataset's test photos, spread over countries, read out of
    /// its remote zip files with range requests: photos, dataset.csv (for `geolens eval`) and
    /// ATTRIBUTION.csv. Photos already in the folder are kept (a cut fetch resumes).
    Fetch {
        #[arg(value_enum)]
        dataset: DatasetName,
        /// How many photos.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=210_000))]
        count: u32,
        /// The sample's seed: the same seed gives the same photos.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only these countries (comma-separated codes as in the dataset, e.g. FR,JP).
        #[arg(long, value_delimiter = ',')]
        countries: Vec<String>,
        /// Base URL holding test.csv and images/test/*.zip (a mirror).
        #[arg(long, value_name = "URL", default_value = geolens::datasets::osv5m::DEFAULT_BASE_URL)]
        from: String,
        /// The zip files under images/test/, without .zip.
        #[arg(long, value_delimiter = ',', default_value = "00,01,02,03,04")]
        zips: Vec<String>,
        /// Folder to fill (default: the user data folder's datasets/osv5m-test).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DatasetName {
    /// OpenStreetView-5M's test set (210k street photos, 225 countries, CC BY-SA 4.0).
    #[value(name = "osv5m-test")]
    Osv5mTest,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// What is installed, where, and how to get what is missing.
    Status,
    /// Download CLIP ViT-L/14's image tower (only its vision tensors, 1.2 GB) from the
    /// Hugging Face hub or a mirror; resumes an interrupted download.
    Fetch {
        /// Folder URL holding model.safetensors and config.json.
        #[arg(long = "from", value_name = "URL", default_value = geolens::model::fetch::DEFAULT_BASE_URL)]
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

#[derive(Subcommand)]
enum CellsCommand {
    /// Partition photo locations (CSV `lat,lon`, header optional) into named cells.
    Build {
        #[arg(long)]
        input: PathBuf,
        /// Drop cells with fewer photos than this.
        #[arg(long)]
        t_min: u32,
        /// Split cells with more photos than this.
        #[arg(long)]
        t_max: u32,
        /// Deepest S2 level to split to.
        #[arg(long, default_value_t = 30)]
        max_level: u8,
        /// Output CSV; refuses to overwrite an existing file unless --force.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Show the shipped partitions.
    Stats,
}

fn parse_pair(s: &str, sep: char, what: &str) -> Result<(f64, f64)> {
    let (a, b) = s
        .split_once(sep)
        .with_context(|| format!("{what} must look like A{sep}B, got {s:?}"))?;
    let a: f64 = a
        .trim()
        .parse()
        .with_context(|| format!("bad {what} {s:?}"))?;
    let b: f64 = b
        .trim()
        .parse()
        .with_context(|| format!("bad {what} {s:?}"))?;
    if !a.is_finite() || !b.is_finite() {
        bail!("bad {what} {s:?}");
    }
    Ok((a, b))
}

fn run_gui(args: GuiArgs, model: Option<geolens::worker::ModelConfig>) -> Result<()> {
    let heatmap_scores = match &args.heatmap {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
            let scores = geolens::scores::read_cell_scores_csv(file)
                .with_context(|| format!("{}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some((name, scores))
        }
        None => None,
    };
    let center_lat_lon_deg = match &args.center {
        Some(s) => {
            let (lat, lon) = parse_pair(s, ',', "--center")?;
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                bail!("--center {s:?} is outside lat [-90, 90], lon [-180, 180]");
            }
            Some((lat, lon))
        }
        None => None,
    };
    let (w, h) = parse_pair(&args.window_size, 'x', "--window-size")?;
    if !(100.0..=10_000.0).contains(&w) || !(100.0..=10_000.0).contains(&h) {
        bail!("--window-size must be between 100x100 and 10000x10000");
    }
    if let Some(z) = args.zoom
        && !(0.0..=20.0).contains(&z)
    {
        bail!("--zoom must be between 0 and 20");
    }
    if let Some(png) = &args.screenshot {
        check_screenshot_path(png, args.force)?;
    }
    let ephemeral = args.ephemeral || args.screenshot.is_some() || args.bench_frames.is_some();
    for photo in &args.photos {
        if !photo.exists() {
            bail!("{}: no such file", photo.display());
        }
    }
    if let Some(dir) = &args.aerial_tiles
        && !dir.is_dir()
    {
        bail!("--aerial-tiles {}: no such folder", dir.display());
    }
    app::run(LaunchOptions {
        heatmap_scores,
        photos: args.photos,
        center_lat_lon_deg,
        zoom: args.zoom,
        granularity: args.level.map(Into::into),
        mode: args.game.then_some(app::state::Mode::Game),
        screenshot: args.screenshot,
        screenshot_replaces: args.force,
        bench_frames: args.bench_frames,
        window_size: [w as f32, h as f32],
        ephemeral,
        model,
        game_history: None,
        aerial_folder: args.aerial_tiles,
        datasets_dir: None,
    })?;
    Ok(())
}

/// What `run` wants the process to exit with.
enum Exit {
    Ok,
    /// Some inputs failed (already reported), the rest succeeded.
    Partial,
}

fn run() -> Result<Exit> {
    let cli = Cli::parse();
    geolens::model::backend::set_cpu_threads(cli.model.threads.map(usize::from));
    let backend: BackendChoice = cli.model.backend.into();
    let model_dir = cli.model.model_dir;
    match cli.command {
        None => {
            // Model flags given on the command line override the app's saved settings.
            let explicit = model_dir.is_some() || !matches!(backend, BackendChoice::Auto);
            let model = explicit.then(|| geolens::worker::ModelConfig::new(model_dir, backend));
            run_gui(cli.gui, model).map(|()| Exit::Ok)
        }
        Some(Command::Predict {
            paths,
            top,
            level,
            format,
            clock_prior,
            write_xmp,
            min_confidence,
            replace_gps,
            xmp_naming,
        }) => {
            let options = geolens::cli::predict::PredictOptions {
                paths,
                top: usize::from(top),
                granularity: level.into(),
                format: match format {
                    Format::Table => geolens::cli::predict::OutputFormat::Table,
                    Format::Json => geolens::cli::predict::OutputFormat::Json,
                    Format::Csv => geolens::cli::predict::OutputFormat::Csv,
                },
                model_dir,
                backend,
                clock_prior: clock_prior == OnOff::On,
                xmp: write_xmp.then_some(geolens::cli::predict::XmpOptions {
                    naming: match xmp_naming {
                        XmpNaming::Digikam => geolens::sidecar::SidecarNaming::ReplaceExtension,
                        XmpNaming::Darktable => geolens::sidecar::SidecarNaming::AppendExtension,
                    },
                    min_confidence,
                    replace_gps,
                }),
            };
            let failed = geolens::cli::predict::predict(&options, &mut std::io::stdout().lock())?;
            Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
        }
        Some(Command::Export {
            paths,
            out,
            format,
            level,
            clock_prior,
            force,
        }) => {
            use geolens::export::ExportFormat;
            let failed = geolens::cli::export::export(&geolens::cli::export::ExportOptions {
                paths,
                format: match format {
                    ExportFormatArg::Geojson => ExportFormat::GeoJson,
                    ExportFormatArg::Gpx => ExportFormat::Gpx,
                    ExportFormatArg::Kml => ExportFormat::Kml,
                    ExportFormatArg::Csv => ExportFormat::Csv,
                },
                out,
                force,
                granularity: level.into(),
                model_dir,
                backend,
                clock_prior: clock_prior == OnOff::On,
            })?;
            Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
        }
        Some(Command::Eval {
            dataset,
            images,
            results,
            force,
            clock_prior,
        }) => {
            let report = geolens::cli::eval::eval(&geolens::cli::eval::EvalOptions {
                dataset,
                images,
                results,
                force,
                model_dir,
                backend,
                clock_prior: clock_prior == OnOff::On,
            })?;
            out!("{report}");
            Ok(if report.failed > 0 {
                Exit::Partial
            } else {
                Exit::Ok
            })
        }
        Some(Command::Match {
            photo,
            tiles,
            online,
            tile_url,
            zoom,
            places,
            radius,
            max_tiles,
            prior_weight,
            towers,
            json,
        }) => {
            use geolens::cli::aerial::{MatchOptions, TileChoice, match_photo};
            let tiles = match (tiles, online) {
                (Some(dir), false) => TileChoice::Folder(dir),
                (None, true) => TileChoice::Online {
                    url: tile_url,
                    cache_dir: None,
                },
                _ => bail!("give either --tiles DIR or --online"),
            };
            let options = MatchOptions {
                photo,
                tiles,
                candidates: geolens::aerial::CandidateOptions {
                    zoom,
                    places,
                    radius_tiles: radius,
                    max_tiles,
                    ..Default::default()
                },
                prior_weight,
                towers: towers.into(),
                json,
                model_dir,
                backend,
            };
            let failed = match_photo(&options, &mut std::io::stdout().lock())?;
            Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
        }
        Some(Command::MatchEval {
            pairs,
            images,
            histogram,
            force,
            towers,
            json,
        }) => {
            let report =
                geolens::cli::aerial::match_eval(&geolens::cli::aerial::MatchEvalOptions {
                    pairs,
                    images,
                    histogram,
                    force,
                    towers: towers.into(),
                    model_dir,
                    backend,
                })?;
            if json {
                out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                out!("{report}");
            }
            Ok(if report.failed.is_empty() {
                Exit::Ok
            } else {
                Exit::Partial
            })
        }
        Some(Command::Cells { command }) => match command {
            CellsCommand::Build {
                input,
                t_min,
                t_max,
                max_level,
                out,
                force,
            } => {
                let params = PartitionParams {
                    t_min,
                    t_max,
                    max_cell_level: max_level,
                };
                let report = geolens::cli::cells::build(&input, params, &out, force)?;
                out!("{report}");
                Ok(Exit::Ok)
            }
            CellsCommand::Stats => {
                geolens::cli::cells::stats(&mut std::io::stdout().lock())?;
                Ok(Exit::Ok)
            }
        },
        Some(Command::Datasets {
            command:
                DatasetsCommand::Fetch {
                    dataset: DatasetName::Osv5mTest,
                    count,
                    seed,
                    countries,
                    from,
                    zips,
                    out,
                },
        }) => {
            let out_dir = out
                .or_else(|| {
                    geolens::datasets::osv5m::default_datasets_dir().map(|d| d.join("osv5m-test"))
                })
                .ok_or_else(|| anyhow::anyhow!("no user data folder; name one with --out"))?;
            let options = geolens::datasets::osv5m::FetchOptions {
                base_url: from,
                out_dir,
                count: count as usize,
                seed,
                countries,
                zips,
            };
            let report =
                geolens::datasets::osv5m::fetch(&options, |id| eprintln!("geolens: fetched {id}"))?;
            for failure in &report.failed {
                eprintln!("geolens: error: {}", geolens::cli::printable(failure));
            }
            out!(
                "fetched {} photos ({} already there, {} could not be had); evaluate with:\n  geolens eval {} --images {}",
                report.fetched,
                report.already_there,
                report.failed.len(),
                report.dataset_csv.display(),
                options.out_dir.display()
            );
            Ok(if report.failed.is_empty() {
                Exit::Ok
            } else {
                Exit::Partial
            })
        }
        Some(Command::Models { command }) => match command {
            ModelsCommand::ImportGeoclip { source, out } => {
                out!("{}", geolens::cli::models::import_geoclip(&source, &out)?);
                Ok(Exit::Ok)
            }
            ModelsCommand::Status => {
                let dirs = geolens::predict::ModelDirs::new(model_dir.as_deref())?;
                geolens::cli::models::status(&dirs, &mut std::io::stdout().lock())?;
                let backend = geolens::model::backend::select_backend(backend)?;
                out!(
                    "backend  {}{}{}",
                    backend.description,
                    backend
                        .max_tensor_bytes
                        .map(|b| format!("; largest buffer {:.1} MB", b as f64 / 1e6))
                        .unwrap_or_default(),
                    backend
                        .fallback_notice
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                );
                Ok(Exit::Ok)
            }
            ModelsCommand::Fetch {
                base_url,
                out,
                sha256,
                force,
                f32,
            } => {
                let out = match out.or(model_dir) {
                    Some(dir) => dir,
                    None => geolens::model::clip::weights::default_clip_dir()
                        .context("no data directory (HOME unset); pass --out")?,
                };
                let mut options = geolens::model::fetch::FetchOptions::new(base_url, out);
                // Checked before a 1.2 GB download, not after it.
                if let Some(hex) = &sha256
                    && (hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()))
                {
                    bail!("--sha256 must be 64 hexadecimal digits (a SHA-256), not {hex:?}");
                }
                options.expected_sha256 = sha256.map(|h| h.to_ascii_lowercase());
                options.force = force;
                options.half = !f32;
                out!("{}", geolens::cli::models::fetch(&options)?);
                Ok(Exit::Ok)
            }
        },
    }
}

fn main() {
    match run() {
        Ok(Exit::Ok) => {}
        Ok(Exit::Partial) => std::process::exit(2),
        Err(e) => {
            // One line, whatever the error chain holds.
            let message = geolens::cli::printable(&one_line(&e));
            eprintln!("geolens: error: {message}");
            std::process::exit(1);
        }
    }
}

/// `--screenshot` writes a PNG and a `.json` beside it: refuse any other name, and existing
/// files without `--force`, before the window opens.
fn check_screenshot_path(png: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let is_png = png
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        bail!(
            "--screenshot {}: screenshots are PNG files; name it with .png",
            png.display()
        );
    }
    geolens::files::check_output(png, force)?;
    geolens::files::check_output(&png.with_extension("json"), force)?;
    Ok(())
}

/// An error and its causes on one line, each cause once: errors that quote their source in
/// their own message (`path: reason`) would otherwise print the reason twice.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
