//! The desktop app: an eframe [`App`](eframe::App) over the map with one view per screen, the
//! explorer (`explore/`), the guessing game (`game/`) and the library (`library/`). `GeolensApp` keeps what the screens
//! share (settings, the photo queue, the model worker, the map and its heatmap) and routes each
//! frame to the active view. It holds no model or geometry code: photos go to the background
//! [`Worker`], and heatmaps, markers and results come from the library.

mod answers;
mod capture;
mod dialog;
pub mod explore;
mod first_run;
pub mod game;
pub mod library;
mod panels;
pub mod photos;
mod shared;
mod shortcuts;
pub mod state;
mod view;
pub mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use thiserror::Error;
use walkers::{HttpTiles, Map, lat_lon};

use crate::app::worker::{Event, ModelState, PhotoId, PhotoSource, Request, Worker, WorkerError};
use crate::geo::geocells::{GeoCells, Granularity};
use crate::map::basemap::{OfflineBasemap, embedded_pack};
use crate::map::heatmap::{HeatQuantity, Heatmap, HeatmapPlugin, HoveredCell};
use crate::map::markers::MarkersPlugin;
use crate::map::online::{OnlineLayer, http_tiles};
use crate::map::regions::RegionsPlugin;
use crate::model::backend::BackendChoice;
use crate::model::config::ModelConfig;
use crate::model::fetch::FetchProgress;
use crate::scores::{CellScore, photo_density_per_1000_km2};
use capture::{FrameBench, ScreenshotJob};
use photos::PhotoQueue;
use state::{AppState, Mode, STATE_KEY};

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
    /// Photos to open at start.
    pub photos: Vec<PathBuf>,
    pub center_lat_lon_deg: Option<(f64, f64)>,
    pub zoom: Option<f64>,
    pub granularity: Option<Granularity>,
    /// Start in this mode (the game, or exploring photos).
    pub mode: Option<Mode>,
    /// Render, save a PNG of the window (and a `.json` describing the map's place in it), quit.
    /// With photos, waits until they are geolocated.
    pub screenshot: Option<PathBuf>,
    /// Let the screenshot replace an existing PNG and `.json` (`--force`).
    pub screenshot_replaces: bool,
    /// Pan and zoom the map for this many frames, print frame-time statistics, quit
    /// (`benches/frames.rs`).
    pub bench_frames: Option<usize>,
    pub window_size: [f32; 2],
    /// Neither load nor save settings (tests, screenshots).
    pub ephemeral: bool,
    /// Model settings from the command line; `None` takes the saved settings.
    pub model: Option<ModelConfig>,
    /// Where game history is kept (`None`: the user data folder).
    pub game_history: Option<PathBuf>,
    /// Aerial tile folder for matching, instead of the saved one.
    pub aerial_folder: Option<PathBuf>,
    /// Where fetched datasets (game decks) are looked for (`None`: the user data folder's).
    pub datasets_dir: Option<PathBuf>,
    /// A folder to open as a library at start, and the tracks to read with it.
    pub library: Option<PathBuf>,
    pub library_tracks: Vec<PathBuf>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            heatmap_scores: None,
            photos: Vec::new(),
            center_lat_lon_deg: None,
            zoom: None,
            granularity: None,
            mode: None,
            screenshot: None,
            screenshot_replaces: false,
            bench_frames: None,
            window_size: [1280.0, 800.0],
            ephemeral: false,
            model: None,
            game_history: None,
            aerial_folder: None,
            datasets_dir: None,
            library: None,
            library_tracks: Vec::new(),
        }
    }
}

/// What a file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogPurpose {
    Photos,
    /// The folder holding CLIP's tower.
    ModelFolder,
    /// A folder of aerial tiles.
    AerialFolder,
    /// A folder of the player's photos, for a game deck.
    DeckFolder,
    /// A folder to read as a library.
    LibraryFolder,
    /// Tracks (GPX, KML, GeoJSON) for the library.
    LibraryTrack,
}

/// Which numbers the heatmap shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum HeatmapKey {
    /// Each geocell's photo density in GeoCLIP's gallery: real data, no model needed.
    PhotoDensity,
    /// Scores given on the command line.
    File,
    /// The model's cell probabilities for a photo.
    Photo(PhotoId),
}

/// The model as the GUI sees it.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub state: ModelState,
    pub fetch: Option<FetchProgress>,
    pub fetch_result: Option<Result<String, WorkerError>>,
}

