//! CLIP's preprocessing, bit for bit as OpenAI's (and Hugging Face's PIL-backed
//! `CLIPImageProcessor`): resize so the shortest side is 224 with PIL's bicubic filter, centre
//! crop 224 x 224, scale to [0, 1], normalise by CLIP's mean and standard deviation, CHW.
//!
//! The resampler reproduces Pillow's `ImagingResample` for 8-bit images: separable passes
//! (horizontal, then vertical), the Keys cubic with a = -0.5 widened by the scale when
//! shrinking (antialiasing), 22-bit fixed-point weights, and rounding to 8 bits between the
//! passes. Parity with the reference is tested on real photos (`tests/fixtures/photos`).

use image::RgbImage;

/// CLIP's per-channel pixel mean and standard deviation (RGB, on [0, 1]).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel (a = -0.5), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Fixed-point weights of one output pixel: the first input index and one weight per input.
struct Taps {
    first: usize,
    weights: Vec<i64>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for resizing `in_size` -> `out_size`,
/// for the output pixels in `window` only.
fn taps(in_size: usize, out_size: usize, window: std::ops::Range<usize>) -> Vec<Taps> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    window
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) cast truncates toward zero, as `as` does.
            let first = ((center - support + 0.5) as i64).max(0) as usize;
            let end = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let raw: Vec<f64> = (first..end)
                .map(|x| bicubic((x as f64 - center + 0.5) / filter_scale))
                .collect();
            let total: f64 = raw.iter().sum();
            let one = f64::from(1u32 << PRECISION_BITS);
            let weights = raw
                .iter()
                .map(|w| {
                    let w = if total != 0.0 { w / total } else { *w };
                    if w < 0.0 {
                        (-0.5 + w * one) as i64
                    } else {
                        (0.5 + w * one) as i64
                    }
                })
                .collect();
            Taps { first, weights }
        })
        .collect()
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One separable pass along x (`horizontal`) or y, resizing that axis to `out_len` pixels but
/// computing only the output pixels in `window`: the work and memory are bounded by the
/// window, not by the full resized size (a 1 x 100,000 px image resized to a shortest side of
/// 224 would be 224 x 22,400,000 px).
fn resample_pass(
    src: &RgbImage,
    out_len: u32,
    window: std::ops::Range<u32>,
    horizontal: bool,
) -> RgbImage {
    let in_len = if horizontal {
        src.width()
    } else {
        src.height()
    };
    let range = window.start as usize..window.end as usize;
    let taps = taps(in_len as usize, out_len as usize, range);
    let (out_w, out_h) = if horizontal {
        (window.len() as u32, src.height())
    } else {
        (src.width(), window.len() as u32)
    };
    let mut out = RgbImage::new(out_w, out_h);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let t = &taps[if horizontal { x } else { y } as usize];
        let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
        for (k, w) in t.weights.iter().enumerate() {
            let i = (t.first + k) as u32;
            let p = if horizontal {
                src.get_pixel(i, y)
            } else {
                src.get_pixel(x, i)
            };
            for c in 0..3 {
                acc[c] += i64::from(p[c]) * w;
            }
        }
        *pixel = image::Rgb(acc.map(clip8));
    }
    out
}

/// Pillow's `Image.resize(size, Image.BICUBIC)` for an RGB image.
pub fn resize_bicubic(src: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    resize_bicubic_window(src, (out_w, out_h), 0..out_w, 0..out_h)
}

/// The part `xs` x `ys` of [`resize_bicubic`]'s output, computed without the rest: the same
/// pixels as resizing the whole image and cropping.
pub fn resize_bicubic_window(
    src: &RgbImage,
    (out_w, out_h): (u32, u32),
    xs: std::ops::Range<u32>,
    ys: std::ops::Range<u32>,
) -> RgbImage {
    let columns = if out_w != src.width() {
        resample_pass(src, out_w, xs, true)
    } else {
        image::imageops::crop_imm(src, xs.start, 0, xs.len() as u32, src.height()).to_image()
    };
    if out_h != src.height() {
        resample_pass(&columns, out_h, ys, false)
    } else {
        let w = columns.width();
        image::imageops::crop_imm(&columns, 0, ys.start, w, ys.len() as u32).to_image()
    }
}

/// Size after resizing the shortest side to `short_px`, the long side scaled and truncated as
/// Hugging Face's `get_resize_output_image_size` does.
pub fn shortest_side_size(width: u32, height: u32, short_px: u32) -> (u32, u32) {
    let (short, long) = (width.min(height).max(1), width.max(height));
    let long_px = ((u64::from(short_px) * u64::from(long)) as f64 / f64::from(short)) as u32;
    if width <= height {
        (short_px, long_px.max(short_px))
    } else {
        (long_px.max(short_px), short_px)
    }
}

/// The 8-bit `size` x `size` image CLIP sees: shortest side resized, centre cropped. Only the
/// cropped part is resampled, so any aspect ratio costs the same.
pub fn clip_crop(src: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = shortest_side_size(src.width(), src.height(), size);
    let (left, top) = ((w - size) / 2, (h - size) / 2);
    resize_bicubic_window(src, (w, h), left..left + size, top..top + size)
}

