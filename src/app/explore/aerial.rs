//! The aerial strip beside the photo: tiles around the most likely places ranked against the
//! photo (the worker fetches and scores them), each with its score; hovering a tile outlines
//! it on the map, clicking flies the map there. Holds no model or geometry code.

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Color32, RichText, Sense, Stroke, Ui};
use image::RgbImage;

use super::ExploreView;
use crate::aerial::rank::RankedTile;
use crate::aerial::{Candidate, MatchSettings, TileId, TowerKind};
use crate::app::DialogPurpose;
use crate::app::panels::texture_of;
use crate::app::shared::Shared;
use crate::app::worker::{Event, PhotoId, Request};
use crate::map::markers::TileOutline;

/// Side of a tile thumbnail, in points.
const THUMB_PT: f32 = 84.0;

pub enum TileState {
    Loaded {
        image: Arc<RgbImage>,
        texture: Option<egui::TextureHandle>,
    },
    Failed(String),
}

/// One matching run, for the photo it was asked for.
pub struct AerialView {
    pub photo: PhotoId,
    pub request: u64,
    pub source: String,
    pub attribution: String,
    pub candidates: Vec<Candidate>,
    pub tiles: HashMap<TileId, TileState>,
    pub ranked: Option<Vec<RankedTile>>,
    pub towers: String,
    pub error: Option<String>,
    pub hovered: Option<TileId>,
    pub selected: Option<TileId>,
}

impl AerialView {
    fn new(photo: PhotoId, request: u64) -> Self {
        Self {
            photo,
            request,
            source: String::new(),
            attribution: String::new(),
            candidates: Vec::new(),
            tiles: HashMap::new(),
            ranked: None,
            towers: String::new(),
            error: None,
            hovered: None,
            selected: None,
        }
    }

    /// Whether tiles are still being fetched or scored.
    pub fn busy(&self) -> bool {
        self.ranked.is_none() && self.error.is_none()
    }

    pub fn failed_tiles(&self) -> usize {
        self.tiles
            .values()
            .filter(|t| matches!(t, TileState::Failed(_)))
            .count()
    }

    /// Applies a worker event of this run; other events are left alone (`false`).
    pub fn apply(&mut self, event: &Event) -> bool {
        match event {
            Event::AerialStarted {
                request,
                source,
                attribution,
                candidates,
            } if *request == self.request => {
                self.source = source.clone();
                self.attribution = attribution.clone();
                self.candidates = candidates.clone();
            }
            Event::AerialTile {
                request,
                tile,
                result,
            } if *request == self.request => {
                let state = match result {
                    Ok(image) => TileState::Loaded {
                        image: image.clone(),
                        texture: None,
                    },
                    Err(e) => TileState::Failed(e.to_string()),
                };
                self.tiles.insert(*tile, state);
            }
            Event::AerialRanked {
                request,
                towers,
                ranked,
            } if *request == self.request => {
                self.towers = towers.clone();
                self.ranked = Some(ranked.clone());
            }
            Event::AerialFailed { request, error } if *request == self.request => {
                self.error = Some(error.to_string());
            }
            _ => return false,
        }
        true
    }

    /// Outlines for the map: every tile faintly, the hovered one bright, the chosen one bold and
    /// filled with its picture.
    pub fn outlines(&self) -> Vec<TileOutline> {
        let tiles: Vec<TileId> = match &self.ranked {
            Some(r) => r.iter().map(|t| t.tile()).collect(),
            None => self.candidates.iter().map(|c| c.tile).collect(),
        };
        tiles
            .into_iter()
            .map(|tile| {
                let (color, width) = if Some(tile) == self.hovered {
                    (Color32::from_rgb(255, 220, 40), 3.0)
                } else if Some(tile) == self.selected {
                    (Color32::from_rgb(40, 210, 255), 3.0)
                } else {
                    (Color32::from_white_alpha(140), 1.0)
                };
                let (north_west, south_east) = tile.corners();
                // The chosen tile is drawn in place, so that photo, tile and map line up.
                let image = match self.tiles.get(&tile) {
                    Some(TileState::Loaded {
                        texture: Some(t), ..
                    }) if Some(tile) == self.selected => Some(t.id()),
                    _ => None,
                };
                TileOutline {
                    north_west,
                    south_east,
                    color,
                    width,
                    image,
                }
            })
            .collect()
    }
}

