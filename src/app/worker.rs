//! Geolocation in the background, for the GUI and the game: photos are decoded on short-lived
//! threads (so a photo and its EXIF show at once), and one model thread loads the model and
//! works through predictions and occlusion maps in order. Requests go in through
//! [`Worker::send`]; results come back as [`Event`]s, and `wake` is called after each so the
//! GUI can repaint. Knows nothing of egui.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use image::RgbImage;

use crate::aerial::AerialError;
use crate::aerial::rank::{RankedTile, rank_tiles};
use crate::aerial::source::{candidates_from, fetch_tiles, parallelism};
use crate::aerial::towers::{ClipTowers, ColourTowers, TwoTower};
use crate::aerial::{Candidate, MatchSettings, TileId, TowerKind};
use crate::geo::geocells::Granularity;
use crate::model::ModelError;
use crate::model::config::ModelConfig;
use crate::model::fetch::{
    FetchError, FetchOptions, FetchOutcome, FetchProgress, fetch_clip_vision,
};
use crate::photo::PhotoError;
use crate::photo::decode::{decode_photo, decode_photo_bytes};
use crate::photo::exif::{PhotoFacts, read_facts, read_facts_from_bytes};
use crate::predict::clock::ClockError;
use crate::predict::{
    ClockAnswer, LoadError, LoadStage, OcclusionMap, Prediction, Predictor, StageTimes,
};

/// Longest side of the previews sent for display, in pixels.
pub const PREVIEW_PX: u32 = 768;

/// `image` shrunk to at most `max_px` a side (a copy when it is small already).
pub fn preview(image: &RgbImage, max_px: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let long = w.max(h).max(1);
    if long <= max_px {
        return image.clone();
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(max_px) / u64::from(long)) as u32).max(1);
    image::imageops::thumbnail(image, scale(w), scale(h))
}

/// Identifies a photo across requests and events.
pub type PhotoId = u64;

/// Where a photo comes from.
#[derive(Debug, Clone)]
pub enum PhotoSource {
    File(PathBuf),
    /// Bytes of an image file (dropped from a browser, pasted).
    Bytes {
        name: String,
        bytes: Arc<[u8]>,
    },
    /// Pixels already decoded (pasted image data).
    Pixels {
        name: String,
        image: Arc<RgbImage>,
    },
}

impl PhotoSource {
    pub fn name(&self) -> String {
        match self {
            Self::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Self::Bytes { name, .. } | Self::Pixels { name, .. } => name.clone(),
        }
    }
}

/// What went wrong in the background, by area (the events carry it; the app shows its
/// message). The errors are shared (`Arc`) so events stay cheap to clone.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Photo(Arc<PhotoError>),
    #[error(transparent)]
    Model(Arc<ModelError>),
    #[error(transparent)]
    Load(Arc<LoadError>),
    #[error(transparent)]
    Fetch(Arc<FetchError>),
    #[error(transparent)]
    Aerial(Arc<AerialError>),
    #[error("the photo was closed")]
    PhotoClosed,
    #[error("the model is not loaded, so CLIP's tower cannot score tiles")]
    ModelNotLoaded,
    #[error("none of the tiles could be had from {source_name}")]
    NoTiles { source_name: String },
    #[error("internal error in the towers")]
    TowersPanicked,
    #[error("could not start a thread to {0}")]
    Thread(&'static str),
    #[error(transparent)]
    Library(Arc<crate::library::LibraryError>),
}

macro_rules! worker_error_from {
    ($($error:ty => $variant:ident),*) => {$(
        impl From<$error> for WorkerError {
            fn from(e: $error) -> Self {
                Self::$variant(Arc::new(e))
            }
        }
    )*};
}
worker_error_from!(PhotoError => Photo, ModelError => Model, LoadError => Load,
    FetchError => Fetch, AerialError => Aerial, crate::library::LibraryError => Library);

