//! The explorer, one of the app's screens: photos in, the model's answers out. `ExploreView`
//! owns what the explorer keeps (messages, what was typed or picked, the aerial strip) and
//! draws its panels, the photo (filmstrip, EXIF, model status, spatial support) on the left and
//! the results (top places, heatmap controls) on the right, with what all screens share lent
//! for the frame ([`Shared`]). Its sections live beside it: `certainty.rs` (credible regions,
//! the clock), `aerial.rs` (the aerial strip), `keep.rs` (location, sidecars, exports).

use egui::{Color32, RichText, Sense, Ui};

pub mod aerial;
mod certainty;
mod keep;

use crate::app::panels::{self, texture_of};
use crate::app::photos::PhotoStatus;
use crate::app::shared::Shared;
use crate::app::worker::PhotoId;
use crate::app::worker::PhotoSource;
use crate::app::worker::{ModelState, Request};
use crate::app::{BEST_GUESS_HINT, DialogPurpose};
use crate::geo::distance::haversine_km;
use crate::geo::latlon::LatLonDeg;
use crate::map::colormap::ColorMap;
use crate::map::heatmap::{HeatScale, SHOWN_MASS_CHOICES};
use crate::map::markers::{GreatCircle, Pin};
use crate::map::regions::RegionOutline;
use crate::predict::LoadStage;
use crate::predict::PlaceGuess;
use aerial::AerialView;
use certainty::OutlineKey;

/// Errors kept in the recent-errors list, newest first.
const RECENT_ERRORS: usize = 20;

/// What the explorer holds for itself, apart from what all screens share (settings, the
/// model worker, the map): the messages it shows, what the user typed or picked, and the
/// aerial strip.
#[derive(Default)]
pub struct ExploreView {
    /// The latest error worth showing (a photo that failed, a dialog that could not open).
    pub(super) notice: Option<String>,
    /// Errors so far, newest first (the latest is also `notice`).
    pub(super) recent_errors: Vec<String>,
    /// What the user typed in the path field (shown when no file dialog can open).
    pub(super) typed_path: String,
    /// A top place the user picked in the results panel (photo, rank from 0).
    pub(super) selected_place: Option<(PhotoId, usize)>,
    /// Map clicks set the selected photo's location (instead of nothing).
    pub(super) placing_location: bool,
    /// Where the filmstrip's locations are exported, and what the last export said.
    pub(super) export_path: String,
    pub(super) export_message: Option<Result<String, String>>,
    /// What the last sidecar write said.
    pub(super) sidecar_message: Option<Result<String, String>>,
    /// Outlines of the credible regions on the map, for (photo, granularity).
    pub(super) region_outlines: Option<(OutlineKey, Vec<RegionOutline>)>,
    /// The latest aerial matching run.
    pub(super) aerial: Option<AerialView>,
    /// Matching runs asked for so far (each run's id).
    pub(super) aerial_requests: u64,
    /// A file dialog the explorer asked for this frame (the app opens it).
    pub(super) wants_dialog: Option<DialogPurpose>,
    /// Photos the explorer asked to open this frame (a typed path).
    pub(super) wants_photos: Vec<PhotoSource>,
}

impl ExploreView {
    /// Shows `message` as the latest error and keeps it in the recent list.
    pub(super) fn report(&mut self, message: String) {
        self.recent_errors.insert(0, message.clone());
        self.recent_errors.truncate(RECENT_ERRORS);
        self.notice = Some(message);
    }

