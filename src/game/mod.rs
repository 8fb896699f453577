//! Human against model, after PlaNet's GeoGuessr study: a deck of photos with known positions,
//! rounds in which the player and the model each guess, GeoGuessr points, and a history of
//! games with running statistics. No GUI here: the app draws it, tests drive it directly.

pub mod deck;
pub mod history;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::geo::distance::{geoguessr_points, haversine_km};
use crate::geo::partition::LatLonDeg;
use deck::Card;

#[derive(Debug, Error)]
pub enum GameError {
    #[error("{}: {message}", path.display())]
    Deck {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("no photos with a GPS position to play with{0}")]
    EmptyDeck(String),
    #[error("could not {action} the game history at {}: {message}", path.display())]
    History {
        action: &'static str,
        path: std::path::PathBuf,
        message: String,
    },
}

/// One guess and how far off it was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredGuess {
    pub at: LatLonDeg,
    pub dist_km: f64,
    pub points: f64,
}

impl ScoredGuess {
    pub fn new(at: LatLonDeg, truth: LatLonDeg) -> Self {
        let dist_km = haversine_km(truth.lat_deg, truth.lon_deg, at.lat_deg, at.lon_deg);
        Self {
            at,
            dist_km,
            points: geoguessr_points(dist_km),
        }
    }
}

/// Who was closer in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Winner {
    Player,
    Model,
    Tie,
}

/// A finished round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundResult {
    pub card: Card,
    /// `None` when the timer ran out before the player guessed.
    pub player: Option<ScoredGuess>,
    /// `None` when there was no model to ask.
    pub model: Option<ScoredGuess>,
}

impl RoundResult {
    /// The round's winner; a side that did not guess loses to one that did.
    pub fn winner(&self) -> Option<Winner> {
        match (&self.player, &self.model) {
            (Some(p), Some(m)) if (p.dist_km - m.dist_km).abs() < 1e-9 => Some(Winner::Tie),
            (Some(p), Some(m)) if p.dist_km < m.dist_km => Some(Winner::Player),
            (Some(_), Some(_)) => Some(Winner::Model),
            (None, Some(_)) => Some(Winner::Model),
            (Some(_), None) | (None, None) => None,
        }
    }
}

/// Where a round stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The player is placing (and may move) a guess.
    Guessing {
        guess: Option<LatLonDeg>,
        elapsed: Duration,
    },
    /// Both guesses are shown with the truth.
    Revealed,
    /// All rounds played.
    Over,
}

/// A game in progress.
#[derive(Debug, Clone)]
pub struct Game {
    cards: Vec<Card>,
    round: usize,
    phase: Phase,
    results: Vec<RoundResult>,
    /// The model's guess for the current card, once computed (hidden until the reveal).
    model_guess: Option<LatLonDeg>,
    /// Seconds per round; `None` for no timer.
    pub time_limit: Option<Duration>,
    pub with_model: bool,
}

impl Game {
    /// A game over the given cards, in this order (shuffle them first for variety).
    pub fn new(cards: Vec<Card>, time_limit: Option<Duration>, with_model: bool) -> Self {
        Self {
            cards,
            round: 0,
            phase: Phase::Guessing {
                guess: None,
                elapsed: Duration::ZERO,
            },
            results: Vec::new(),
            model_guess: None,
            time_limit,
            with_model,
        }
    }

    pub fn rounds(&self) -> usize {
        self.cards.len()
    }

    /// The round being played (0-based).
    pub fn round(&self) -> usize {
        self.round
    }

