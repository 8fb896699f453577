//! Look-alikes: photos whose CLIP embeddings are nearly the same picture (a second shot of the
//! scene, a burst, an edited or re-encoded copy). They give a photo without a position the
//! position of its geotagged look-alike, and a camera whose clock is unknown its offset: the
//! time differences of true pairs taken by two cameras agree within seconds, those of false
//! ones scatter, so the offset is the median of the one agreeing cluster, and none is claimed
//! without one.

use super::LibraryPhoto;
use super::clocks::{Clocks, camera_of};
use super::embeddings::{similarity, unit};
use super::propose::{Proposal, ProposalSource, metres_text, proposal};

/// The limits of the look-alike clue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookalikeSettings {
    /// Cosine similarity of CLIP embeddings from which two photos count as the same scene
    /// (`--lookalike-min`).
    pub min_similarity: f32,
    /// Pairs whose time differences are this close (seconds) agree on a clock offset.
    pub agree_s: i64,
    /// Agreeing pairs needed before an offset is claimed.
    pub min_pairs: usize,
}

/// The default threshold: see `README.md` ("Look-alikes") for how it was chosen.
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.95;

impl Default for LookalikeSettings {
    fn default() -> Self {
        Self {
            min_similarity: DEFAULT_MIN_SIMILARITY,
            agree_s: 60,
            min_pairs: 2,
        }
    }
}

/// The radius a look-alike at the threshold claims; a perfect copy claims
/// [`COPY_RADIUS_M`], linearly between.
const THRESHOLD_RADIUS_M: f64 = 1000.0;
const COPY_RADIUS_M: f64 = 50.0;

/// The library's embeddings at unit length, for cosine similarity.
pub struct Lookalikes {
    units: Vec<Option<Vec<f32>>>,
    settings: LookalikeSettings,
}

impl Lookalikes {
    pub fn new(embeddings: &[Option<Vec<f32>>], settings: LookalikeSettings) -> Self {
        Self {
            units: embeddings
                .iter()
                .map(|e| e.as_ref().map(|e| unit(e.clone())))
                .collect(),
            settings,
        }
    }

    /// The most similar of `candidates` to photo `i`, if at or over the threshold.
    fn nearest(&self, i: usize, candidates: &[usize]) -> Option<(usize, f32)> {
        let query = self.units.get(i)?.as_ref()?;
        candidates
            .iter()
            .filter(|&&j| j != i)
            .filter_map(|&j| Some((j, similarity(query, self.units.get(j)?.as_ref()?))))
            .filter(|(_, s)| *s >= self.settings.min_similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Works out the offset of each camera whose clock is unknown from its photos' look-alikes
    /// among the photos of cameras whose clocks are known (each photo's nearest look-alike, one
    /// pair per photo), and sets it on `clocks` where the pairs agree.
    pub fn find_clock_offsets(&self, photos: &[LibraryPhoto], clocks: &mut Clocks) {
        let known: Vec<usize> = (0..photos.len())
            .filter(|&j| photos[j].taken_local.is_some() && clocks.is_known(camera_of(&photos[j])))
            .collect();
        let unknown: Vec<String> = clocks
            .cameras
            .iter()
            .filter(|c| c.found_by == super::ClockFoundBy::None)
            .map(|c| c.camera.clone())
            .collect();
        for camera in unknown {
            let differences: Vec<i64> = (0..photos.len())
                .filter(|&i| camera_of(&photos[i]) == camera)
                .filter_map(|i| {
                    let reading = photos[i].taken_local?.and_utc().timestamp();
                    let (j, _) = self.nearest(i, &known)?;
                    Some(reading - true_local_s(&photos[j], clocks)?)
                })
                .collect();
            if let Some((offset_s, pairs)) = agreeing_cluster(differences, &self.settings) {
                clocks.found_from_lookalikes(&camera, offset_s, pairs);
            }
        }
    }

    /// A proposal for photo `i` from its nearest geotagged look-alike (`geotagged`: the
    /// indices of the photos that have a position).
    pub fn propose(
        &self,
        photos: &[LibraryPhoto],
        i: usize,
        geotagged: &[usize],
    ) -> Option<Proposal> {
        let (j, sim) = self.nearest(i, geotagged)?;
        let (at, _) = photos[j].position?;
        let min = self.settings.min_similarity;
        let closeness = f64::from((sim - min) / (1.0 - min).max(1e-6)).clamp(0.0, 1.0);
        let radius_m = THRESHOLD_RADIUS_M + (COPY_RADIUS_M - THRESHOLD_RADIUS_M) * closeness;
        Some(proposal(
            at,
            radius_m,
            ProposalSource::Lookalike,
            format!(
                "looks like {}, similarity {sim:.3} (within {} of where it was taken)",
                photos[j].name(),
                metres_text(radius_m)
            ),
        ))
    }
}

/// The local time a photo of a known clock was taken (its reading less its camera's offset).
fn true_local_s(photo: &LibraryPhoto, clocks: &Clocks) -> Option<i64> {
    let reading = photo.taken_local?.and_utc().timestamp();
    let ahead_s = clocks
        .camera(camera_of(photo))
        .map_or(0, |c| c.clock_offset_s);
    Some(reading - ahead_s)
}

/// The median of the largest group of `differences` within `agree_s` of each other, and its
/// size, when it has at least `min_pairs` and at least twice as many as any other group; `None`
/// when they scatter.
pub fn agreeing_cluster(
    mut differences: Vec<i64>,
    settings: &LookalikeSettings,
) -> Option<(i64, usize)> {
    differences.sort_unstable();
    let window = |start: usize| {
        differences[start..].partition_point(|&d| d - differences[start] <= settings.agree_s)
    };
    let (best_start, best_len) = (0..differences.len())
        .map(|i| (i, window(i)))
        .max_by_key(|&(i, len)| (len, std::cmp::Reverse(i)))?;
    let best_end = best_start + best_len;
    // The largest group that shares no pair with the best one.
    let runner_up = (0..differences.len())
        .filter(|&i| i < best_start || i >= best_end)
        .map(|i| {
            let len = window(i);
            if i < best_start {
                len.min(best_start - i)
            } else {
                len
            }
        })
        .max()
        .unwrap_or(0);
    if best_len < settings.min_pairs || best_len < 2 * runner_up {
        return None;
    }
    let group = &differences[best_start..best_end];
    Some((group[group.len() / 2], best_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LookalikeSettings {
        LookalikeSettings::default()
    }

    #[test]
    fn agreeing_pairs_give_their_median_and_scattered_ones_give_none() {
        // Five true pairs near 3,620 s, four false ones anywhere.
        let found = agreeing_cluster(
            vec![3618, -7200, 3625, 3620, 12_000, 3621, 600, 3619, 40_000],
            &settings(),
        );
        assert_eq!(found, Some((3620, 5)));
        assert_eq!(
            agreeing_cluster(vec![10, 5000, -3000, 900, 70_000], &settings()),
            None
        );
        // One pair alone is not a cluster; two rival clusters of the same size are none.
        assert_eq!(agreeing_cluster(vec![3620], &settings()), None);
        assert_eq!(
            agreeing_cluster(vec![3620, 3622, 100, 101], &settings()),
            None
        );
        assert_eq!(agreeing_cluster(vec![], &settings()), None);
    }
}
