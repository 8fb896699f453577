//! The app's panels and overlays. Every function here draws; none computes geometry.

use egui::{Align2, Color32, RichText, Sense, Ui, pos2, vec2};
use walkers::sources::Attribution;

use super::state::{Mode, ThemeChoice};
use super::{DialogPurpose, GeolensApp};
use crate::geo::geocells::Granularity;
use crate::map::heatmap::{HeatQuantity, HeatScale, Heatmap, HeatmapStyle, HoveredCell};
use crate::map::online::OnlineLayer;
use crate::model::backend::BackendChoice;

impl GeolensApp {
    /// The game's panel on the left; the dialogs it asks for are opened here.
    pub(super) fn game_panel_ui(&mut self, ui: &mut Ui) {
        let model = self.model.state.clone();
        egui::ScrollArea::vertical().show(ui, |ui| {
            self.game
                .panel_ui(ui, &self.worker, &model, &mut self.state);
        });
        if std::mem::take(&mut self.game.wants_open_dialog) {
            self.open_dialog(DialogPurpose::Photos);
        }
        if std::mem::take(&mut self.game.wants_folder_dialog) {
            self.open_dialog(DialogPurpose::DeckFolder);
        }
    }

    pub(super) fn top_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("geolens").strong());
            ui.separator();
            ui.selectable_value(&mut self.state.mode, Mode::Explore, "Explore");
            ui.selectable_value(&mut self.state.mode, Mode::Game, "Game");
            ui.selectable_value(&mut self.state.mode, Mode::Library, "Library")
                .on_hover_text("Where a folder's photos without a position were taken");
            ui.separator();
            if ui
                .button("Open photos…")
                .on_hover_text("Or drop photos on the window, or paste their paths (Ctrl+O)")
                .clicked()
            {
                self.open_dialog(DialogPurpose::Photos);
            }
            if self.state.mode == Mode::Explore {
                ui.toggle_value(&mut self.state.side_panel_open, "Photo")
                    .on_hover_text("Show or hide the photo panel");
                ui.toggle_value(&mut self.state.results_panel_open, "Results")
                    .on_hover_text("Show or hide the results panel");
            }
            ui.separator();
            egui::ComboBox::new("granularity", "cells")
                .selected_text(self.state.granularity.label())
                .show_ui(ui, |ui| {
                    for g in Granularity::ALL {
                        ui.selectable_value(&mut self.state.granularity, g, g.label());
                    }
                });
            ui.checkbox(&mut self.state.show_heatmap, "Heatmap");
            ui.checkbox(&mut self.state.show_labels, "Names")
                .on_hover_text("Country, region and city names on the map");
            ui.separator();
            egui::ComboBox::new("online_layer", "map")
                .selected_text(self.state.online_layer.label())
                .show_ui(ui, |ui| {
                    for layer in OnlineLayer::ALL {
                        ui.selectable_value(&mut self.state.online_layer, layer, layer.label());
                    }
                })
                .response
                .on_hover_text("Online layers download tiles (cached on disk). Off by default.");
            ui.menu_button("Settings", |ui| self.settings_ui(ui));
            if ui
                .button("?")
                .on_hover_text("Keyboard shortcuts (F1)")
                .clicked()
            {
                self.show_help = !self.show_help;
            }
        });
    }

    fn settings_ui(&mut self, ui: &mut Ui) {
        ui.label(RichText::new("Theme").strong());
        let mut theme = self.state.theme;
        ui.horizontal(|ui| {
            for t in ThemeChoice::ALL {
                ui.radio_value(&mut theme, t, t.label());
            }
        });
        if theme != self.state.theme {
            self.state.theme = theme;
            ui.ctx().set_theme(theme.preference());
        }
        ui.separator();
        // The settings in effect (from the command line or saved), changed only by the user.
        let mut backend = self.model_config.backend;
        let mut model_dir = self.model_config.model_dir.clone();
        ui.label(RichText::new("Model runs on").strong());
        for b in BackendChoice::ALL {
            ui.radio_value(&mut backend, b, b.label());
        }
        ui.separator();
        ui.label(RichText::new("CLIP tower folder").strong());
        ui.label(model_dir.as_ref().map_or(
            "default (where `geolens models fetch` puts it)".into(),
            |d| d.display().to_string(),
        ));
        ui.horizontal(|ui| {
            if ui.button("Choose folder…").clicked() {
                self.open_dialog(DialogPurpose::ModelFolder);
            }
            if ui.button("Default").clicked() {
                model_dir = None;
            }
        });
        self.set_model_settings(model_dir, backend);
    }
}

/// An egui texture of an RGB image.
pub fn texture_of(ctx: &egui::Context, name: &str, image: &image::RgbImage) -> egui::TextureHandle {
    let size = [image.width() as usize, image.height() as usize];
    let color = egui::ColorImage::from_rgb(size, image.as_raw());
    ctx.load_texture(name, color, egui::TextureOptions::LINEAR)
}

/// Tooltip for the cell under the pointer.
pub fn hovered_cell_ui(ui: &mut Ui, cell: &HoveredCell) {
    if let Some(name) = &cell.place_name {
        ui.label(RichText::new(name).strong());
    }
    ui.label(format!(
        "{} = {}",
        cell.quantity.label(),
        cell.quantity.format(cell.value)
    ));
    ui.label(format!("area {}", crate::scores::area_text(cell.area_km2)));
    ui.label(
        RichText::new(format!("S2 cell {}", cell.token))
            .small()
            .weak(),
    );
}