pub struct GeolensApp {
    state: AppState,
    ephemeral: bool,
    basemap: OfflineBasemap,
    online: Option<(OnlineLayer, HttpTiles)>,
    file_scores: Option<(String, Vec<CellScore>)>,
    heatmap: Option<(HeatmapKey, Granularity, Heatmap)>,
    geocells: HashMap<Granularity, GeoCells>,
    hovered: Option<HoveredCell>,
    photos: PhotoQueue,
    worker: Worker,
    model_config: ModelConfig,
    model: ModelView,
    open_dialog: Option<dialog::PendingDialog>,
    /// The system's file dialog could not be shown: the photo panel offers a path field.
    dialog_unavailable: bool,
    show_help: bool,
    /// The first-run banner was put away ("Not now") for this session.
    first_run_dismissed: bool,
    game: game::GameView,
    screenshot: Option<ScreenshotJob>,
    frame_bench: Option<FrameBench>,
    /// What the map was last fitted to, and the map's last size.
    fitted: Option<view::Fitted>,
    map_rect: Option<egui::Rect>,
    /// The explorer's own state (the screen with photos, the heatmap and the answers).
    explore: explore::ExploreView,
    /// The library screen's own state.
    library: library::LibraryView,
}

/// What the best-guess pin means, and why it can sit outside the #1 place.
pub const BEST_GUESS_HINT: &str = "The model's best guess: the single most likely of GeoCLIP's \
     100,000 gallery positions. The places list ranks cells by the probability of all the \
     positions inside each, so the #1 place can lie elsewhere when many likely positions \
     share a cell.";

impl GeolensApp {
    /// Builds the app inside eframe (or egui_kittest's harness).
    pub fn new(cc: &eframe::CreationContext<'_>, options: LaunchOptions) -> Result<Self, AppError> {
        Self::with_screenshot_slot(cc, options, Arc::default())
    }

    fn with_screenshot_slot(
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
        if let Some(dir) = options.aerial_folder.clone() {
            state.aerial_folder = Some(dir);
        }
        if let Some(mode) = options.mode {
            state.mode = mode;
        }
        cc.egui_ctx.set_theme(state.theme.preference());
        let model_config = options
            .model
            .clone()
            .unwrap_or_else(|| ModelConfig::new(state.model_dir.clone(), state.backend));
        let ctx = cc.egui_ctx.clone();
        let worker = Worker::spawn(model_config.clone(), move || ctx.request_repaint());
        let screenshot = options
            .screenshot
            .map(|path| ScreenshotJob::new(path, options.screenshot_replaces, screenshot_error));
        let mut app = Self {
            state,
            ephemeral: options.ephemeral,
            basemap: OfflineBasemap::new(embedded_pack()?, cc.egui_ctx.clone()),
            online: None,
            file_scores: options.heatmap_scores,
            heatmap: None,
            geocells: HashMap::new(),
            hovered: None,
            photos: PhotoQueue::default(),
            worker,
            model_config,
            model: ModelView {
                state: ModelState::Loading(crate::predict::LoadStage::Tower),
                fetch: None,
                fetch_result: None,
            },
            open_dialog: None,
            dialog_unavailable: false,
            show_help: false,
            first_run_dismissed: false,
            explore: explore::ExploreView::default(),
            library: library::LibraryView::default(),
            // `--ephemeral` neither reads nor writes the game history, unless one is named.
            game: game::GameView::new(
                options.game_history.or_else(|| {
                    (!options.ephemeral)
                        .then(crate::game::history::default_history_path)
                        .flatten()
                }),
                options
                    .datasets_dir
                    .clone()
                    .or_else(crate::datasets::osv5m::default_datasets_dir)
                    .as_deref(),
            ),
            screenshot,
            frame_bench: options.bench_frames.map(FrameBench::new),
            fitted: None,
            map_rect: None,
        };
        app.photos.set_clock_prior(app.state.clock_prior);
        if !options.photos.is_empty() {
            app.open_photos(options.photos.into_iter().map(PhotoSource::File).collect());
        }
        for track in options.library_tracks {
            app.library.add_track(&app.worker, track);
        }
        if let Some(folder) = options.library {
            app.open_library(folder);
        }
        Ok(app)
    }

