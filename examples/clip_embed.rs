//! geolens's CLIP image embeddings for photos, one JSON line each, with the tower's time, the
//! whole photo's time and the five most likely gallery points: the geolens side of the
//! reference comparisons in `tools/reference/` (cosine against PyTorch's embeddings of the
//! same tower, GeoCLIP's own top points, speed at the same thread count). On stderr: peak
//! resident memory while loading (tensors are read from the file one at a time: the model plus
//! the tensor being converted) and, measured apart from it, while the photos run.
//!
//! ```text
//! cargo run --release --example clip_embed -- TOWER_DIR PHOTO... [--threads N] [--batch N]
//! ```

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = args.iter().position(|a| a == "--threads").and_then(|i| {
        let n = args.get(i + 1).and_then(|n| n.parse().ok());
        args.drain(i..(i + 2).min(args.len()));
        n
    });
    let threads = geolens::model::backend::set_cpu_threads(threads);
    // `--batch N`: the photos go through the tower N at a time (throughput only).
    let batch: Option<usize> = args.iter().position(|a| a == "--batch").and_then(|i| {
        let n = args.get(i + 1).and_then(|n| n.parse().ok());
        args.drain(i..(i + 2).min(args.len()));
        n
    });
    let Some((tower, photos)) = args.split_first() else {
        anyhow::bail!("usage: clip_embed TOWER_DIR PHOTO... [--threads N]");
    };
    let dirs = geolens::model::dirs::ModelDirs::new(Some(&PathBuf::from(tower)))?;
    let device = geolens::model::backend::cpu_device();
    let started = Instant::now();
    let predictor = geolens::predict::Predictor::load(&dirs, &device, |_| {})?;
    eprintln!(
        "loaded in {:.1} s, {threads} threads; peak resident memory while loading {:.0} MB, \
         resident after it {:.0} MB",
        started.elapsed().as_secs_f64(),
        status_mb("VmHWM:"),
        status_mb("VmRSS:"),
    );
    // Linux: "5" resets the peak (VmHWM) to the present size.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    if let Some(batch) = batch {
        let images = photos
            .iter()
            .map(|p| geolens::photo::decode::decode_photo(std::path::Path::new(p)))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&image::RgbImage> = images.iter().collect();
        let start = Instant::now();
        predictor.clip_embeddings(&refs, batch)?;
        let ms = start.elapsed().as_secs_f64() * 1e3 / images.len() as f64;
        println!(
            "{}",
            serde_json::json!({ "batch": batch, "ms_per_photo": ms })
        );
        eprintln!(
            "peak resident memory at batch {batch}: {:.0} MB",
            status_mb("VmHWM:")
        );
        return Ok(());
    }
    for photo in photos {
        let image = geolens::photo::decode::decode_photo(std::path::Path::new(photo))?;
        let start = Instant::now();
        let embedding = predictor.clip_embeddings(&[&image], 1)?.remove(0);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        // The whole photo as `geolens predict` runs it: decode, preprocess, tower, heads,
        // scoring against the 100k gallery.
        let start = Instant::now();
        let image = geolens::photo::decode::decode_photo(std::path::Path::new(photo))?;
        let (prediction, _) = predictor.predict_photo(&image)?;
        let whole_ms = start.elapsed().as_secs_f64() * 1e3;
        let top_points: Vec<[f64; 3]> = prediction
            .top_points(5)
            .iter()
            .map(|p| [p.lat_deg, p.lon_deg, p.probability])
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "photo": photo, "ms": ms, "whole_ms": whole_ms,
                "embedding": embedding, "top_points": top_points,
            })
        );
    }
    eprintln!(
        "peak resident memory while predicting one photo at a time: {:.0} MB",
        status_mb("VmHWM:")
    );
    Ok(())
}

/// A memory figure of this process from /proc/self/status in MB (0 where there is none).
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1e3
}
