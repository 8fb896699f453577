//! Perceptually uniform colour maps (matplotlib's viridis and magma, sampled at 9 stops and
//! interpolated linearly in sRGB, which stays within a few levels of the full 256-entry tables).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ColorMap {
    #[default]
    Viridis,
    Magma,
}

const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 45, 123],
    [59, 82, 139],
    [44, 114, 142],
    [33, 145, 140],
    [40, 174, 128],
    [94, 201, 98],
    [173, 220, 48],
    [253, 231, 37],
];

const MAGMA: [[u8; 3]; 9] = [
    [0, 0, 4],
    [28, 16, 68],
    [79, 18, 123],
    [129, 37, 129],
    [181, 54, 122],
    [229, 80, 100],
    [251, 135, 97],
    [254, 194, 135],
    [252, 253, 191],
];

impl ColorMap {
    pub const ALL: [ColorMap; 2] = [Self::Viridis, Self::Magma];

    pub fn label(self) -> &'static str {
        match self {
            Self::Viridis => "viridis",
            Self::Magma => "magma",
        }
    }

    /// Colour at `t` in `[0, 1]` (clamped; NaN maps to 0).
    pub fn rgb(self, t: f32) -> [u8; 3] {
        let stops = match self {
            Self::Viridis => &VIRIDIS,
            Self::Magma => &MAGMA,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (stops.len() - 1) as f32;
        let i = (pos.floor() as usize).min(stops.len() - 2);
        let f = pos - i as f32;
        let (a, b) = (stops[i], stops[i + 1]);
        std::array::from_fn(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * f).round() as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance([r, g, b]: [u8; 3]) -> f32 {
        0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32
    }

    #[test]
    fn ends_match_matplotlib_and_brightness_rises_monotonically() {
        for map in ColorMap::ALL {
            let mut prev = -1.0;
            for i in 0..=100 {
                let l = luminance(map.rgb(i as f32 / 100.0));
                assert!(l > prev, "{map:?} not monotonic at {i}");
                prev = l;
            }
        }
        assert_eq!(ColorMap::Viridis.rgb(0.0), [68, 1, 84]);
        assert_eq!(ColorMap::Viridis.rgb(1.0), [253, 231, 37]);
        assert_eq!(ColorMap::Viridis.rgb(0.5), [33, 145, 140]);
        assert_eq!(ColorMap::Magma.rgb(2.0), [252, 253, 191]);
        assert_eq!(ColorMap::Magma.rgb(f32::NAN), [0, 0, 4]);
    }
}