    /// Queues photos for geolocation; the first to decode is shown.
    pub fn open_photos(&mut self, sources: Vec<PhotoSource>) {
        if sources.is_empty() {
            return;
        }
        self.state.mode = Mode::Explore;
        let ids = self
            .photos
            .add_batch(sources.iter().map(PhotoSource::name).collect());
        for (id, source) in ids.into_iter().zip(sources) {
            if let (PhotoSource::File(path), Some(entry)) = (&source, self.photos.get_mut(id)) {
                entry.path = Some(path.clone());
            }
            self.worker.send(Request::Photo { id, source });
        }
    }

    pub fn photos(&self) -> &PhotoQueue {
        &self.photos
    }

    pub fn model_view(&self) -> &ModelView {
        &self.model
    }

    /// The photo whose model probabilities the heatmap shows, if any.
    pub fn heatmap_photo(&self) -> Option<PhotoId> {
        match self.heatmap.as_ref().map(|(k, _, _)| *k) {
            Some(HeatmapKey::Photo(id)) => Some(id),
            _ => None,
        }
    }

    /// The explorer, and what it shares with the other screens.
    pub(super) fn split(&mut self) -> (&mut explore::ExploreView, shared::Shared<'_>) {
        (
            &mut self.explore,
            shared::Shared {
                state: &mut self.state,
                photos: &mut self.photos,
                worker: &self.worker,
                model: &mut self.model,
                heatmap: &mut self.heatmap,
                fitted: &mut self.fitted,
                file_scores: &self.file_scores,
                dialog_unavailable: self.dialog_unavailable,
            },
        )
    }

    /// Opens the dialog and the photos the explorer asked for this frame.
    fn take_explore_wishes(&mut self) {
        if let Some(purpose) = self.explore.wants_dialog.take() {
            self.open_dialog(purpose);
        }
        let photos = std::mem::take(&mut self.explore.wants_photos);
        self.open_photos(photos);
    }

    /// The credible-region outlines on the map (see the explorer's).
    pub fn region_outlines(
        &self,
    ) -> Option<(PhotoId, Granularity, &[crate::map::regions::RegionOutline])> {
        self.explore.region_outlines()
    }

    /// What the last sidecar write said (`Ok`: what was written; `Err`: why not).
    pub fn sidecar_message(&self) -> Option<&Result<String, String>> {
        self.explore.sidecar_message()
    }

