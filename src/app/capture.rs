//! `--screenshot` and `--bench-frames`: what the app does for tools and benches rather than
//! for a person (grab the settled window as PNG + JSON; pan the map and time the frames).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use walkers::lat_lon;

use super::state::AppState;

pub(super) struct ScreenshotJob {
    path: PathBuf,
    replaces: bool,
    frames_before: u32,
    requested: bool,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    error: Arc<Mutex<Option<String>>>,
}

/// `--bench-frames`: moves the map every frame and times the frames.
pub(super) struct FrameBench {
    frames: usize,
    warmup: usize,
    /// Time spent in the app's own `ui` per frame (the rest is egui and the renderer).
    ui_ms: Vec<f64>,
    last: Option<Instant>,
    frame_ms: Vec<f64>,
}

impl FrameBench {
    /// Times `frames` frames (at least 2) after 5 start-up frames.
    pub(super) fn new(frames: usize) -> Self {
        Self {
            frames: frames.max(2),
            warmup: 5,
            ui_ms: Vec::new(),
            last: None,
            frame_ms: Vec::new(),
        }
    }

    /// Records the app's own part of the frame that began at `started`.
    pub(super) fn record_ui(&mut self, started: Instant) {
        self.ui_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }

    /// Advances the camera (a pan around the globe while zooming between 2 and 6) and records
    /// the time since the previous frame. Returns the report once all frames are done.
    pub(super) fn step(&mut self, memory: &mut walkers::MapMemory) -> Option<String> {
        let now = Instant::now();
        if let Some(last) = self.last {
            self.frame_ms.push((now - last).as_secs_f64() * 1e3);
        }
        self.last = Some(now);
        self.warmup = self.warmup.saturating_sub(1);
        if self.warmup > 0 {
            // Start-up frames (window, fonts, the heatmap's one-time tessellation) are not
            // what panning costs.
            self.frame_ms.clear();
            self.ui_ms.clear();
        }
        let i = self.frame_ms.len() as f64;
        let lon = -180.0 + (i * 2.5) % 360.0;
        let lat = 35.0 * (i / 40.0).sin();
        memory.center_at(lat_lon(lat, lon));
        let _ = memory.set_zoom(4.0 + 2.0 * (i / 25.0).sin());
        (self.frame_ms.len() >= self.frames).then(|| frame_report(&self.frame_ms, &self.ui_ms))
    }
}

/// Median, 95th percentile, worst and count over 50 ms of frame times, as table rows.
fn frame_report(frame_ms: &[f64], ui_ms: &[f64]) -> String {
    let quantile = |v: &[f64], q: f64| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let over = frame_ms.iter().filter(|&&t| t > 50.0).count();
    let median = quantile(frame_ms, 0.5);
    format!(
        "frames {}\nmedian_ms {:.2}\np95_ms {:.2}\nmax_ms {:.2}\nover_50ms {}\nfps_median {:.1}\nui_median_ms {:.2}",
        frame_ms.len(),
        median,
        quantile(frame_ms, 0.95),
        quantile(frame_ms, 1.0),
        over,
        1000.0 / median,
        quantile(ui_ms, 0.5)
    )
}

impl ScreenshotJob {
    pub(super) fn new(path: PathBuf, replaces: bool, error: Arc<Mutex<Option<String>>>) -> Self {
        Self {
            path,
            replaces,
            frames_before: 4,
            requested: false,
            image: Arc::default(),
            error,
        }
    }

    /// Drives `--screenshot`: wait a few frames, grab the window, write PNG + JSON, close.
    pub(super) fn step(&mut self, ctx: &egui::Context, map_rect: egui::Rect, state: &AppState) {
        let job = self;
        ctx.request_repaint();
        if job.frames_before > 0 {
            job.frames_before -= 1;
            return;
        }
        if !job.requested {
            job.requested = true;
            let slot = job.image.clone();
            let ctx2 = ctx.clone();
            ctx.request_screenshot(move |image| {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(image);
                }
                ctx2.request_repaint();
            });
            return;
        }
        let Some(image) = job.image.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        if let Err(e) = save_screenshot(job, &image, ctx.pixels_per_point(), map_rect, state)
            && let Ok(mut slot) = job.error.lock()
        {
            *slot = Some(e);
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

/// Writes the PNG and its `.json` through [`crate::files::write_output`]: never over an
/// existing file unless `--force`, never half-written.
fn save_screenshot(
    job: &ScreenshotJob,
    image: &egui::ColorImage,
    pixels_per_point: f32,
    map_rect: egui::Rect,
    state: &AppState,
) -> Result<(), String> {
    let path = &job.path;
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let rgba = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| "screenshot has the wrong number of pixels".to_string())?;
    let mut png = Vec::new();
    rgba.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    crate::files::write_output(path, job.replaces, |w| w.write_all(&png))
        .map_err(|e| e.to_string())?;
    let center = state.map_memory.detached().unwrap_or(lat_lon(25.0, 10.0));
    let r = map_rect;
    let meta = serde_json::json!({
        "image_size_px": [w, h],
        "pixels_per_point": pixels_per_point,
        "map_rect_px": [r.min.x * pixels_per_point, r.min.y * pixels_per_point,
                        r.max.x * pixels_per_point, r.max.y * pixels_per_point],
        "zoom": state.map_memory.zoom(),
        "center_lat_deg": center.y(),
        "center_lon_deg": center.x(),
    });
    crate::files::write_output(&path.with_extension("json"), job.replaces, |w| {
        w.write_all(meta.to_string().as_bytes())
    })
    .map_err(|e| e.to_string())
}
