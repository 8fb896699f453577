//! Measuring a two-tower scorer as Where-CNN does: on (ground photo, aerial tile) pairs
//! labelled same place or not, the average precision of ranking the pairs by distance, and
//! the distributions of the distances of positive and negative pairs.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use super::AerialError;
use super::towers::TwoTower;
use crate::photo::decode::decode_photo;

/// One labelled pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub ground: PathBuf,
    pub aerial: PathBuf,
    /// Same place (a positive pair).
    pub same: bool,
}

/// Reads `ground,aerial,same` (header required, columns by name, `same` as 1/0, true/false or
/// yes/no); relative paths are taken from `images`.
pub fn read_pairs(csv_path: &Path, images: &Path) -> Result<Vec<Pair>, AerialError> {
    let bad = |message: String| AerialError::Read {
        path: csv_path.to_owned(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(csv_path)
        .map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| bad(format!("no {name:?} column (need ground,aerial,same)")))
    };
    let (g, a, s) = (column("ground")?, column("aerial")?, column("same")?);
    let mut pairs = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(format!("line {line}: {e}")))?;
        let field = |k: usize| record.get(k).unwrap_or("");
        let same = match field(s).to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => return Err(bad(format!("line {line}: same={other:?} is not 1/0"))),
        };
        if field(g).is_empty() || field(a).is_empty() {
            return Err(bad(format!("line {line}: empty path")));
        }
        pairs.push(Pair {
            ground: images.join(field(g)),
            aerial: images.join(field(a)),
            same,
        });
    }
    if pairs.is_empty() {
        return Err(bad("no pairs".into()));
    }
    Ok(pairs)
}

/// Average precision of finding the positives when pairs are ranked by increasing distance;
/// `None` without positives. Pairs at equal distance count negatives first, so ties never
/// flatter the scorer.
pub fn average_precision(distances: &[f32], same: &[bool]) -> Option<f64> {
    let mut order: Vec<usize> = (0..distances.len().min(same.len())).collect();
    order.sort_by(|&a, &b| {
        distances[a]
            .total_cmp(&distances[b])
            .then(same[a].cmp(&same[b]))
    });
    let positives = order.iter().filter(|&&i| same[i]).count();
    if positives == 0 {
        return None;
    }
    let mut found = 0usize;
    let mut sum = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        if same[i] {
            found += 1;
            sum += found as f64 / (rank + 1) as f64;
        }
    }
    Some(sum / positives as f64)
}

/// Counts of positive and negative pair distances in equal bins over `[0, max]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    pub max_distance: f32,
    pub positives: Vec<usize>,
    pub negatives: Vec<usize>,
}

impl Histogram {
    /// Distances beyond `max_distance` go in the last bin.
    pub fn new(distances: &[f32], same: &[bool], bins: usize, max_distance: f32) -> Self {
        let bins = bins.max(1);
        let mut h = Self {
            max_distance,
            positives: vec![0; bins],
            negatives: vec![0; bins],
        };
        for (&d, &s) in distances.iter().zip(same) {
            let k = ((d.max(0.0) / max_distance) * bins as f32) as usize;
            let k = k.min(bins - 1);
            if s {
                h.positives[k] += 1;
            } else {
                h.negatives[k] += 1;
            }
        }
        h
    }

    pub fn bins(&self) -> usize {
        self.positives.len()
    }
}

/// The numbers of one evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PairReport {
    pub towers: String,
    pub positives: usize,
    pub negatives: usize,
    /// `None` when there is no positive pair.
    pub average_precision: Option<f64>,
    /// What random ranking scores: the share of positives.
    pub chance_precision: f64,
    pub positive_mean_distance: Option<f64>,
    pub negative_mean_distance: Option<f64>,
    pub histogram: Histogram,
    /// Each pair's distance, in the input's order (`None`: an image could not be read).
    pub distances: Vec<Option<f32>>,
    /// One line per image that could not be read.
    pub failed: Vec<String>,
}