/// Normalised CHW floats of an already cropped image: `(v / 255 - mean) / std`.
pub fn normalize_chw(crop: &RgbImage) -> Vec<f32> {
    let (w, h) = crop.dimensions();
    let mut out = vec![0f32; 3 * (w * h) as usize];
    for (x, y, p) in crop.enumerate_pixels() {
        for c in 0..3 {
            let v = f32::from(p[c]) * (1.0 / 255.0);
            out[c * (w * h) as usize + (y * w + x) as usize] = (v - CLIP_MEAN[c]) / CLIP_STD[c];
        }
    }
    out
}

/// The full preprocessing: photo -> `[3, size, size]` normalised floats, row-major.
pub fn clip_pixels(src: &RgbImage, size: u32) -> Vec<f32> {
    normalize_chw(&clip_crop(src, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn sizes_follow_the_shortest_side() {
        assert_eq!(shortest_side_size(600, 400, 224), (336, 224));
        assert_eq!(shortest_side_size(451, 300, 224), (336, 224)); // 336.7 truncated
        assert_eq!(shortest_side_size(300, 451, 224), (224, 336));
        assert_eq!(shortest_side_size(224, 224, 224), (224, 224));
        assert_eq!(shortest_side_size(1, 5000, 224), (224, 1_120_000));
    }

    #[test]
    fn the_crop_is_resampled_alone_exactly_as_the_whole_image_then_cropped() {
        let noisy = |w, h| {
            RgbImage::from_fn(w, h, |x, y| {
                let v = (x * 7919 + y * 104_729 + x * y * 31) % 251;
                image::Rgb([v as u8, (v * 3 % 256) as u8, (255 - v) as u8])
            })
        };
        for (w, h) in [(50, 900), (900, 50), (224, 500), (300, 224), (17, 13)] {
            let src = noisy(w, h);
            let (rw, rh) = shortest_side_size(w, h, 224);
            let whole = resize_bicubic(&src, rw, rh);
            let (left, top) = ((rw - 224) / 2, (rh - 224) / 2);
            let cropped = image::imageops::crop_imm(&whole, left, top, 224, 224).to_image();
            assert_eq!(clip_crop(&src, 224), cropped, "{w}x{h}");
        }
    }

    #[test]
    fn extreme_aspect_ratios_cost_no_more_than_the_crop() {
        // Resized whole, 1 x 100,000 px would be 224 x 22.4 million px (15 GB).
        for src in [
            RgbImage::from_pixel(1, 100_000, image::Rgb([10, 200, 30])),
            RgbImage::from_pixel(100_000, 1, image::Rgb([10, 200, 30])),
        ] {
            let started = std::time::Instant::now();
            let crop = clip_crop(&src, 224);
            assert_eq!(crop.dimensions(), (224, 224));
            assert!(crop.pixels().all(|p| p.0 == [10, 200, 30]));
            assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        }
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (a, b) in [(600, 336), (400, 224), (100, 224), (7, 3)] {
            for t in taps(a, b, 0..b) {
                let sum: i64 = t.weights.iter().sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= t.weights.len() as i64);
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat_and_normalises_to_known_values() {
        let flat = RgbImage::from_pixel(300, 500, image::Rgb([200, 100, 0]));
        let crop = clip_crop(&flat, 224);
        assert_eq!(crop.dimensions(), (224, 224));
        assert!(crop.pixels().all(|p| p.0 == [200, 100, 0]));
        let px = normalize_chw(&crop);
        assert!((px[0] - (200.0 / 255.0 - CLIP_MEAN[0]) / CLIP_STD[0]).abs() < 1e-6);
        assert!((px[224 * 224] - (100.0 / 255.0 - CLIP_MEAN[1]) / CLIP_STD[1]).abs() < 1e-6);
        assert!((px[2 * 224 * 224] + CLIP_MEAN[2] / CLIP_STD[2]).abs() < 1e-6);
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        decoded_size: [u32; 2],
        samples: Vec<(usize, usize, usize, f32)>,
    }

    /// Against `tools/clip_reference.py` (transformers' PIL-backed CLIP processor): the PNGs
    /// decode identically everywhere, so their 224 x 224 crops must match exactly.
    #[test]
    fn real_photos_match_the_reference_processor() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos");
        let refs: std::collections::BTreeMap<String, Reference> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("preprocess.json")).expect("fixture"),
        )
        .expect("parses");
        assert_eq!(refs.len(), 3);
        for (name, reference) in &refs {
            let photo = image::open(dir.join(name)).expect("photo").to_rgb8();
            assert_eq!(photo.dimensions().0, reference.decoded_size[0]);
            let expected = image::open(dir.join(format!("{name}.clip224.png")))
                .expect("reference crop")
                .to_rgb8();
            let ours = clip_crop(&photo, 224);
            let max_diff = ours
                .as_raw()
                .iter()
                .zip(expected.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            let png = name.ends_with(".png");
            // JPEG decoders may differ by a level here and there (IDCT and chroma
            // upsampling are not bit-specified); PNG decoding is exact.
            assert!(
                max_diff <= if png { 0 } else { 1 },
                "{name}: 8-bit crops differ by up to {max_diff}"
            );
            let pixels = normalize_chw(&ours);
            for &(c, y, x, v) in &reference.samples {
                let got = pixels[c * 224 * 224 + y * 224 + x];
                assert!(
                    (got - v).abs() <= 1.0 / 255.0 / CLIP_STD[c] + 1e-5,
                    "{name} [{c},{y},{x}]: {got} vs {v}"
                );
                if png {
                    assert!((got - v).abs() < 1e-5, "{name} [{c},{y},{x}]: {got} vs {v}");
                }
            }
        }
    }
}
