//! The library screen: a folder read as a library in the background (cancellable; the window
//! never waits), the photos without a position listed with a thumbnail, time, camera and the
//! proposal, the proposals on the map as pins coloured by source beside the library's
//! geotagged photos, a filter by source and radius, and *Apply* (the selected proposals into
//! their sidecars) with *Undo* for the last apply. The clues themselves are the library
//! module's ([`crate::library`]); this view only shows and picks.

mod thumbs;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use egui::{Color32, RichText, Ui};
use serde::{Deserialize, Serialize};

use crate::app::worker::{Event, Request, Worker, WorkerError};
use crate::geo::latlon::LatLonDeg;
use crate::library::apply::{ApplyLog, ToApply, apply, undo};
use crate::library::propose::metres_text;
use crate::library::{LibraryAnswer, Proposal, ProposalSource};
use crate::map::library_layer::{LibraryPin, PinInput};
use crate::sidecar::SidecarNaming;

/// Which proposals the list and the map show (kept with the settings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LibraryFilter {
    pub track: bool,
    pub time: bool,
    pub lookalike: bool,
    pub model: bool,
    /// Proposals with a wider radius are hidden (km).
    pub max_radius_km: f64,
}

impl Default for LibraryFilter {
    fn default() -> Self {
        Self {
            track: true,
            time: true,
            lookalike: true,
            model: true,
            max_radius_km: 20_000.0,
        }
    }
}

impl LibraryFilter {
    pub fn shows(&self, p: &Proposal) -> bool {
        let source = match p.source {
            ProposalSource::Track => self.track,
            ProposalSource::Time => self.time,
            ProposalSource::Lookalike => self.lookalike,
            ProposalSource::Model => self.model,
        };
        source && p.radius_m <= self.max_radius_km * 1000.0
    }
}

/// The library's map layers: pins, the item behind each pin, dots, tracks.
pub type MapLayers = (
    Vec<LibraryPin>,
    Vec<usize>,
    Vec<LatLonDeg>,
    Vec<Vec<LatLonDeg>>,
);

/// A source's colour on the map and in the list.
pub fn source_color(source: ProposalSource) -> Color32 {
    match source {
        ProposalSource::Track => Color32::from_rgb(255, 140, 0),
        ProposalSource::Time => Color32::from_rgb(66, 133, 244),
        ProposalSource::Lookalike => Color32::from_rgb(52, 168, 83),
        ProposalSource::Model => Color32::from_rgb(171, 71, 188),
    }
}

/// A library being read.
struct Run {
    request: u64,
    folder: PathBuf,
    done: usize,
    total: usize,
    embedding: bool,
    cancel: Arc<AtomicBool>,
}

/// One photo without a position that has a proposal.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its index in the answer's photos.
    pub photo: usize,
    pub proposal: Proposal,
    pub selected: bool,
    /// Dragged on the map by hand.
    pub moved: bool,
    /// Kept in its sidecar by the last apply.
    pub applied: bool,
}

/// What a finished run found.
pub struct Found {
    /// The run's request number.
    pub run: u64,
    pub folder: PathBuf,
    pub answer: LibraryAnswer,
    pub items: Vec<Item>,
    /// Photos without a position that no clue covers.
    pub uncovered: usize,
}

#[derive(Default)]
pub struct LibraryView {
    run: Option<Run>,
    found: Option<Found>,
    last_apply: Option<ApplyLog>,
    message: Option<Result<String, String>>,
    next_request: u64,
    thumbs: thumbs::Thumbnails,
    /// Tracks read with the folder.
    tracks: Vec<PathBuf>,
    /// The folder dialog was asked for this frame (the app opens it).
    pub wants_folder_dialog: bool,
    /// The track dialog was asked for this frame.
    pub wants_track_dialog: bool,
}

impl LibraryView {
    /// Starts reading `folder` as a library (a run already going is stopped).
    pub fn open(&mut self, worker: &Worker, folder: PathBuf) {
        self.cancel();
        self.next_request += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        worker.send(Request::Library {
            request: self.next_request,
            folder: folder.clone(),
            tracks: self.tracks.clone(),
            cancel: cancel.clone(),
        });
        self.run = Some(Run {
            request: self.next_request,
            folder,
            done: 0,
            total: 0,
            embedding: false,
            cancel,
        });
        self.message = None;
    }

