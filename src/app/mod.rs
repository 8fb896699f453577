//! The desktop app: an eframe [`App`](eframe::App) over the map and the heatmap layer.
//! It holds no model or geometry code: it asks the library for heatmaps and draws them.

mod panels;
pub mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use thiserror::Error;
use walkers::{HttpTiles, Map, lat_lon};

use crate::geo::geocells::{GeoCells, Granularity};
use crate::map::basemap::{OfflineBasemap, embedded_pack};
use crate::map::heatmap::{HeatQuantity, Heatmap, HeatmapPlugin, HoveredCell};
use crate::map::online::{OnlineLayer, http_tiles};
use crate::scores::{CellScore, photo_density_per_1000_km2};
use state::{AppState, STATE_KEY};

#[derive(Debug, Error)]
pub enum AppError {
    #[error("could not open the window: {0}")]
    Window(String),
    #[error("the embedded basemap is damaged: {0}")]
    Basemap(#[from] crate::map::tile_pack::TilePackError),
    #[error("screenshot failed: {0}")]
    Screenshot(String),
}

/// How the app is started (from the command line).
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Cell scores to show instead of the sample heatmap (`token,probability` CSV, already read).
    pub heatmap_scores: Option<(String, Vec<CellScore>)>,
    pub center_lat_lon_deg: Option<(f64, f64)>,
    pub zoom: Option<f64>,
    pub granularity: Option<Granularity>,
    /// Render, save a PNG of the window (and a `.json` describing the map's place in it), quit.
    pub screenshot: Option<PathBuf>,
    pub window_size: [f32; 2],
    /// Neither load nor save settings (tests, screenshots).
    pub ephemeral: bool,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            heatmap_scores: None,
            center_lat_lon_deg: None,
            zoom: None,
            granularity: None,
            screenshot: None,
            window_size: [1280.0, 800.0],
            ephemeral: false,
        }
    }
}

/// Where the heatmap's numbers come from.
enum HeatmapSource {
    /// Each geocell's share of the GeoCLIP gallery photos: real data, no model needed.
    PhotoDensity,
    File {
        name: String,
        scores: Vec<CellScore>,
    },
}

struct ScreenshotJob {
    path: PathBuf,
    frames_before: u32,
    requested: bool,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    error: Arc<Mutex<Option<String>>>,
}

pub struct GeolensApp {
    state: AppState,
    ephemeral: bool,
    basemap: OfflineBasemap,
    online: Option<(OnlineLayer, HttpTiles)>,
    heatmap_source: HeatmapSource,
    heatmap: Option<(Granularity, Heatmap)>,
    geocells: HashMap<Granularity, GeoCells>,
    hovered: Option<HoveredCell>,
    notice: Option<String>,
    screenshot: Option<ScreenshotJob>,
}

impl GeolensApp {
    fn new(
        cc: &eframe::CreationContext<'_>,
        options: LaunchOptions,
        screenshot_error: Arc<Mutex<Option<String>>>,
    ) -> Result<Self, AppError> {
        let mut state: AppState = if options.ephemeral {
            AppState::default()
        } else {
            cc.storage
                .and_then(|s| eframe::get_value(s, STATE_KEY))
                .unwrap_or_default()
        };
        if let Some((lat, lon)) = options.center_lat_lon_deg {
            state.map_memory.center_at(lat_lon(lat, lon));
        }
        if let Some(zoom) = options.zoom {
            let _ = state.map_memory.set_zoom(zoom);
        }
        if let Some(g) = options.granularity {
            state.granularity = g;
        }
        let heatmap_source = match options.heatmap_scores {
            Some((name, scores)) => HeatmapSource::File { name, scores },
            None => HeatmapSource::PhotoDensity,
        };
        let screenshot = options.screenshot.map(|path| ScreenshotJob {
            path,
            frames_before: 4,
            requested: false,
            image: Arc::default(),
            error: screenshot_error,
        });
        Ok(Self {
            state,
            ephemeral: options.ephemeral,
            basemap: OfflineBasemap::new(embedded_pack()?, cc.egui_ctx.clone()),
            online: None,
            heatmap_source,
            heatmap: None,
            geocells: HashMap::new(),
            hovered: None,
            notice: None,
            screenshot,
        })
    }

