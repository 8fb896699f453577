//! The guessing game's screen: the game itself lives in [`crate::game`]; this holds what the
//! GUI needs around it (photos, the model's hidden guesses, history) and draws it.

mod folder_deck;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Color32, RichText, Ui};
use image::RgbImage;

use crate::app::worker::{Event, ModelState, PhotoId, PhotoSource, Request, Worker};
use crate::game::deck::{Card, Deck, bundled_deck_dir};
use crate::game::history::{self, GameRecord, HistoryStats};
use crate::game::{Game, Phase, Winner};
use crate::geo::partition::LatLonDeg;
use crate::map::markers::{GreatCircle, Pin};
use crate::predict::Prediction;

use super::answers::{Answer, AnswerCache, PhotoKey};
use super::state::AppState;

/// Game photos get ids from here up, apart from the explorer's.
const FIRST_GAME_ID: PhotoId = 1 << 40;

const TRUTH: Color32 = Color32::from_rgb(40, 170, 80);
const PLAYER: Color32 = Color32::from_rgb(50, 120, 230);
const MODEL: Color32 = Color32::from_rgb(230, 60, 60);

/// Which photos to play.
#[derive(Debug, Clone, PartialEq)]
pub enum DeckChoice {
    Demo,
    /// The user's photos with EXIF GPS.
    Own(Vec<PathBuf>),
    /// A deck folder (`deck.csv`), such as a fetched OSV-5M sample.
    Folder(PathBuf),
    /// The scanned folder of the player's own photos.
    Library(PathBuf),
}

/// The decks `geolens datasets fetch` left in `datasets_dir`: (name, folder), by name.
pub fn fetched_decks(datasets_dir: &std::path::Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(datasets_dir) else {
        return Vec::new();
    };
    let mut decks: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter_map(|dir| {
            let text = std::fs::read_to_string(dir.join(crate::game::deck::DECK_FILE)).ok()?;
            let photos = text
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .count();
            let name = match dir.file_name()?.to_str()? {
                n if n.starts_with("osv5m") => format!("World streets (OSV-5M), {photos} photos"),
                n => format!("{n}, {photos} photos"),
            };
            (photos > 0).then_some((name, dir))
        })
        .collect();
    decks.sort();
    decks
}

struct CardPhoto {
    /// The photo file as it was when the game started (`None`: unreadable).
    key: Option<PhotoKey>,
    preview: Option<Arc<RgbImage>>,
    texture: Option<egui::TextureHandle>,
    prediction: Option<Prediction>,
    error: Option<String>,
}

pub struct GameView {
    game: Option<Game>,
    deck_name: String,
    /// Photo id of each card of the current game, in order.
    ids: Vec<PhotoId>,
    photos: HashMap<PhotoId, CardPhoto>,
    next_id: PhotoId,
    pub deck: DeckChoice,
    /// Why the last start failed, or a note about the deck.
    pub(super) message: Option<String>,
    history_path: Option<PathBuf>,
    stats: HistoryStats,
    saved: bool,
    last_tick: Option<Instant>,
    model_ready: bool,
    /// Set when the player asked to choose their own photos: the app opens its file dialog.
    pub wants_open_dialog: bool,
    /// Fetched decks offered in the deck menu (name, folder).
    fetched_decks: Vec<(String, PathBuf)>,
    /// Set when the player asked for a folder of their photos: the app opens its dialog.
    pub wants_folder_dialog: bool,
    /// A folder of the player's photos being scanned, and the last one scanned.
    pub(super) scanning: Option<folder_deck::LibraryScan>,
    pub(super) library: Option<(PathBuf, Deck)>,
    /// Answers for photos played before, reused by later games.
    answers: AnswerCache,
    /// How many photos the last start sent to the model (the others were known).
    photos_requested: usize,
}

impl GameView {
    pub fn history_path(&self) -> Option<&std::path::Path> {
        self.history_path.as_deref()
    }

    /// `history_path`: where games are kept (`None`: nowhere, as with `--ephemeral`);
    /// `datasets_dir`: where fetched decks are looked for.
    pub fn new(history_path: Option<PathBuf>, datasets_dir: Option<&std::path::Path>) -> Self {
        let stats = history_path
            .as_deref()
            .and_then(|p| history::load(p).ok())
            .map(|games| history::stats(&games))
            .unwrap_or_default();
        Self {
            game: None,
            deck_name: String::new(),
            ids: Vec::new(),
            photos: HashMap::new(),
            next_id: FIRST_GAME_ID,
            deck: DeckChoice::Demo,
            message: None,
            history_path,
            stats,
            saved: false,
            last_tick: None,
            model_ready: false,
            wants_open_dialog: false,
            fetched_decks: datasets_dir.map(fetched_decks).unwrap_or_default(),
            wants_folder_dialog: false,
            scanning: None,
            library: None,
            answers: AnswerCache::default(),
            photos_requested: 0,
        }
    }

