//! Keeping an answer: the user sets the photo's location (the best guess, a top place, or a
//! point clicked on the map) and writes it into an XMP sidecar beside the photo, never into
//! the photo itself.

use egui::{RichText, Ui};

use super::ExploreView;
use crate::app::shared::Shared;
use crate::export::{ExportFormat, ExportRow, write_export};
use crate::geo::latlon::LatLonDeg;
use crate::sidecar::{SidecarNaming, Written, write_position};

impl ExploreView {
    /// Sets the selected photo's location; `source` says where it came from.
    pub(in crate::app) fn set_location(
        &mut self,
        app: &mut Shared<'_>,
        at: LatLonDeg,
        source: String,
    ) {
        if let Some(photo) = app.photos.selected_mut() {
            photo.chosen = Some((at, source));
            self.sidecar_message = None;
        }
    }

    /// What the last sidecar write said (`Ok`: what was written; `Err`: why not).
    pub fn sidecar_message(&self) -> Option<&Result<String, String>> {
        self.sidecar_message.as_ref()
    }

    /// The "Location" section: what is set, the ways to set it, and the sidecar.
    pub(in crate::app) fn location_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let Some(photo) = app.photos.selected() else {
            return;
        };
        let chosen = photo.chosen.clone();
        let guess = photo.best_guess;
        let place = self
            .selected_place
            .filter(|(id, _)| *id == photo.id)
            .and_then(|(_, rank)| {
                app.photos
                    .selected_places(app.state.granularity)
                    .and_then(|p| p.get(rank).cloned())
            });
        let has_file = photo.path.is_some();
        ui.separator();
        ui.label(RichText::new("Location").strong());
        match &chosen {
            Some((at, source)) => ui.label(format!(
                "Set: {:.5}, {:.5} ({source})",
                at.lat_deg, at.lon_deg
            )),
            None => {
                ui.label(RichText::new("Not set: keep an answer with the buttons below.").weak())
            }
        };
        ui.horizontal_wrapped(|ui| {
            if let Some(g) = guess
                && ui.button("Use the best guess").clicked()
            {
                let at = LatLonDeg {
                    lat_deg: g.lat_deg,
                    lon_deg: g.lon_deg,
                };
                self.set_location(
                    app,
                    at,
                    format!("geolens best guess, p {:.4}", g.probability),
                );
            }
            if let Some(place) = &place
                && ui.button("Use the picked place").clicked()
            {
                self.set_location(
                    app,
                    place.center,
                    format!(
                        "geolens place {} ({})",
                        place.place_name,
                        crate::scores::percent(place.probability)
                    ),
                );
            }
            ui.toggle_value(&mut self.placing_location, "Pick on the map")
                .on_hover_text("Click the map to set the location; click again to move it");
        });
        if chosen.is_some() {
            self.sidecar_ui(app, ui, has_file);
        }
    }

    /// Writing the chosen location into the photo's XMP sidecar.
    fn sidecar_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui, has_file: bool) {
        if !has_file {
            ui.label(
                RichText::new("This photo has no file of its own (it was pasted): no sidecar.")
                    .small()
                    .weak(),
            );
            return;
        }
        ui.horizontal(|ui| {
            ui.label("Sidecar:");
            ui.radio_value(
                &mut app.state.sidecar_naming,
                SidecarNaming::ReplaceExtension,
                "IMG.xmp",
            )
            .on_hover_text("digiKam, Lightroom");
            ui.radio_value(
                &mut app.state.sidecar_naming,
                SidecarNaming::AppendExtension,
                "IMG.JPG.xmp",
            )
            .on_hover_text("darktable");
        });
        let refused = matches!(&self.sidecar_message, Some(Err(e)) if e.contains("--replace-gps"));
        let asked = matches!(&self.sidecar_message, Some(Err(e)) if e.contains(OWN_GPS));
        if ui.button("Write XMP sidecar").clicked() {
            match own_gps_conflict(app) {
                Some(question) => self.sidecar_message = Some(Err(question)),
                None => self.write_sidecar(app, false),
            }
        }
        match &self.sidecar_message {
            Some(Ok(m)) => {
                ui.label(RichText::new(m).small());
            }
            Some(Err(e)) => {
                // The CLI's advice reads differently in the app.
                let e = e.replace("(replace it with --replace-gps)", "(replace it below)");
                ui.colored_label(ui.visuals().warn_fg_color, e);
            }
            None => {}
        }
        if refused && ui.button("Replace its position").clicked() {
            self.write_sidecar(app, true);
        }
        if asked && ui.button("Write it anyway").clicked() {
            self.write_sidecar(app, false);
        }
    }

    /// The filmstrip's answers written out for other tools (the set location, else the camera's GPS, else the best
    /// guess), to a file the user names.
    pub(in crate::app) fn export_ui(&mut self, app: &mut Shared<'_>, ui: &mut Ui) {
        let answered = app
            .photos
            .entries()
            .iter()
            .filter(|e| e.chosen.is_some() || e.best_guess.is_some())
            .count();
        if answered == 0 {
            return;
        }
        egui::CollapsingHeader::new(format!("Export {answered} locations"))
            .id_salt("export")
            .show(ui, |ui| {
                let before = app.state.export_format;
                ui.horizontal(|ui| {
                    for format in ExportFormat::ALL {
                        ui.radio_value(&mut app.state.export_format, format, format.extension());
                    }
                });
                if before != app.state.export_format && !self.export_path.is_empty() {
                    self.export_path = std::path::Path::new(&self.export_path)
                        .with_extension(app.state.export_format.extension())
                        .display()
                        .to_string();
                }
                if self.export_path.is_empty() {
                    let folder = app
                        .photos
                        .entries()
                        .iter()
                        .find_map(|e| e.path.as_ref()?.parent().map(|p| p.to_path_buf()))
                        .unwrap_or_default();
                    self.export_path = folder
                        .join("geolens-export")
                        .with_extension(app.state.export_format.extension())
                        .display()
                        .to_string();
                }
                ui.text_edit_singleline(&mut self.export_path);
                if ui.button("Export").clicked() {
                    self.export_message = Some(self.export_filmstrip(app));
                }
                match &self.export_message {
                    Some(Ok(m)) => {
                        ui.label(RichText::new(m).small());
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None => {}
                }
            });
    }

    /// Writes the filmstrip's locations to the export path (never over an existing file).
    fn export_filmstrip(&self, app: &Shared<'_>) -> Result<String, String> {
        let rows: Vec<ExportRow> = app
            .photos
            .entries()
            .iter()
            .filter_map(|e| {
                let position = match (&e.chosen, e.best_guess) {
                    (Some((at, source)), _) => (*at, "set", source.clone()),
                    (None, _) if e.facts.gps.is_some() => (
                        e.facts.gps?,
                        "camera",
                        "the photo's own GPS (EXIF)".to_string(),
                    ),
                    (None, Some(g)) => (
                        LatLonDeg {
                            lat_deg: g.lat_deg,
                            lon_deg: g.lon_deg,
                        },
                        "predicted",
                        "geolens best guess".to_string(),
                    ),
                    (None, None) => return None,
                };
                let granularity = app.state.granularity;
                let top = e.places_at(granularity).and_then(<[_]>::first);
                let regions = e.regions_at(granularity).unwrap_or_default();
                Some(ExportRow::new(
                    (e.name.clone(), e.path.as_deref()),
                    position,
                    top,
                    regions,
                    e.localizability,
                ))
            })
            .collect();
        let path = std::path::PathBuf::from(self.export_path.trim());
        let format = app.state.export_format;
        crate::files::write_output(&path, false, |out| write_export(&rows, format, out))
            .map(|()| format!("Wrote {} locations to {}", rows.len(), path.display()))
            .map_err(|e| e.to_string())
    }

    fn write_sidecar(&mut self, app: &mut Shared<'_>, replace_gps: bool) {
        let naming = app.state.sidecar_naming;
        let Some(photo) = app.photos.selected() else {
            return;
        };
        let (Some(path), Some((at, source))) = (photo.path.clone(), photo.chosen.clone()) else {
            return;
        };
        let source = format!("{source}; geolens {}", env!("CARGO_PKG_VERSION"));
        self.sidecar_message = Some(
            match write_position(&path, naming, at, &source, replace_gps) {
                Ok(Written::Created(p)) => Ok(format!("Wrote {}", p.display())),
                Ok(Written::Updated(p)) => Ok(format!("Updated {}", p.display())),
                Err(e) => Err(e.to_string()),
            },
        );
    }
}

/// How the question about a photo's own GPS begins (and how the panel knows it asked).
const OWN_GPS: &str = "This photo has its own GPS position";

/// The question to ask before a sidecar contradicts the selected photo's own camera GPS, if
/// it would (a location more than 100 m from it).
fn own_gps_conflict(app: &Shared<'_>) -> Option<String> {
    let photo = app.photos.selected()?;
    let (gps, (at, _)) = (photo.facts.gps?, photo.chosen.as_ref()?);
    let km = crate::geo::distance::haversine_km(gps.lat_deg, gps.lon_deg, at.lat_deg, at.lon_deg);
    (km > 0.1).then(|| {
        format!(
            "{OWN_GPS} (EXIF), {} from this location: the sidecar would contradict it. \
             Write it anyway?",
            if km < 10.0 {
                format!("{km:.1} km")
            } else {
                format!("{km:.0} km")
            }
        )
    })
}