/// What the worker is asked to do. [`Worker::send`] decodes photos and forgets them at once;
/// every other request waits in order for the model thread.
pub enum Request {
    /// Decode a photo and, once the model is ready, predict where it was taken.
    Photo { id: PhotoId, source: PhotoSource },
    /// Predict a decoded photo (the worker sends it itself once a photo is decoded).
    Predict { id: PhotoId },
    /// The spatial-support map of a decoded photo.
    Occlusion {
        id: PhotoId,
        granularity: Granularity,
        grid: usize,
    },
    /// Rank the aerial tiles around a predicted photo's most likely places. `request`
    /// identifies this run in the events; a newer request stops an older one's downloads.
    MatchTiles {
        id: PhotoId,
        request: u64,
        prediction: Box<Prediction>,
        settings: MatchSettings,
    },
    /// Score a matching run's tiles once all are fetched (the worker sends it itself).
    ScoreTiles {
        id: PhotoId,
        request: u64,
        settings: MatchSettings,
        tiles: Vec<(Candidate, Arc<RgbImage>)>,
    },
    /// Forget a photo: drop its pixels, and skip it if it is still waiting.
    Forget { id: PhotoId },
    /// Read a folder as a library and propose a position for each photo without one (the
    /// pictures' clues too where the model is loaded). `request` identifies the run in the
    /// events; `cancel` stops its embeddings.
    Library {
        request: u64,
        folder: PathBuf,
        tracks: Vec<PathBuf>,
        cancel: Arc<AtomicBool>,
    },
    /// Load the model again (after a fetch, or with new settings).
    Reload(ModelConfig),
    /// Download CLIP's tower, then reload.
    Fetch(FetchOptions),
}

#[derive(Debug, Clone)]
pub enum ModelState {
    Loading(LoadStage),
    Ready {
        /// "GeoCLIP on CLIP ViT-L/14".
        model: String,
        backend: String,
        notice: Option<String>,
    },
    /// Not installed: how to get it.
    Missing {
        hint: String,
    },
    Failed(WorkerError),
}

#[derive(Debug, Clone)]
pub enum Event {
    Model(ModelState),
    /// The photo is readable: a preview for display (at most [`PREVIEW_PX`] a side).
    Decoded {
        id: PhotoId,
        preview: Arc<RgbImage>,
        facts: PhotoFacts,
    },
    /// The model started on this photo.
    Running {
        id: PhotoId,
    },
    Predicted {
        id: PhotoId,
        prediction: Box<Prediction>,
        /// What the photo's clock says, worked out here rather than on the window's thread:
        /// `Ok(None)` without a clock, `Err` with a note when its tags cannot be read.
        clock: Box<Result<Option<ClockAnswer>, ClockError>>,
        times: StageTimes,
    },
    /// A one-line reason; nothing else about the photo changes.
    Failed {
        id: PhotoId,
        error: WorkerError,
    },
    OcclusionProgress {
        id: PhotoId,
        done: usize,
        total: usize,
    },
    Occlusion {
        id: PhotoId,
        map: OcclusionMap,
    },
    Fetching(FetchProgress),
    Fetched(Result<String, WorkerError>),
    /// Matching started: the tiles that will be fetched, most likely first.
    AerialStarted {
        request: u64,
        source: String,
        attribution: String,
        candidates: Vec<Candidate>,
    },
    /// One tile arrived, or could not be had (the others go on).
    AerialTile {
        request: u64,
        tile: TileId,
        result: Result<Arc<RgbImage>, WorkerError>,
    },
    AerialRanked {
        request: u64,
        towers: String,
        ranked: Vec<RankedTile>,
    },
    /// The whole run failed (no source, no tiles near the places, the towers failed).
    AerialFailed {
        request: u64,
        error: WorkerError,
    },
    /// A library run's progress: photos read (`embedding` false), then embeddings done.
    LibraryProgress {
        request: u64,
        done: usize,
        total: usize,
        embedding: bool,
    },
    LibraryDone {
        request: u64,
        answer: Box<Result<crate::library::LibraryAnswer, WorkerError>>,
    },
}