    pub fn notice(&self) -> Option<&str> {
        self.explore.notice.as_deref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The settings, to change (tests set what a person would pick in the panels).
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    /// The latest aerial matching run.
    pub fn aerial_view(&self) -> Option<&explore::aerial::AerialView> {
        self.explore.aerial.as_ref()
    }

    /// Reads `folder` as a library on the library screen.
    pub fn open_library(&mut self, folder: PathBuf) {
        self.state.mode = Mode::Library;
        self.state.last_folder = Some(folder.clone());
        self.library.open(&self.worker, folder);
    }

    pub fn library(&self) -> &library::LibraryView {
        &self.library
    }

    pub fn library_mut(&mut self) -> &mut library::LibraryView {
        &mut self.library
    }

    pub fn game_mut(&mut self) -> &mut game::GameView {
        &mut self.game
    }

    pub fn game(&self) -> &game::GameView {
        &self.game
    }

    /// Applies what the worker sent since the last frame.
    fn poll_worker(&mut self) {
        for event in self.worker.poll() {
            if let Some(view) = &mut self.explore.aerial
                && view.apply(&event)
            {
                continue;
            }
            if self.game.handles(&event) {
                self.game.apply(&event);
                continue;
            }
            if self.library.handles(&event) {
                self.library.apply_event(&event);
                continue;
            }
            match &event {
                Event::Model(state) => {
                    self.game.model_changed(state);
                    self.model.state = state.clone();
                }
                Event::Fetching(p) => self.model.fetch = Some(*p),
                Event::Fetched(result) => {
                    self.model.fetch = None;
                    self.model.fetch_result = Some(result.clone());
                }
                _ => {}
            }
            if let Some(error) = self.photos.apply(&event) {
                self.report(error);
            }
        }
    }

    /// Takes dropped files, pasted paths and the open dialog's answer.
    fn take_input_photos(&mut self, ctx: &egui::Context) {
        let mut sources = Vec::new();
        let (dropped, pasted, open_shortcut) = ctx.input(|i| {
            let pasted: Vec<String> = i
                .events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::Paste(text) => Some(text.clone()),
                    _ => None,
                })
                .collect();
            (
                i.raw.dropped_files.clone(),
                pasted,
                i.modifiers.command && i.key_pressed(egui::Key::O),
            )
        });
        for file in dropped {
            let path = file.path();
            if path.is_file() {
                sources.push(PhotoSource::File(path.to_owned()));
                continue;
            }
            let name = path.display().to_string();
            match file.bytes() {
                Ok(bytes) => sources.push(PhotoSource::Bytes {
                    name,
                    bytes: bytes.into(),
                }),
                Err(e) => self.report(format!("{name}: {e}")),
            }
        }
        for text in pasted {
            for line in text.lines() {
                let line = line.trim();
                let path = PathBuf::from(line.strip_prefix("file://").unwrap_or(line));
                if path.is_file() {
                    sources.push(PhotoSource::File(path));
                }
            }
        }
        if open_shortcut {
            self.open_dialog(DialogPurpose::Photos);
        }
        sources.extend(self.take_dialog_answer());
        if self.state.mode == Mode::Game && !sources.is_empty() {
            self.game.add_own_photos(sources);
        } else {
            self.open_photos(sources);
        }
    }

    /// What the heatmap should show; `None` for nothing (a game round before its reveal: the
    /// map stays clean for the player's guess).
    fn heatmap_key(&self) -> Option<HeatmapKey> {
        if self.state.mode == Mode::Game {
            return self
                .game
                .revealed_photo()
                .filter(|id| self.game.prediction(*id).is_some())
                .map(HeatmapKey::Photo);
        }
        if self.state.mode == Mode::Library {
            return None;
        }
        Some(match self.photos.selected() {
            Some(p) if p.prediction().is_some() => HeatmapKey::Photo(p.id),
            _ if self.file_scores.is_some() => HeatmapKey::File,
            _ => HeatmapKey::PhotoDensity,
        })
    }

    fn geocells(&mut self, granularity: Granularity) -> Option<&GeoCells> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.geocells.entry(granularity) {
            match GeoCells::embedded(granularity) {
                Ok(cells) => {
                    slot.insert(cells);
                }
                Err(e) => {
                    self.report(format!(
                        "Could not load the {} geocells: {e}",
                        granularity.label()
                    ));
                }
            }
        }
        self.geocells.get(&granularity)
    }

    /// Builds (or reuses) the heatmap for what is shown at the current granularity.
    fn ensure_heatmap(&mut self) {
        let granularity = self.state.granularity;
        let Some(key) = self.heatmap_key() else {
            self.heatmap = None;
            return;
        };
        if self
            .heatmap
            .as_ref()
            .is_some_and(|(k, g, _)| *k == key && *g == granularity)
        {
            return;
        }
        self.geocells(granularity);
        let cells = self.geocells.get(&granularity);
        let heatmap = match key {
            HeatmapKey::File => match &self.file_scores {
                Some((_, scores)) => Heatmap::from_scores(scores, cells),
                None => return,
            },
            HeatmapKey::PhotoDensity => match cells {
                Some(cells) => Heatmap::from_values(
                    &photo_density_per_1000_km2(cells),
                    HeatQuantity::PhotoDensity,
                    Some(cells),
                ),
                None => return,
            },
            HeatmapKey::Photo(id) => {
                let prediction = if self.state.mode == Mode::Game {
                    self.game.prediction(id)
                } else {
                    self.photos.get(id).and_then(|p| p.prediction())
                };
                match prediction {
                    Some(p) => {
                        Heatmap::from_scores(&p.cell_probabilities(granularity).scores, cells)
                    }
                    None => return,
                }
            }
        };
        self.heatmap = Some((key, granularity, heatmap));
    }

    /// Creates or drops the online layer to match the settings.
    fn ensure_online_layer(&mut self, ctx: &egui::Context) {
        let wanted = self.state.online_layer;
        if self.online.as_ref().map(|(l, _)| *l) == Some(wanted) {
            return;
        }
        self.online = http_tiles(wanted, ctx.clone()).map(|t| (wanted, t));
    }

    fn map_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.ensure_online_layer(&ctx);
        self.ensure_heatmap();
        let (pins, lines) = match self.state.mode {
            Mode::Explore => {
                let (explore, shared) = self.split();
                explore.explore_markers(&shared)
            }
            Mode::Game => self.game.markers(),
            Mode::Library => (Vec::new(), Vec::new()),
        };
        let (library_pins, library_shown, library_dots, library_tracks) =
            if self.state.mode == Mode::Library {
                self.library.map_layers(&self.state.library_filter)
            } else {
                Default::default()
            };
        let mut pin_input = crate::map::library_layer::PinInput::default();
        let outlines = match (&self.explore.aerial, self.state.mode) {
            (Some(view), Mode::Explore) if Some(view.photo) == self.photos.selected_id() => {
                view.outlines()
            }
            _ => Vec::new(),
        };
        let mut clicked = None;
        let mut hovered_hint = None;
        let show_regions = {
            let (explore, mut shared) = self.split();
            explore.ensure_region_outlines(&mut shared)
        };
        let fallback_center = lat_lon(25.0, 10.0);
        self.zoom_keys_ui(&ctx);
        self.fit_answer();
        // As map apps do: the wheel zooms around the pointer (walkers' default pans and wants
        // Ctrl), double-click zooms in, right double-click out.
        let mut map = Map::new(
            Some(&mut self.basemap),
            &mut self.state.map_memory,
            fallback_center,
        )
        .zoom_with_ctrl(false)
        .double_click_to_zoom(true)
        .double_click_to_zoom_out(true);
        if let Some((_, http)) = &mut self.online {
            map = map.with_layer(http, 1.0);
        }
        if self.state.show_heatmap
            && let Some((_, _, heatmap)) = &self.heatmap
        {
            map = map.with_plugin(HeatmapPlugin {
                heatmap,
                style: self.state.heatmap_style,
                hovered: &mut self.hovered,
            });
        } else {
            self.hovered = None;
        }
        if show_regions && let Some((_, outlines)) = &self.explore.region_outlines {
            map = map.with_plugin(RegionsPlugin { outlines });
        }
        if self.state.show_labels {
            map = map.with_plugin(crate::map::labels::LabelsPlugin);
        }
        if self.state.mode == Mode::Library {
            map = map.with_plugin(crate::map::library_layer::LibraryPlugin {
                pins: &library_pins,
                dots: &library_dots,
                tracks: &library_tracks,
                input: &mut pin_input,
            });
        }
        map = map.with_plugin(MarkersPlugin {
            pins: &pins,
            lines: &lines,
            outlines: &outlines,
            clicked: (self.state.mode == Mode::Game || self.explore.placing_location)
                .then_some(&mut clicked),
            hovered_hint: &mut hovered_hint,
        });
        let response = ui.add(map);
        self.library.pin_input(pin_input, &library_shown);
        let map_rect = response.rect;
        self.map_rect = Some(map_rect);
        self.keep_world_filling_view(map_rect);
        self.zoom_buttons_ui(&ctx, map_rect);
        self.first_run_ui(&ctx, map_rect);
        self.sample_badge_ui(&ctx, map_rect);
        let (explore, shared) = self.split();
        explore.clock_badge_ui(&shared, &ctx, map_rect);
        if let Some(at) = clicked {
            match self.state.mode {
                Mode::Game => self.game.map_clicked(at),
                Mode::Explore => {
                    let (explore, mut shared) = self.split();
                    explore.set_location(&mut shared, at, "set by hand on the map".into());
                }
                Mode::Library => {}
            }
        }
        if let Some(hint) = hovered_hint {
            response.on_hover_ui_at_pointer(|ui| {
                ui.set_max_width(320.0);
                ui.label(hint);
            });
        } else if let Some(hovered) = self.hovered.clone() {
            response.on_hover_ui_at_pointer(|ui| panels::hovered_cell_ui(ui, &hovered));
        }
        if self.state.show_heatmap
            && let Some((_, _, heatmap)) = &self.heatmap
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
        let settled = !self.photos.busy()
            && !matches!(self.model.state, ModelState::Loading(_))
            && self.worker.queue_is_empty()
            && self.game.settled()
            && !self.library.busy();
        if let Some(job) = &mut self.screenshot {
            if settled {
                job.step(&ctx, map_rect, &self.state);
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(50));
            }
        }
    }

    /// Where game history is kept (`None`: nowhere, as with `--ephemeral`).
    pub fn game_history_path(&self) -> Option<&std::path::Path> {
        self.game.history_path()
    }

    /// The model settings in effect: the command line's, or the saved ones.
    pub fn model_config(&self) -> &ModelConfig {
        &self.model_config
    }

    /// A model setting the user changed in the app: kept as their saved choice and the model
    /// reloaded. Nothing happens when the values are those in effect (so that showing the
    /// settings never drops `--model-dir` or `--backend`).
    fn set_model_settings(&mut self, model_dir: Option<PathBuf>, backend: BackendChoice) {
        let config = ModelConfig {
            model_dir,
            backend,
            ..self.model_config.clone()
        };
        if config != self.model_config {
            self.state.model_dir = config.model_dir.clone();
            self.state.backend = config.backend;
            self.model_config = config.clone();
            self.model.state = ModelState::Loading(crate::predict::LoadStage::Tower);
            self.worker.send(Request::Reload(config));
        }
    }
}

