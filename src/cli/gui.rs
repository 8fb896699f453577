//! `geolens [PHOTO...]` with no command: the app's own flags, checked before any window
//! opens, and the launch.

use std::path::{Path, PathBuf};

use super::CliError;
use crate::app::{self, LaunchOptions};
use crate::geo::geocells::Granularity;
use crate::model::config::ModelConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct GuiArgs {
    /// Photos to open in the app.
    #[arg(value_name = "PHOTO")]
    pub photos: Vec<PathBuf>,
    /// Start in the guessing game.
    #[arg(long)]
    pub game: bool,
    /// Open this folder as a library (the library screen: positions proposed for its photos
    /// without one).
    #[arg(long, value_name = "DIR", conflicts_with = "game")]
    pub library: Option<PathBuf>,
    /// With --library: a track recorded over the day (GPX, KML or GeoJSON; repeatable).
    #[arg(long = "track", value_name = "FILE", requires = "library")]
    pub tracks: Vec<PathBuf>,
    /// Show these cell scores (CSV `token,probability`) instead of the sample heatmap.
    #[arg(long, value_name = "CSV")]
    pub heatmap: Option<PathBuf>,
    /// Centre the map here, as `LAT,LON` in degrees.
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    pub center: Option<String>,
    /// Map zoom level (0 = whole world in 256 px).
    #[arg(long)]
    pub zoom: Option<f64>,
    /// Cell granularity for the heatmap.
    #[arg(long, value_enum)]
    pub level: Option<Granularity>,
    /// Render the window once, save it as PNG (plus a .json with the map's geometry), quit.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: replace an existing PNG and .json.
    #[arg(long)]
    pub force: bool,
    /// Pan and zoom the map for N frames, print frame-time statistics, quit (for
    /// `cargo bench --bench frames`).
    #[arg(long, value_name = "N", hide = true)]
    pub bench_frames: Option<usize>,
    /// Window size as `WIDTHxHEIGHT` in points.
    #[arg(long, value_name = "WxH", default_value = "1280x800")]
    pub window_size: String,
    /// Do not load or save settings.
    #[arg(long)]
    pub ephemeral: bool,
    /// Folder of aerial tiles (ZOOM/X/Y.jpg) to match photos against.
    #[arg(long, value_name = "DIR")]
    pub aerial_tiles: Option<PathBuf>,
}

/// Opens the app as `args` say, with `model` overriding the saved model settings when given.
pub fn launch(args: GuiArgs, model: Option<ModelConfig>) -> Result<(), CliError> {
    let heatmap_scores = args.heatmap.as_deref().map(read_heatmap).transpose()?;
    let center_lat_lon_deg = args.center.as_deref().map(parse_center).transpose()?;
    let (w, h) = parse_pair(&args.window_size, 'x', "--window-size")?;
    if !(100.0..=10_000.0).contains(&w) || !(100.0..=10_000.0).contains(&h) {
        return Err(usage(
            "--window-size must be between 100x100 and 10000x10000",
        ));
    }
    if let Some(z) = args.zoom
        && !(0.0..=20.0).contains(&z)
    {
        return Err(usage("--zoom must be between 0 and 20"));
    }
    if let Some(png) = &args.screenshot {
        check_screenshot_path(png, args.force)?;
    }
    let ephemeral = args.ephemeral || args.screenshot.is_some() || args.bench_frames.is_some();
    if let Some(missing) = args.photos.iter().find(|p| !p.exists()) {
        return Err(usage(&format!("{}: no such file", missing.display())));
    }
    if let Some(dir) = &args.library
        && !dir.is_dir()
    {
        return Err(usage(&format!(
            "--library {}: no such folder",
            dir.display()
        )));
    }
    if let Some(dir) = &args.aerial_tiles
        && !dir.is_dir()
    {
        return Err(usage(&format!(
            "--aerial-tiles {}: no such folder",
            dir.display()
        )));
    }
    app::run(LaunchOptions {
        heatmap_scores,
        photos: args.photos,
        center_lat_lon_deg,
        zoom: args.zoom,
        granularity: args.level,
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
        library: args.library,
        library_tracks: args.tracks,
    })?;
    Ok(())
}

fn usage(message: &str) -> CliError {
    CliError::Usage(message.to_owned())
}

/// `--heatmap CSV`: the file's name and its cell scores.
fn read_heatmap(path: &Path) -> Result<(String, Vec<crate::scores::CellScore>), CliError> {
    let file = std::fs::File::open(path).map_err(CliError::io(path))?;
    let scores = crate::scores::read_cell_scores_csv(file)
        .map_err(|e| usage(&format!("{}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((name, scores))
}

/// `--center LAT,LON` in degrees, inside the world.
fn parse_center(text: &str) -> Result<(f64, f64), CliError> {
    let (lat, lon) = parse_pair(text, ',', "--center")?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(usage(&format!(
            "--center {text:?} is outside lat [-90, 90], lon [-180, 180]"
        )));
    }
    Ok((lat, lon))
}

/// Two finite numbers separated by `sep`.
fn parse_pair(text: &str, sep: char, what: &str) -> Result<(f64, f64), CliError> {
    let bad = || usage(&format!("bad {what} {text:?}"));
    let (a, b) = text
        .split_once(sep)
        .ok_or_else(|| usage(&format!("{what} must look like A{sep}B, got {text:?}")))?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    if !a.is_finite() || !b.is_finite() {
        return Err(bad());
    }
    Ok((a, b))
}

/// `--screenshot` writes a PNG and a `.json` beside it: refuse any other name, and existing
/// files without `--force`, before the window opens.
fn check_screenshot_path(png: &Path, force: bool) -> Result<(), CliError> {
    let is_png = png
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(usage(&format!(
            "--screenshot {}: screenshots are PNG files; name it with .png",
            png.display()
        )));
    }
    crate::files::check_output(png, force)?;
    crate::files::check_output(&png.with_extension("json"), force)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_centres_are_checked() {
        assert_eq!(
            parse_pair("1.5x2", 'x', "--window-size").ok(),
            Some((1.5, 2.0))
        );
        for bad in ["1.5", "ax2", "1xNaN", "1xinf"] {
            let err = parse_pair(bad, 'x', "--window-size").expect_err(bad);
            assert!(err.to_string().contains("--window-size"), "{err}");
        }
        assert_eq!(parse_center("-33.9, 151.2").ok(), Some((-33.9, 151.2)));
        let err = parse_center("95,10").expect_err("outside");
        assert!(err.to_string().contains("outside"), "{err}");
    }
}
