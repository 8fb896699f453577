//! Human place names for cells, from GeoNames cities (via the `reverse_geocoder` crate, CC BY 4.0)
//! and ISO 3166 country names.

use reverse_geocoder::ReverseGeocoder;

use super::distance::haversine_km;

/// Short names for countries whose ISO 3166 names are long or formal.
const COMMON_COUNTRY_NAMES: &[(&str, &str)] = &[
    ("BO", "Bolivia"),
    ("BN", "Brunei"),
    ("CD", "DR Congo"),
    ("CZ", "Czechia"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("PS", "Palestine"),
    ("RU", "Russia"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VE", "Venezuela"),
    ("VN", "Vietnam"),
    ("VA", "Vatican City"),
];

/// Country name for an ISO 3166-1 alpha-2 code; the code itself when unknown.
pub fn country_name(cc: &str) -> String {
    if let Some((_, name)) = COMMON_COUNTRY_NAMES.iter().find(|(code, _)| *code == cc) {
        return (*name).to_string();
    }
    isocountry::CountryCode::for_alpha2(cc)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|_| cc.to_string())
}

/// Names places by their nearest GeoNames city, with detail matched to the cell's size.
pub struct PlaceNamer {
    geocoder: ReverseGeocoder,
}

impl Default for PlaceNamer {
    fn default() -> Self {
        Self::new()
    }
}

impl PlaceNamer {
    /// Loads the 144k GeoNames places (about half a second).
    pub fn new() -> Self {
        Self {
            geocoder: ReverseGeocoder::new(),
        }
    }

    /// The country code (ISO 3166 alpha-2) of the GeoNames place nearest to a point: the
    /// country a guess falls in, except within a few km of a border.
    pub fn country_code(&self, lat_deg: f64, lon_deg: f64) -> &str {
        &self.geocoder.search((lat_deg, lon_deg)).record.cc
    }

    /// "City, Region, Country" for a small cell (level 9 and finer, about 20 km or less);
    /// "Region, Country" for a middle one; "Country" for a large one; "near Country" when
    /// the nearest known place is far away (open sea, ice).
    pub fn name(&self, lat_deg: f64, lon_deg: f64, cell_level: u64) -> String {
        let found = self.geocoder.search((lat_deg, lon_deg)).record;
        let dist_km = haversine_km(lat_deg, lon_deg, found.lat, found.lon);
        let country = country_name(&found.cc);
        if dist_km > 300.0 {
            return format!("near {country}");
        }
        let region = found.admin1.trim();
        let parts: Vec<&str> = if cell_level >= 9 && dist_km < 50.0 {
            vec![found.name.trim(), region, &country]
        } else if cell_level >= 5 {
            vec![region, &country]
        } else {
            vec![&country]
        };
        let mut out: Vec<&str> = Vec::new();
        for p in parts {
            if !p.is_empty() && out.last() != Some(&p) {
                out.push(p);
            }
        }
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_read_naturally() {
        assert_eq!(country_name("JP"), "Japan");
        assert_eq!(country_name("US"), "United States");
        assert_eq!(country_name("GB"), "United Kingdom");
        assert_eq!(country_name("FR"), "France");
        assert_eq!(country_name("XX"), "XX");
    }

    #[test]
    fn names_match_cell_size() {
        let namer = PlaceNamer::new();
        let kyoto = namer.name(35.0116, 135.7681, 12);
        assert!(
            kyoto.starts_with("Kyoto") && kyoto.ends_with("Japan"),
            "{kyoto}"
        );
        assert_eq!(namer.name(35.0116, 135.7681, 3), "Japan");
        let region = namer.name(48.8566, 2.3522, 6);
        assert!(
            region.ends_with("France") && region.matches(", ").count() == 1,
            "{region}"
        );
        assert!(
            namer.name(-40.0, -120.0, 4).starts_with("near "),
            "mid-Pacific"
        );
    }
}
