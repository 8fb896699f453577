//! The app's panels and overlays. Every function here draws; none computes geometry.

use egui::{Align2, Color32, RichText, Sense, Ui, pos2, vec2};
use walkers::lat_lon;
use walkers::sources::Attribution;

use super::GeolensApp;
use crate::geo::geocells::Granularity;
use crate::map::colormap::ColorMap;
use crate::map::heatmap::{HeatScale, Heatmap, HeatmapStyle, HoveredCell};
use crate::map::online::OnlineLayer;

impl GeolensApp {
    pub(super) fn top_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.toggle_value(&mut self.state.side_panel_open, "Panel")
                .on_hover_text("Show or hide the side panel");
            ui.label(RichText::new("geolens").strong());
            ui.separator();
            ui.label("Cells:");
            egui::ComboBox::from_id_salt("granularity")
                .selected_text(self.state.granularity.label())
                .show_ui(ui, |ui| {
                    for g in Granularity::ALL {
                        ui.selectable_value(&mut self.state.granularity, g, g.label());
                    }
                });
            ui.checkbox(&mut self.state.show_heatmap, "Heatmap");
            ui.separator();
            egui::ComboBox::from_id_salt("online_layer")
                .selected_text(self.state.online_layer.label())
                .show_ui(ui, |ui| {
                    for layer in OnlineLayer::ALL {
                        ui.selectable_value(&mut self.state.online_layer, layer, layer.label());
                    }
                })
                .response
                .on_hover_text("Online layers download tiles (cached on disk). Off by default.");
        });
    }

    pub(super) fn side_panel_ui(&mut self, ui: &mut Ui) {
        ui.heading("Heatmap");
        ui.label(self.heatmap_description());
        if let Some(notice) = &self.notice {
            ui.colored_label(ui.visuals().warn_fg_color, notice);
        }
        ui.add_space(6.0);
        let style = &mut self.state.heatmap_style;
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
        ui.separator();
        self.top_cells_ui(ui);
    }

    fn top_cells_ui(&mut self, ui: &mut Ui) {
        ui.heading("Top cells");
        let Some((_, heatmap)) = &self.heatmap else {
            ui.label("No heatmap.");
            return;
        };
        let max = heatmap.max_value().max(f64::MIN_POSITIVE);
        let quantity = heatmap.quantity();
        let mut fly_to = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for cell in heatmap.top_cells(15) {
                let name = cell
                    .place_name
                    .clone()
                    .unwrap_or_else(|| cell.cell.to_token());
                let row = ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new((cell.value / max) as f32)
                            .desired_width(70.0)
                            .text(quantity.format(cell.value)),
                    );
                    ui.add(egui::Label::new(name).truncate().sense(Sense::click()))
                });
                if row.inner.on_hover_text("Click to fly there").clicked() {
                    fly_to = Some(cell.cell);
                }
            }
        });
        if let Some(cell) = fly_to {
            let centre = s2::latlng::LatLng::from(cell);
            self.state
                .map_memory
                .center_at(lat_lon(centre.lat.deg(), centre.lng.deg()));
            let _ = self
                .state
                .map_memory
                .set_zoom((cell.level() as f64 + 1.5).clamp(2.0, 16.0));
        }
    }
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
                    RichText::new(format!("{}, {scale} scale", heatmap.quantity().label())).small(),
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
                    let max = heatmap.max_value();
                    let q = heatmap.quantity();
                    let labels = [0.0f32, 0.5, 1.0]
                        .map(|t| q.format(style.value_at(t, max, heatmap.log_decades())));
                    ui.label(RichText::new(&labels[0]).small());
                    ui.add_space(ui.available_width().min(200.0) / 2.0 - 40.0);
                    ui.label(RichText::new(&labels[1]).small());
                    ui.add_space(40.0);
                    ui.label(RichText::new(&labels[2]).small());
                });
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
