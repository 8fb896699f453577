//! The app's side of "how sure" and the photo's clock: the credible regions and the clock's
//! time zones outlined on the map, and their words in the results panel.

use egui::{RichText, Sense, Ui};

use super::ExploreView;
use crate::app::shared::Shared;
use crate::app::state::Mode;
use crate::app::worker::PhotoId;
use crate::geo::geocells::Granularity;
use crate::map::regions::{CLOCK_STROKE, RegionOutline};

/// What the map's outlines were built for: photo, granularity, credible regions shown,
/// clock layer shown, clock prior on.
pub(in crate::app) type OutlineKey = (PhotoId, Granularity, bool, bool, bool);

impl ExploreView {
    /// The outlines last built for the map (photo, granularity, outlines; the clock's first).
    pub fn region_outlines(&self) -> Option<(PhotoId, Granularity, &[RegionOutline])> {
        self.region_outlines
            .as_ref()
            .map(|((id, g, ..), o)| (*id, *g, o.as_slice()))
    }

    /// Builds the outlines for the selected photo (once per photo, granularity and choice):
    /// the area keeping the camera clock's time, then the 90 % and the 50 % regions on top.
    /// Whether there is anything to draw (in the explorer, with an answer).
    pub(in crate::app) fn ensure_region_outlines(&mut self, app: &mut Shared<'_>) -> bool {
        if app.state.mode != Mode::Explore {
            return false;
        }
        let Some(photo) = app.photos.selected() else {
            return false;
        };
        let granularity = app.state.granularity;
        let key = (
            photo.id,
            granularity,
            app.state.show_regions,
            app.state.show_clock,
            app.state.clock_prior,
        );
        if self.region_outlines.as_ref().map(|(k, _)| *k) != Some(key) {
            let Some(regions) = app.photos.selected_regions(granularity) else {
                return false;
            };
            let mut outlines = Vec::new();
            if app.state.show_clock
                && let (Some(clock), Some(prediction)) = (&photo.clock, &photo.plain)
            {
                let cells = prediction.cells_mostly(granularity, &clock.inside);
                outlines.push(RegionOutline::clock(&cells));
            }
            if app.state.show_regions {
                outlines.extend(regions.iter().rev().map(RegionOutline::of));
            }
            self.region_outlines = Some((key, outlines));
        }
        true
    }

    /// The photo's clock: what it says, where that time was kept, and the prior's switch.
    pub(in crate::app) fn clock_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let Some(photo) = app.photos.selected() else {
            return;
        };
        if let Some(note) = &photo.clock_note {
            ui.label(RichText::new(note).small().weak());
        }
        let Some(clock) = photo.clock.as_ref().map(|c| c.clue.clone()) else {
            return;
        };
        ui.separator();
        ui.label(RichText::new("Camera clock").strong());
        let zones = match clock.matching_zones.len() {
            0 => "no time zone kept that offset then".to_string(),
            1 => format!("only {} kept that time", clock.matching_zones[0]),
            n => format!("{n} time zones kept that time"),
        };
        ui.horizontal_wrapped(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 10.0), Sense::hover());
            ui.painter()
                .line_segment([rect.left_center(), rect.right_center()], CLOCK_STROKE);
            ui.label(format!("says {}: {zones}", clock.clock))
                .on_hover_text(clock.matching_zones.join(", "));
        });
        ui.label(format!(
            "{} of the model's own probability lies there.",
            crate::scores::percent(clock.mass_in_zones)
        ));
        match clock.agrees_with_gps {
            Some(true) => {
                ui.label("It agrees with the photo's GPS.");
            }
            Some(false) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "It disagrees with the photo's GPS: the camera was not on local time.",
                );
            }
            None => {}
        }
        ui.checkbox(&mut app.state.show_clock, "Outline that area on the map");
        let mut on = app.state.clock_prior;
        ui.checkbox(&mut on, "Weigh the answer by it")
            .on_hover_text(
                "Positions outside those time zones count for a twentieth, not nothing: clocks \
                 are sometimes left on home time. Untick to see the model's own answer.",
            );
        if on != app.state.clock_prior {
            app.state.clock_prior = on;
            self.apply_clock_prior(app);
        }
    }

    /// Says on the map what the cyan outline is.
    pub(in crate::app) fn clock_badge_ui(
        &self,
        app: &Shared<'_>,
        ctx: &egui::Context,
        map_rect: egui::Rect,
    ) {
        if app.state.mode != Mode::Explore || !app.state.show_clock {
            return;
        }
        let Some(clock) = app.photos.selected().and_then(|p| p.clock.as_ref()) else {
            return;
        };
        egui::Area::new(egui::Id::unique("clock_badge"))
            .pivot(egui::Align2::CENTER_TOP)
            .fixed_pos(map_rect.center_top() + egui::vec2(0.0, 10.0))
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(
                        RichText::new(format!(
                            "camera clock says {}: outlined where that was the time{}",
                            clock.clue.clock,
                            if app.state.clock_prior {
                                " (weighing the answer)"
                            } else {
                                ""
                            }
                        ))
                        .small()
                        .color(CLOCK_STROKE.color),
                    );
                });
            });
    }

    /// Brings the photos' answers in line with the clock-prior setting; the map follows.
    pub(in crate::app) fn apply_clock_prior(&mut self, app: &mut Shared<'_>) {
        if app.photos.set_clock_prior(app.state.clock_prior) {
            *app.heatmap = None;
            self.region_outlines = None;
            *app.fitted = None;
        }
    }

    /// How sure the answer is: the credible regions in words and the localizability.
    pub(in crate::app) fn certainty_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let Some(photo) = app.photos.selected() else {
            return;
        };
        let regions = app
            .photos
            .selected_regions(app.state.granularity)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let localizability = photo.localizability;
        ui.separator();
        ui.label(RichText::new("How sure").strong()).on_hover_text(
            "The smallest sets of cells holding half and nine tenths of the probability: \
             the smaller, the surer the model.",
        );
        for region in &regions {
            ui.horizontal_wrapped(|ui| {
                let stroke = crate::map::regions::region_stroke(region.mass);
                let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 10.0), Sense::hover());
                ui.painter().line_segment(
                    [rect.left_center(), rect.right_center()],
                    egui::Stroke::new(stroke.width + 1.0, stroke.color),
                );
                ui.label(region.describe());
            });
        }
        if let Some(l) = localizability {
            ui.label(format!("Localizability {l:.2}")).on_hover_text(
                "How peaked the answer is over GeoCLIP's 100,000 gallery positions: 0 when \
                 spread evenly, 1 when all on one.",
            );
        }
        ui.checkbox(
            &mut app.state.show_regions,
            "Outline these regions on the map",
        );
    }
}
