//! Where the map looks: fitting the answer in view (a result, a chosen place, a game reveal),
//! zoom keys and buttons, and the zoom floor that keeps the world filling the map.

use walkers::lat_lon;

use super::GeolensApp;
use super::state::Mode;
use crate::app::worker::PhotoId;

/// What the map was last fitted to: a change of key (a new answer, another photo, a place
/// picked in the list, a new game reveal) fits the map again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FitKey {
    Photo(PhotoId),
    Place(PhotoId, usize),
    Round(usize),
    /// A library run's answer.
    Library(u64),
}

/// The view a fit left the map in: fitted again when the map changes size (a panel growing)
/// before the user moves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Fitted {
    key: FitKey,
    map_size: egui::Vec2,
    zoom: f64,
    centre: Option<walkers::Position>,
}

/// What to frame: points (lat_deg, lon_deg) and the closest zoom allowed.
struct FitTarget {
    key: FitKey,
    points: Vec<(f64, f64)>,
    max_zoom: f64,
}

/// Room kept free around what is fitted, in points.
const FIT_PADDING: f64 = 48.0;

impl GeolensApp {
    /// The map's place on screen, as last drawn.
    pub fn map_rect(&self) -> Option<egui::Rect> {
        self.map_rect
    }

    /// Fits the map again to what matters now ([`Self::fit_target`]) once per new target.
    pub(super) fn fit_answer(&mut self) {
        let Some(rect) = self.map_rect else {
            return;
        };
        let Some(target) = self.fit_target() else {
            return;
        };
        let memory = &self.state.map_memory;
        if let Some(f) = self.fitted
            && f.key == target.key
            && (f.map_size == rect.size()
                || (f.zoom, f.centre) != (memory.zoom(), memory.detached()))
        {
            return;
        }
        let view = (f64::from(rect.width()), f64::from(rect.height()));
        if let Some(((lat, lon), zoom)) =
            crate::geo::mercator::fit_view(&target.points, view, FIT_PADDING, target.max_zoom)
        {
            self.state.map_memory.center_at(lat_lon(lat, lon));
            let _ = self.state.map_memory.set_zoom(zoom);
            self.keep_world_filling_view(rect);
        }
        self.fitted = Some(Fitted {
            key: target.key,
            map_size: rect.size(),
            zoom: self.state.map_memory.zoom(),
            centre: self.state.map_memory.detached(),
        });
    }

    /// What the map should frame: for a library its photos and proposals; on a game reveal the
    /// truth and both guesses; for a place picked in the list its cell;
    /// for a photo's answer the best guess, the top three places and the EXIF position.
    fn fit_target(&self) -> Option<FitTarget> {
        if self.state.mode == Mode::Library {
            let (run, points) = self.library.fit_points()?;
            return Some(FitTarget {
                key: FitKey::Library(run),
                points,
                max_zoom: 16.0,
            });
        }
        if self.state.mode == Mode::Game {
            let game = self.game.game()?;
            let round = game.revealed()?;
            let mut points = vec![(round.card.truth.lat_deg, round.card.truth.lon_deg)];
            for guess in [&round.player, &round.model].into_iter().flatten() {
                points.push((guess.at.lat_deg, guess.at.lon_deg));
            }
            return Some(FitTarget {
                key: FitKey::Round(game.results().len()),
                points,
                max_zoom: 8.0,
            });
        }
        let photo = self.photos.selected()?;
        photo.prediction()?;
        let places = photo.places_at(self.state.granularity).unwrap_or_default();
        if let Some((id, rank)) = self.explore.selected_place
            && id == photo.id
            && let Some(place) = places.get(rank)
        {
            let mut points: Vec<(f64, f64)> =
                crate::geo::cell_polygon::cell_corners_deg(&place.token)
                    .map(Vec::from)
                    .unwrap_or_default();
            points.push((place.center.lat_deg, place.center.lon_deg));
            return Some(FitTarget {
                key: FitKey::Place(id, rank),
                points,
                max_zoom: 12.0,
            });
        }
        let mut points: Vec<(f64, f64)> = places
            .iter()
            .take(3)
            .map(|p| (p.center.lat_deg, p.center.lon_deg))
            .collect();
        points.extend(photo.best_guess.map(|g| (g.lat_deg, g.lon_deg)));
        if self.state.show_truth {
            points.extend(photo.facts.gps.map(|t| (t.lat_deg, t.lon_deg)));
        }
        Some(FitTarget {
            key: FitKey::Photo(photo.id),
            points,
            max_zoom: 8.0,
        })
    }

    /// `+` / `=` and `-` zoom the map by one level when no text field has the keyboard.
    pub(super) fn zoom_keys_ui(&mut self, ctx: &egui::Context) {
        if ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        let (zoom_in, zoom_out) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals),
                i.key_pressed(egui::Key::Minus),
            )
        });
        if zoom_in {
            let _ = self.state.map_memory.zoom_in();
        }
        if zoom_out {
            let _ = self.state.map_memory.zoom_out();
        }
    }

    /// The smallest zoom at which the world (256 points square at zoom 0) fills the map both
    /// ways, and a
    /// centre that keeps it filled: zooming or panning further would only show black beyond
    /// the world's edges.
    pub(super) fn keep_world_filling_view(&mut self, map_rect: egui::Rect) {
        let view = (f64::from(map_rect.width()), f64::from(map_rect.height()));
        let min_zoom = (view.0.max(view.1) / 256.0).log2().max(0.0);
        if self.state.map_memory.zoom() < min_zoom {
            let _ = self.state.map_memory.set_zoom(min_zoom);
        }
        let zoom = self.state.map_memory.zoom();
        let Some(centre) = self.state.map_memory.detached() else {
            return;
        };
        let (lat, lon) = (centre.y(), centre.x());
        let (clamped_lat, clamped_lon) =
            crate::geo::mercator::clamp_centre_to_world((lat, lon), view, zoom);
        if (clamped_lat, clamped_lon) != (lat, lon) {
            self.state
                .map_memory
                .center_at(lat_lon(clamped_lat, clamped_lon));
        }
    }

    /// Zoom buttons in the map's top-right corner.
    pub(super) fn zoom_buttons_ui(&mut self, ctx: &egui::Context, map_rect: egui::Rect) {
        egui::Area::new(egui::Id::unique("zoom_buttons"))
            .fixed_pos(map_rect.right_top() + egui::vec2(-44.0, 10.0))
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.vertical_centered(|ui| {
                        if ui.button("+").on_hover_text("Zoom in (+)").clicked() {
                            let _ = self.state.map_memory.zoom_in();
                        }
                        if ui.button("−").on_hover_text("Zoom out (-)").clicked() {
                            let _ = self.state.map_memory.zoom_out();
                        }
                        if ui
                            .button("Fit")
                            .on_hover_text(
                                "Fit the answer in view: guess, top places, EXIF position",
                            )
                            .clicked()
                        {
                            self.explore.selected_place = None;
                            self.fitted = None;
                        }
                    });
                });
            });
    }
}