fn mean(values: impl Iterator<Item = f32>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + f64::from(v), n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Embeds every image once (ground and aerial towers batched) and measures the pairs. Pairs
/// with an unreadable image are left out and listed in `failed`.
/// Images decoded at a time: only their embeddings are kept, so memory does not grow with
/// the number of pairs (100 photos of 12 MP once took 3.6 GB).
const DECODE_BATCH: usize = 16;

/// The embeddings of the distinct `paths` (in sorted order), decoded and embedded
/// [`DECODE_BATCH`] at a time; files that cannot be read are named in `failed`.
fn embed_files<'a>(
    towers: &dyn TwoTower,
    paths: impl Iterator<Item = &'a PathBuf>,
    ground: bool,
    failed: &mut Vec<String>,
) -> Result<HashMap<PathBuf, Vec<f32>>, AerialError> {
    let distinct: std::collections::BTreeSet<&PathBuf> = paths.collect();
    let mut embeddings = HashMap::new();
    let distinct: Vec<&PathBuf> = distinct.into_iter().collect();
    for batch in distinct.chunks(DECODE_BATCH) {
        let mut decoded = Vec::with_capacity(batch.len());
        for path in batch {
            match decode_photo(path) {
                Ok(image) => decoded.push(((*path).clone(), image)),
                Err(e) => failed.push(e.to_string()),
            }
        }
        let pixels: Vec<&RgbImage> = decoded.iter().map(|(_, image)| image).collect();
        let vectors = if ground {
            towers.embed_ground(&pixels)?
        } else {
            towers.embed_aerial(&pixels)?
        };
        embeddings.extend(decoded.into_iter().map(|(path, _)| path).zip(vectors));
    }
    Ok(embeddings)
}

pub fn evaluate(towers: &dyn TwoTower, pairs: &[Pair]) -> Result<PairReport, AerialError> {
    let mut failed = Vec::new();
    let ground = embed_files(towers, pairs.iter().map(|p| &p.ground), true, &mut failed)?;
    let aerial = embed_files(towers, pairs.iter().map(|p| &p.aerial), false, &mut failed)?;
    let distances: Vec<Option<f32>> = pairs
        .iter()
        .map(|p| match (ground.get(&p.ground), aerial.get(&p.aerial)) {
            (Some(g), Some(a)) => Some(towers.distance(g, a)),
            _ => None,
        })
        .collect();
    let (measured, labels): (Vec<f32>, Vec<bool>) = distances
        .iter()
        .zip(pairs)
        .filter_map(|(d, p)| d.map(|d| (d, p.same)))
        .unzip();
    let positives = labels.iter().filter(|s| **s).count();
    let negatives = labels.len() - positives;
    let pick = |want: bool| {
        measured
            .iter()
            .zip(&labels)
            .filter(move |(_, s)| **s == want)
            .map(|(d, _)| *d)
    };
    Ok(PairReport {
        towers: towers.describe(),
        positives,
        negatives,
        average_precision: average_precision(&measured, &labels),
        chance_precision: positives as f64 / labels.len().max(1) as f64,
        positive_mean_distance: mean(pick(true)),
        negative_mean_distance: mean(pick(false)),
        histogram: Histogram::new(&measured, &labels, 20, 2.0),
        distances,
        failed,
    })
}

impl fmt::Display for PairReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
        let num = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
        writeln!(f, "towers            {}", self.towers)?;
        writeln!(
            f,
            "pairs             {} positive, {} negative",
            self.positives, self.negatives
        )?;
        writeln!(
            f,
            "average precision {} (chance {})",
            pct(self.average_precision),
            pct(Some(self.chance_precision))
        )?;
        writeln!(
            f,
            "mean distance     positives {}, negatives {}",
            num(self.positive_mean_distance),
            num(self.negative_mean_distance)
        )?;
        writeln!(f, "distance     positives  negatives")?;
        let bins = self.histogram.bins();
        let width = self.histogram.max_distance / bins as f32;
        for k in 0..bins {
            let (p, n) = (self.histogram.positives[k], self.histogram.negatives[k]);
            if p + n > 0 {
                writeln!(
                    f,
                    "{:.2}-{:.2}  {p:>9}  {n:>9}",
                    k as f32 * width,
                    (k + 1) as f32 * width
                )?;
            }
        }
        if !self.failed.is_empty() {
            write!(f, "unreadable images {}", self.failed.len())?;
        }
        Ok(())
    }
}

/// The positive colour in plots (same place).
const POSITIVE: Rgb<u8> = Rgb([46, 160, 67]);
/// The negative colour (different places).
const NEGATIVE: Rgb<u8> = Rgb([214, 69, 65]);