/// State shared by the decode threads and the model thread.
#[derive(Default)]
struct Shared {
    decoded: Mutex<std::collections::HashMap<PhotoId, Arc<RgbImage>>>,
    /// Each decoded photo's EXIF facts (its clock weighs the answer).
    facts: Mutex<std::collections::HashMap<PhotoId, PhotoFacts>>,
    forgotten: Mutex<std::collections::HashSet<PhotoId>>,
    queue: Mutex<VecDeque<Request>>,
    queue_changed: std::sync::Condvar,
    cancel: AtomicBool,
    stop: AtomicBool,
    /// The newest aerial matching request; downloads for older ones stop.
    aerial_request: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Queues jobs for the model thread and wakes it.
    fn enqueue(&self, jobs: impl IntoIterator<Item = Request>) {
        if let Ok(mut q) = self.queue.lock() {
            q.extend(jobs);
        }
        self.queue_changed.notify_all();
    }
}

/// The GUI's handle on the background threads.
pub struct Worker {
    events: Receiver<Event>,
    sender: Sender<Event>,
    shared: Arc<Shared>,
    wake: Arc<dyn Fn() + Send + Sync>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the model thread, which loads the model at once.
    pub fn spawn(config: ModelConfig, wake: impl Fn() + Send + Sync + 'static) -> Self {
        let (sender, events) = channel();
        let shared = Arc::new(Shared::default());
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(wake);
        shared.enqueue([Request::Reload(config)]);
        let thread = {
            let (shared, sender, wake) = (shared.clone(), sender.clone(), wake.clone());
            std::thread::Builder::new()
                .name("geolens-model".into())
                .spawn(move || model_thread(&shared, &sender, &wake))
                .ok()
        };
        Self {
            events,
            sender,
            shared,
            wake,
            thread,
        }
    }

    pub fn send(&self, request: Request) {
        match request {
            Request::Photo { id, source } => self.decode(id, source),
            Request::Forget { id } => {
                if let Ok(mut f) = self.shared.forgotten.lock() {
                    f.insert(id);
                }
                if let Ok(mut d) = self.shared.decoded.lock() {
                    d.remove(&id);
                }
                if let Ok(mut f) = self.shared.facts.lock() {
                    f.remove(&id);
                }
            }
            queued => {
                match &queued {
                    Request::Occlusion { .. } => self.shared.cancel.store(false, Ordering::SeqCst),
                    Request::MatchTiles { request, .. } => {
                        self.shared.aerial_request.store(*request, Ordering::SeqCst)
                    }
                    _ => {}
                }
                self.shared.enqueue([queued]);
            }
        }
    }

    /// Asks a running occlusion map or download to stop.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::SeqCst);
    }

    fn decode(&self, id: PhotoId, source: PhotoSource) {
        let (shared, sender, wake) = (self.shared.clone(), self.sender.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new()
            .name("geolens-decode".into())
            .spawn(move || {
                let decoded = match &source {
                    PhotoSource::File(path) => {
                        decode_photo(path).map(|image| (Arc::new(image), read_facts(path)))
                    }
                    PhotoSource::Bytes { name, bytes } => {
                        decode_photo_bytes(bytes, std::path::Path::new(name))
                            .map(|image| (Arc::new(image), read_facts_from_bytes(bytes)))
                    }
                    PhotoSource::Pixels { image, .. } => Ok((image.clone(), PhotoFacts::default())),
                };
                let event = match decoded {
                    Ok((image, facts)) => {
                        if let Ok(mut d) = shared.decoded.lock() {
                            d.insert(id, image.clone());
                        }
                        if let Ok(mut f) = shared.facts.lock() {
                            f.insert(id, facts.clone());
                        }
                        let preview = Arc::new(preview(&image, PREVIEW_PX));
                        shared.enqueue([Request::Predict { id }]);
                        Event::Decoded { id, preview, facts }
                    }
                    Err(e) => Event::Failed {
                        id,
                        error: e.into(),
                    },
                };
                let _ = sender.send(event);
                wake();
            });
        if spawned.is_err() {
            let _ = self.sender.send(Event::Failed {
                id,
                error: WorkerError::Thread("read the photo"),
            });
        }
    }

    /// Events that arrived since the last call, in order.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Whether the model thread has nothing queued (a job may still be running).
    pub fn queue_is_empty(&self) -> bool {
        self.shared
            .queue
            .lock()
            .map(|q| q.is_empty())
            .unwrap_or(true)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cancel.store(true, Ordering::SeqCst);
        self.shared.queue_changed.notify_all();
        // The model thread may be in the middle of a long forward pass: do not wait for it.
        drop(self.thread.take());
    }
}

