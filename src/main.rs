//! `geolens` with no arguments opens the app; subcommands run the command line.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use geolens::app::{self, LaunchOptions};
use geolens::geo::geocells::Granularity;
use geolens::geo::partition::PartitionParams;

#[derive(Parser)]
#[command(
    name = "geolens",
    version,
    about = "Tells where a photo was taken. No arguments: open the app."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    gui: GuiArgs,
}

#[derive(clap::Args)]
struct GuiArgs {
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
    /// Window size as `WIDTHxHEIGHT` in points.
    #[arg(long, value_name = "WxH", default_value = "1280x800")]
    window_size: String,
    /// Do not load or save settings.
    #[arg(long)]
    ephemeral: bool,
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
}

#[derive(Subcommand)]
enum ModelsCommand {
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

fn run_gui(args: GuiArgs) -> Result<()> {
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
    let ephemeral = args.ephemeral || args.screenshot.is_some();
    app::run(LaunchOptions {
        heatmap_scores,
        center_lat_lon_deg,
        zoom: args.zoom,
        granularity: args.level.map(Into::into),
        screenshot: args.screenshot,
        window_size: [w as f32, h as f32],
        ephemeral,
    })?;
    Ok(())
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run_gui(cli.gui),
        Some(Command::Cells { command }) => match command {
            CellsCommand::Build {
                input,
                t_min,
                t_max,
                max_level,
                out,
                force,
            } => {
                if out.exists() && !force {
                    bail!("{} exists; pass --force to overwrite it", out.display());
                }
                let params = PartitionParams {
                    t_min,
                    t_max,
                    max_cell_level: max_level,
                };
                let report = geolens::cli::cells::build(&input, params, &out)?;
                println!("{report}");
                Ok(())
            }
            CellsCommand::Stats => Ok(geolens::cli::cells::stats(&mut std::io::stdout().lock())?),
        },
        Some(Command::Models { command }) => match command {
            ModelsCommand::ImportGeoclip { source, out } => {
                println!("{}", geolens::cli::models::import_geoclip(&source, &out)?);
                Ok(())
            }
        },
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("geolens: error: {e:#}");
        std::process::exit(1);
    }
}
