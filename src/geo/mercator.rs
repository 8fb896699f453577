//! Web Mercator ("slippy map") maths in a normalised world space: `world_x`, `world_y` in
//! `[0, 1]`, x growing east from the antimeridian, y growing south from the top edge.

use std::f64::consts::PI;

/// The latitude where Web Mercator's square world ends.
pub const MAX_MERCATOR_LAT_DEG: f64 = 85.051_128_779_806_6;

/// Tile edge length in pixels, as in every slippy map.
pub const TILE_PX: u32 = 256;

/// A point in normalised Web Mercator world space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldPoint {
    pub x: f64,
    pub y: f64,
}

/// Projects (latitude, longitude) in degrees into world space; latitudes are clamped to the
/// Mercator square.
pub fn world_from_lat_lon(lat_deg: f64, lon_deg: f64) -> WorldPoint {
    let lat_rad = lat_deg
        .clamp(-MAX_MERCATOR_LAT_DEG, MAX_MERCATOR_LAT_DEG)
        .to_radians();
    let x = (lon_deg + 180.0) / 360.0;
    let y = 0.5 - (lat_rad.tan() + 1.0 / lat_rad.cos()).ln() / (2.0 * PI);
    WorldPoint { x, y }
}

/// Inverse of [`world_from_lat_lon`]: returns `(lat_deg, lon_deg)`.
pub fn lat_lon_from_world(p: WorldPoint) -> (f64, f64) {
    let lon_deg = p.x * 360.0 - 180.0;
    let lat_deg = (PI * (1.0 - 2.0 * p.y)).sinh().atan().to_degrees();
    (lat_deg, lon_deg)
}

/// The tile `(x, y)` at integer `zoom` that holds a world point (clamped to the grid).
pub fn tile_from_world(p: WorldPoint, zoom: u8) -> (u32, u32) {
    let n = 1u64 << zoom;
    let clamp = |v: f64| ((v * n as f64).floor().max(0.0) as u64).min(n - 1) as u32;
    (clamp(p.x), clamp(p.y))
}

/// The world-space rectangle `(min, max)` covered by tile `(x, y)` at `zoom`.
pub fn world_bounds_of_tile(x: u32, y: u32, zoom: u8) -> (WorldPoint, WorldPoint) {
    let n = (1u64 << zoom) as f64;
    (
        WorldPoint {
            x: x as f64 / n,
            y: y as f64 / n,
        },
        WorldPoint {
            x: (x as f64 + 1.0) / n,
            y: (y as f64 + 1.0) / n,
        },
    )
}

/// For a tile deeper than the deepest stored zoom: the stored ancestor and the part of it
/// (`uv_min`, `uv_max` in `[0, 1]`) that covers the requested tile.
pub fn ancestor_tile(x: u32, y: u32, zoom: u8, stored_zoom: u8) -> (u32, u32, [f32; 2], [f32; 2]) {
    if zoom <= stored_zoom {
        return (x, y, [0.0, 0.0], [1.0, 1.0]);
    }
    let shift = u32::from(zoom - stored_zoom).min(31);
    let scale = 1u32 << shift;
    let (ax, ay) = (x >> shift, y >> shift);
    let step = 1.0 / scale as f32;
    let (ox, oy) = ((x % scale) as f32 * step, (y % scale) as f32 * step);
    (ax, ay, [ox, oy], [ox + step, oy + step])
}

/// The view that shows every point: its centre `(lat_deg, lon_deg)` and zoom, for a map of
/// `view_w` x `view_h` points (256 a tile at zoom 0) with `padding` points kept free on each
/// side, at most `max_zoom`. The map does not wrap round at the antimeridian, so points on
/// both sides of it are framed across the world, never past its edge. `None` without points.
pub fn fit_view(
    points_lat_lon_deg: &[(f64, f64)],
    (view_w, view_h): (f64, f64),
    padding: f64,
    max_zoom: f64,
) -> Option<((f64, f64), f64)> {
    let world: Vec<WorldPoint> = points_lat_lon_deg
        .iter()
        .map(|&(lat, lon)| world_from_lat_lon(lat, lon))
        .collect();
    if world.is_empty() {
        return None;
    }
    let (left, right) = world
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, r), p| (l.min(p.x), r.max(p.x)));
    let (top, bottom) = world
        .iter()
        .fold((f64::MAX, f64::MIN), |(t, b), p| (t.min(p.y), b.max(p.y)));
    let span_x = right - left;
    let centre = WorldPoint {
        x: (left + right) / 2.0,
        y: (top + bottom) / 2.0,
    };
    let room = |view: f64, span: f64| {
        let usable = (view - 2.0 * padding).max(1.0);
        if span <= 0.0 {
            max_zoom
        } else {
            (usable / (f64::from(TILE_PX) * span)).log2()
        }
    };
    let zoom = room(view_w, span_x)
        .min(room(view_h, bottom - top))
        .clamp(0.0, max_zoom);
    Some((lat_lon_from_world(centre), zoom))
}

