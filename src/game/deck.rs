//! Decks: photos with known positions. A deck is a folder with the photos and a `deck.csv`
//! (`file,lat,lon,title,credit,licence`): adding a photo is adding a file and a line. Any
//! folder of the user's own photos with EXIF GPS is a deck too.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::GameError;
use crate::geo::partition::LatLonDeg;
use crate::photo::exif::read_facts;

/// One photo to play.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub photo: PathBuf,
    pub truth: LatLonDeg,
    pub title: String,
    pub credit: String,
    pub licence: String,
}

#[derive(Debug, Clone)]
pub struct Deck {
    pub name: String,
    pub cards: Vec<Card>,
}

/// The file listing a deck's photos.
pub const DECK_FILE: &str = "deck.csv";

#[derive(Deserialize)]
struct DeckRow {
    file: String,
    lat: f64,
    lon: f64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    licence: String,
}

/// The demo deck shipped with the app (embedded in the binary, see [`crate::shipped`]).
pub fn bundled_deck_dir() -> PathBuf {
    crate::shipped::dir(&crate::shipped::DEMO_DECK)
}

impl Deck {
    /// Reads `dir/deck.csv`; every listed photo must exist.
    pub fn load(dir: &Path) -> Result<Self, GameError> {
        let path = dir.join(DECK_FILE);
        let bad = |message: String| GameError::Deck {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut cards = Vec::new();
        for (i, row) in reader.deserialize::<DeckRow>().enumerate() {
            let line = i + 2;
            let row = row.map_err(|e| bad(format!("line {line}: {e}")))?;
            if !(-90.0..=90.0).contains(&row.lat) || !(-180.0..=180.0).contains(&row.lon) {
                return Err(bad(format!(
                    "line {line}: position {}, {} is off the globe",
                    row.lat, row.lon
                )));
            }
            let photo = dir.join(&row.file);
            if !photo.is_file() {
                return Err(bad(format!("line {line}: {} is missing", photo.display())));
            }
            cards.push(Card {
                photo,
                truth: LatLonDeg {
                    lat_deg: row.lat,
                    lon_deg: row.lon,
                },
                title: if row.title.is_empty() {
                    row.file
                } else {
                    row.title
                },
                credit: row.credit,
                licence: row.licence,
            });
        }
        if cards.is_empty() {
            return Err(GameError::EmptyDeck(format!(" in {}", path.display())));
        }
        Ok(Self {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "deck".into()),
            cards,
        })
    }

    /// The user's own photos that carry EXIF GPS ("play your own library"); others are
    /// skipped. Returns the deck and how many photos were skipped.
    pub fn from_photos(name: &str, photos: &[PathBuf]) -> Result<(Self, usize), GameError> {
        let cards: Vec<Card> = photos
            .iter()
            .filter_map(|p| {
                let gps = read_facts(p).gps?;
                Some(Card {
                    photo: p.clone(),
                    truth: gps,
                    title: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    credit: "your photo".into(),
                    licence: String::new(),
                })
            })
            .collect();
        let skipped = photos.len() - cards.len();
        if cards.is_empty() {
            return Err(GameError::EmptyDeck(format!(
                " among {} photo(s): none has EXIF GPS",
                photos.len()
            )));
        }
        Ok((
            Self {
                name: name.into(),
                cards,
            },
            skipped,
        ))
    }

    /// Up to `n` cards in an order drawn from `seed` (a Fisher-Yates shuffle).
    pub fn draw(&self, n: usize, seed: u64) -> Vec<Card> {
        let mut cards = self.cards.clone();
        let mut state = seed | 1;
        for i in (1..cards.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            cards.swap(i, (state % (i as u64 + 1)) as usize);
        }
        spread_out(cards, n.max(1))
    }
}

/// Rounds taken far enough apart to be different places: how close two drawn photos may be.
pub const MIN_ROUND_SPACING_KM: f64 = 25.0;