impl eframe::App for GeolensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = std::time::Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_worker();
        self.take_input_photos(&ctx);
        self.shortcut_keys_ui(&ctx);
        if self.state.mode == Mode::Game {
            self.game.tick(&ctx);
        }
        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar_ui(ui));
        match self.state.mode {
            Mode::Explore => {
                let (explore, mut shared) = self.split();
                explore.panels_ui(&mut shared, ui);
                self.take_explore_wishes();
            }
            Mode::Game => {
                egui::Panel::left("game_panel")
                    .resizable(true)
                    .default_size(360.0)
                    .show(ui, |ui| self.game_panel_ui(ui));
            }
            Mode::Library => {
                egui::Panel::left("library_panel")
                    .resizable(true)
                    .default_size(420.0)
                    .show(ui, |ui| {
                        self.library.panel_ui(
                            ui,
                            &self.worker,
                            &mut self.state.library_filter,
                            self.state.sidecar_naming,
                        )
                    });
                if std::mem::take(&mut self.library.wants_folder_dialog) {
                    self.open_dialog(DialogPurpose::LibraryFolder);
                }
                if std::mem::take(&mut self.library.wants_track_dialog) {
                    self.open_dialog(DialogPurpose::LibraryTrack);
                }
            }
        }
        if let Some(bench) = &mut self.frame_bench {
            if let Some(report) = bench.step(&mut self.state.map_memory) {
                println!("{report}");
                self.frame_bench = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            ctx.request_repaint();
        }
        egui::CentralPanel::no_frame().show(ui, |ui| self.map_ui(ui));
        self.help_ui(&ctx);
        if self.photos.busy()
            || self.model.fetch.is_some()
            || self.explore.aerial.as_ref().is_some_and(|a| a.busy())
            || self.library.busy()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if let Some(bench) = &mut self.frame_bench {
            bench.record_ui(started);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.ephemeral {
            eframe::set_value(storage, STATE_KEY, &self.state);
        }
    }

    /// `--ephemeral` writes nothing: not even egui's own memory.
    fn persist_egui_memory(&self) -> bool {
        !self.ephemeral
    }
}