    /// Reads `track` with the library (again, if one is open).
    pub fn add_track(&mut self, worker: &Worker, track: PathBuf) {
        if !self.tracks.contains(&track) {
            self.tracks.push(track);
        }
        let folder = self
            .run
            .as_ref()
            .map(|r| r.folder.clone())
            .or_else(|| self.found.as_ref().map(|f| f.folder.clone()));
        if let Some(folder) = folder {
            self.open(worker, folder);
        }
    }

    /// Stops the run going, if any (what it found so far still comes back).
    pub fn cancel(&mut self) {
        if let Some(run) = &self.run {
            run.cancel.store(true, Ordering::SeqCst);
        }
    }

    pub fn busy(&self) -> bool {
        self.run.is_some()
    }

    pub fn found(&self) -> Option<&Found> {
        self.found.as_ref()
    }

    pub fn message(&self) -> Option<&Result<String, String>> {
        self.message.as_ref()
    }

    /// Whether `event` is this view's.
    pub fn handles(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::LibraryProgress { .. } | Event::LibraryDone { .. }
        )
    }

    pub fn apply_event(&mut self, event: &Event) {
        match event {
            Event::LibraryProgress {
                request,
                done,
                total,
                embedding,
            } => {
                if let Some(run) = self.run.as_mut().filter(|r| r.request == *request) {
                    (run.done, run.total, run.embedding) = (*done, *total, *embedding);
                }
            }
            Event::LibraryDone { request, answer } => {
                let Some(run) = self.run.take_if(|r| r.request == *request) else {
                    return;
                };
                match answer.as_ref() {
                    Ok(answer) => self.finished(run.request, run.folder, answer.clone()),
                    Err(e) => self.message = Some(Err(error_text(&run.folder, e))),
                }
            }
            _ => {}
        }
    }

    fn finished(&mut self, run: u64, folder: PathBuf, answer: LibraryAnswer) {
        let items: Vec<Item> = answer
            .proposals
            .iter()
            .enumerate()
            .filter_map(|(photo, p)| {
                Some(Item {
                    photo,
                    // Flagged proposals wait for a person's look before they are selected.
                    selected: p.as_ref()?.flags.is_empty(),
                    proposal: p.clone()?,
                    moved: false,
                    applied: false,
                })
            })
            .collect();
        let without = answer
            .photos
            .iter()
            .filter(|p| p.position.is_none())
            .count();
        let notes = answer.notes.join(" ");
        self.message = (!notes.is_empty()).then_some(Ok(notes));
        self.found = Some(Found {
            run,
            folder,
            uncovered: without - items.len(),
            answer,
            items,
        });
        self.last_apply = None;
    }

    /// Selects (or deselects) every proposal the filter shows.
    pub fn select_shown(&mut self, filter: &LibraryFilter, selected: bool) {
        if let Some(found) = &mut self.found {
            for item in found.items.iter_mut().filter(|i| filter.shows(&i.proposal)) {
                item.selected = selected;
            }
        }
    }

    pub fn set_selected(&mut self, item: usize, selected: bool) {
        if let Some(i) = self.found.as_mut().and_then(|f| f.items.get_mut(item)) {
            i.selected = selected;
        }
    }

    /// Moves a proposal by hand (a pin dragged on the map).
    pub fn move_proposal(&mut self, item: usize, at: LatLonDeg) {
        if let Some(i) = self.found.as_mut().and_then(|f| f.items.get_mut(item)) {
            i.proposal.lat_deg = at.lat_deg;
            i.proposal.lon_deg = at.lon_deg;
            i.moved = true;
            i.selected = true;
        }
    }

    /// Writes the selected proposals the filter shows into their photos' sidecars.
    pub fn apply_selected(&mut self, filter: &LibraryFilter, naming: SidecarNaming) {
        let Some(found) = &mut self.found else { return };
        let chosen: Vec<usize> = (0..found.items.len())
            .filter(|&i| {
                let item = &found.items[i];
                item.selected && !item.applied && filter.shows(&item.proposal)
            })
            .collect();
        let to_apply: Vec<ToApply> = chosen
            .iter()
            .map(|&i| {
                let item = &found.items[i];
                ToApply {
                    photo: found.answer.photos[item.photo].path.clone(),
                    at: item.proposal.at(),
                    source: source_note(item),
                }
            })
            .collect();
        let log = apply(&to_apply, naming, false);
        for &i in &chosen {
            let photo = &found.answer.photos[found.items[i].photo].path;
            found.items[i].applied = log.applied.iter().any(|a| &a.photo == photo);
        }
        self.message = Some(if log.errors.is_empty() {
            Ok(format!(
                "Kept {} position(s) in XMP sidecars; the photos are unchanged.",
                log.applied.len()
            ))
        } else {
            Err(format!(
                "Kept {}; not written: {}",
                log.applied.len(),
                log.errors.join("; ")
            ))
        });
        self.last_apply = Some(log);
    }

    /// Takes the last apply back.
    pub fn undo_apply(&mut self) {
        let Some(log) = self.last_apply.take() else {
            return;
        };
        let left = undo(&log);
        if let Some(found) = &mut self.found {
            for item in &mut found.items {
                let photo = &found.answer.photos[item.photo].path;
                if log.applied.iter().any(|a| &a.photo == photo) {
                    item.applied = false;
                }
            }
        }
        self.message = Some(if left.is_empty() {
            Ok(format!(
                "Undone: {} sidecar(s) as they were.",
                log.applied.len()
            ))
        } else {
            Err(format!("Undone, except: {}", left.join("; ")))
        });
    }

    /// What the map frames for the last run: the photos with a position and the proposals
    /// from the library's own clues (GeoCLIP's too when there are no others), and the run.
    pub fn fit_points(&self) -> Option<(u64, Vec<(f64, f64)>)> {
        let found = self.found.as_ref()?;
        let mut points: Vec<(f64, f64)> = found
            .answer
            .photos
            .iter()
            .filter_map(|p| p.position.map(|(at, _)| (at.lat_deg, at.lon_deg)))
            .collect();
        let near = |i: &&Item| i.proposal.source != ProposalSource::Model;
        points.extend(
            found
                .items
                .iter()
                .filter(near)
                .map(|i| (i.proposal.lat_deg, i.proposal.lon_deg)),
        );
        if points.is_empty() {
            points.extend(
                found
                    .items
                    .iter()
                    .map(|i| (i.proposal.lat_deg, i.proposal.lon_deg)),
            );
        }
        (!points.is_empty()).then_some((found.run, points))
    }

    pub fn can_undo(&self) -> bool {
        self.last_apply.is_some()
    }

    /// The map's layers: the proposals the filter shows (and the item behind each), the
    /// placed photos, the tracks.
    pub fn map_layers(&self, filter: &LibraryFilter) -> MapLayers {
        let Some(found) = &self.found else {
            return Default::default();
        };
        let shown: Vec<usize> = (0..found.items.len())
            .filter(|&i| filter.shows(&found.items[i].proposal))
            .collect();
        let pins = shown
            .iter()
            .map(|&i| {
                let item = &found.items[i];
                LibraryPin {
                    at: item.proposal.at(),
                    color: source_color(item.proposal.source),
                    selected: item.selected,
                }
            })
            .collect();
        let dots = found
            .answer
            .photos
            .iter()
            .filter_map(|p| p.position.map(|(at, _)| at))
            .collect();
        let tracks = found
            .answer
            .tracks
            .iter()
            .map(|t| t.points.iter().map(|p| p.at).collect())
            .collect();
        (pins, shown, dots, tracks)
    }

    /// What the pointer did to the pins (`shown`: the item behind each pin).
    pub fn pin_input(&mut self, input: PinInput, shown: &[usize]) {
        if let Some((pin, at)) = input.dragged
            && let Some(&item) = shown.get(pin)
        {
            self.move_proposal(item, at);
        }
        if let Some(pin) = input.clicked
            && let Some(&item) = shown.get(pin)
            && let Some(i) = self.found.as_mut().and_then(|f| f.items.get_mut(item))
        {
            i.selected = !i.selected;
        }
    }

    /// The left panel: open, progress, filter, the list, apply and undo.
    pub fn panel_ui(
        &mut self,
        ui: &mut Ui,
        worker: &Worker,
        filter: &mut LibraryFilter,
        naming: SidecarNaming,
    ) {
        ui.heading("Library");
        ui.label(
            "Where the photos without a position were taken, from the library's own clues \
             first (a track, the photos before and after, look-alikes), GeoCLIP last.",
        );
        ui.horizontal(|ui| {
            if ui.button("Open a folder as a library…").clicked() {
                self.wants_folder_dialog = true;
            }
            if ui
                .button("Add a track…")
                .on_hover_text("A track you recorded over the day: GPX, KML or GeoJSON")
                .clicked()
            {
                self.wants_track_dialog = true;
            }
            if let Some(found) = &self.found
                && self.run.is_none()
                && ui.button("Read again").clicked()
            {
                let folder = found.folder.clone();
                self.open(worker, folder);
            }
        });
        for track in &self.tracks {
            ui.label(RichText::new(format!("Track: {}", track.display())).small());
        }
        self.progress_ui(ui);
        if let Some(message) = &self.message {
            match message {
                Ok(text) => ui.label(text),
                Err(text) => ui.colored_label(ui.visuals().error_fg_color, text),
            };
        }
        if self.found.is_none() {
            return;
        }
        ui.separator();
        self.summary_ui(ui);
        filter_ui(ui, filter);
        self.actions_ui(ui, filter, naming);
        ui.separator();
        self.list_ui(ui, filter);
    }

    fn progress_ui(&mut self, ui: &mut Ui) {
        let Some(run) = &self.run else { return };
        let text = if run.embedding {
            format!(
                "Reading {}: the pictures, {} of {}",
                run.folder.display(),
                run.done,
                run.total
            )
        } else {
            format!("Reading {}: {} photos", run.folder.display(), run.total)
        };
        let fraction = if run.embedding && run.total > 0 {
            run.done as f32 / run.total as f32
        } else {
            0.0
        };
        ui.add(egui::ProgressBar::new(fraction).text(text).animate(true));
        if ui.button("Stop").clicked() {
            self.cancel();
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }

    fn summary_ui(&self, ui: &mut Ui) {
        let Some(found) = &self.found else { return };
        let photos = found.answer.photos.len();
        let placed = photos - found.items.len() - found.uncovered;
        ui.label(format!(
            "{}: {photos} photos, {placed} with a position, {} proposed, {} left without",
            found.folder.display(),
            found.items.len(),
            found.uncovered
        ));
        for c in &found.answer.clocks.cameras {
            let how = match c.found_by {
                crate::library::ClockFoundBy::Given => "given".to_string(),
                crate::library::ClockFoundBy::OffsetTag => "keeps local time".to_string(),
                crate::library::ClockFoundBy::Lookalikes => {
                    format!("from {} look-alike pairs", c.pairs)
                }
                crate::library::ClockFoundBy::None => "not known".to_string(),
            };
            ui.label(
                RichText::new(format!(
                    "{}: clock {:+} s ({how})",
                    c.camera, c.clock_offset_s
                ))
                .small(),
            );
        }
    }

    fn actions_ui(&mut self, ui: &mut Ui, filter: &LibraryFilter, naming: SidecarNaming) {
        ui.horizontal(|ui| {
            if ui.button("Select all").clicked() {
                self.select_shown(filter, true);
            }
            if ui.button("Select none").clicked() {
                self.select_shown(filter, false);
            }
            let selected = self.found.as_ref().map_or(0, |f| {
                f.items
                    .iter()
                    .filter(|i| i.selected && !i.applied && filter.shows(&i.proposal))
                    .count()
            });
            if ui
                .add_enabled(
                    selected > 0,
                    egui::Button::new(format!("Apply ({selected})")),
                )
                .on_hover_text(
                    "Write the selected positions into XMP sidecars beside the photos (the \
                     photos are never changed; a sidecar's own position is never replaced)",
                )
                .clicked()
            {
                self.apply_selected(filter, naming);
            }
            if ui
                .add_enabled(self.can_undo(), egui::Button::new("Undo apply"))
                .clicked()
            {
                self.undo_apply();
            }
        });
    }

    fn list_ui(&mut self, ui: &mut Ui, filter: &LibraryFilter) {
        let Some(found) = &self.found else { return };
        let shown: Vec<usize> = (0..found.items.len())
            .filter(|&i| filter.shows(&found.items[i].proposal))
            .collect();
        let mut toggled = None;
        self.thumbs.receive(ui.ctx());
        let row_height = thumbs::THUMB_PX as f32 + 8.0;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, row_height, shown.len(), |ui, rows| {
                for &i in &shown[rows] {
                    let item = &found.items[i];
                    let photo = &found.answer.photos[item.photo];
                    let thumb = self.thumbs.get(&photo.path);
                    if let Some(on) = item_ui(ui, item, photo, thumb) {
                        toggled = Some((i, on));
                    }
                }
            });
        if let Some((i, on)) = toggled {
            self.set_selected(i, on);
        }
    }
}