/// Draws the two distributions (share of each class per bin) as a bar chart, 640x400.
pub fn histogram_image(h: &Histogram, title: &str) -> RgbImage {
    let (w, ht) = (640u32, 400u32);
    let mut img = RgbImage::from_pixel(w, ht, Rgb([255, 255, 255]));
    let (left, right, top, bottom) = (50u32, 620u32, 50u32, 350u32);
    let axis = Rgb([60, 60, 60]);
    fill(&mut img, left, top, 1, bottom - top + 1, axis);
    fill(&mut img, left, bottom, right - left, 1, axis);
    let total = |v: &[usize]| v.iter().sum::<usize>().max(1) as f32;
    let (tp, tn) = (total(&h.positives), total(&h.negatives));
    let shares: Vec<(f32, f32)> = (0..h.bins())
        .map(|k| (h.positives[k] as f32 / tp, h.negatives[k] as f32 / tn))
        .collect();
    let peak = shares
        .iter()
        .map(|(p, n)| p.max(*n))
        .fold(0.0, f32::max)
        .max(1e-6);
    let bin_w = (right - left) / h.bins() as u32;
    let bar_w = (bin_w / 2).saturating_sub(1).max(1);
    for (k, (p, n)) in shares.iter().enumerate() {
        let x0 = left + 1 + k as u32 * bin_w;
        for (i, (share, colour)) in [(p, POSITIVE), (n, NEGATIVE)].into_iter().enumerate() {
            let bar_h = ((share / peak) * (bottom - top) as f32).round() as u32;
            if bar_h > 0 {
                fill(
                    &mut img,
                    x0 + i as u32 * bar_w,
                    bottom - bar_h,
                    bar_w,
                    bar_h,
                    colour,
                );
            }
        }
    }
    // Ticks on the distance axis every 0.5.
    let ticks = (h.max_distance / 0.5).round() as u32;
    for t in 0..=ticks {
        let x = left + t * (right - left) / ticks.max(1);
        fill(&mut img, x, bottom, 1, 5, axis);
        text(
            &mut img,
            x.saturating_sub(6),
            bottom + 9,
            &format!("{:.1}", t as f32 * 0.5),
            axis,
        );
    }
    text(&mut img, 280, 380, "DISTANCE", axis);
    text(&mut img, left, 12, title, axis);
    fill(&mut img, 430, 30, 10, 10, POSITIVE);
    text(&mut img, 446, 30, "SAME", axis);
    fill(&mut img, 510, 30, 10, 10, NEGATIVE);
    text(&mut img, 526, 30, "DIFFERENT", axis);
    img
}

/// Writes [`histogram_image`] as PNG; refuses to replace an existing file unless `force`.
pub fn write_histogram_png(
    h: &Histogram,
    title: &str,
    path: &Path,
    force: bool,
) -> Result<(), AerialError> {
    let write_err = |message: String| AerialError::Read {
        path: path.to_owned(),
        message,
    };
    crate::files::check_report_output(path, force, &[], true)
        .map_err(|e| write_err(e.to_string()))?;
    let mut png = Vec::new();
    histogram_image(h, title)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| write_err(e.to_string()))?;
    crate::files::write_output(path, force, |w| w.write_all(&png))
        .map_err(|e| write_err(e.to_string()))
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, colour);
        }
    }
}

/// A 3x5 pixel font (rows top to bottom, 3 bits each), drawn at twice its size.
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '%' => [5, 1, 2, 4, 5],
        '=' => [0, 7, 0, 7, 0],
        '-' => [0, 0, 7, 0, 0],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        _ => [0; 5],
    }
}