/// The app icon (`assets/linux`, 128 px) for the window's title bar and task switcher.
fn window_icon() -> Option<egui::IconData> {
    static PNG: &[u8] = include_bytes!("../../assets/linux/icons/hicolor/128x128/apps/geolens.png");
    let icon = image::load_from_memory(PNG).ok()?.into_rgba8();
    Some(egui::IconData {
        width: icon.width(),
        height: icon.height(),
        rgba: icon.into_raw(),
    })
}

/// Opens the window and runs until it is closed.
pub fn run(options: LaunchOptions) -> Result<(), AppError> {
    let screenshot_error: Arc<Mutex<Option<String>>> = Arc::default();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("geolens")
        // The desktop entry's StartupWMClass, so that launchers match the window to it.
        .with_app_id("geolens")
        .with_inner_size(options.window_size)
        .with_min_inner_size([480.0, 320.0])
        .with_drag_and_drop(true);
    if let Some(icon) = window_icon() {
        viewport = viewport.with_icon(icon);
    }
    if options.screenshot.is_some() || options.bench_frames.is_some() {
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
            let app = GeolensApp::with_screenshot_slot(cc, options, error_slot)?;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))?;
    if let Some(e) = screenshot_error.lock().ok().and_then(|mut s| s.take()) {
        return Err(AppError::Screenshot(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_carries_the_app_icon() {
        let icon = super::window_icon().expect("the embedded icon decodes");
        assert_eq!((icon.width, icon.height), (128, 128));
        assert_eq!(icon.rgba.len(), 128 * 128 * 4);
        assert!(icon.rgba.chunks(4).filter(|p| p[3] > 200).count() > 128 * 128 / 4);
    }
}