/// Colour bar with probability ticks, pinned to the map's bottom-left corner.
pub fn legend_ui(
    ctx: &egui::Context,
    map_rect: egui::Rect,
    heatmap: &Heatmap,
    style: &HeatmapStyle,
) {
    egui::Area::new(egui::Id::unique("heatmap_legend"))
        .pivot(Align2::LEFT_BOTTOM)
        .fixed_pos(map_rect.left_bottom() + vec2(10.0, -10.0))
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                let scale = match style.scale {
                    HeatScale::Log => "log",
                    HeatScale::Linear => "linear",
                };
                ui.label(
                    RichText::new(format!("{}, {scale} scale", heatmap.shown_label(style))).small(),
                );
                let (rect, _) = ui.allocate_exact_size(vec2(200.0, 12.0), Sense::hover());
                let steps = 64;
                let mut mesh = egui::Mesh::default();
                for i in 0..steps {
                    let t0 = i as f32 / steps as f32;
                    let t1 = (i + 1) as f32 / steps as f32;
                    let [r, g, b] = style.color_map.rgb((t0 + t1) / 2.0);
                    let x0 = rect.left() + rect.width() * t0;
                    let x1 = rect.left() + rect.width() * t1;
                    mesh.add_colored_rect(
                        egui::Rect::from_min_max(pos2(x0, rect.top()), pos2(x1, rect.bottom())),
                        Color32::from_rgb(r, g, b),
                    );
                }
                ui.painter().add(mesh);
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 0.0;
                    let max = heatmap.shown_max(style);
                    let q = heatmap.quantity();
                    let labels = [0.0f32, 0.5, 1.0]
                        .map(|t| q.format(style.value_at(t, max, heatmap.log_decades())));
                    ui.label(RichText::new(&labels[0]).small());
                    ui.add_space(ui.available_width().min(200.0) / 2.0 - 40.0);
                    ui.label(RichText::new(&labels[1]).small());
                    ui.add_space(40.0);
                    ui.label(RichText::new(&labels[2]).small());
                });
                if heatmap.quantity() == HeatQuantity::Probability && style.shown_mass < 1.0 {
                    let mass = f64::from(style.shown_mass);
                    ui.label(
                        RichText::new(format!(
                            "painted: the {} most likely ({} cells)",
                            crate::scores::percent(mass),
                            heatmap.credible_cells(mass)
                        ))
                        .small()
                        .weak(),
                    );
                }
            });
        });
}

/// Source credits, pinned to the map's bottom-right corner (walkers draws none itself).
pub fn attribution_ui(
    ctx: &egui::Context,
    map_rect: egui::Rect,
    basemap: &Attribution,
    online: Option<Attribution>,
) {
    egui::Area::new(egui::Id::unique("map_attribution"))
        .pivot(Align2::RIGHT_BOTTOM)
        .fixed_pos(map_rect.right_bottom() + vec2(-4.0, -4.0))
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style())
                .inner_margin(4.0)
                .show(ui, |ui| {
                    for a in online.iter().chain(std::iter::once(basemap)) {
                        ui.hyperlink_to(RichText::new(a.text).small(), a.url);
                    }
                });
        });
}

/// One row of a ranked list (top places, top cells): the whole row is the click target, with
/// hover and selected states, a bar scaled to the list's first entry, the value and the name.
/// `spoken` is the row as assistive technology (and the app's tests) read it.
pub fn ranked_row_ui(
    ui: &mut Ui,
    (name, spoken): (&str, &str),
    value_text: &str,
    share_of_top: f64,
    selected: bool,
) -> egui::Response {
    let height = ui.spacing().interact_size.y + 4.0;
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::click());
    let label = format!("{spoken}, {value_text}");
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &label));
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let background = if selected {
        Some(visuals.selection.bg_fill)
    } else if response.hovered() {
        Some(visuals.widgets.hovered.weak_bg_fill)
    } else {
        None
    };
    let painter = ui.painter();
    if let Some(fill) = background {
        painter.rect_filled(rect, 3.0, fill);
    }
    let bar_width = 72.0f32.min(rect.width() / 3.0);
    let bar = egui::Rect::from_min_size(
        rect.left_center() + vec2(4.0, -5.0),
        vec2(bar_width * share_of_top.clamp(0.0, 1.0) as f32, 10.0),
    );
    painter.rect_filled(bar, 2.0, visuals.selection.stroke.color.gamma_multiply(0.7));
    let text_color = if selected {
        visuals.selection.stroke.color
    } else {
        visuals.text_color()
    };
    let font = egui::TextStyle::Body.resolve(ui.style());
    let value_left = rect.left() + bar_width + 10.0;
    painter.text(
        pos2(value_left, rect.center().y),
        Align2::LEFT_CENTER,
        value_text,
        font.clone(),
        text_color,
    );
    let name_left = value_left + 64.0;
    let mut job = egui::text::LayoutJob::single_section(
        name.to_string(),
        egui::TextFormat::simple(font, text_color),
    );
    job.wrap =
        egui::text::TextWrapping::truncate_at_width((rect.right() - name_left - 4.0).max(8.0));
    let galley = ui.fonts_mut(|f| f.layout_job(job));
    painter.galley(
        pos2(name_left, rect.center().y - galley.size().y / 2.0),
        galley,
        text_color,
    );
    response
}