fn model_thread(shared: &Arc<Shared>, events: &Sender<Event>, wake: &Arc<dyn Fn() + Send + Sync>) {
    let send = |e: Event| {
        let _ = events.send(e);
        wake();
    };
    let mut predictor: Option<Predictor> = None;
    let mut config = None;
    // Predictions that arrived while the model was missing, retried after a reload.
    let mut waiting: Vec<PhotoId> = Vec::new();
    loop {
        let job = {
            let Ok(mut queue) = shared.queue.lock() else {
                return;
            };
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(job) = queue.pop_front() {
                    break job;
                }
                queue = match shared.queue_changed.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        match job {
            Request::Reload(new_config) => {
                // Free the old model before loading the new one (1.5 GB each).
                drop(predictor.take());
                predictor = load(&new_config, &send);
                config = Some(new_config);
                if predictor.is_some() {
                    shared.enqueue(waiting.drain(..).map(|id| Request::Predict { id }));
                }
            }
            Request::Fetch(options) => {
                shared.cancel.store(false, Ordering::SeqCst);
                let outcome = fetch_clip_vision(
                    &options,
                    |p| {
                        let _ = events.send(Event::Fetching(p));
                        wake();
                    },
                    Some(&shared.cancel),
                );
                send(Event::Fetched(match outcome {
                    Ok(FetchOutcome::Fetched(r)) => Ok(format!(
                        "Installed CLIP's image tower ({:.0} MB) in {}",
                        r.record_bytes as f64 / 1e6,
                        options.out_dir.display()
                    )),
                    Ok(FetchOutcome::AlreadyInstalled(p)) => {
                        Ok(format!("Already installed: {}", p.display()))
                    }
                    Err(e) => Err(e.into()),
                }));
                // Load what was fetched (the photos that waited follow once it is ready).
                if let Some(c) = config.clone() {
                    shared.enqueue([Request::Reload(c)]);
                }
            }
            Request::Library {
                request,
                folder,
                tracks,
                cancel,
            } => {
                let cache_dir = config.as_ref().and_then(ModelConfig::embedding_cache_dir);
                let answer = geotag_folder(
                    predictor.as_ref().map(|p| (p, cache_dir)),
                    request,
                    &folder,
                    &tracks,
                    &cancel,
                    &send,
                );
                let answer = answer.map(|mut a| {
                    if predictor.is_none() {
                        a.notes.push(
                            "The model is not loaded: only the photos' own clues were used (no \
                             look-alikes, no GeoCLIP guesses)."
                                .into(),
                        );
                    }
                    a
                });
                send(Event::LibraryDone {
                    request,
                    answer: Box::new(answer),
                });
            }
            // Decoding and forgetting happen in `Worker::send`, never on this thread.
            Request::Photo { .. } | Request::Forget { .. } => {}
            Request::Predict { id } => {
                if shared.forgotten.lock().is_ok_and(|f| f.contains(&id)) {
                    continue;
                }
                let image = shared.decoded.lock().ok().and_then(|d| d.get(&id).cloned());
                let Some(image) = image else {
                    continue;
                };
                let Some(p) = &predictor else {
                    waiting.push(id);
                    continue;
                };
                send(Event::Running { id });
                match p.predict_photo_guarded(&image) {
                    Ok((prediction, times)) => {
                        let facts = shared
                            .facts
                            .lock()
                            .ok()
                            .and_then(|f| f.get(&id).cloned())
                            .unwrap_or_default();
                        send(Event::Predicted {
                            id,
                            clock: Box::new(prediction.clock_answer(&facts)),
                            prediction: Box::new(prediction),
                            times,
                        })
                    }
                    Err(e) => send(Event::Failed {
                        id,
                        error: e.into(),
                    }),
                }
            }
            // A newer matching run replaced this one: skip its remaining work.
            Request::MatchTiles { request, .. } | Request::ScoreTiles { request, .. }
                if shared.aerial_request.load(Ordering::SeqCst) != request => {}
            Request::MatchTiles {
                id,
                request,
                prediction,
                settings,
            } => start_matching(shared, events, wake, id, request, &prediction, settings),
            Request::ScoreTiles {
                id,
                request,
                settings,
                tiles,
            } => {
                let image = shared.decoded.lock().ok().and_then(|d| d.get(&id).cloned());
                let event = match image {
                    None => Event::AerialFailed {
                        request,
                        error: WorkerError::PhotoClosed,
                    },
                    Some(photo) => match score_tiles(predictor.as_ref(), &photo, &settings, &tiles)
                    {
                        Ok((towers, ranked)) => Event::AerialRanked {
                            request,
                            towers,
                            ranked,
                        },
                        Err(error) => Event::AerialFailed { request, error },
                    },
                };
                send(event);
            }
            Request::Occlusion {
                id,
                granularity,
                grid,
            } => {
                let image = shared.decoded.lock().ok().and_then(|d| d.get(&id).cloned());
                let (Some(p), Some(image)) = (&predictor, image) else {
                    continue;
                };
                let result = p.occlusion_map(
                    &image,
                    granularity,
                    grid,
                    4,
                    |done, total| send(Event::OcclusionProgress { id, done, total }),
                    || shared.cancel.load(Ordering::SeqCst),
                );
                match result {
                    Ok(Some(map)) => send(Event::Occlusion { id, map }),
                    Ok(None) => {}
                    Err(e) => send(Event::Failed {
                        id,
                        error: e.into(),
                    }),
                }
            }
        }
    }
}

/// A library run on the model thread: the folder's photos, their metadata, then the clues.
fn geotag_folder(
    predictor: Option<(&Predictor, Option<PathBuf>)>,
    request: u64,
    folder: &std::path::Path,
    tracks: &[PathBuf],
    cancel: &AtomicBool,
    send: &dyn Fn(Event),
) -> Result<crate::library::LibraryAnswer, WorkerError> {
    use crate::library::{
        LookalikeSettings, PictureClues, ProposeSettings, geotag_library, read_track, scan,
    };
    let tracks = tracks
        .iter()
        .map(|t| read_track(t))
        .collect::<Result<Vec<_>, _>>()?;
    let paths = crate::photo::walk::photos_in(folder)
        .map_err(|(path, source)| crate::library::LibraryError::Io { path, source })?;
    send(Event::LibraryProgress {
        request,
        done: 0,
        total: paths.len(),
        embedding: false,
    });
    let photos = scan(&paths);
    let pictures = predictor.map(|(predictor, cache_dir)| PictureClues {
        predictor,
        cache_dir,
        lookalikes: LookalikeSettings::default(),
    });
    Ok(geotag_library(
        photos,
        &[],
        &tracks,
        &ProposeSettings::default(),
        pictures,
        |done, total| {
            send(Event::LibraryProgress {
                request,
                done,
                total,
                embedding: true,
            });
            !cancel.load(Ordering::SeqCst)
        },
    ))
}

/// Opens the tile source, works out the candidates, and fetches the tiles on a thread of their
/// own (a few at a time), reporting each; once all are in, queues their scoring.
fn start_matching(
    shared: &Arc<Shared>,
    events: &Sender<Event>,
    wake: &Arc<dyn Fn() + Send + Sync>,
    id: PhotoId,
    request: u64,
    prediction: &Prediction,
    settings: MatchSettings,
) {
    let send = |e: Event| {
        let _ = events.send(e);
        wake();
    };
    let failed = |error: WorkerError| Event::AerialFailed { request, error };
    let source = match settings.tiles.open() {
        Ok(s) => s,
        Err(e) => return send(failed(e.into())),
    };
    let candidates = match candidates_from(source.as_ref(), prediction, &settings.candidates) {
        Ok(c) => c,
        Err(e) => return send(failed(e.into())),
    };
    send(Event::AerialStarted {
        request,
        source: source.name(),
        attribution: source.attribution(),
        candidates: candidates.clone(),
    });
    let (shared, events, wake) = (shared.clone(), events.clone(), wake.clone());
    let spawned = std::thread::Builder::new()
        .name("geolens-tiles".into())
        .spawn(move || {
            let tiles: Vec<TileId> = candidates.iter().map(|c| c.tile).collect();
            let fetched: Mutex<Vec<Option<Arc<RgbImage>>>> = Mutex::new(vec![None; tiles.len()]);
            let stale = || {
                shared.stop.load(Ordering::SeqCst)
                    || shared.aerial_request.load(Ordering::SeqCst) != request
            };
            fetch_tiles(
                source.as_ref(),
                &tiles,
                parallelism(source.as_ref()),
                &|i, result| {
                    let result = result.map(Arc::new).map_err(WorkerError::from);
                    if let (Ok(image), Ok(mut f)) = (&result, fetched.lock()) {
                        f[i] = Some(image.clone());
                    }
                    let _ = events.send(Event::AerialTile {
                        request,
                        tile: tiles[i],
                        result,
                    });
                    wake();
                },
                &stale,
            );
            if stale() {
                return;
            }
            let tiles: Vec<(Candidate, Arc<RgbImage>)> = candidates
                .into_iter()
                .zip(fetched.into_inner().unwrap_or_default())
                .filter_map(|(c, image)| image.map(|i| (c, i)))
                .collect();
            if tiles.is_empty() {
                let _ = events.send(Event::AerialFailed {
                    request,
                    error: WorkerError::NoTiles {
                        source_name: source.name(),
                    },
                });
                wake();
                return;
            }
            shared.enqueue([Request::ScoreTiles {
                id,
                request,
                settings,
                tiles,
            }]);
        });
    if spawned.is_err() {
        send(failed(WorkerError::Thread("fetch tiles")));
    }
}

/// Ranks fetched tiles against the photo with the chosen towers.
fn score_tiles(
    predictor: Option<&Predictor>,
    photo: &RgbImage,
    settings: &MatchSettings,
    tiles: &[(Candidate, Arc<RgbImage>)],
) -> Result<(String, Vec<RankedTile>), WorkerError> {
    let clip;
    let towers: &dyn TwoTower = match settings.towers {
        TowerKind::Colour => &ColourTowers,
        TowerKind::Clip => {
            let p = predictor.ok_or(WorkerError::ModelNotLoaded)?;
            clip = ClipTowers::new(p);
            &clip
        }
    };
    let pairs: Vec<(Candidate, &RgbImage)> = tiles.iter().map(|(c, i)| (*c, i.as_ref())).collect();
    let ranked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rank_tiles(towers, photo, &pairs, settings.prior_weight)
    }))
    .map_err(|_| WorkerError::TowersPanicked)??;
    Ok((towers.describe(), ranked))
}