/// One row: checkbox, thumbnail, name, time, camera, proposal. Returns a new selection.
fn item_ui(
    ui: &mut Ui,
    item: &Item,
    photo: &crate::library::LibraryPhoto,
    thumb: Option<&egui::TextureHandle>,
) -> Option<bool> {
    let mut selected = item.selected;
    ui.horizontal(|ui| {
        ui.checkbox(&mut selected, "")
            .on_hover_text("Select for Apply");
        let size = egui::vec2(thumbs::THUMB_PX as f32, thumbs::THUMB_PX as f32);
        match thumb {
            Some(t) => {
                ui.add(egui::Image::new(t).fit_to_exact_size(size));
            }
            None => {
                ui.allocate_space(size);
            }
        }
        ui.vertical(|ui| {
            ui.label(RichText::new(photo.name()).strong());
            let when = photo
                .taken_local
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "no time".into());
            let camera = photo.camera.as_deref().unwrap_or("unknown camera");
            ui.label(RichText::new(format!("{when} · {camera}")).small());
            let p = &item.proposal;
            let state = if item.applied {
                " · kept in sidecar"
            } else if item.moved {
                " · moved by hand"
            } else {
                ""
            };
            ui.colored_label(
                source_color(p.source),
                format!("{} ±{}{state}", p.source.name(), metres_text(p.radius_m)),
            )
            .on_hover_text(&p.evidence);
            for flag in &p.flags {
                ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {flag}"));
            }
        });
    });
    (selected != item.selected).then_some(selected)
}

