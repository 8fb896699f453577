//! A one-line progress bar on stderr, drawn only when stderr is a terminal (pipes and logs get
//! no control characters).

use std::io::{IsTerminal, Write};

pub struct Progress {
    enabled: bool,
    drawn: bool,
}

impl Progress {
    /// A bar shown only for `total` above `min_total` items, and only on a terminal.
    pub fn new(total: usize, min_total: usize) -> Self {
        Self {
            enabled: total > min_total && std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// A bar that is always drawn on a terminal (downloads, model loading).
    pub fn always() -> Self {
        Self::new(1, 0)
    }

    pub fn update(&mut self, done: u64, total: u64, label: &str) {
        if !self.enabled {
            return;
        }
        let width = 30usize;
        let filled = if total == 0 {
            0
        } else {
            (done.min(total) as f64 / total as f64 * width as f64) as usize
        };
        let label: String = label.chars().take(40).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{total} {label}\x1b[K",
            "=".repeat(filled),
            " ".repeat(width - filled)
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Clears the bar so the next line starts clean.
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
            self.drawn = false;
        }
    }

    /// Prints a line above the bar.
    pub fn println(&mut self, line: &str) {
        self.clear();
        eprintln!("{line}");
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