fn text(img: &mut RgbImage, x: u32, y: u32, s: &str, colour: Rgb<u8>) {
    for (i, c) in s.chars().enumerate() {
        let gx = x + i as u32 * 8;
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3u32 {
                if bits & (4 >> col) != 0 {
                    fill(img, gx + col * 2, y + row as u32 * 2, 2, 2, colour);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Colour towers that record how many images each call held at once.
    struct CountingTowers(std::cell::RefCell<Vec<usize>>);

    impl TwoTower for CountingTowers {
        fn describe(&self) -> String {
            "counting".into()
        }
        fn embed_ground(&self, photos: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
            self.0.borrow_mut().push(photos.len());
            crate::aerial::towers::ColourTowers.embed_ground(photos)
        }
        fn embed_aerial(&self, tiles: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
            self.0.borrow_mut().push(tiles.len());
            crate::aerial::towers::ColourTowers.embed_aerial(tiles)
        }
    }

    #[test]
    fn pairs_are_decoded_a_batch_at_a_time_and_only_embeddings_kept() {
        let dir = std::env::temp_dir().join(format!("geolens-pairs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut pairs = Vec::new();
        for i in 0..40u8 {
            let ground = dir.join(format!("g{i}.png"));
            let aerial = dir.join(format!("a{i}.png"));
            RgbImage::from_pixel(8, 8, Rgb([i * 6, 100, 200 - i * 4]))
                .save(&ground)
                .expect("png");
            RgbImage::from_pixel(8, 8, Rgb([i * 6, 100, 200 - i * 4]))
                .save(&aerial)
                .expect("png");
            pairs.push(Pair {
                ground,
                aerial,
                same: true,
            });
        }
        pairs.push(Pair {
            ground: dir.join("missing.jpg"),
            aerial: dir.join("a0.png"),
            same: false,
        });
        let towers = CountingTowers(Default::default());
        let report = evaluate(&towers, &pairs).expect("evaluates");
        let calls = towers.0.borrow().clone();
        assert!(calls.iter().all(|&n| n <= DECODE_BATCH), "{calls:?}");
        assert_eq!(calls.iter().sum::<usize>(), 40 + 40);
        assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
        assert!(report.failed[0].contains("missing.jpg"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn average_precision_on_a_hand_made_ranking() {
        // Ranked: pos, neg, pos, neg -> (1/1 + 2/3) / 2.
        let ap = average_precision(&[0.4, 0.1, 0.3, 0.2], &[false, true, true, false]);
        assert!((ap.expect("positives") - 5.0 / 6.0).abs() < 1e-12);
        // Perfect and worst rankings.
        assert_eq!(average_precision(&[0.1, 0.9], &[true, false]), Some(1.0));
        assert_eq!(average_precision(&[0.9, 0.1], &[true, false]), Some(0.5));
        // A tie between a positive and a negative counts the negative first.
        assert_eq!(average_precision(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(average_precision(&[0.5], &[false]), None);
    }

    #[test]
    fn histograms_count_each_class_in_its_bin() {
        let h = Histogram::new(
            &[0.0, 0.1, 1.9, 2.5, 1.0],
            &[true, true, false, false, true],
            4,
            2.0,
        );
        assert_eq!(h.positives, [2, 0, 1, 0]);
        assert_eq!(h.negatives, [0, 0, 0, 2]);
        let img = histogram_image(&h, "AP 100%");
        assert_eq!(img.dimensions(), (640, 400));
        // Bars of both colours are drawn.
        assert!(img.pixels().any(|p| *p == POSITIVE));
        assert!(img.pixels().any(|p| *p == NEGATIVE));
    }

    #[test]
    fn pairs_are_read_by_column_name() {
        // Its own folder: the batch test beside it removes its own when done.
        let dir = std::env::temp_dir().join(format!("geolens-pairs-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let csv = dir.join("pairs.csv");
        std::fs::write(&csv, "same,aerial,ground\n1,a.png,g.jpg\nno,b.png,g.jpg\n").expect("w");
        let pairs = read_pairs(&csv, Path::new("/data")).expect("reads");
        assert_eq!(
            pairs,
            [
                Pair {
                    ground: "/data/g.jpg".into(),
                    aerial: "/data/a.png".into(),
                    same: true
                },
                Pair {
                    ground: "/data/g.jpg".into(),
                    aerial: "/data/b.png".into(),
                    same: false
                },
            ]
        );
        std::fs::write(&csv, "ground,aerial,same\ng.jpg,a.png,maybe\n").expect("w");
        let err = read_pairs(&csv, &dir).expect_err("bad label").to_string();
        assert!(err.contains("line 2") && err.contains("maybe"), "{err}");
        std::fs::write(&csv, "photo,tile\n").expect("w");
        assert!(
            read_pairs(&csv, &dir)
                .expect_err("columns")
                .to_string()
                .contains("ground")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