    pub fn game(&self) -> Option<&Game> {
        self.game.as_ref()
    }

    pub fn stats(&self) -> &HistoryStats {
        &self.stats
    }

    /// Whether an event is about one of the game's photos.
    pub fn handles(&self, event: &Event) -> bool {
        let id = match event {
            Event::Decoded { id, .. }
            | Event::Running { id }
            | Event::Predicted { id, .. }
            | Event::Failed { id, .. }
            | Event::OcclusionProgress { id, .. }
            | Event::Occlusion { id, .. } => *id,
            _ => return false,
        };
        id >= FIRST_GAME_ID
    }

    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Decoded { id, preview, .. } => {
                if let Some(p) = self.photos.get_mut(id) {
                    p.preview = Some(preview.clone());
                }
                self.remember(*id);
            }
            Event::Predicted { id, prediction, .. } => {
                if let Some(p) = self.photos.get_mut(id) {
                    p.prediction = Some((**prediction).clone());
                }
                self.remember(*id);
                self.pass_model_guess();
            }
            Event::Failed { id, error } => {
                if let Some(p) = self.photos.get_mut(id) {
                    p.error = Some(error.to_string());
                }
            }
            _ => {}
        }
    }

    /// Keeps a card's preview and answer for later games, once it has both.
    fn remember(&mut self, id: PhotoId) {
        let Some(p) = self.photos.get(&id) else {
            return;
        };
        if let (Some(key), Some(preview), Some(prediction)) = (&p.key, &p.preview, &p.prediction) {
            self.answers.insert(
                key.clone(),
                Answer {
                    preview: preview.clone(),
                    prediction: prediction.clone(),
                },
            );
        }
    }

    /// Hands the model's guess for the current card to the game (hidden until the reveal).
    fn pass_model_guess(&mut self) {
        let Some(game) = &mut self.game else {
            return;
        };
        let Some(id) = self.ids.get(game.round()) else {
            return;
        };
        if let Some(g) = self
            .photos
            .get(id)
            .and_then(|p| p.prediction.as_ref())
            .and_then(Prediction::best_guess)
        {
            game.set_model_guess(LatLonDeg {
                lat_deg: g.lat_deg,
                lon_deg: g.lon_deg,
            });
        }
    }

    /// The photo whose model heatmap is on the map: the current card, once revealed.
    pub fn revealed_photo(&self) -> Option<PhotoId> {
        let game = self.game.as_ref()?;
        game.revealed()?;
        self.ids.get(game.round()).copied()
    }

    pub fn prediction(&self, id: PhotoId) -> Option<&Prediction> {
        self.photos.get(&id)?.prediction.as_ref()
    }

    /// Nothing pending that a screenshot should wait for.
    pub fn settled(&self) -> bool {
        let Some(game) = &self.game else {
            return true;
        };
        let Some(id) = self.ids.get(game.round()) else {
            return true;
        };
        self.photos
            .get(id)
            .is_none_or(|p| p.preview.is_some() || p.error.is_some())
    }

    /// A click on the map: the player's guess (while guessing).
    pub fn map_clicked(&mut self, at: LatLonDeg) {
        if let Some(game) = &mut self.game {
            game.place_guess(at);
        }
    }

    /// Starts a game of up to `rounds` cards from the chosen deck.
    pub fn start(
        &mut self,
        rounds: usize,
        timer_s: u32,
        worker: &Worker,
        model: &ModelState,
        seed: u64,
    ) {
        let deck = match &self.deck {
            DeckChoice::Demo => Deck::load(&bundled_deck_dir()).map(|d| (d, 0)),
            DeckChoice::Own(paths) => Deck::from_photos("your photos", paths),
            DeckChoice::Folder(dir) => Deck::load(dir).map(|d| (d, 0)),
            DeckChoice::Library(dir) => match &self.library {
                Some((scanned, deck)) if scanned == dir => Ok((deck.clone(), 0)),
                _ => Err(crate::game::GameError::EmptyDeck(
                    " (the folder is still being scanned)".into(),
                )),
            },
        };
        let (deck, skipped) = match deck {
            Ok(d) => d,
            Err(e) => {
                self.message = Some(e.to_string());
                return;
            }
        };
        self.message =
            (skipped > 0).then(|| format!("{skipped} photo(s) without EXIF GPS left out"));
        for id in self.ids.drain(..) {
            worker.send(Request::Forget { id });
        }
        self.photos.clear();
        let cards: Vec<Card> = deck.draw(rounds, seed);
        self.model_ready = matches!(model, ModelState::Ready { .. } | ModelState::Loading(_));
        self.photos_requested = 0;
        for card in &cards {
            self.add_card(card, worker);
        }
        let limit = (timer_s > 0).then(|| Duration::from_secs(u64::from(timer_s)));
        self.game = Some(Game::new(cards, limit, self.model_ready));
        self.pass_model_guess();
        self.deck_name = deck.name;
        self.saved = false;
        self.last_tick = None;
    }

    /// A card's photo: known from an earlier game, or sent to the model now (all cards at the
    /// start, so that the answers are ready before their rounds).
    fn add_card(&mut self, card: &Card, worker: &Worker) {
        self.next_id += 1;
        let id = self.next_id;
        self.ids.push(id);
        let key = PhotoKey::of(&card.photo);
        let known = key.as_ref().and_then(|k| self.answers.get(k)).cloned();
        if known.is_none() {
            self.photos_requested += 1;
            worker.send(Request::Photo {
                id,
                source: PhotoSource::File(card.photo.clone()),
            });
        }
        let (preview, prediction) =
            known.map_or((None, None), |a| (Some(a.preview), Some(a.prediction)));
        self.photos.insert(
            id,
            CardPhoto {
                key,
                preview,
                texture: None,
                prediction,
                error: None,
            },
        );
    }

    /// How many of the last game's photos went to the model (the rest were answered before).
    pub fn photos_requested(&self) -> usize {
        self.photos_requested
    }

    /// Photos dropped or opened in game mode become the deck ("play your own library").
    pub fn add_own_photos(&mut self, sources: Vec<PhotoSource>) {
        let paths: Vec<PathBuf> = sources
            .into_iter()
            .filter_map(|s| match s {
                PhotoSource::File(p) => Some(p),
                _ => None,
            })
            .collect();
        if !paths.is_empty() {
            self.message = Some(format!(
                "{} photo(s) ready to play: press Start",
                paths.len()
            ));
            self.deck = DeckChoice::Own(paths);
        }
    }

    /// Per frame: the timer, keyboard shortcuts, and the game's end.
    pub fn tick(&mut self, ctx: &egui::Context) {
        self.poll_library();
        let Some(game) = &mut self.game else {
            return;
        };
        let now = Instant::now();
        if let Some(last) = self.last_tick {
            game.tick(now - last);
        }
        self.last_tick = Some(now);
        if game.time_left().is_some() {
            ctx.request_repaint_after(Duration::from_millis(250));
        }
        let (space, next) =
            ctx.input(|i| (i.key_pressed(egui::Key::Space), i.key_pressed(egui::Key::N)));
        if space {
            self.confirm();
        }
        if next {
            self.next_round();
        }
    }

    /// Model state changes: a model that turns out to be missing makes the game human-only.
    pub fn model_changed(&mut self, model: &ModelState) {
        if matches!(model, ModelState::Loading(_)) {
            // Another model (or the same one reloaded with other settings): answers anew.
            self.answers.clear();
        }
        if matches!(model, ModelState::Missing { .. } | ModelState::Failed(_))
            && let Some(game) = &mut self.game
        {
            game.with_model = false;
        }
    }

    pub fn confirm(&mut self) {
        self.pass_model_guess();
        if let Some(game) = &mut self.game {
            game.confirm();
        }
    }

    pub fn next_round(&mut self) {
        let Some(game) = &mut self.game else {
            return;
        };
        game.next_round();
        self.last_tick = None;
        self.pass_model_guess();
        let Some(game) = &self.game else {
            return;
        };
        if game.is_over() && !self.saved {
            self.saved = true;
            let record = GameRecord::from_game(
                game,
                &self.deck_name,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
            if let Some(path) = &self.history_path {
                match history::append(path, &record).and_then(|()| history::load(path)) {
                    Ok(games) => self.stats = history::stats(&games),
                    Err(e) => self.message = Some(e.to_string()),
                }
            }
        }
    }

    /// Pins and great circles for the map.
    pub fn markers(&self) -> (Vec<Pin>, Vec<GreatCircle>) {
        let mut pins = Vec::new();
        let mut lines = Vec::new();
        let Some(game) = &self.game else {
            return (pins, lines);
        };
        match game.phase() {
            Phase::Guessing { guess: Some(g), .. } => pins.push(Pin {
                at: *g,
                label: "your guess".into(),
                color: PLAYER,
                hint: String::new(),
            }),
            Phase::Revealed => {
                if let Some(r) = game.revealed() {
                    let truth = r.card.truth;
                    for (guess, label, color) in
                        [(r.player, "you", PLAYER), (r.model, "model", MODEL)]
                    {
                        if let Some(g) = guess {
                            pins.push(Pin {
                                at: g.at,
                                label: format!("{label}: {:.0} km", g.dist_km),
                                color,
                                hint: String::new(),
                            });
                            lines.push(GreatCircle {
                                from: truth,
                                to: g.at,
                                color,
                            });
                        }
                    }
                    pins.push(Pin {
                        at: truth,
                        label: "here".into(),
                        color: TRUTH,
                        hint: "Where the photo was taken".into(),
                    });
                }
            }
            _ => {}
        }
        (pins, lines)
    }

    fn texture(&mut self, ctx: &egui::Context, id: PhotoId) -> Option<egui::TextureHandle> {
        let p = self.photos.get_mut(&id)?;
        if p.texture.is_none()
            && let Some(preview) = &p.preview
        {
            p.texture = Some(super::panels::texture_of(
                ctx,
                &format!("game-{id}"),
                preview,
            ));
        }
        p.texture.clone()
    }

    /// The game panel: set-up, the round, the reveal, the summary.
    pub fn panel_ui(
        &mut self,
        ui: &mut Ui,
        worker: &Worker,
        model: &ModelState,
        state: &mut AppState,
    ) {
        ui.heading("Where was this taken?");
        if let Some(message) = &self.message {
            ui.label(RichText::new(message).color(ui.visuals().warn_fg_color));
        }
        let Some(game) = &self.game else {
            self.setup_ui(ui, worker, model, state);
            return;
        };
        if game.is_over() {
            self.summary_ui(ui);
            ui.separator();
            self.setup_ui(ui, worker, model, state);
            return;
        }
        let round = game.round();
        let rounds = game.rounds();
        let with_model = game.with_model;
        let phase = game.phase().clone();
        let time_left = game.time_left();
        let model_ready = game.model_guess_ready();
        let revealed = game.revealed().cloned();
        ui.label(format!("Round {} of {rounds}", round + 1));
        if let Some(id) = self.ids.get(round).copied() {
            if let Some(texture) = self.texture(ui.ctx(), id) {
                let size = texture.size_vec2();
                let width = ui.available_width().min(420.0);
                ui.add(
                    egui::Image::new(&texture)
                        .fit_to_exact_size(egui::vec2(width, width * size.y / size.x)),
                );
            } else if let Some(error) = self.photos.get(&id).and_then(|p| p.error.clone()) {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else {
                ui.spinner();
            }
        }
        match phase {
            Phase::Guessing { guess, .. } => {
                if let Some(left) = time_left {
                    ui.label(RichText::new(format!("{} s left", left.as_secs())).strong());
                }
                ui.label(match guess {
                    None => "Click on the map where you think it was taken.",
                    Some(_) => "Click again to move your guess; Space to confirm.",
                });
                if !with_model {
                    ui.label(RichText::new("No model installed: you play alone.").weak());
                } else if !model_ready {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("The model is still guessing…");
                    });
                }
                let can_confirm = guess.is_some() && (!with_model || model_ready);
                if ui
                    .add_enabled(can_confirm, egui::Button::new("Confirm guess (Space)"))
                    .clicked()
                {
                    self.confirm();
                }
            }
            Phase::Revealed => {
                if let Some(r) = revealed {
                    ui.label(RichText::new(&r.card.title).strong());
                    ui.label(
                        RichText::new(format!("{} · {}", r.card.credit, r.card.licence))
                            .small()
                            .weak(),
                    );
                    egui::Grid::new("round_result")
                        .striped(true)
                        .show(ui, |ui| {
                            ui.label("");
                            ui.label("distance");
                            ui.label("points");
                            ui.end_row();
                            for (who, g, color) in
                                [("You", r.player, PLAYER), ("Model", r.model, MODEL)]
                            {
                                ui.colored_label(color, who);
                                match g {
                                    Some(g) => {
                                        ui.label(format!("{:.0} km", g.dist_km));
                                        ui.label(format!("{:.0}", g.points));
                                    }
                                    None => {
                                        ui.label("—");
                                        ui.label("0");
                                    }
                                }
                                ui.end_row();
                            }
                        });
                    ui.label(match (r.winner(), r.player.is_some()) {
                        (Some(Winner::Player), _) => "You were closer!",
                        (Some(Winner::Model), _) => "The model was closer.",
                        (Some(Winner::Tie), _) => "A tie.",
                        (None, true) => "No model in this game to compare with.",
                        (None, false) => "Time ran out before a guess.",
                    });
                }
                let label = if round + 1 == rounds {
                    "See the summary (N)"
                } else {
                    "Next round (N)"
                };
                if ui.button(label).clicked() {
                    self.next_round();
                }
            }
            Phase::Over => {}
        }
    }

    fn setup_ui(&mut self, ui: &mut Ui, worker: &Worker, model: &ModelState, state: &mut AppState) {
        ui.label(
            "Photos with known positions: you and the model each guess where; the closer \
                  guess scores more (GeoGuessr's 5000 · e^(−d / 1492.7 km)).",
        );
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.deck, DeckChoice::Demo, "Demo deck");
            let own = match &self.deck {
                DeckChoice::Own(paths) => format!("Your {} photos", paths.len()),
                _ => "Your photos (EXIF GPS)…".into(),
            };
            let is_own = matches!(self.deck, DeckChoice::Own(_));
            if ui
                .radio(is_own, own)
                .on_hover_text("Choose photos with EXIF GPS, or drop them on the window")
                .clicked()
            {
                self.wants_open_dialog = true;
            }
        });
        self.library_ui(ui);
        for (name, dir) in &self.fetched_decks {
            ui.radio_value(&mut self.deck, DeckChoice::Folder(dir.clone()), name)
                .on_hover_text(format!(
                    "Fetched with `geolens datasets fetch`, in {}",
                    dir.display()
                ));
        }
        ui.add(egui::Slider::new(&mut state.game_rounds, 1..=20).text("rounds"));
        ui.add(egui::Slider::new(&mut state.game_timer_s, 0..=180).text("s per round (0: none)"));
        match model {
            ModelState::Missing { .. } | ModelState::Failed(_) => {
                ui.label(RichText::new("No model installed: the game runs human-only.").weak());
            }
            _ => {}
        }
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Start game (Enter)").clicked() || enter {
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            self.start(state.game_rounds, state.game_timer_s, worker, model, seed);
        }
        ui.separator();
        self.stats_ui(ui);
    }

    fn summary_ui(&self, ui: &mut Ui) {
        let Some(game) = &self.game else {
            return;
        };
        ui.heading("Summary");
        let (p, m) = game.totals();
        ui.label(RichText::new(format!("You {p:.0} – {m:.0} model")).strong());
        egui::Grid::new("summary").striped(true).show(ui, |ui| {
            for h in ["#", "photo", "you km", "model km", "winner"] {
                ui.label(RichText::new(h).small().strong());
            }
            ui.end_row();
            for (i, r) in game.results().iter().enumerate() {
                ui.label(format!("{}", i + 1));
                ui.label(&r.card.title);
                ui.label(r.player.map_or("—".into(), |g| format!("{:.0}", g.dist_km)));
                ui.label(r.model.map_or("—".into(), |g| format!("{:.0}", g.dist_km)));
                ui.label(match r.winner() {
                    Some(Winner::Player) => "you",
                    Some(Winner::Model) => "model",
                    Some(Winner::Tie) => "tie",
                    None => "—",
                });
                ui.end_row();
            }
        });
    }

    fn stats_ui(&self, ui: &mut Ui) {
        let s = &self.stats;
        ui.label(RichText::new("All games").strong());
        if s.games == 0 {
            ui.label("No games played yet.");
            return;
        }
        ui.label(format!(
            "{} games, {} rounds: you won {}, the model {}, ties {}",
            s.games, s.rounds, s.player_wins, s.model_wins, s.ties
        ));
        let km = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.0} km"));
        ui.label(format!(
            "median error: you {}, model {}",
            km(s.median_player_km),
            km(s.median_model_km)
        ));
        ui.label(
            RichText::new("(PlaNet vs travelled humans: 1131.7 km vs 2320.8 km)")
                .small()
                .weak(),
        );
    }
}
