//! Finished games, kept in a local file (one JSON object per line, appended), and the running
//! statistics of the PlaNet study: rounds won by each side and the median error of each.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Game, GameError, Winner};
use crate::eval::median;

/// One round as remembered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub title: String,
    pub player_km: Option<f64>,
    pub model_km: Option<f64>,
    pub player_points: f64,
    pub model_points: f64,
    pub winner: Option<Winner>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameRecord {
    /// Seconds since 1970 when the game ended.
    pub finished_at_s: u64,
    pub deck: String,
    pub rounds: Vec<RoundRecord>,
}

impl GameRecord {
    pub fn from_game(game: &Game, deck: &str, finished_at_s: u64) -> Self {
        Self {
            finished_at_s,
            deck: deck.into(),
            rounds: game
                .results()
                .iter()
                .map(|r| RoundRecord {
                    title: r.card.title.clone(),
                    player_km: r.player.map(|g| g.dist_km),
                    model_km: r.model.map(|g| g.dist_km),
                    player_points: r.player.map_or(0.0, |g| g.points),
                    model_points: r.model.map_or(0.0, |g| g.points),
                    winner: r.winner(),
                })
                .collect(),
        }
    }
}

/// Where the history lives by default: `<user data>/game-history.jsonl`.
pub fn default_history_path() -> Option<PathBuf> {
    crate::paths::user_data_dir().map(|d| d.join("game-history.jsonl"))
}

/// Appends one game to the history file (creating it and its folder).
pub fn append(path: &Path, record: &GameRecord) -> Result<(), GameError> {
    let err = |e: std::io::Error| GameError::History {
        action: "write",
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut line = serde_json::to_string(record).map_err(|e| err(std::io::Error::other(e)))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(line.as_bytes()).map_err(err)
}

/// Reads every game in the history; a missing file is an empty history, and damaged lines
/// (a write cut short) are skipped, not fatal.
pub fn load(path: &Path) -> Result<Vec<GameRecord>, GameError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(GameError::History {
            action: "read",
            path: path.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// Running statistics over all games.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryStats {
    pub games: usize,
    pub rounds: usize,
    pub player_wins: usize,
    pub model_wins: usize,
    pub ties: usize,
    pub median_player_km: Option<f64>,
    pub median_model_km: Option<f64>,
}

pub fn stats(games: &[GameRecord]) -> HistoryStats {
    let rounds: Vec<&RoundRecord> = games.iter().flat_map(|g| &g.rounds).collect();
    let count = |w: Winner| rounds.iter().filter(|r| r.winner == Some(w)).count();
    HistoryStats {
        games: games.len(),
        rounds: rounds.len(),
        player_wins: count(Winner::Player),
        model_wins: count(Winner::Model),
        ties: count(Winner::Tie),
        median_player_km: median(
            &rounds
                .iter()
                .filter_map(|r| r.player_km)
                .collect::<Vec<_>>(),
        ),
        median_model_km: median(&rounds.iter().filter_map(|r| r.model_km).collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(player_km: Option<f64>, model_km: Option<f64>, winner: Option<Winner>) -> RoundRecord {
        RoundRecord {
            title: "x".into(),
            player_km,
            model_km,
            player_points: 0.0,
            model_points: 0.0,
            winner,
        }
    }

    #[test]
    fn history_round_trips_skips_damage_and_counts_like_planet() {
        let path = std::env::temp_dir()
            .join(format!("geolens-history-{}", std::process::id()))
            .join("h.jsonl");
        let _ = std::fs::remove_file(&path);
        assert!(load(&path).expect("missing is empty").is_empty());
        let a = GameRecord {
            finished_at_s: 1,
            deck: "demo".into(),
            rounds: vec![
                round(Some(100.0), Some(50.0), Some(Winner::Model)),
                round(Some(10.0), Some(500.0), Some(Winner::Player)),
            ],
        };
        let b = GameRecord {
            finished_at_s: 2,
            deck: "demo".into(),
            rounds: vec![
                round(Some(1000.0), None, None),
                round(None, Some(5.0), Some(Winner::Model)),
            ],
        };
        append(&path, &a).expect("write");
        // A write cut short by a crash leaves half a line: skipped on load.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"finished_at_s\": 3, \"de\n"))
            .expect("damage");
        append(&path, &b).expect("write");
        let games = load(&path).expect("reads");
        assert_eq!(games, vec![a, b]);
        let s = stats(&games);
        assert_eq!((s.games, s.rounds), (2, 4));
        assert_eq!((s.player_wins, s.model_wins, s.ties), (1, 2, 0));
        assert_eq!(s.median_player_km, Some(100.0));
        assert_eq!(s.median_model_km, Some(50.0));
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