    /// The photo panel on the left and the results on the right, as the settings have them.
    pub(super) fn panels_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        if app.state.side_panel_open {
            egui::Panel::left("photo_panel")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| self.photo_panel_ui(app, ui));
        }
        if app.state.results_panel_open {
            egui::Panel::right("results_panel")
                .resizable(true)
                .default_size(260.0)
                .show(ui, |ui| self.results_panel_ui(app, ui));
        }
    }

    /// The errors so far, newest first, folded away under the latest one.
    pub(super) fn recent_errors_ui(&mut self, ui: &mut Ui) {
        if self.recent_errors.len() < 2 {
            return;
        }
        egui::CollapsingHeader::new(format!("Recent errors ({})", self.recent_errors.len()))
            .id_salt("recent_errors")
            .show(ui, |ui| {
                for e in &self.recent_errors {
                    ui.label(RichText::new(e).small());
                }
                if ui.small_button("Clear").clicked() {
                    self.recent_errors.clear();
                }
            });
    }

    /// A field to type (or paste) a photo's path: the way in when no dialog can be shown, and
    /// a quick one for people who know where their photos are.
    pub(super) fn typed_path_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.typed_path)
                    .hint_text("/path/to/photo.jpg")
                    .desired_width(ui.available_width() - 60.0),
            );
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open").clicked() || entered) && !self.typed_path.trim().is_empty() {
                let path = std::path::PathBuf::from(self.typed_path.trim());
                if path.is_file() {
                    self.typed_path.clear();
                    self.wants_photos.push(PhotoSource::File(path));
                } else if path.is_dir() {
                    self.report(format!(
                        "{} is a folder: name a photo inside it (or drop several on the window)",
                        path.display()
                    ));
                } else {
                    self.report(format!("{}: no such file", path.display()));
                }
            }
        });
    }
}

impl ExploreView {
    /// Pins and lines for the photo on screen: its EXIF position, the model's best guess, the
    /// great circle between them, and the place picked in the results panel.
    pub(super) fn explore_markers(&self, app: &Shared<'_>) -> (Vec<Pin>, Vec<GreatCircle>) {
        let mut pins = Vec::new();
        let mut lines = Vec::new();
        let Some(photo) = app.photos.selected() else {
            return (pins, lines);
        };
        if let Some((id, rank)) = self.selected_place
            && id == photo.id
            && let Some(place) = app
                .photos
                .selected_places(app.state.granularity)
                .and_then(|places| places.get(rank))
        {
            pins.push(Pin {
                at: place.center,
                label: format!("#{} {}", rank + 1, place.place_name),
                color: egui::Color32::from_rgb(60, 120, 230),
                hint: format!(
                    "{} of the probability lies in this cell; the pin marks the mean position \
                     of the gallery photos in it.",
                    crate::scores::percent(place.probability)
                ),
            });
        }
        if let Some((at, source)) = &photo.chosen {
            pins.push(Pin {
                at: *at,
                label: "set location".into(),
                color: egui::Color32::from_rgb(170, 90, 220),
                hint: format!("The location set for this photo ({source})"),
            });
        }
        let guess = photo.best_guess.map(|g| LatLonDeg {
            lat_deg: g.lat_deg,
            lon_deg: g.lon_deg,
        });
        if let Some(g) = guess {
            pins.push(Pin {
                at: g,
                label: "model's guess".into(),
                color: egui::Color32::from_rgb(230, 60, 60),
                hint: BEST_GUESS_HINT.into(),
            });
        }
        if app.state.show_truth
            && let Some(truth) = photo.facts.gps
        {
            pins.push(Pin {
                at: truth,
                label: "EXIF position".into(),
                color: egui::Color32::from_rgb(40, 170, 80),
                hint: "Where the photo's own GPS says it was taken".into(),
            });
            if let Some(g) = guess {
                lines.push(GreatCircle {
                    from: truth,
                    to: g,
                    color: egui::Color32::from_rgb(255, 200, 40),
                });
            }
        }
        (pins, lines)
    }