/// Loads the model, reporting each stage; `None` (with the reason sent) when it cannot.
fn load(config: &ModelConfig, send: &dyn Fn(Event)) -> Option<Predictor> {
    let loaded = Predictor::load_config(config, |stage| {
        send(Event::Model(ModelState::Loading(stage)))
    });
    match loaded {
        Ok((p, backend)) => {
            send(Event::Model(ModelState::Ready {
                model: p.describe(),
                backend: backend.description,
                notice: backend.fallback_notice,
            }));
            Some(p)
        }
        Err(LoadError::Missing(hint)) => {
            send(Event::Model(ModelState::Missing { hint }));
            None
        }
        Err(e) => {
            send(Event::Model(ModelState::Failed(e.into())));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aerial::candidates::candidate_tiles;
    use crate::model::backend::BackendChoice;

    fn wait_for(worker: &Worker, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let started = std::time::Instant::now();
        let mut seen = Vec::new();
        while started.elapsed() < std::time::Duration::from_secs(120) {
            for e in worker.poll() {
                let stop = done(&e);
                seen.push(e);
                if stop {
                    return seen;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("timed out; saw {seen:?}");
    }

    #[test]
    fn without_a_model_photos_still_decode_and_the_model_is_reported_missing() {
        let empty =
            std::env::temp_dir().join(format!("geolens-worker-none-{}", std::process::id()));
        let worker = Worker::spawn(
            ModelConfig::new(Some(empty.clone()), BackendChoice::Cpu),
            || (),
        );
        let events = wait_for(&worker, |e| {
            matches!(e, Event::Model(ModelState::Missing { .. }))
        });
        assert!(events.iter().any(|e| matches!(e, Event::Model(ModelState::Missing { hint }) if hint.contains("geolens models fetch"))));
        let photo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/photos/rocket.jpg");
        worker.send(Request::Photo {
            id: 1,
            source: PhotoSource::File(photo),
        });
        worker.send(Request::Photo {
            id: 2,
            source: PhotoSource::Bytes {
                name: "broken.jpg".into(),
                bytes: Arc::from(&b"not a photo"[..]),
            },
        });
        let mut decoded = false;
        let mut failed = false;
        wait_for(&worker, |e| {
            match e {
                Event::Decoded { id: 1, preview, .. } => decoded = preview.width() == 640,
                Event::Failed { id: 2, error } => {
                    failed = matches!(error, WorkerError::Photo(_))
                        && error.to_string().contains("broken.jpg")
                }
                _ => {}
            }
            decoded && failed
        });
        // Nothing was predicted: the photo waits for the model.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            worker
                .poll()
                .iter()
                .all(|e| !matches!(e, Event::Predicted { .. }))
        );
    }

    #[test]
    fn photos_are_predicted_in_order_once_the_model_is_ready() {
        let dir = std::env::temp_dir().join(format!("geolens-worker-tower-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 5)
            .expect("tower");
        let worker = Worker::spawn(
            ModelConfig {
                gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
                ..ModelConfig::new(Some(dir.clone()), BackendChoice::Cpu)
            },
            || (),
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos");
        for (id, name) in [(10, "coffee.png"), (11, "chelsea.png")] {
            worker.send(Request::Photo {
                id,
                source: PhotoSource::File(root.join(name)),
            });
        }
        let mut predicted = Vec::new();
        let events = wait_for(&worker, |e| {
            if let Event::Predicted { id, .. } = e {
                predicted.push(*id);
            }
            predicted.len() == 2
        });
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Model(ModelState::Ready { .. })))
        );
        assert_eq!(predicted.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A worker on the stand-in tower (written to a scratch folder, returned) and its
    /// prediction for `coffee.png`, photo 1.
    fn worker_with_a_prediction(name: &str) -> (Worker, Box<Prediction>, PathBuf) {
        let tower =
            std::env::temp_dir().join(format!("geolens-worker-{name}-{}", std::process::id()));
        crate::testing::write_test_clip_tower(&tower, crate::testing::TestTower::default(), 5)
            .expect("tower");
        let worker = Worker::spawn(
            ModelConfig {
                model_dir: Some(tower.clone()),
                backend: BackendChoice::Cpu,
                gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
                threads: None,
            },
            || (),
        );
        let photo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/photos/coffee.png");
        worker.send(Request::Photo {
            id: 1,
            source: PhotoSource::File(photo),
        });
        let mut prediction = None;
        wait_for(&worker, |e| {
            if let Event::Predicted { prediction: p, .. } = e {
                prediction = Some(p.clone());
            }
            prediction.is_some()
        });
        (worker, prediction.expect("predicted"), tower)
    }

    #[test]
    fn tiles_that_fail_online_are_reported_one_by_one_and_the_rest_are_ranked() {
        let (worker, prediction, tower) = worker_with_a_prediction("aerial");
        let options = crate::aerial::CandidateOptions {
            max_tiles: 6,
            ..Default::default()
        };
        let candidates = candidate_tiles(&prediction, &options, None).expect("candidates");
        assert_eq!(candidates.len(), 6);
        // The server has every other tile; the rest answer 404.
        let mut png = Vec::new();
        RgbImage::from_pixel(8, 8, image::Rgb([90, 140, 60]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let served: Vec<TileId> = candidates.iter().step_by(2).map(|c| c.tile).collect();
        let server = crate::testing::LoopbackServer::start(
            served
                .iter()
                .map(|t| (t.to_string(), png.clone()))
                .collect(),
            crate::testing::Faults::default(),
        )
        .expect("server");
        let cache = tower.join("tile-cache");
        let settings = MatchSettings {
            tiles: crate::aerial::TileChoice::Online {
                url: Some(format!("{}/{{z}}/{{x}}/{{y}}", server.base_url)),
                cache_dir: Some(cache.clone()),
            },
            candidates: options,
            prior_weight: 0.5,
            towers: TowerKind::Clip,
        };
        worker.send(Request::MatchTiles {
            id: 1,
            request: 7,
            prediction: prediction.clone(),
            settings,
        });
        let mut tiles_ok = Vec::new();
        let mut tiles_failed = Vec::new();
        let mut ranked = None;
        let events = wait_for(&worker, |e| {
            match e {
                Event::AerialTile {
                    request: 7,
                    tile,
                    result: Ok(_),
                } => tiles_ok.push(*tile),
                Event::AerialTile {
                    request: 7,
                    tile,
                    result: Err(error),
                } => tiles_failed.push((*tile, error.to_string())),
                Event::AerialRanked {
                    request: 7,
                    ranked: r,
                    ..
                } => ranked = Some(r.clone()),
                Event::AerialFailed { error, .. } => panic!("{error}"),
                _ => {}
            }
            ranked.is_some()
        });
        assert!(matches!(
            events.iter().find(|e| matches!(e, Event::AerialStarted { .. })),
            Some(Event::AerialStarted { request: 7, candidates: c, .. }) if *c == candidates
        ));
        tiles_ok.sort();
        let mut expected = served.clone();
        expected.sort();
        assert_eq!(tiles_ok, expected);
        assert_eq!(tiles_failed.len(), 3);
        for (tile, error) in &tiles_failed {
            assert!(
                error.starts_with(&format!("tile {tile}:")) && error.contains("404"),
                "{error}"
            );
        }
        let ranked = ranked.expect("ranked");
        let mut ranked_tiles: Vec<TileId> = ranked.iter().map(|r| r.tile()).collect();
        ranked_tiles.sort();
        assert_eq!(ranked_tiles, expected, "the tiles that arrived are ranked");
        assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
        let _ = std::fs::remove_dir_all(&tower);
    }

    #[test]
    fn a_tile_server_that_never_answers_holds_up_neither_predictions_nor_a_new_run() {
        let (worker, prediction, tower) = worker_with_a_prediction("hang");
        let photos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos");
        // Connections are accepted by the kernel and then never answered.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/{{z}}/{{x}}/{{y}}",
            silent.local_addr().expect("addr")
        );
        let settings = MatchSettings {
            tiles: crate::aerial::TileChoice::Online {
                url: Some(url),
                cache_dir: Some(tower.join("tile-cache")),
            },
            candidates: crate::aerial::CandidateOptions::default(),
            prior_weight: 0.5,
            towers: TowerKind::Colour,
        };
        worker.send(Request::MatchTiles {
            id: 1,
            request: 1,
            prediction: prediction.clone(),
            settings: settings.clone(),
        });
        wait_for(&worker, |e| {
            matches!(e, Event::AerialStarted { request: 1, .. })
        });
        // While those downloads hang, the next photo is predicted...
        worker.send(Request::Photo {
            id: 2,
            source: PhotoSource::File(photos.join("rocket.jpg")),
        });
        let events = wait_for(&worker, |e| matches!(e, Event::Predicted { id: 2, .. }));
        assert!(
            events
                .iter()
                .all(|e| !matches!(e, Event::AerialTile { .. } | Event::AerialRanked { .. })),
            "nothing came back from the silent server"
        );
        // ...and a new run (from a folder) starts and finishes at once.
        let folder = tower.join("tiles");
        let tile =
            candidate_tiles(&prediction, &settings.candidates, None).expect("candidates")[0].tile;
        let path = folder.join(format!("{tile}.png"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
            .save(&path)
            .expect("save");
        worker.send(Request::MatchTiles {
            id: 1,
            request: 2,
            prediction,
            settings: MatchSettings {
                tiles: crate::aerial::TileChoice::Folder(folder),
                ..settings
            },
        });
        let events = wait_for(&worker, |e| {
            matches!(e, Event::AerialRanked { request: 2, .. })
        });
        assert!(events.iter().any(
            |e| matches!(e, Event::AerialRanked { request: 2, ranked, .. } if ranked.len() == 1)
        ));
        drop(silent);
        let _ = std::fs::remove_dir_all(&tower);
    }
}
