//! The first run: what geolens does and what its one download is, over the map while no model
//! is installed, with one button and the download's progress (also offered in the photo panel).

use egui::{Context, RichText, Ui};

use super::GeolensApp;
use super::shared::Shared;
use super::state::Mode;
use crate::app::worker::{ModelState, Request};
use crate::model::fetch::{DEFAULT_BASE_URL, FetchOptions, FetchProgress};

/// The download, in words a user can weigh.
pub const DOWNLOAD_SUMMARY: &str = "CLIP ViT-L/14's image tower (OpenAI, MIT licence), about \
     1.2 GB from huggingface.co/openai/clip-vit-large-patch14, once. GeoCLIP's heads and its \
     100,000-position gallery come with geolens.";

impl GeolensApp {
    /// The first-run banner over the map: shown in the explorer while the model is missing
    /// (or its download is running) until the user puts it away.
    pub(super) fn first_run_ui(&mut self, ctx: &Context, map_rect: egui::Rect) {
        let missing = matches!(
            self.model.state,
            ModelState::Missing { .. } | ModelState::Failed(_)
        );
        if self.state.mode != Mode::Explore || !missing || self.first_run_dismissed {
            return;
        }
        egui::Area::new(egui::Id::unique("first_run"))
            .pivot(egui::Align2::CENTER_TOP)
            .fixed_pos(map_rect.center_top() + egui::vec2(0.0, 48.0))
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style())
                    .inner_margin(16.0)
                    .show(ui, |ui| {
                        ui.set_max_width(460.0);
                        ui.heading("Where was this photo taken?");
                        ui.label(
                            "geolens looks at a photo and maps where on Earth it was likely \
                             taken, with the most likely places. It runs on this computer: \
                             your photos never leave it.",
                        );
                        ui.add_space(6.0);
                        ui.label(RichText::new("One download first").strong());
                        ui.label(DOWNLOAD_SUMMARY);
                        ui.add_space(6.0);
                        self.split().1.fetch_ui(ui);
                        ui.add_space(6.0);
                        ui.horizontal(|ui| {
                            if ui.button("Not now").clicked() {
                                self.first_run_dismissed = true;
                            }
                            ui.label(
                                RichText::new(
                                    "The map, EXIF facts and the human-only game work without it.",
                                )
                                .small()
                                .weak(),
                            );
                        });
                    });
            });
    }
}

impl Shared<'_> {
    /// The download of CLIP's tower: its progress while it runs, else the button that starts it.
    pub(super) fn fetch_ui(&mut self, ui: &mut Ui) {
        if let Some(p) = self.model.fetch {
            fetch_progress_ui(ui, p);
            if ui.button("Pause (resumes next time)").clicked() {
                self.worker.cancel();
            }
            return;
        }
        if let Some(result) = &self.model.fetch_result {
            match result {
                Ok(m) => ui.label(m),
                Err(e) => ui.colored_label(ui.visuals().error_fg_color, e.to_string()),
            };
        }
        let out_dir = self
            .state
            .model_dir
            .clone()
            .or_else(crate::model::clip::weights::default_clip_dir);
        if let Some(out_dir) = out_dir
            && ui
                .button("Download CLIP ViT-L/14 (1.2 GB)")
                .on_hover_text(format!(
                    "From huggingface.co into {}. Resumes if interrupted.",
                    out_dir.display()
                ))
                .clicked()
        {
            self.model.fetch_result = None;
            self.model.fetch = Some(FetchProgress::ReadingHeader);
            self.worker
                .send(Request::Fetch(FetchOptions::new(DEFAULT_BASE_URL, out_dir)));
        }
    }
}

fn fetch_progress_ui(ui: &mut Ui, progress: FetchProgress) {
    match progress {
        FetchProgress::ReadingHeader => {
            ui.label("Connecting…");
        }
        FetchProgress::Downloading {
            done_bytes,
            total_bytes,
        } => {
            ui.add(
                egui::ProgressBar::new(done_bytes as f32 / total_bytes.max(1) as f32).text(
                    format!(
                        "{:.0} / {:.0} MB",
                        done_bytes as f64 / 1e6,
                        total_bytes as f64 / 1e6
                    ),
                ),
            );
        }
        FetchProgress::Verifying => {
            ui.label("Checking the download…");
        }
    }
}

impl GeolensApp {
    /// Says on the map itself that the sample layer is not a prediction.
    pub(super) fn sample_badge_ui(&self, ctx: &Context, map_rect: egui::Rect) {
        let sample = matches!(&self.heatmap, Some((super::HeatmapKey::PhotoDensity, _, _)));
        if !sample || !self.state.show_heatmap || self.state.mode != Mode::Explore {
            return;
        }
        egui::Area::new(egui::Id::unique("sample_badge"))
            .fixed_pos(map_rect.left_top() + egui::vec2(10.0, 10.0))
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(
                        RichText::new("Sample layer: where people take photos, not a prediction")
                            .small(),
                    );
                });
            });
    }
}