    pub(super) fn photo_panel_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        egui::ScrollArea::vertical().show(ui, |ui| {
            self.filmstrip_ui(app, ui);
            if let Some(notice) = &self.notice {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(ui.visuals().error_fg_color, notice);
                });
                if ui.small_button("Dismiss").clicked() {
                    self.notice = None;
                }
            }
            self.recent_errors_ui(ui);
            self.export_ui(app, ui);
            if app.dialog_unavailable && !app.photos.entries().is_empty() {
                self.typed_path_ui(ui);
            }
            ui.separator();
            self.selected_photo_ui(app, ui);
            ui.separator();
            self.aerial_ui(app, ui);
            ui.separator();
            self.model_status_ui(app, ui);
        });
    }

    fn filmstrip_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        if app.photos.entries().is_empty() {
            ui.heading("Drop a photo here");
            ui.label(
                "…or open one (Ctrl+O), or paste its path. geolens never changes your photos.",
            );
            self.typed_path_ui(ui);
            return;
        }
        let ctx = ui.ctx().clone();
        let selected = app.photos.selected_id();
        let mut clicked = None;
        let mut removed = None;
        egui::ScrollArea::horizontal()
            .id_salt("filmstrip")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let ids: Vec<_> = app.photos.entries().iter().map(|e| e.id).collect();
                    for id in ids {
                        let Some(entry) = app.photos.get_mut(id) else {
                            continue;
                        };
                        if entry.texture.is_none()
                            && let Some(preview) = &entry.preview
                        {
                            entry.texture = Some(texture_of(&ctx, &format!("photo-{id}"), preview));
                        }
                        let frame = egui::Frame::new()
                            .stroke(if selected == Some(id) {
                                egui::Stroke::new(2.0, ui.visuals().selection.stroke.color)
                            } else {
                                egui::Stroke::NONE
                            })
                            .inner_margin(2.0);
                        let response = frame
                            .show(ui, |ui| {
                                ui.vertical(|ui| {
                                    ui.set_max_width(64.0);
                                    match &entry.texture {
                                        _ if matches!(entry.status, PhotoStatus::Failed(_)) => {
                                            let (rect, _) = ui.allocate_exact_size(
                                                egui::vec2(64.0, 48.0),
                                                Sense::hover(),
                                            );
                                            warning_sign(ui, rect);
                                        }
                                        Some(t) => {
                                            ui.add(
                                                egui::Image::new(t)
                                                    .fit_to_exact_size(egui::vec2(64.0, 48.0)),
                                            );
                                        }
                                        None => {
                                            ui.allocate_exact_size(
                                                egui::vec2(64.0, 48.0),
                                                Sense::hover(),
                                            );
                                        }
                                    }
                                    let status = match &entry.status {
                                        PhotoStatus::Decoding => "reading",
                                        PhotoStatus::Waiting => "waiting",
                                        PhotoStatus::Running => "running",
                                        PhotoStatus::Done if entry.chosen.is_some() => {
                                            "location set"
                                        }
                                        PhotoStatus::Done => "done",
                                        PhotoStatus::Failed(_) => entry.name.as_str(),
                                    };
                                    ui.add(
                                        egui::Label::new(RichText::new(status).small()).truncate(),
                                    );
                                })
                            })
                            .response
                            .interact(Sense::click());
                        let response = response.on_hover_text(match &entry.status {
                            PhotoStatus::Failed(e) => format!("{}: {e}", entry.name),
                            _ => entry.name.clone(),
                        });
                        if response.clicked() {
                            clicked = Some(id);
                        }
                        response.context_menu(|ui| {
                            if ui.button("Remove").clicked() {
                                removed = Some(id);
                            }
                        });
                    }
                });
            });
        if let Some(id) = clicked {
            app.photos.select(id);
        }
        if let Some(id) = removed {
            app.photos.remove(id);
            app.worker.send(Request::Forget { id });
        }
    }

    fn selected_photo_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let grid = app.state.occlusion_grid;
        let granularity = app.state.granularity;
        let model_ready = matches!(app.model.state, ModelState::Ready { .. });
        let Some(photo) = app.photos.selected_mut() else {
            return;
        };
        ui.label(RichText::new(&photo.name).strong());
        if photo.texture.is_none()
            && let Some(preview) = &photo.preview
        {
            photo.texture = Some(texture_of(&ctx, &format!("photo-{}", photo.id), preview));
        }
        if let (Some(map), None) = (&photo.occlusion, &photo.occlusion_texture) {
            photo.occlusion_texture = Some(occlusion_texture(&ctx, photo.id, map));
        }
        if let Some(texture) = &photo.texture {
            let size = texture.size_vec2();
            let width = ui.available_width().min(480.0);
            let response = ui.add(
                egui::Image::new(texture)
                    .fit_to_exact_size(egui::vec2(width, width * size.y / size.x)),
            );
            // The spatial-support map covers the centre square the model looks at.
            if let Some(overlay) = &photo.occlusion_texture {
                let rect = response.rect;
                let side = rect.width().min(rect.height());
                let square = egui::Rect::from_center_size(rect.center(), egui::vec2(side, side));
                ui.painter().image(
                    overlay.id(),
                    square,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::from_white_alpha(170),
                );
            }
        }
        match &photo.status {
            PhotoStatus::Decoding => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Reading the photo…");
                });
            }
            PhotoStatus::Waiting if model_ready => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Queued behind other photos…");
                });
            }
            PhotoStatus::Waiting => {
                ui.label("Waiting for the model (see below).");
            }
            PhotoStatus::Running => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Running the model…");
                });
            }
            PhotoStatus::Done => {
                if let Some(t) = photo.times {
                    ui.label(
                        RichText::new(format!(
                            "Geolocated in {:.0} ms (tower {:.0} ms)",
                            t.preprocess_ms + t.tower_ms + t.heads_ms,
                            t.tower_ms
                        ))
                        .small()
                        .weak(),
                    );
                }
            }
            PhotoStatus::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        }
        exif_ui(ui, &photo.facts);
        if let (Some(truth), Some(guess)) = (photo.facts.gps, photo.best_guess) {
            let km = haversine_km(truth.lat_deg, truth.lon_deg, guess.lat_deg, guess.lon_deg);
            ui.horizontal(|ui| {
                ui.checkbox(&mut app.state.show_truth, "Show EXIF position");
                ui.label(RichText::new(format!("model off by {km:.0} km")).strong());
            });
        }
        // Spatial support (PlaNet's occlusion analysis), on demand.
        let Some(photo) = app.photos.selected() else {
            return;
        };
        let (id, occlusion_progress, occlusion) =
            (photo.id, photo.occlusion_progress, photo.occlusion.clone());
        if photo.prediction().is_some() {
            ui.separator();
            ui.label(RichText::new("Spatial support").strong())
                .on_hover_text("Grey patches hide parts of the photo one at a time; red marks where hiding lowers the top place's probability most.");
            match (occlusion_progress, &occlusion) {
                (Some((done, total)), _) => {
                    ui.add(
                        egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                            .text(format!("{done}/{total} patches")),
                    );
                    if ui.button("Cancel").clicked() {
                        app.worker.cancel();
                        if let Some(p) = app.photos.selected_mut() {
                            p.occlusion_progress = None;
                        }
                    }
                }
                (None, map) => {
                    if let Some(map) = map {
                        ui.label(
                            RichText::new(format!(
                                "what supports \"{}\"",
                                map.top_place.place_name
                            ))
                            .small(),
                        );
                    }
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::Slider::new(&mut app.state.occlusion_grid, 3..=12)
                                .text("patches a side"),
                        );
                        if ui.button("Compute").clicked() {
                            app.worker.send(Request::Occlusion {
                                id,
                                granularity,
                                grid,
                            });
                            if let Some(p) = app.photos.selected_mut() {
                                p.occlusion_progress = Some((0, grid * grid));
                            }
                        }
                    });
                }
            }
        }
    }

    fn model_status_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        ui.label(RichText::new("Model").strong());
        match app.model.state.clone() {
            ModelState::Loading(stage) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(match stage {
                        LoadStage::Tower => "Loading CLIP's image tower…".to_string(),
                        LoadStage::Heads => "Loading GeoCLIP's heads…".to_string(),
                        LoadStage::EmbeddingGallery { done, total } => {
                            format!("Embedding the GPS gallery, first run only: {done} of {total}")
                        }
                        LoadStage::Ready => "Ready".to_string(),
                    });
                });
            }
            ModelState::Ready {
                model,
                backend,
                notice,
            } => {
                ui.label(format!("{model}, running on {backend}"));
                if let Some(n) = notice {
                    ui.label(RichText::new(n).small().color(ui.visuals().warn_fg_color));
                }
            }
            ModelState::Missing { hint } => {
                ui.label(RichText::new("Not installed").color(ui.visuals().warn_fg_color));
                ui.label(hint);
                ui.label("The map, EXIF facts and the human-only game work without it.");
                app.fetch_ui(ui);
            }
            ModelState::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                app.fetch_ui(ui);
            }
        }
    }

    pub(super) fn results_panel_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let granularity = app.state.granularity;
        let places = app.photos.selected_places(granularity).map(<[_]>::to_vec);
        let mut fly_to = None;
        ui.heading("Most likely places");
        match &places {
            Some(places) => self.top_places_ui(app, ui, places),
            None => {
                let model_missing = matches!(
                    app.model.state,
                    ModelState::Missing { .. } | ModelState::Failed(_)
                );
                ui.label(match (app.photos.selected().is_some(), model_missing) {
                    (true, true) => {
                        "No prediction: the model is not installed (see the photo panel)."
                    }
                    (true, false) => "Working on it…",
                    (false, _) => {
                        "No prediction yet: drop a photo to see where it was likely taken."
                    }
                });
            }
        }
        ui.separator();
        ui.heading("Heatmap");
        ui.label(app.heatmap_description());
        let style = &mut app.state.heatmap_style;
        ui.horizontal(|ui| {
            ui.label("Scale:");
            ui.radio_value(&mut style.scale, HeatScale::Log, "log");
            ui.radio_value(&mut style.scale, HeatScale::Linear, "linear");
        });
        ui.horizontal(|ui| {
            ui.label("Colours:");
            for map in ColorMap::ALL {
                ui.radio_value(&mut style.color_map, map, map.label());
            }
        });
        ui.add(egui::Slider::new(&mut style.opacity, 0.0..=1.0).text("opacity"));
        if places.is_some() {
            // Wrapped, so that the row never widens the panel (and narrows the map) by itself.
            ui.horizontal_wrapped(|ui| {
                ui.label("Paint:").on_hover_text(
                    "Only the most likely cells that together hold this share of the \
                     probability; the rest of the world stays clear.",
                );
                for mass in SHOWN_MASS_CHOICES {
                    let label = if mass >= 1.0 {
                        "all".to_string()
                    } else {
                        crate::scores::percent(f64::from(mass))
                    };
                    ui.radio_value(&mut style.shown_mass, mass, label);
                }
            });
            ui.checkbox(&mut style.per_area, "per area").on_hover_text(
                "Colour by probability per 1000 km², so a vast ocean cell does not look as \
                 likely as a city cell holding the same share.",
            );
        }
        if places.is_none() {
            ui.separator();
            self.top_cells_ui(app, ui, &mut fly_to);
        }
        if let Some((lat, lon, level)) = fly_to {
            app.fly_to(lat, lon, level);
        }
    }

    /// The photo's top places as rows: click one to frame its cell and drop a pin on it.
    fn top_places_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui, places: &[PlaceGuess]) {
        let Some(photo_id) = app.photos.selected_id() else {
            return;
        };
        let top = places
            .first()
            .map_or(1.0, |p| p.probability)
            .max(f64::MIN_POSITIVE);
        for (rank, place) in places.iter().enumerate() {
            // Neighbouring cells can share a name: tell them apart by position.
            let shared_name = places
                .iter()
                .filter(|p| p.place_name == place.place_name)
                .count()
                > 1;
            let name = if shared_name {
                format!(
                    "{} ({:.2}, {:.2})",
                    place.place_name, place.center.lat_deg, place.center.lon_deg
                )
            } else {
                place.place_name.clone()
            };
            let selected = self.selected_place == Some((photo_id, rank));
            let row = panels::ranked_row_ui(
                ui,
                (
                    &format!("#{} {name}", rank + 1),
                    &format!("Place {}: {name}", rank + 1),
                ),
                &crate::scores::percent(place.probability),
                place.probability / top,
                selected,
            );
            if row
                .on_hover_text("Show this place on the map, with a pin")
                .clicked()
            {
                self.selected_place = (!selected).then_some((photo_id, rank));
                *app.fitted = None;
            }
        }
        if let Some(g) = app.photos.selected().and_then(|p| p.best_guess) {
            ui.label(
                RichText::new(format!(
                    "Best point guess (red pin): {:.4}, {:.4}",
                    g.lat_deg, g.lon_deg
                ))
                .small(),
            )
            .on_hover_text(super::BEST_GUESS_HINT);
        }
        self.certainty_ui(app, ui);
        self.clock_ui(app, ui);
        self.location_ui(app, ui);
    }

    /// The heatmap's own top cells (sample layer or a scores file).
    fn top_cells_ui(
        &mut self,
        app: &mut Shared<'_>,
        ui: &mut Ui,
        fly_to: &mut Option<(f64, f64, u64)>,
    ) {
        let Some((_, _, heatmap)) = &app.heatmap else {
            return;
        };
        let title = if app.file_scores.is_some() {
            "Top cells"
        } else {
            "Busiest cells of the sample layer (not a prediction)"
        };
        ui.label(RichText::new(title).strong());
        let max = heatmap.max_value().max(f64::MIN_POSITIVE);
        let quantity = heatmap.quantity();
        for cell in heatmap.top_cells(15) {
            let name = cell
                .place_name
                .clone()
                .unwrap_or_else(|| cell.cell.to_token());
            let row = panels::ranked_row_ui(
                ui,
                (&name, &format!("Cell {name}")),
                &quantity.format(cell.value),
                cell.value / max,
                false,
            );
            if row.on_hover_text("Click to fly there").clicked() {
                let centre = s2::latlng::LatLng::from(cell.cell);
                *fly_to = Some((centre.lat.deg(), centre.lng.deg(), cell.cell.level()));
            }
        }
    }
}