impl ExploreView {
    /// Starts matching the selected photo's tiles (its prediction must be in).
    pub(in crate::app) fn start_aerial_match(&mut self, app: &mut Shared<'_>) {
        let Some(tiles) = app.state.aerial_tiles() else {
            return;
        };
        let Some(photo) = app.photos.selected() else {
            return;
        };
        let Some(prediction) = photo.prediction().cloned() else {
            return;
        };
        self.aerial_requests += 1;
        let request = self.aerial_requests;
        self.aerial = Some(AerialView::new(photo.id, request));
        app.worker.send(Request::MatchTiles {
            id: photo.id,
            request,
            prediction: Box::new(prediction),
            settings: MatchSettings {
                tiles,
                candidates: app.state.aerial_candidates,
                prior_weight: app.state.aerial_prior_weight,
                towers: app.state.aerial_towers,
            },
        });
    }

    /// The aerial section of the photo panel.
    pub(in crate::app) fn aerial_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        ui.label(RichText::new("Aerial match (ground to aerial)").strong());
        let selected = app
            .photos
            .selected()
            .map(|p| (p.id, p.prediction().is_some()));
        let Some((photo_id, predicted)) = selected else {
            return;
        };
        self.aerial_source_ui(app, ui);
        let source_set = app.state.aerial_tiles().is_some();
        let running = self
            .aerial
            .as_ref()
            .is_some_and(|a| a.photo == photo_id && a.busy());
        let button = ui
            .add_enabled(
                predicted && source_set && !running,
                egui::Button::new("Match aerial tiles"),
            )
            .on_hover_text(
                "Ranks aerial tiles around the most likely places by how well they match the \
                 photo (and how likely their position is)",
            )
            .on_disabled_hover_text(if !source_set {
                "Choose a folder of aerial tiles, or allow online tiles"
            } else {
                "Waiting for the photo's prediction"
            });
        if button.clicked() {
            self.start_aerial_match(app);
        }
        let ctx = ui.ctx().clone();
        let mut fly_to = None;
        if let Some(view) = self.aerial.as_mut().filter(|a| a.photo == photo_id) {
            fly_to = aerial_results_ui(ui, &ctx, view);
        }
        if let Some(tile) = fly_to {
            let c = tile.center();
            app.state
                .map_memory
                .center_at(walkers::lat_lon(c.lat_deg, c.lon_deg));
            let _ = app.state.map_memory.set_zoom(f64::from(tile.zoom) - 1.0);
        }
    }

    fn aerial_source_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| match &app.state.aerial_folder {
            Some(dir) => {
                ui.label(format!("Tiles: {}", dir.display()));
                if ui.small_button("Forget folder").clicked() {
                    app.state.aerial_folder = None;
                }
            }
            None => {
                if ui.small_button("Choose tile folder…").clicked() {
                    self.wants_dialog = Some(DialogPurpose::AerialFolder);
                }
            }
        });
        ui.checkbox(
            &mut app.state.aerial_online,
            "Fetch tiles online (ESRI World Imagery)",
        )
        .on_hover_text(
            "Downloads only the tiles shown (two at a time), cached on disk. A tile folder, when \
             chosen, is used instead.",
        );
        ui.horizontal(|ui| {
            let options = &mut app.state.aerial_candidates;
            ui.label("At most");
            ui.add(egui::DragValue::new(&mut options.max_tiles).range(1..=200))
                .on_hover_text(
                    "Each tile goes through CLIP's tower: about 2 s a tile on a 2-core CPU, \
                     milliseconds on a GPU",
                );
            ui.label("tiles at zoom");
            ui.add(
                egui::DragValue::new(&mut options.zoom).range(
                    crate::aerial::candidates::MIN_ZOOM..=crate::aerial::candidates::MAX_ZOOM,
                ),
            );
        });
        ui.horizontal(|ui| {
            ui.label("Scored by");
            egui::ComboBox::new("aerial_towers", "")
                .selected_text(tower_label(app.state.aerial_towers))
                .show_ui(ui, |ui| {
                    for kind in [TowerKind::Clip, TowerKind::Colour] {
                        ui.selectable_value(&mut app.state.aerial_towers, kind, tower_label(kind));
                    }
                });
        });
    }
}

fn tower_label(kind: TowerKind) -> &'static str {
    match kind {
        TowerKind::Clip => "CLIP features",
        TowerKind::Colour => "colour histograms (baseline)",
    }
}

