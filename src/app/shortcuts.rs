//! Keys and what the user is told: the filmstrip's arrows and Delete, Escape, the shortcut help
//! (F1 or ?), and the list of recent errors kept beside the latest one.

use egui::{Context, Key, RichText};

use super::GeolensApp;
use super::state::Mode;
use crate::app::worker::Request;

/// Every shortcut the app has, as the help window lists them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Ctrl+O", "open photos"),
    ("Ctrl+V", "open the photo whose path is on the clipboard"),
    ("Left / Right", "previous / next photo"),
    (
        "Delete",
        "remove the selected photo from the list (never from disk)",
    ),
    (
        "+ / −, wheel",
        "zoom the map (the wheel zooms around the pointer)",
    ),
    ("double-click", "zoom in there (right double-click: out)"),
    ("Enter", "start a game"),
    ("Space", "confirm your guess"),
    ("N", "next round"),
    ("Escape", "close menus, this help and the first-run banner"),
    ("F1 or ?", "show or hide this help"),
];

impl GeolensApp {
    /// Shows `message` as the latest error and keeps it in the recent list.
    pub(super) fn report(&mut self, message: String) {
        self.explore.report(message);
    }

    /// Errors so far, newest first.
    pub fn recent_errors(&self) -> &[String] {
        &self.explore.recent_errors
    }

    /// Whether the shortcut help is showing.
    pub fn help_open(&self) -> bool {
        self.show_help
    }

    /// The keys that act on the whole window; none while a text field has the keyboard.
    pub(super) fn shortcut_keys_ui(&mut self, ctx: &Context) {
        if ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        let (previous, next, delete, escape, help) = ctx.input(|i| {
            (
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Delete),
                i.key_pressed(Key::Escape),
                i.key_pressed(Key::F1) || i.key_pressed(Key::Questionmark),
            )
        });
        if escape {
            egui::Popup::close_all(ctx);
            self.show_help = false;
            self.first_run_dismissed = true;
            self.explore.placing_location = false;
        }
        if help {
            self.show_help = !self.show_help;
        }
        if self.state.mode != Mode::Explore {
            return;
        }
        if previous || next {
            self.step_selection(next);
        }
        if delete && let Some(id) = self.photos.selected_id() {
            self.photos.remove(id);
            self.worker.send(Request::Forget { id });
        }
    }

    /// Selects the next (`forward`) or previous photo in the filmstrip that can be shown
    /// (failed photos have nothing to show and are stepped over).
    fn step_selection(&mut self, forward: bool) {
        let entries = self.photos.entries();
        let at = self
            .photos
            .selected_id()
            .and_then(|id| entries.iter().position(|e| e.id == id));
        let shown = |e: &&super::photos::PhotoEntry| e.preview.is_some();
        let target = match (at, forward) {
            (Some(at), true) => entries[at + 1..].iter().find(shown),
            (Some(at), false) => entries[..at].iter().rev().find(shown),
            (None, _) => entries.iter().find(shown),
        };
        if let Some(id) = target.map(|e| e.id) {
            self.photos.select(id);
        }
    }

    /// The shortcut help window.
    pub(super) fn help_ui(&mut self, ctx: &Context) {
        let mut open = self.show_help;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").num_columns(2).show(ui, |ui| {
                    for (keys, what) in SHORTCUTS {
                        ui.label(RichText::new(*keys).strong());
                        ui.label(*what);
                        ui.end_row();
                    }
                });
            });
        self.show_help &= open;
    }
}