/// EXIF facts, or a note that there are none.
fn exif_ui(ui: &mut Ui, facts: &crate::photo::exif::PhotoFacts) {
    egui::Grid::new("exif").num_columns(2).show(ui, |ui| {
        if let Some(c) = &facts.camera {
            ui.label("Camera");
            ui.label(c);
            ui.end_row();
        }
        if let Some(t) = &facts.taken_at {
            ui.label("Taken");
            ui.label(t);
            ui.end_row();
        }
        if let Some(g) = facts.gps {
            ui.label("GPS");
            ui.label(format!("{:.5}, {:.5}", g.lat_deg, g.lon_deg));
            ui.end_row();
        }
    });
    if facts.is_empty() {
        ui.label(
            RichText::new("No EXIF facts (camera, time, GPS) in this file.")
                .small()
                .weak(),
        );
    }
}

/// The occlusion map as a small texture: red where a patch supports the decision, blue where
/// hiding it raised the probability.
fn occlusion_texture(
    ctx: &egui::Context,
    id: crate::app::worker::PhotoId,
    map: &crate::predict::OcclusionMap,
) -> egui::TextureHandle {
    let max = map
        .drops
        .iter()
        .fold(f32::MIN_POSITIVE, |m, d| m.max(d.abs()));
    let pixels: Vec<Color32> = map
        .drops
        .iter()
        .map(|d| {
            let t = (d / max).clamp(-1.0, 1.0);
            if t >= 0.0 {
                Color32::from_rgba_unmultiplied(230, 40, 40, (t * 200.0) as u8)
            } else {
                Color32::from_rgba_unmultiplied(40, 90, 230, (-t * 200.0) as u8)
            }
        })
        .collect();
    let image = egui::ColorImage::new([map.grid, map.grid], pixels);
    ctx.load_texture(
        format!("occlusion-{id}"),
        image,
        egui::TextureOptions::NEAREST,
    )
}

/// A warning triangle with "!" (drawn: the bundled fonts have no ⚠ glyph).
fn warning_sign(ui: &Ui, rect: egui::Rect) {
    let c = rect.center();
    let points = vec![
        c + egui::vec2(0.0, -16.0),
        c + egui::vec2(16.0, 12.0),
        c + egui::vec2(-16.0, 12.0),
    ];
    let painter = ui.painter();
    painter.add(egui::Shape::convex_polygon(
        points,
        ui.visuals().error_fg_color,
        egui::Stroke::NONE,
    ));
    painter.text(
        c + egui::vec2(0.0, 2.0),
        egui::Align2::CENTER_CENTER,
        "!",
        egui::FontId::proportional(18.0),
        Color32::WHITE,
    );
}
