//! Great-circle distance as the geolocation literature measures it: haversine on a sphere of
//! radius 6371 km.

pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Distance thresholds of the geolocation literature (im2gps onwards): street, city, region,
/// country, continent.
pub const ACCURACY_THRESHOLDS_KM: [f64; 5] = [1.0, 25.0, 200.0, 750.0, 2500.0];

/// GeoGuessr's score for a guess `dist_km` away: 5000 points at 0 km, decaying with a scale of
/// 1492.7 km (as used in the PlaNet and GeoCLIP comparisons).
pub fn geoguessr_points(dist_km: f64) -> f64 {
    5000.0 * (-dist_km.max(0.0) / 1492.7).exp()
}

/// Haversine distance in km between two (lat, lon) points given in degrees.
pub fn haversine_km(lat1_deg: f64, lon1_deg: f64, lat2_deg: f64, lon2_deg: f64) -> f64 {
    let (phi1, phi2) = (lat1_deg.to_radians(), lat2_deg.to_radians());
    let d_phi = phi2 - phi1;
    let d_lambda = (lon2_deg - lon1_deg).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Points along the great circle from `a` to `b` (degrees), `segments + 1` of them, ends
/// included: spherical linear interpolation of the unit vectors. Antipodal ends have no unique
/// great circle; one through the north pole is taken.
pub fn great_circle_path(a: (f64, f64), b: (f64, f64), segments: usize) -> Vec<(f64, f64)> {
    let to_xyz = |(lat, lon): (f64, f64)| {
        let (lat, lon) = (lat.to_radians(), lon.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    };
    let (p, q) = (to_xyz(a), to_xyz(b));
    let dot = (p[0] * q[0] + p[1] * q[1] + p[2] * q[2]).clamp(-1.0, 1.0);
    let omega = dot.acos();
    // The unit vector 90 degrees from p along the path: towards q, or for antipodes towards
    // the north pole (the x axis when p is a pole).
    let towards = |r: [f64; 3]| {
        let d = p[0] * r[0] + p[1] * r[1] + p[2] * r[2];
        let m = [r[0] - d * p[0], r[1] - d * p[1], r[2] - d * p[2]];
        let n = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
        (n > 1e-9).then(|| [m[0] / n, m[1] / n, m[2] / n])
    };
    let m = towards(q)
        .or_else(|| towards([0.0, 0.0, 1.0]))
        .or_else(|| towards([1.0, 0.0, 0.0]))
        .unwrap_or([0.0, 0.0, 1.0]);
    let segments = segments.max(1);
    (0..=segments)
        .map(|i| {
            let angle = omega * i as f64 / segments as f64;
            let (c, s) = (angle.cos(), angle.sin());
            let v = [
                c * p[0] + s * m[0],
                c * p[1] + s * m[1],
                c * p[2] + s * m[2],
            ];
            (
                v[2].clamp(-1.0, 1.0).asin().to_degrees(),
                v[1].atan2(v[0]).to_degrees(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn great_circle_paths_stay_on_the_shortest_route() {
        // London -> Tokyo passes far north (over Siberia), as a great circle should.
        let (london, tokyo) = ((51.5074, -0.1278), (35.6762, 139.6503));
        let path = great_circle_path(london, tokyo, 64);
        assert_eq!(path.len(), 65);
        assert!((path[0].0 - london.0).abs() < 1e-9 && (path[64].1 - tokyo.1).abs() < 1e-9);
        let max_lat = path.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        assert!(max_lat > 65.0, "{max_lat}");
        // Steps are equal and add up to the haversine distance.
        let steps: Vec<f64> = path
            .windows(2)
            .map(|w| haversine_km(w[0].0, w[0].1, w[1].0, w[1].1))
            .collect();
        let total: f64 = steps.iter().sum();
        let direct = haversine_km(london.0, london.1, tokyo.0, tokyo.1);
        assert!(
            (total - direct).abs() < 1e-6 * direct,
            "{total} vs {direct}"
        );
        assert!(
            steps
                .iter()
                .all(|s| (s - direct / 64.0).abs() < 1e-6 * direct)
        );
        // Across the antimeridian: Fiji -> Samoa stays in the Pacific.
        let pacific = great_circle_path((-17.7, 178.0), (-13.8, -172.0), 8);
        assert!(pacific.iter().all(|p| p.1.abs() > 170.0), "{pacific:?}");
        assert_eq!(great_circle_path((10.0, 20.0), (10.0, 20.0), 4).len(), 5);
        // Antipodes: a half circle through the north pole.
        let half = great_circle_path((0.0, 0.0), (0.0, 180.0), 2);
        assert!(
            (half[1].0 - 90.0).abs() < 1e-9 && (half[2].0).abs() < 1e-9,
            "{half:?}"
        );
    }

    #[test]
    fn geoguessr_points_decay_from_5000() {
        assert_eq!(geoguessr_points(0.0), 5000.0);
        assert!((geoguessr_points(1492.7) - 5000.0 / std::f64::consts::E).abs() < 1e-9);
        assert!((geoguessr_points(100.0) - 4676.0).abs() < 1.0);
        assert!(geoguessr_points(20_000.0) < 1.0);
    }

    #[test]
    fn known_city_pairs() {
        // Reference distances from an independent spherical-law-of-cosines computation.
        let cases = [
            ((51.5074, -0.1278), (48.8566, 2.3522), 343.6), // London - Paris
            ((40.7128, -74.0060), (35.6762, 139.6503), 10_851.7), // New York - Tokyo
            ((-33.8688, 151.2093), (-36.8485, 174.7633), 2_155.9), // Sydney - Auckland
        ];
        for ((a_lat, a_lon), (b_lat, b_lon), expected_km) in cases {
            let d = haversine_km(a_lat, a_lon, b_lat, b_lon);
            assert!(
                (d - expected_km).abs() / expected_km < 0.005,
                "{d} vs {expected_km}"
            );
            assert!((d - haversine_km(b_lat, b_lon, a_lat, a_lon)).abs() < 1e-9);
        }
        assert_eq!(haversine_km(10.0, 20.0, 10.0, 20.0), 0.0);
        let antipode = haversine_km(0.0, 0.0, 0.0, 180.0);
        assert!((antipode - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
    }
}