/// The map centre nearest to `(lat_deg, lon_deg)` at which a view of `view_w` x `view_h`
/// points at `zoom` stays inside the world (the map neither wraps nor shows what lies beyond
/// its edges); a world smaller than the view along an axis is centred on it.
pub fn clamp_centre_to_world(
    (lat_deg, lon_deg): (f64, f64),
    (view_w, view_h): (f64, f64),
    zoom: f64,
) -> (f64, f64) {
    let world_px = f64::from(TILE_PX) * 2f64.powf(zoom);
    let clamp_axis = |v: f64, view_px: f64| {
        let half = view_px / world_px / 2.0;
        if half >= 0.5 {
            0.5
        } else {
            v.clamp(half, 1.0 - half)
        }
    };
    let p = world_from_lat_lon(lat_deg, lon_deg);
    let clamped = WorldPoint {
        x: clamp_axis(p.x, view_w),
        y: clamp_axis(p.y, view_h),
    };
    if clamped == p {
        (lat_deg, lon_deg)
    } else {
        lat_lon_from_world(clamped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `(lat, lon)` lands, in points from the view's centre.
    fn offset_px(view: ((f64, f64), f64), lat: f64, lon: f64) -> (f64, f64) {
        let ((clat, clon), zoom) = view;
        let (c, p) = (world_from_lat_lon(clat, clon), world_from_lat_lon(lat, lon));
        let scale = f64::from(TILE_PX) * 2f64.powf(zoom);
        ((p.x - c.x) * scale, (p.y - c.y) * scale)
    }

    #[test]
    fn a_fitted_view_shows_every_point_inside_its_padding() {
        let view = (900.0, 700.0);
        for points in [
            vec![(35.01, 135.77), (48.85, 2.35), (-33.87, 151.21)],
            vec![(47.6, -122.3), (47.7, -122.2)],
            // Across the antimeridian: Fiji and Samoa, framed across the world.
            vec![(-17.7, 178.0), (-13.8, -172.1)],
        ] {
            let fitted = fit_view(&points, view, 40.0, 12.0).expect("points");
            for &(lat, lon) in &points {
                let (dx, dy) = offset_px(fitted, lat, lon);
                assert!(dx.abs() <= 450.0 - 40.0 + 1e-6, "{points:?}: dx {dx}");
                assert!(dy.abs() <= 350.0 - 40.0 + 1e-6, "{points:?}: dy {dy}");
            }
            // Tight: half a level more and some point falls outside.
            let closer = (fitted.0, fitted.1 + 0.5);
            assert!(
                fitted.1 >= 12.0
                    || points.iter().any(|&(lat, lon)| {
                        let (dx, dy) = offset_px(closer, lat, lon);
                        dx.abs() > 410.0 || dy.abs() > 310.0
                    }),
                "{points:?} not tight at zoom {}",
                fitted.1
            );
        }
        let fiji_samoa =
            fit_view(&[(-17.7, 178.0), (-13.8, -172.1)], view, 40.0, 12.0).expect("points");
        assert!(
            fiji_samoa.0.1.abs() < 10.0,
            "a map that does not wrap centres between them: {fiji_samoa:?}"
        );
        // One point: as close as allowed.
        assert_eq!(
            fit_view(&[(10.0, 20.0)], view, 40.0, 6.0).expect("one").1,
            6.0
        );
        assert!(fit_view(&[], view, 40.0, 6.0).is_none());
    }

    #[test]
    fn a_clamped_centre_keeps_the_view_inside_the_world() {
        let view = (1000.0, 600.0);
        // Zoom 3: the world is 2048 points wide; the view may not pass its edges.
        let (lat, lon) = clamp_centre_to_world((0.0, 179.0), view, 3.0);
        let c = world_from_lat_lon(lat, lon);
        let half_w = 1000.0 / 2048.0 / 2.0;
        assert!((c.x - (1.0 - half_w)).abs() < 1e-9, "{lon}");
        assert!(lat.abs() < 1e-9);
        let (lat, _) = clamp_centre_to_world((84.0, 0.0), view, 3.0);
        let top = world_from_lat_lon(lat, 0.0).y - 600.0 / 2048.0 / 2.0;
        assert!(top.abs() < 1e-9, "no black above the Arctic: {lat}");
        // Inside: unchanged; a world smaller than the view: centred on it.
        assert_eq!(
            clamp_centre_to_world((35.0, 135.0), view, 6.0),
            (35.0, 135.0)
        );
        let (lat, lon) = clamp_centre_to_world((60.0, 100.0), view, 1.0);
        assert!(lat.abs() < 1e-9 && lon.abs() < 1e-9, "{lat} {lon}");
    }

    #[test]
    fn known_points_project_to_known_places() {
        let origin = world_from_lat_lon(0.0, 0.0);
        assert!((origin.x - 0.5).abs() < 1e-12 && (origin.y - 0.5).abs() < 1e-12);
        let top_left = world_from_lat_lon(MAX_MERCATOR_LAT_DEG, -180.0);
        assert!(top_left.x.abs() < 1e-12 && top_left.y.abs() < 1e-9);
        let clamped = world_from_lat_lon(90.0, 180.0);
        assert!((clamped.x - 1.0).abs() < 1e-12 && clamped.y.abs() < 1e-9);
        // London (51.5074 N, 0.1278 W) lies in tile x 15, y 10 at zoom 5.
        assert_eq!(
            tile_from_world(world_from_lat_lon(51.5074, -0.1278), 5),
            (15, 10)
        );
        // Sydney is tile (30, 19) at zoom 5.
        assert_eq!(
            tile_from_world(world_from_lat_lon(-33.8688, 151.2093), 5),
            (29, 19)
        );
    }

    #[test]
    fn projection_round_trips() {
        for lat_deg in [-85.0, -60.5, -10.0, 0.0, 33.3, 84.9] {
            for lon_deg in [-179.9, -45.0, 0.0, 120.0, 179.9] {
                let (lat2, lon2) = lat_lon_from_world(world_from_lat_lon(lat_deg, lon_deg));
                assert!((lat2 - lat_deg).abs() < 1e-9, "{lat_deg} -> {lat2}");
                assert!((lon2 - lon_deg).abs() < 1e-9, "{lon_deg} -> {lon2}");
            }
        }
    }

    #[test]
    fn tile_bounds_contain_their_points_and_ancestors_match() {
        let p = world_from_lat_lon(35.0116, 135.7681); // Kyoto
        for zoom in 0..=12u8 {
            let (x, y) = tile_from_world(p, zoom);
            let (lo, hi) = world_bounds_of_tile(x, y, zoom);
            assert!(lo.x <= p.x && p.x < hi.x && lo.y <= p.y && p.y < hi.y);
            // The ancestor at zoom 6 holds the point at the uv the helper says.
            let (ax, ay, uv_min, uv_max) = ancestor_tile(x, y, zoom, 6);
            let (alo, ahi) = world_bounds_of_tile(ax, ay, zoom.min(6));
            let u = ((p.x - alo.x) / (ahi.x - alo.x)) as f32;
            let v = ((p.y - alo.y) / (ahi.y - alo.y)) as f32;
            assert!(uv_min[0] <= u && u <= uv_max[0] && uv_min[1] <= v && v <= uv_max[1]);
        }
        assert_eq!(tile_from_world(WorldPoint { x: 1.0, y: 1.0 }, 3), (7, 7));
        assert_eq!(ancestor_tile(5, 9, 8, 6), (1, 2, [0.25, 0.25], [0.5, 0.5]));
    }
}