    /// Builds (or reuses) the heatmap for the current granularity.
    fn ensure_heatmap(&mut self) {
        let granularity = self.state.granularity;
        if self
            .heatmap
            .as_ref()
            .is_some_and(|(g, _)| *g == granularity)
        {
            return;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.geocells.entry(granularity) {
            match GeoCells::embedded(granularity) {
                Ok(cells) => {
                    slot.insert(cells);
                }
                Err(e) => {
                    self.notice = Some(format!(
                        "Could not load the {} geocells: {e}",
                        granularity.label()
                    ));
                }
            }
        }
        let cells = self.geocells.get(&granularity);
        let heatmap = match (&self.heatmap_source, cells) {
            (HeatmapSource::File { scores, .. }, _) => Heatmap::from_scores(scores, cells),
            (HeatmapSource::PhotoDensity, Some(cells)) => Heatmap::from_values(
                &photo_density_per_1000_km2(cells),
                HeatQuantity::PhotoDensity,
                Some(cells),
            ),
            (HeatmapSource::PhotoDensity, None) => return,
        };
        self.heatmap = Some((granularity, heatmap));
    }

    /// Creates or drops the online layer to match the settings.
    fn ensure_online_layer(&mut self, ctx: &egui::Context) {
        let wanted = self.state.online_layer;
        if self.online.as_ref().map(|(l, _)| *l) == Some(wanted) {
            return;
        }
        self.online = http_tiles(wanted, ctx.clone()).map(|t| (wanted, t));
    }

    fn heatmap_description(&self) -> String {
        match &self.heatmap_source {
            HeatmapSource::PhotoDensity => format!(
                "Sample layer (no photo yet): where people take photos. Density of the 100k geotagged photos in GeoCLIP's gallery over the {} geocells, per 1000 km².",
                self.state.granularity.label()
            ),
            HeatmapSource::File { name, scores } => match scores.len() {
                1 => format!("1 cell from {name}"),
                n => format!("{n} cells from {name}"),
            },
        }
    }

    fn map_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.ensure_online_layer(&ctx);
        self.ensure_heatmap();
        let fallback_center = lat_lon(25.0, 10.0);
        let mut map = Map::new(
            Some(&mut self.basemap),
            &mut self.state.map_memory,
            fallback_center,
        );
        if let Some((_, http)) = &mut self.online {
            map = map.with_layer(http, 1.0);
        }
        if self.state.show_heatmap
            && let Some((_, heatmap)) = &self.heatmap
        {
            map = map.with_plugin(HeatmapPlugin {
                heatmap,
                style: self.state.heatmap_style,
                hovered: &mut self.hovered,
            });
        } else {
            self.hovered = None;
        }
        let response = ui.add(map);
        let map_rect = response.rect;
        if let Some(hovered) = self.hovered.clone() {
            response.on_hover_ui_at_pointer(|ui| panels::hovered_cell_ui(ui, &hovered));
        }
        if self.state.show_heatmap
            && let Some((_, heatmap)) = &self.heatmap
        {
            panels::legend_ui(&ctx, map_rect, heatmap, &self.state.heatmap_style);
        }
        let online_attribution = self
            .online
            .as_ref()
            .map(|(_, t)| walkers::Tiles::attribution(t));
        panels::attribution_ui(
            &ctx,
            map_rect,
            &walkers::Tiles::attribution(&self.basemap),
            online_attribution,
        );
        if let Some(job) = &mut self.screenshot {
            screenshot_step(&ctx, job, map_rect, &self.state);
        }
    }
}

impl eframe::App for GeolensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar_ui(ui));
        if self.state.side_panel_open {
            egui::Panel::left("side_panel")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| self.side_panel_ui(ui));
        }
        egui::CentralPanel::no_frame().show(ui, |ui| self.map_ui(ui));
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.ephemeral {
            eframe::set_value(storage, STATE_KEY, &self.state);
        }
    }
}

/// Drives `--screenshot`: wait a few frames, grab the window, write PNG + JSON, close.
fn screenshot_step(
    ctx: &egui::Context,
    job: &mut ScreenshotJob,
    map_rect: egui::Rect,
    state: &AppState,
) {
    ctx.request_repaint();
    if job.frames_before > 0 {
        job.frames_before -= 1;
        return;
    }
    if !job.requested {
        job.requested = true;
        let slot = job.image.clone();
        let ctx2 = ctx.clone();
        ctx.request_screenshot(move |image| {
            if let Ok(mut s) = slot.lock() {
                *s = Some(image);
            }
            ctx2.request_repaint();
        });
        return;
    }
    let Some(image) = job.image.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    if let Err(e) = save_screenshot(&job.path, &image, ctx.pixels_per_point(), map_rect, state)
        && let Ok(mut slot) = job.error.lock()
    {
        *slot = Some(e);
    }
    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
}

fn save_screenshot(
    path: &std::path::Path,
    image: &egui::ColorImage,
    pixels_per_point: f32,
    map_rect: egui::Rect,
    state: &AppState,
) -> Result<(), String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let rgba = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| "screenshot has the wrong number of pixels".to_string())?;
    rgba.save(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let center = state.map_memory.detached().unwrap_or(lat_lon(25.0, 10.0));
    let r = map_rect;
    let meta = serde_json::json!({
        "image_size_px": [w, h],
        "pixels_per_point": pixels_per_point,
        "map_rect_px": [r.min.x * pixels_per_point, r.min.y * pixels_per_point,
                        r.max.x * pixels_per_point, r.max.y * pixels_per_point],
        "zoom": state.map_memory.zoom(),
        "center_lat_deg": center.y(),
        "center_lon_deg": center.x(),
    });
    let meta_path = path.with_extension("json");
    std::fs::write(&meta_path, meta.to_string())
        .map_err(|e| format!("{}: {e}", meta_path.display()))
}

/// Opens the window and runs until it is closed.
pub fn run(options: LaunchOptions) -> Result<(), AppError> {
    let screenshot_error: Arc<Mutex<Option<String>>> = Arc::default();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("geolens")
        .with_inner_size(options.window_size)
        .with_min_inner_size([480.0, 320.0])
        .with_drag_and_drop(true);
    if options.screenshot.is_some() {
        viewport = viewport.with_resizable(false);
    }
    let native_options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Wgpu,
        persist_window: !options.ephemeral,
        ..Default::default()
    };
    let error_slot = screenshot_error.clone();
    eframe::run_native(
        "geolens",
        native_options,
        Box::new(move |cc| {
            let app = GeolensApp::new(cc, options, error_slot)?;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))?;
    if let Some(e) = screenshot_error.lock().ok().and_then(|mut s| s.take()) {
        return Err(AppError::Screenshot(e));
    }
    Ok(())
}
