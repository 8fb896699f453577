//! The system's file dialog (rfd), opened on a thread of its own, and what happens when no
//! dialog can be shown at all (no desktop portal, no zenity): the user is told, and offered the
//! other ways in (drop, paste, type a path).

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::{DialogPurpose, GeolensApp};
use crate::app::worker::PhotoSource;

/// A dialog that answers "nothing picked" sooner than this never reached the screen: no
/// person opens, reads and cancels a file dialog that fast.
const UNSEEN_DIALOG: Duration = Duration::from_millis(400);

/// Shown when no file dialog could be opened.
pub const DIALOG_UNAVAILABLE: &str = "No file dialog could be opened on this system (it needs \
     a desktop portal or zenity). Drop photos on the window, paste their paths (Ctrl+V), or \
     type a path in the photo panel.";

/// A dialog on screen, and the channel its answer comes back on.
pub(super) struct PendingDialog {
    purpose: DialogPurpose,
    answer: Receiver<(Vec<PathBuf>, Duration)>,
}

/// Whether a dialog that returned `picked` after `elapsed` failed to show rather than being
/// cancelled by the user.
pub fn dialog_never_shown(picked: &[PathBuf], elapsed: Duration) -> bool {
    picked.is_empty() && elapsed < UNSEEN_DIALOG
}

impl GeolensApp {
    /// Opens the system's file dialog on a thread of its own (it blocks until closed), so
    /// the window keeps drawing.
    pub(super) fn open_dialog(&mut self, purpose: DialogPurpose) {
        if self.open_dialog.is_some() {
            return;
        }
        if !dialog_possible() {
            self.dialog_unavailable = true;
            self.report(DIALOG_UNAVAILABLE.into());
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let start = match purpose {
            DialogPurpose::Photos => self.state.last_folder.clone(),
            DialogPurpose::ModelFolder => self.state.model_dir.clone(),
            DialogPurpose::AerialFolder => self.state.aerial_folder.clone(),
            DialogPurpose::DeckFolder
            | DialogPurpose::LibraryFolder
            | DialogPurpose::LibraryTrack => self.state.last_folder.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("geolens-dialog".into())
            .spawn(move || {
                let opened = Instant::now();
                let picked = pick(purpose, start);
                let _ = tx.send((picked, opened.elapsed()));
            });
        match spawned {
            Ok(_) => {
                self.open_dialog = Some(PendingDialog {
                    purpose,
                    answer: rx,
                })
            }
            Err(e) => self.report(format!("Could not open the file dialog: {e}")),
        }
    }

    /// The dialog's answer once it is closed: photos to open (the other purposes are applied
    /// here). A dialog that could not be shown is reported.
    pub(super) fn take_dialog_answer(&mut self) -> Vec<PhotoSource> {
        let Some(pending) = &self.open_dialog else {
            return Vec::new();
        };
        let Ok((paths, elapsed)) = pending.answer.try_recv() else {
            return Vec::new();
        };
        let purpose = pending.purpose;
        self.open_dialog = None;
        if dialog_never_shown(&paths, elapsed) {
            self.dialog_unavailable = true;
            self.report(DIALOG_UNAVAILABLE.into());
            return Vec::new();
        }
        match purpose {
            DialogPurpose::Photos => {
                if let Some(dir) = paths.first().and_then(|p| p.parent()) {
                    self.state.last_folder = Some(dir.to_owned());
                }
                return paths.into_iter().map(PhotoSource::File).collect();
            }
            DialogPurpose::ModelFolder => {
                if let Some(dir) = paths.into_iter().next() {
                    self.set_model_settings(Some(dir), self.model_config.backend);
                }
            }
            DialogPurpose::AerialFolder => {
                if let Some(dir) = paths.into_iter().next() {
                    self.state.aerial_folder = Some(dir);
                }
            }
            DialogPurpose::DeckFolder => {
                if let Some(dir) = paths.into_iter().next() {
                    self.game.scan_folder(dir);
                }
            }
            DialogPurpose::LibraryFolder => {
                if let Some(dir) = paths.into_iter().next() {
                    self.open_library(dir);
                }
            }
            DialogPurpose::LibraryTrack => {
                for track in paths {
                    self.library.add_track(&self.worker, track);
                }
            }
        }
        Vec::new()
    }
}

/// Whether this system can show a file dialog at all. On Linux rfd asks the desktop portal
/// over the session bus, else runs zenity; with neither it fails, or waits on a bus that is
/// not there, and the user would see nothing.
fn dialog_possible() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let session_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| std::path::Path::new(&dir).join("bus").exists());
    let zenity = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()));
    session_bus || zenity
}

/// Runs the dialog (blocking) and returns what was picked; nothing when it was cancelled or
/// could not be shown.
fn pick(purpose: DialogPurpose, start: Option<PathBuf>) -> Vec<PathBuf> {
    let mut dialog = rfd::FileDialog::new();
    if let Some(dir) = start {
        dialog = dialog.set_directory(dir);
    }
    match purpose {
        DialogPurpose::Photos => dialog
            .add_filter("Photos", &crate::photo::PHOTO_EXTENSIONS)
            .pick_files()
            .unwrap_or_default(),
        DialogPurpose::LibraryTrack => dialog
            .add_filter("Tracks", &["gpx", "kml", "geojson", "json"])
            .pick_files()
            .unwrap_or_default(),
        DialogPurpose::ModelFolder
        | DialogPurpose::AerialFolder
        | DialogPurpose::DeckFolder
        | DialogPurpose::LibraryFolder => dialog.pick_folder().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_empty_answer_is_a_dialog_that_never_showed() {
        let none: Vec<PathBuf> = Vec::new();
        assert!(dialog_never_shown(&none, Duration::from_millis(20)));
        assert!(
            !dialog_never_shown(&none, Duration::from_secs(3)),
            "cancelled"
        );
        let picked = vec![PathBuf::from("/photos/a.jpg")];
        assert!(!dialog_never_shown(&picked, Duration::from_millis(20)));
    }
}
