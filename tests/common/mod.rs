//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The geolens binary cargo built for these tests.
pub fn geolens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_geolens"))
}

/// A fresh scratch directory under cargo's per-target test tmpdir (kept as a test artifact).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// An Xvfb server on a free display, stopped when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        let base = 200 + std::process::id() % 500;
        for n in base..base + 50 {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
            if socket.exists() || lock.exists() {
                continue;
            }
            let child = Command::new("Xvfb")
                .args([format!(":{n}").as_str(), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("Xvfb must be installed for the GUI tests (tools/test.sh installs it: apt-get install xvfb)");
            let started = Instant::now();
            while !socket.exists() && started.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(socket.exists(), "Xvfb :{n} did not come up");
            return Xvfb {
                child,
                display: format!(":{n}"),
            };
        }
        panic!("no free X display found");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
