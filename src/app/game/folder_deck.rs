//! A deck from a folder of the player's own photos (their Pictures folder): the photos with
//! EXIF GPS, found in the background so the window keeps drawing, played far apart; the
//! photos are only read.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use egui::Ui;

use super::{DeckChoice, GameView};
use crate::game::deck::Deck;

/// A folder being scanned, and the channel its deck comes back on.
pub struct LibraryScan {
    dir: PathBuf,
    answer: Receiver<Result<(Deck, usize), String>>,
}

impl GameView {
    /// Starts looking for photos with EXIF GPS under `dir`, on a thread of its own.
    pub fn scan_folder(&mut self, dir: PathBuf) {
        let (tx, rx) = channel();
        let folder = dir.clone();
        let spawned = std::thread::Builder::new()
            .name("geolens-library".into())
            .spawn(move || {
                let found = crate::photo::walk::photos_in(&folder)
                    .map_err(|(d, e)| format!("{}: {e}", d.display()))
                    .and_then(|photos| {
                        let name = folder
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "your photos".into());
                        Deck::from_photos(&name, &photos).map_err(|e| e.to_string())
                    });
                let _ = tx.send(found);
            });
        match spawned {
            Ok(_) => self.scanning = Some(LibraryScan { dir, answer: rx }),
            Err(e) => self.message = Some(format!("could not scan {}: {e}", dir.display())),
        }
    }

    /// Takes the scan's answer once it is there.
    pub(super) fn poll_library(&mut self) {
        let Some(scan) = &self.scanning else {
            return;
        };
        let Ok(found) = scan.answer.try_recv() else {
            return;
        };
        let dir = scan.dir.clone();
        self.scanning = None;
        match found {
            Ok((deck, skipped)) => {
                self.message =
                    (skipped > 0).then(|| format!("{skipped} photo(s) without EXIF GPS left out"));
                self.deck = DeckChoice::Library(dir.clone());
                self.library = Some((dir, deck));
            }
            Err(e) => self.message = Some(e),
        }
    }

    /// Whether a folder is being scanned.
    pub fn scanning_library(&self) -> bool {
        self.scanning.is_some()
    }

    /// The folder option of the deck menu: choose, scanning, or the scanned deck.
    pub(super) fn library_ui(&mut self, ui: &mut Ui) {
        if let Some(scan) = &self.scanning {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Looking for photos with GPS in {}…",
                    scan.dir.display()
                ));
            });
            ui.ctx().request_repaint();
            return;
        }
        if let Some((dir, deck)) = &self.library {
            let label = format!(
                "Your folder {}: {} photos with GPS",
                deck.name,
                deck.cards.len()
            );
            ui.radio_value(&mut self.deck, DeckChoice::Library(dir.clone()), label);
        }
        if ui
            .button("Your photo folder…")
            .on_hover_text(
                "A folder of your photos (say, Pictures): those with EXIF GPS become the deck, \
                 played far apart. Your photos are only read.",
            )
            .clicked()
        {
            self.wants_folder_dialog = true;
        }
    }
}