fn filter_ui(ui: &mut Ui, filter: &mut LibraryFilter) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Show:");
        for (on, source) in [
            (&mut filter.track, ProposalSource::Track),
            (&mut filter.time, ProposalSource::Time),
            (&mut filter.lookalike, ProposalSource::Lookalike),
            (&mut filter.model, ProposalSource::Model),
        ] {
            ui.checkbox(on, RichText::new(source.name()).color(source_color(source)));
        }
    });
    ui.add(
        egui::Slider::new(&mut filter.max_radius_km, 0.05..=20_000.0)
            .logarithmic(true)
            .text("km at most"),
    )
    .on_hover_text("Hide proposals less sure than this (their radius)");
}

/// The note a sidecar keeps of where its position came from.
fn source_note(item: &Item) -> String {
    let version = env!("CARGO_PKG_VERSION");
    if item.moved {
        format!(
            "geolens {version} library: set by hand on the map (was {}: {})",
            item.proposal.source.name(),
            item.proposal.evidence
        )
    } else {
        format!(
            "geolens {version} library: {}: {}",
            item.proposal.source.name(),
            item.proposal.evidence
        )
    }
}

fn error_text(folder: &std::path::Path, e: &WorkerError) -> String {
    format!("Could not read {} as a library: {e}", folder.display())
}
