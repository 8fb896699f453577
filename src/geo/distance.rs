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

#[cfg(test)]
mod tests {
    use super::*;

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