/// The first `n` of the shuffled `cards`, skipping any within [`MIN_ROUND_SPACING_KM`] of one
/// already drawn (a library's photos come in bursts a few metres apart); the skipped ones fill
/// in only when there are not enough far-apart photos.
fn spread_out(cards: Vec<Card>, n: usize) -> Vec<Card> {
    let (mut drawn, mut close): (Vec<Card>, Vec<Card>) = (Vec::new(), Vec::new());
    for card in cards {
        let near = drawn.iter().any(|d: &Card| {
            crate::geo::distance::haversine_km(
                d.truth.lat_deg,
                d.truth.lon_deg,
                card.truth.lat_deg,
                card.truth.lon_deg,
            ) < MIN_ROUND_SPACING_KM
        });
        if near {
            close.push(card);
        } else if drawn.len() < n {
            drawn.push(card);
        }
    }
    let missing = n.saturating_sub(drawn.len());
    drawn.extend(close.into_iter().take(missing));
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_keep_rounds_apart_when_the_deck_allows() {
        // A burst of 10 photos in one street, and 3 other cities.
        let card = |lat_deg: f64, lon_deg: f64| Card {
            photo: PathBuf::from("p.jpg"),
            truth: LatLonDeg { lat_deg, lon_deg },
            title: String::new(),
            credit: String::new(),
            licence: String::new(),
        };
        let mut cards: Vec<Card> = (0..10)
            .map(|i| card(48.85 + i as f64 * 1e-4, 2.35))
            .collect();
        cards.extend([card(35.0, 135.7), card(-33.9, 151.2), card(40.7, -74.0)]);
        let deck = Deck {
            name: "burst".into(),
            cards,
        };
        for seed in 1..20 {
            let drawn = deck.draw(4, seed);
            assert_eq!(drawn.len(), 4);
            let in_paris = drawn
                .iter()
                .filter(|c| (c.truth.lat_deg - 48.85).abs() < 0.01)
                .count();
            assert_eq!(in_paris, 1, "one of the burst, three cities (seed {seed})");
        }
        // More rounds than far-apart photos: the close ones fill in.
        assert_eq!(deck.draw(6, 3).len(), 6);
    }

    #[test]
    fn the_bundled_deck_loads_with_real_photos_and_positions() {
        let deck = Deck::load(&bundled_deck_dir()).expect("bundled deck");
        assert!(deck.cards.len() >= 2);
        for card in &deck.cards {
            assert!(
                !card.credit.is_empty() && !card.licence.is_empty(),
                "{card:?}"
            );
            crate::photo::decode::decode_photo(&card.photo).expect("decodes");
        }
    }

    #[test]
    fn bad_decks_name_their_line_and_draws_are_shuffled_subsets() {
        let dir = std::env::temp_dir().join(format!("geolens-deck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(DECK_FILE), "file,lat,lon\nnope.jpg,10,10\n").expect("write");
        let err = Deck::load(&dir).expect_err("missing photo").to_string();
        assert!(err.contains("line 2") && err.contains("nope.jpg"), "{err}");
        std::fs::write(dir.join("a.jpg"), b"x").expect("write");
        std::fs::write(dir.join(DECK_FILE), "file,lat,lon\na.jpg,100,10\n").expect("write");
        assert!(
            Deck::load(&dir)
                .expect_err("lat 100")
                .to_string()
                .contains("off the globe")
        );
        std::fs::write(
            dir.join(DECK_FILE),
            "file,lat,lon,title\na.jpg,1,2,\nb.jpg,3,4,B\n",
        )
        .expect("write");
        std::fs::write(dir.join("b.jpg"), b"x").expect("write");
        let deck = Deck::load(&dir).expect("loads");
        assert_eq!(deck.cards[0].title, "a.jpg");
        assert_eq!(
            deck.cards[1].truth,
            LatLonDeg {
                lat_deg: 3.0,
                lon_deg: 4.0
            }
        );
        let drawn = deck.draw(5, 42);
        assert_eq!(drawn.len(), 2);
        assert_eq!(deck.draw(5, 42), drawn, "same seed, same order");
        assert_eq!(deck.draw(1, 7).len(), 1);
        // Own photos without GPS are skipped; none at all is an error.
        let err = Deck::from_photos("mine", &[dir.join("a.jpg")]).expect_err("no gps");
        assert!(err.to_string().contains("EXIF GPS"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
