//! How far apart a tower puts copies of a photo and different photos: the numbers behind
//! `geotag`'s look-alike threshold (`--lookalike-min`).
//!
//! For each photo, four copies a library holds (re-encoded as JPEG at quality 70, shrunk to
//! half, cropped to the middle 90 %, brightened by a tenth) against the photo itself, and every
//! pair of different photos. Prints the cosine similarities' spread for both, and whether a
//! threshold separates them.
//!
//! ```text
//! cargo run --release --example lookalike_calibration -- TOWER_DIR PHOTO... [--threads N]
//! ```

use std::path::{Path, PathBuf};

use geolens::library::embeddings::{similarity, unit};
use image::RgbImage;

fn copies(photo: &RgbImage) -> anyhow::Result<Vec<(&'static str, RgbImage)>> {
    let (w, h) = photo.dimensions();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(photo)?;
    let reencoded = image::load_from_memory(&jpeg)?.into_rgb8();
    let half = image::imageops::resize(photo, w / 2, h / 2, image::imageops::Triangle);
    let crop = image::imageops::crop_imm(photo, w / 20, h / 20, w * 9 / 10, h * 9 / 10).to_image();
    let mut bright = photo.clone();
    for p in bright.pixels_mut() {
        for c in &mut p.0 {
            *c = (f32::from(*c) * 1.1).min(255.0) as u8;
        }
    }
    Ok(vec![
        ("JPEG q70", reencoded),
        ("half size", half),
        ("crop 90 %", crop),
        ("brighter", bright),
    ])
}

fn spread(name: &str, mut values: Vec<f32>) {
    if values.is_empty() {
        return;
    }
    values.sort_by(f32::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        values.len(),
        at(0.0),
        at(0.05),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = args.iter().position(|a| a == "--threads").and_then(|i| {
        let n = args.get(i + 1).and_then(|n| n.parse().ok());
        args.drain(i..(i + 2).min(args.len()));
        n
    });
    geolens::model::backend::set_cpu_threads(threads);
    let Some((tower, photos)) = args.split_first() else {
        anyhow::bail!("usage: lookalike_calibration TOWER_DIR PHOTO... [--threads N]");
    };
    let dirs = geolens::model::dirs::ModelDirs::new(Some(&PathBuf::from(tower)))?;
    let device = geolens::model::backend::cpu_device();
    let predictor = geolens::predict::Predictor::load(&dirs, &device, |_| {})?;
    println!("tower: {}", predictor.tower_description());
    let mut originals = Vec::new();
    let mut copy_sims = Vec::new();
    let mut by_kind: Vec<(&str, Vec<f32>)> = Vec::new();
    for path in photos {
        let photo = geolens::photo::decode::decode_photo(Path::new(path))?;
        let variants = copies(&photo)?;
        let mut images: Vec<&RgbImage> = vec![&photo];
        images.extend(variants.iter().map(|(_, im)| im));
        let embeddings: Vec<Vec<f32>> = predictor
            .clip_embeddings(&images, 5)?
            .into_iter()
            .map(unit)
            .collect();
        for ((kind, _), e) in variants.iter().zip(&embeddings[1..]) {
            let s = similarity(&embeddings[0], e);
            copy_sims.push(s);
            match by_kind.iter_mut().find(|(k, _)| k == kind) {
                Some((_, v)) => v.push(s),
                None => by_kind.push((kind, vec![s])),
            }
        }
        originals.push(embeddings[0].clone());
    }
    let mut different = Vec::new();
    for i in 0..originals.len() {
        for j in i + 1..originals.len() {
            different.push(similarity(&originals[i], &originals[j]));
        }
    }
    println!("| pairs | n | min | 5 % | median | 95 % | max |\n|---|---|---|---|---|---|---|");
    for (kind, sims) in by_kind {
        spread(&format!("copy: {kind}"), sims);
    }
    let lowest_copy = copy_sims.iter().copied().fold(f32::INFINITY, f32::min);
    let highest_different = different.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    spread("copies, all", copy_sims);
    spread("different photos", different);
    if highest_different < lowest_copy {
        println!(
            "a threshold in ({highest_different:.4}, {lowest_copy:.4}] separates every copy \
             from every different photo"
        );
    } else {
        println!(
            "no threshold separates them: the most similar different photos ({highest_different:.4}) \
             are above the least similar copy ({lowest_copy:.4})"
        );
    }
    Ok(())
}
