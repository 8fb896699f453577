//! The model's answers for game photos already seen, kept across games: a later game with the
//! same photo shows its preview and answer at once instead of running the tower again (about
//! 1.7 s a photo on a 2-core CPU). Keyed by path, size and modification time, so a photo
//! edited since is worked out afresh; emptied whenever the model is loaded again.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use image::RgbImage;

use crate::predict::Prediction;

/// How many photos' answers are kept (each about 0.4 MB of probabilities plus its preview).
pub const CAPACITY: usize = 48;

/// A photo file as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhotoKey {
    path: PathBuf,
    len_bytes: u64,
    modified: Option<SystemTime>,
}

impl PhotoKey {
    /// `None` when the file cannot be read (the worker will say why).
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            path: path.to_path_buf(),
            len_bytes: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// A photo's preview and the model's answer for it.
#[derive(Clone)]
pub struct Answer {
    pub preview: Arc<RgbImage>,
    pub prediction: Prediction,
}

/// Answers by photo, at most [`CAPACITY`] of them (the app keeps [`Answer`]s).
pub struct AnswerCache<A = Answer> {
    answers: HashMap<PhotoKey, A>,
    /// Keys, oldest first.
    order: VecDeque<PhotoKey>,
}

impl<A> Default for AnswerCache<A> {
    fn default() -> Self {
        Self {
            answers: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<A> AnswerCache<A> {
    pub fn get(&self, key: &PhotoKey) -> Option<&A> {
        self.answers.get(key)
    }

    /// Keeps `answer`, forgetting the oldest one when full.
    pub fn insert(&mut self, key: PhotoKey, answer: A) {
        if self.answers.insert(key.clone(), answer).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }

    pub fn clear(&mut self) {
        self.answers.clear();
        self.order.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.answers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, len_bytes: u64) -> PhotoKey {
        PhotoKey {
            path: PathBuf::from(name),
            len_bytes,
            modified: None,
        }
    }

    #[test]
    fn the_oldest_answers_go_first_when_full() {
        let mut cache = AnswerCache::<usize>::default();
        for i in 0..CAPACITY + 2 {
            cache.insert(key(&format!("{i}.jpg"), 1), i);
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(&key("0.jpg", 1)).is_none());
        assert!(cache.get(&key("1.jpg", 1)).is_none());
        assert_eq!(cache.get(&key("2.jpg", 1)), Some(&2));
        assert!(
            cache
                .get(&key(&format!("{}.jpg", CAPACITY + 1), 1))
                .is_some()
        );
    }

    #[test]
    fn a_photo_changed_since_is_not_found() {
        let mut cache = AnswerCache::<u8>::default();
        cache.insert(key("a.jpg", 10), 1);
        cache.insert(key("a.jpg", 10), 2);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&key("a.jpg", 10)), Some(&2));
        assert!(cache.get(&key("a.jpg", 11)).is_none());
    }

    #[test]
    fn keys_follow_the_file_on_disk() {
        let dir = std::env::temp_dir().join(format!("geolens-answers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let photo = dir.join("p.jpg");
        std::fs::write(&photo, b"1234").expect("write");
        let before = PhotoKey::of(&photo).expect("readable");
        std::fs::write(&photo, b"12345").expect("write");
        assert_ne!(PhotoKey::of(&photo), Some(before));
        assert_eq!(PhotoKey::of(&dir.join("missing.jpg")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