/// Progress, errors and the strip of tiles; returns a tile that was clicked.
fn aerial_results_ui(ui: &mut Ui, ctx: &egui::Context, view: &mut AerialView) -> Option<TileId> {
    let total = view.candidates.len();
    let done = view.tiles.len();
    let failed = view.failed_tiles();
    if let Some(error) = &view.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    } else if view.ranked.is_none() && total > 0 {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(if done < total {
                format!("Fetched {done} of {total} tiles")
            } else {
                "Scoring tiles…".to_string()
            });
        });
    } else if view.ranked.is_none() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding tiles…");
        });
    }
    if failed > 0 {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("{failed} of {total} tiles could not be had (hover them for why)"),
        );
    }
    if let Some(ranked) = &view.ranked {
        ui.label(RichText::new(format!("Scored by {}", view.towers)).small());
        if ranked.is_empty() {
            ui.label("No tile could be scored.");
        }
    }
    // Ranked tiles first (best first), then those that failed or are still coming.
    let mut order: Vec<(TileId, Option<(usize, f64)>)> = match &view.ranked {
        Some(r) => r
            .iter()
            .enumerate()
            .map(|(i, t)| (t.tile(), Some((i + 1, t.score))))
            .collect(),
        None => Vec::new(),
    };
    for c in &view.candidates {
        if !order.iter().any(|(t, _)| *t == c.tile) {
            order.push((c.tile, None));
        }
    }
    let mut clicked = None;
    let mut hovered = None;
    let per_row = ((ui.available_width() / (THUMB_PT + 8.0)).floor() as usize).max(1);
    egui::Grid::new("aerial_tiles")
        .spacing(egui::vec2(4.0, 4.0))
        .show(ui, |ui| {
            for (k, (tile, rank)) in order.iter().enumerate() {
                let response = tile_ui(ui, ctx, view, *tile, *rank);
                if response.hovered() {
                    hovered = Some(*tile);
                }
                if response.clicked() {
                    clicked = Some(*tile);
                }
                if (k + 1) % per_row == 0 {
                    ui.end_row();
                }
            }
        });
    view.hovered = hovered;
    if let Some(tile) = clicked {
        view.selected = Some(tile);
    }
    if !view.attribution.is_empty() {
        ui.label(RichText::new(&view.attribution).small().weak());
    }
    clicked
}

fn tile_ui(
    ui: &mut Ui,
    ctx: &egui::Context,
    view: &mut AerialView,
    tile: TileId,
    rank: Option<(usize, f64)>,
) -> egui::Response {
    let selected = view.selected == Some(tile);
    let stroke = if selected {
        Stroke::new(2.0, Color32::from_rgb(40, 210, 255))
    } else {
        Stroke::NONE
    };
    let inner = egui::Frame::new()
        .stroke(stroke)
        .inner_margin(1.0)
        .show(ui, |ui| {
            ui.vertical(|ui| {
                let size = egui::vec2(THUMB_PT, THUMB_PT);
                match view.tiles.get_mut(&tile) {
                    Some(TileState::Loaded { image, texture }) => {
                        let texture = texture.get_or_insert_with(|| {
                            texture_of(ctx, &format!("aerial-{tile}"), image)
                        });
                        ui.add(egui::Image::new(&*texture).fit_to_exact_size(size));
                    }
                    Some(TileState::Failed(_)) => {
                        let colour = ui.visuals().error_fg_color;
                        egui::Frame::new()
                            .fill(ui.visuals().extreme_bg_color)
                            .show(ui, |ui| {
                                ui.add_sized(
                                    size,
                                    egui::Label::new(RichText::new("tile failed").color(colour)),
                                );
                            });
                    }
                    None => {
                        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
                        ui.painter()
                            .rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
                    }
                }
                let caption = match rank {
                    Some((r, score)) => format!("#{r}  {score:.2}"),
                    None => tile.to_string(),
                };
                ui.label(RichText::new(caption).small());
            })
        });
    let response = ui.interact(
        inner.response.rect,
        egui::Id::unique(("aerial-tile", tile)),
        Sense::click(),
    );
    let text = match (rank, view.tiles.get(&tile)) {
        (Some((r, score)), _) => {
            format!("Tile {tile}, rank {r}, score {score:.3}; click to show it on the map")
        }
        (None, Some(TileState::Failed(error))) => format!("Could not be had: {error}"),
        (None, _) => format!("Tile {tile}"),
    };
    response.on_hover_text(text)
}
