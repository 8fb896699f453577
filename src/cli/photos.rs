//! What `predict` and `eval` share: finding photos, loading the model with a visible status,
//! and running photos through it while the next one is decoded on a second thread.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use image::RgbImage;

use super::CliError;
use super::progress::Progress;
use crate::model::ModelError;
use crate::model::config::ModelConfig;
use crate::photo::decode::decode_photo;
use crate::photo::exif::{PhotoFacts, read_facts};
use crate::photo::walk::{Seen, walk};
use crate::predict::{LoadStage, Prediction, Predictor};

/// The photos named by `paths`: files as given, folders searched recursively (sorted, photo
/// extensions only). A path that does not exist is an error before anything runs.
pub fn collect_photos(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut photos = Vec::new();
    let mut seen = Seen::default();
    for path in paths {
        if path.is_dir() {
            if seen.first_time(path) {
                walk(path, &mut seen, &mut photos).map_err(|(dir, e)| CliError::io(&dir)(e))?;
            }
        } else if path.exists() {
            photos.push(path.clone());
        } else {
            return Err(CliError::Io {
                path: path.clone(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    if photos.is_empty() {
        return Err(CliError::Usage(
            "no photos found (looked for .jpg, .jpeg, .png, .webp, .tif, .tiff, .heic, .heif)"
                .into(),
        ));
    }
    Ok(photos)
}

/// Loads the whole model as `config` says, showing progress on a terminal. A CPU fallback
/// notice is printed once the model is loaded (so that a failure stays one line).
pub fn load_predictor(config: &ModelConfig) -> Result<Predictor, CliError> {
    let mut bar = Progress::always();
    let (predictor, selected) = Predictor::load_config(config, |stage| match stage {
        LoadStage::Tower => bar.update(0, 3, "loading CLIP's image tower"),
        LoadStage::Heads => bar.update(1, 3, "loading GeoCLIP's heads"),
        LoadStage::EmbeddingGallery { done, total } => bar.update(
            done as u64,
            total as u64,
            "embedding the GPS gallery (first run only)",
        ),
        LoadStage::Ready => bar.clear(),
    })?;
    drop(bar);
    if let Some(notice) = &selected.fallback_notice {
        eprintln!("geolens: note: {notice}");
    }
    let model = predictor.describe();
    if !model.ends_with("CLIP ViT-L/14") {
        eprintln!("geolens: note: the model is {model}");
    }
    Ok(predictor)
}

/// One photo's result.
pub struct PhotoOutcome {
    pub path: PathBuf,
    pub facts: PhotoFacts,
    /// The prediction, or a one-line reason the photo could not be read.
    pub result: Result<Prediction, String>,
}

/// Runs every photo through the predictor in order, calling `each` with its index and outcome.
/// The next photos are decoded on a second thread while the model works; photos that decode
/// go through the tower [`Predictor::folder_batch`] at a time, and should a batch fail, each
/// of its photos again alone, so that an error names the photo it belongs to.
pub fn run_photos(
    predictor: &Predictor,
    photos: &[PathBuf],
    mut each: impl FnMut(usize, PhotoOutcome),
) {
    let batch = predictor.folder_batch().max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(2 * batch);
        scope.spawn(move || {
            for path in photos {
                let decoded = decode_photo(path).map_err(|e| e.to_string());
                let facts = if decoded.is_ok() {
                    read_facts(path)
                } else {
                    PhotoFacts::default()
                };
                if tx.send((path.clone(), facts, decoded)).is_err() {
                    return;
                }
            }
        });
        let mut index = 0;
        let mut received = rx.into_iter().peekable();
        while received.peek().is_some() {
            let group: Vec<_> = received.by_ref().take(batch).collect();
            for outcome in predict_group(predictor, group) {
                each(index, outcome);
                index += 1;
            }
        }
    });
}

/// Photos decoded (or not) by [`run_photos`]'s reader: path, facts, image or reason.
type Decoded = (PathBuf, PhotoFacts, Result<RgbImage, String>);

/// One pass of the tower over the photos of `group` that decoded; outcomes in `group`'s order.
fn predict_group(predictor: &Predictor, group: Vec<Decoded>) -> Vec<PhotoOutcome> {
    let images: Vec<&RgbImage> = group
        .iter()
        .filter_map(|(_, _, d)| d.as_ref().ok())
        .collect();
    let predictions: Vec<Result<Prediction, ModelError>> =
        match predictor.predict_photos_guarded(&images) {
            Ok(all) if all.len() == images.len() => all.into_iter().map(|(p, _)| Ok(p)).collect(),
            _ => images
                .iter()
                .map(|image| predictor.predict_photo_guarded(image).map(|(p, _)| p))
                .collect(),
        };
    let mut predictions = predictions.into_iter();
    group
        .into_iter()
        .map(|(path, facts, decoded)| {
            let result = match decoded {
                Ok(_) => match predictions.next() {
                    Some(Ok(prediction)) => Ok(prediction),
                    Some(Err(e)) => Err(format!("{}: {e}", path.display())),
                    None => Err(format!("{}: no prediction came back", path.display())),
                },
                Err(e) => Err(e),
            };
            PhotoOutcome {
                path,
                facts,
                result,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_loops_and_doubled_links_list_each_photo_once() {
        let dir = std::env::temp_dir().join(format!("geolens-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("trip")).expect("dir");
        std::fs::write(dir.join("trip/a.jpg"), b"x").expect("write");
        std::fs::write(dir.join("b.png"), b"x").expect("write");
        // Two loops back to the top, a second name for the folder and one for a photo.
        for (link, target) in [
            ("trip/up", ".."),
            ("loop", "."),
            ("again", "trip"),
            ("c.jpg", "b.png"),
        ] {
            std::os::unix::fs::symlink(target, dir.join(link)).expect("symlink");
        }
        let started = std::time::Instant::now();
        let photos = collect_photos(std::slice::from_ref(&dir)).expect("photos");
        assert!(started.elapsed().as_secs() < 5);
        let names: Vec<String> = photos
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["again/a.jpg", "b.png"], "{names:?}");

        // Folders nested past the system's path length: the first one out of reach is
        // listed (and fails by name when read), not skipped in silence.
        let deep = dir.join("deep");
        let mut at = deep.clone();
        let segment = "d".repeat(200);
        while at.as_os_str().len() < 4200 {
            at.push(&segment);
        }
        let made = std::process::Command::new("mkdir")
            .arg("-p")
            .arg(&at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if made {
            let photos = collect_photos(std::slice::from_ref(&deep)).expect("walks");
            assert_eq!(photos.len(), 1, "{photos:?}");
            assert!(photos[0].as_os_str().len() > 4096);
            let err = decode_photo(&photos[0])
                .expect_err("unreachable")
                .to_string();
            assert!(err.to_lowercase().contains("too long"), "{err}");
        }
        // rm copes with paths past the system's limit; remove_dir_all may not.
        let _ = std::process::Command::new("rm")
            .arg("-rf")
            .arg(&dir)
            .status();
    }
}
