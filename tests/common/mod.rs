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

/// The geolens binary for a window on `display`, with the private runtime folder Wayland and
/// Mesa want (see [`private_dir`]); any Wayland session of the caller is ignored.
pub fn geolens_on_display(display: &str, runtime_dir: &std::path::Path) -> Command {
    let mut cmd = geolens();
    cmd.env("DISPLAY", display)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .env_remove("WAYLAND_DISPLAY");
    cmd
}

/// Creates `dir` readable by its owner only (as `XDG_RUNTIME_DIR` must be).
pub fn private_dir(dir: PathBuf) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(&dir).expect("create dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod 700");
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

/// The stand-in CLIP tower (seeded noise, 768 features) the end-to-end tests geolocate with:
/// the real ViT-L/14 cannot be downloaded on CI. Written once per test process.
pub fn test_tower_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test_tower");
        geolens::testing::write_test_clip_tower(&dir, geolens::testing::TestTower::default(), 11)
            .expect("write test tower");
        dir
    })
    .clone()
}

/// The geolens binary with per-user folders pointed into the target directory: the gallery
/// embedding cache is shared by all test runs (computed once, ~30 s), the data folder is
/// empty (no fetched tower), and the model runs on the CPU.
pub fn geolens_isolated() -> Command {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut cmd = geolens();
    cmd.env("XDG_CACHE_HOME", tmp.join("xdg-cache"))
        .env("XDG_DATA_HOME", tmp.join("xdg-data-empty"))
        .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
        .arg("--backend")
        .arg("cpu");
    cmd
}

/// Runs one prediction so that the gallery embeddings are cached before tests that time out
/// or run in parallel need them. Once per test process.
pub fn warm_gallery_cache() {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    WARM.get_or_init(|| {
        let photo =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/coffee.png");
        let out = geolens_isolated()
            .arg("--model-dir")
            .arg(test_tower_dir())
            .arg("predict")
            .arg(photo)
            .output()
            .expect("run geolens");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// The wgpu backend, or `None` (with the reason printed) where this machine has no adapter.
/// Under `CI=true` a missing adapter fails the test instead: CI must run the GPU code path on
/// Mesa's lavapipe, which `tools/system-deps.sh` installs.
pub fn wgpu_or_skip(test: &str) -> Option<geolens::model::backend::SelectedBackend> {
    use geolens::model::backend::{BackendChoice, select_backend};
    match select_backend(BackendChoice::Gpu) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: CI=true and wgpu has no adapter ({e}); install mesa-vulkan-drivers \
             (tools/system-deps.sh test)"
        ),
        Err(e) => {
            eprintln!("skipped {test}: {e} (install mesa-vulkan-drivers for the software adapter)");
            None
        }
    }
}

/// The row of `file` in `geolens geotag --format json`'s answer.
pub fn geotag_photo<'a>(answer: &'a serde_json::Value, file: &str) -> &'a serde_json::Value {
    answer["photos"]
        .as_array()
        .expect("photos")
        .iter()
        .find(|p| p["path"].as_str().is_some_and(|path| path.ends_with(file)))
        .unwrap_or_else(|| panic!("{file} listed"))
}

/// The row of `camera` in `geolens geotag --format json`'s `cameras`.
pub fn geotag_camera<'a>(answer: &'a serde_json::Value, camera: &str) -> &'a serde_json::Value {
    answer["cameras"]
        .as_array()
        .expect("cameras")
        .iter()
        .find(|c| c["camera"] == camera)
        .unwrap_or_else(|| panic!("{camera} listed"))
}

/// The geotag tests' walk: due east from (48.85, 2.30) at 0.001° of longitude a minute (about
/// 73 m a minute), starting 2024-04-01 09:00:00 UTC.
pub fn walk_position(minute: f64) -> (f64, f64) {
    (48.85, 2.30 + 0.001 * minute)
}

/// The EXIF local reading (Paris time, UTC + 2 h) at `minute` of the walk, `ahead_s` seconds
/// fast.
pub fn walk_clock(minute: u32, ahead_s: u32) -> String {
    let s = 11 * 3600 + minute * 60 + ahead_s;
    format!(
        "2024:04:01 {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Great-circle distance in metres between two (lat, lon) in degrees, computed here
/// independently of geolens.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let d = (b.1 - a.1).to_radians();
    let c = (p1.sin() * p2.sin() + p1.cos() * p2.cos() * d.cos()).clamp(-1.0, 1.0);
    6_371_000.0 * c.acos()
}

/// exiftool's reading of a file as JSON (its own parser: an independent check; `-n`: numbers
/// as numbers), or `None` with the reason printed where exiftool is missing (CI installs it:
/// there it must exist).
pub fn exiftool(path: &std::path::Path) -> Option<serde_json::Value> {
    let out = match Command::new("exiftool")
        .args(["-j", "-n", "-G1"])
        .arg(path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "exiftool is installed by tools/system-deps.sh test: {e}"
            );
            println!("skipped the exiftool checks: exiftool not found ({e})");
            return None;
        }
    };
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool json");
    Some(doc[0].clone())
}