    pub fn card(&self) -> Option<&Card> {
        self.cards.get(self.round)
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn results(&self) -> &[RoundResult] {
        &self.results
    }

    /// The current round's result, once revealed.
    pub fn revealed(&self) -> Option<&RoundResult> {
        (self.phase == Phase::Revealed)
            .then(|| self.results.last())
            .flatten()
    }

    /// Places or moves the player's guess (ignored once confirmed).
    pub fn place_guess(&mut self, at: LatLonDeg) {
        if let Phase::Guessing { guess, .. } = &mut self.phase {
            *guess = Some(at);
        }
    }

    /// The model's answer for the current card, kept hidden until the reveal.
    pub fn set_model_guess(&mut self, at: LatLonDeg) {
        if matches!(self.phase, Phase::Guessing { .. }) {
            self.model_guess = Some(at);
        }
    }

    pub fn model_guess_ready(&self) -> bool {
        self.model_guess.is_some()
    }

    /// Counts time against the timer; when it runs out the round is confirmed as it stands.
    pub fn tick(&mut self, dt: Duration) {
        if let Phase::Guessing { elapsed, .. } = &mut self.phase {
            *elapsed += dt;
            if self.time_limit.is_some_and(|limit| *elapsed >= limit) {
                self.reveal();
            }
        }
    }

    /// Seconds left on the timer.
    pub fn time_left(&self) -> Option<Duration> {
        match (&self.phase, self.time_limit) {
            (Phase::Guessing { elapsed, .. }, Some(limit)) => Some(limit.saturating_sub(*elapsed)),
            _ => None,
        }
    }

    /// Commits the player's guess and reveals the round. Needs a guess (use the timer to give
    /// up); waits for the model's guess when a model plays.
    pub fn confirm(&mut self) -> bool {
        match &self.phase {
            Phase::Guessing { guess: Some(_), .. }
                if !self.with_model || self.model_guess.is_some() =>
            {
                self.reveal();
                true
            }
            _ => false,
        }
    }

    fn reveal(&mut self) {
        let Phase::Guessing { guess, .. } = &self.phase else {
            return;
        };
        let Some(card) = self.cards.get(self.round).cloned() else {
            return;
        };
        let truth = card.truth;
        self.results.push(RoundResult {
            player: guess.map(|g| ScoredGuess::new(g, truth)),
            model: self.model_guess.map(|g| ScoredGuess::new(g, truth)),
            card,
        });
        self.phase = Phase::Revealed;
    }

    /// Moves on after a reveal; returns false when the game is over.
    pub fn next_round(&mut self) -> bool {
        if self.phase != Phase::Revealed {
            return self.phase != Phase::Over;
        }
        self.round += 1;
        self.model_guess = None;
        if self.round >= self.cards.len() {
            self.phase = Phase::Over;
            return false;
        }
        self.phase = Phase::Guessing {
            guess: None,
            elapsed: Duration::ZERO,
        };
        true
    }

    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// Total points so far: (player, model).
    pub fn totals(&self) -> (f64, f64) {
        self.results.iter().fold((0.0, 0.0), |(p, m), r| {
            (
                p + r.player.map_or(0.0, |g| g.points),
                m + r.model.map_or(0.0, |g| g.points),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str, lat: f64, lon: f64) -> Card {
        Card {
            photo: std::path::PathBuf::from(name),
            truth: LatLonDeg {
                lat_deg: lat,
                lon_deg: lon,
            },
            title: name.into(),
            credit: String::new(),
            licence: String::new(),
        }
    }

    fn at(lat: f64, lon: f64) -> LatLonDeg {
        LatLonDeg {
            lat_deg: lat,
            lon_deg: lon,
        }
    }

    #[test]
    fn a_game_scores_rounds_with_geoguessr_points_and_picks_winners() {
        // Paris, then Sydney.
        let mut game = Game::new(
            vec![
                card("paris", 48.8566, 2.3522),
                card("sydney", -33.8688, 151.2093),
            ],
            None,
            true,
        );
        assert!(!game.confirm(), "no guess yet");
        game.place_guess(at(0.0, 0.0));
        game.place_guess(at(51.5074, -0.1278)); // moved to London
        assert!(!game.confirm(), "the model has not answered yet");
        game.set_model_guess(at(48.8566, 2.3522)); // the model nails it
        assert!(game.confirm());
        let round = game.revealed().expect("revealed").clone();
        let player = round.player.expect("guessed");
        assert!((player.dist_km - 343.6).abs() < 2.0, "{}", player.dist_km);
        assert!((player.points - 5000.0 * (-player.dist_km / 1492.7).exp()).abs() < 1e-9);
        assert_eq!(round.model.expect("model").points, 5000.0);
        assert_eq!(round.winner(), Some(Winner::Model));
        game.place_guess(at(10.0, 10.0));
        assert_eq!(
            game.results()[0].player.map(|p| p.at),
            Some(at(51.5074, -0.1278))
        );

        assert!(game.next_round());
        game.place_guess(at(-33.87, 151.21));
        game.set_model_guess(at(-37.8136, 144.9631)); // Melbourne
        assert!(game.confirm());
        assert_eq!(
            game.revealed().and_then(RoundResult::winner),
            Some(Winner::Player)
        );
        assert!(!game.next_round());
        assert!(game.is_over());
        let (p, m) = game.totals();
        let expected_p: f64 = game
            .results()
            .iter()
            .map(|r| r.player.map_or(0.0, |g| g.points))
            .sum();
        assert_eq!(p, expected_p);
        assert!(m > 5000.0 && m < 10_000.0);
    }

    #[test]
    fn the_timer_confirms_what_is_there_and_a_human_only_game_needs_no_model() {
        let mut game = Game::new(
            vec![card("a", 10.0, 10.0)],
            Some(Duration::from_secs(30)),
            false,
        );
        game.tick(Duration::from_secs(10));
        assert_eq!(game.time_left(), Some(Duration::from_secs(20)));
        game.tick(Duration::from_secs(25));
        let round = game.revealed().expect("timed out").clone();
        assert!(round.player.is_none() && round.model.is_none());
        assert_eq!(round.winner(), None);

        let mut solo = Game::new(vec![card("b", 0.0, 0.0)], None, false);
        solo.place_guess(at(0.0, 1.0));
        assert!(solo.confirm(), "human-only rounds reveal without a model");
        assert!(solo.revealed().is_some_and(|r| r.model.is_none()));
    }
}
