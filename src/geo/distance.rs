//! Great-circle distance as the geolocation literature measures it: haversine on a sphere of
//! radius 6371 km.

pub const EARTH_RADIUS_KM: f64 = 6371.0;

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
