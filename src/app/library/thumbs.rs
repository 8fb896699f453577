//! Thumbnails for the library list, decoded on a thread of their own as rows come into view
//! (a library can hold thousands of photos: only the rows shown are ever decoded, and only
//! the small thumbnails are kept).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use image::RgbImage;

/// A thumbnail's longest side, in pixels.
pub const THUMB_PX: u32 = 56;

/// The decoding thread's two ends: paths in, thumbnails (or `None`: not decodable) out.
type ThumbChannel = (Sender<PathBuf>, Receiver<(PathBuf, Option<RgbImage>)>);

#[derive(Default)]
pub struct Thumbnails {
    textures: HashMap<PathBuf, egui::TextureHandle>,
    asked: HashSet<PathBuf>,
    worker: Option<ThumbChannel>,
}

impl Thumbnails {
    /// The thumbnail of `path`, asking for it when it is not there yet.
    pub fn get(&mut self, path: &Path) -> Option<&egui::TextureHandle> {
        if !self.asked.contains(path) {
            self.asked.insert(path.to_path_buf());
            if let Some((to_worker, _)) = &self.worker {
                let _ = to_worker.send(path.to_path_buf());
            }
        }
        self.textures.get(path)
    }

    /// Takes the thumbnails decoded since the last frame (and starts the decoding thread on
    /// the first call).
    pub fn receive(&mut self, ctx: &egui::Context) {
        let Some((_, from_worker)) = self.worker(ctx) else {
            return;
        };
        let done: Vec<_> = from_worker.try_iter().collect();
        for (path, thumb) in done {
            if let Some(thumb) = thumb {
                let size = [thumb.width() as usize, thumb.height() as usize];
                let image = egui::ColorImage::from_rgb(size, thumb.as_raw());
                let texture = ctx.load_texture(
                    format!("library-thumb:{}", path.display()),
                    image,
                    egui::TextureOptions::LINEAR,
                );
                self.textures.insert(path, texture);
            }
        }
    }

    fn worker(&mut self, ctx: &egui::Context) -> Option<&ThumbChannel> {
        if self.worker.is_none() {
            let (to_worker, requests) = channel::<PathBuf>();
            let (results, from_worker) = channel();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name("geolens-thumbnails".into())
                .spawn(move || {
                    for path in requests {
                        let thumb = crate::photo::decode::decode_photo(&path)
                            .ok()
                            .map(|image| crate::app::worker::preview(&image, THUMB_PX));
                        if results.send((path, thumb)).is_err() {
                            return;
                        }
                        ctx.request_repaint();
                    }
                })
                .ok()?;
            self.worker = Some((to_worker, from_worker));
        }
        self.worker.as_ref()
    }
}
