//! The real app driven headless with egui_kittest: photos dropped on the window, the results
//! list and heatmap appearing, a corrupt drop, and a whole game played with clicks and keys.
//! The model is GeoCLIP's real heads and gallery with the stand-in CLIP tower.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use geolens::aerial::{TileId, TowerKind};
use geolens::app::state::Mode;
use geolens::app::{GeolensApp, LaunchOptions};
use geolens::geo::geocells::Granularity;
use geolens::model::backend::BackendChoice;
use geolens::model::config::ModelConfig;

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn options(mode: Mode, history: &Path) -> LaunchOptions {
    LaunchOptions {
        ephemeral: true,
        mode: Some(mode),
        model: Some(ModelConfig {
            model_dir: Some(common::test_tower_dir()),
            backend: BackendChoice::Cpu,
            gallery_cache: Some(geolens::testing::shared_gallery_cache_dir()),
            threads: None,
        }),
        game_history: Some(history.to_owned()),
        datasets_dir: history.parent().map(|d| d.join("datasets")),
        ..LaunchOptions::default()
    }
}

fn harness(options: LaunchOptions) -> Harness<'static, GeolensApp> {
    harness_sized(options, egui::vec2(1280.0, 800.0))
}

fn harness_sized(options: LaunchOptions, size: egui::Vec2) -> Harness<'static, GeolensApp> {
    let mut h = Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| GeolensApp::new(cc, options).expect("app starts"));
    h.step();
    h
}

/// Steps frames until `done` holds (the worker runs on its own threads).
fn step_until(
    h: &mut Harness<'static, GeolensApp>,
    what: &str,
    done: impl Fn(&GeolensApp) -> bool,
) {
    let started = Instant::now();
    while !done(h.state()) {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.step();
}

fn drop_file(h: &mut Harness<'static, GeolensApp>, path: PathBuf) {
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path)));
    h.step();
}

/// Where `(lat, lon)` lies on the map as last drawn, in points from the map's centre (Web
/// Mercator computed here, independently of the app); `None` before a map was drawn.
fn offset_from_map_centre(app: &GeolensApp, lat: f64, lon: f64) -> Option<(f64, f64)> {
    let memory = &app.state().map_memory;
    let centre = memory.detached()?;
    let world = |lat: f64, lon: f64| {
        let s = lat.to_radians().sin();
        (
            (lon + 180.0) / 360.0,
            0.5 - ((1.0 + s) / (1.0 - s)).ln() / (4.0 * std::f64::consts::PI),
        )
    };
    let (cx, cy) = world(centre.y(), centre.x());
    let (x, y) = world(lat, lon);
    let scale = 256.0 * 2f64.powf(memory.zoom());
    Some(((x - cx) * scale, (y - cy) * scale))
}

/// Asserts that each named point is inside the map as last drawn.
fn assert_in_view(app: &GeolensApp, points: &[(&str, f64, f64)]) {
    let rect = app.map_rect().expect("the map was drawn");
    for &(what, lat, lon) in points {
        let (dx, dy) =
            offset_from_map_centre(app, lat, lon).expect("the view was moved to the answer");
        assert!(
            dx.abs() <= f64::from(rect.width()) / 2.0 && dy.abs() <= f64::from(rect.height()) / 2.0,
            "{what} at ({dx:.0}, {dy:.0}) px from the centre, outside a {rect:?} map at zoom {}",
            app.state().map_memory.zoom()
        );
    }
}

#[test]
fn a_dropped_photo_gets_results_and_a_heatmap_and_a_corrupt_drop_keeps_them() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_drop");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    h.get_by_label_contains("Drop a photo here");

    drop_file(&mut h, common::fixture("photos/rocket.jpg"));
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    let shown = h
        .state()
        .photos()
        .selected()
        .map(|p| p.id)
        .expect("selected");
    step_until(&mut h, "the heatmap", |app| {
        app.heatmap_photo() == Some(shown)
    });
    // The results list: ten places with probabilities, and the photo's status line.
    h.get_by_label("Most likely places");
    h.get_by_label_contains("Geolocated in");
    let first = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.prediction())
        .map(|p| p.top_places(h.state().state().granularity, 1).remove(0))
        .expect("top place");
    assert!(
        h.query_all_by_label_contains(&first.place_name).count() >= 1,
        "{first:?} listed"
    );
    // How sure: the 50 % and 90 % regions in words, outlined on the map, and localizability.
    h.get_by_label_contains("50 %: ");
    h.get_by_label_contains("90 %: ");
    h.get_by_label_contains("Localizability ");
    let (photo, granularity, outlines) = h.state().region_outlines().expect("outlined");
    assert_eq!((photo, granularity), (shown, h.state().state().granularity));
    assert_eq!(outlines.len(), 2);
    assert!(outlines.iter().all(|o| !o.segments.is_empty()));

    // A corrupt file: an error is shown, the previous photo and its results stay.
    let broken = dir.join("broken.jpg");
    std::fs::write(&broken, b"this is not a jpeg").expect("write");
    drop_file(&mut h, broken);
    step_until(&mut h, "the error", |app| app.notice().is_some());
    let notice = h.state().notice().expect("notice").to_string();
    assert!(notice.contains("broken.jpg"), "{notice}");
    assert!(
        h.query_all_by_label_contains("broken.jpg: unsupported")
            .count()
            >= 1
    );
    assert_eq!(h.state().photos().selected().map(|p| p.id), Some(shown));
    assert_eq!(h.state().heatmap_photo(), Some(shown));
    h.get_by_label_contains("Geolocated in");
}

#[test]
fn a_whole_game_is_played_with_clicks_and_keys_and_lands_in_the_history() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_game");
    let history = dir.join("history.jsonl");
    let mut h = harness(options(Mode::Game, &history));
    step_until(&mut h, "the model", |app| {
        matches!(
            app.model_view().state,
            geolens::app::worker::ModelState::Ready { .. }
        )
    });
    h.get_by_label("Start game (Enter)").click();
    h.step();
    let rounds = h
        .state()
        .game()
        .game()
        .map(|g| g.rounds())
        .expect("started");
    assert!(rounds >= 2, "the demo deck has at least two photos");
    for round in 0..rounds {
        // Click on the map (right of the game panel) to guess, then move the guess.
        for pos in [egui::pos2(900.0, 300.0), egui::pos2(1000.0, 420.0)] {
            h.event(egui::Event::PointerMoved(pos));
            h.event(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: true,
                modifiers: egui::Modifiers::NONE,
            });
            h.step();
            h.event(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: false,
                modifiers: egui::Modifiers::NONE,
            });
            h.step();
        }
        step_until(&mut h, "the guess and the model's guess", |app| {
            app.game().game().is_some_and(|g| {
                g.model_guess_ready()
                    && matches!(
                        g.phase(),
                        geolens::game::Phase::Guessing { guess: Some(_), .. }
                    )
            })
        });
        h.key_press(egui::Key::Space);
        h.step();
        let result = h
            .state()
            .game()
            .game()
            .and_then(|g| g.revealed().cloned())
            .unwrap_or_else(|| panic!("round {round} revealed"));
        let player = result.player.expect("the player guessed");
        let model = result.model.expect("the model guessed");
        // The reveal frames the truth and both guesses.
        h.step();
        assert_in_view(
            h.state(),
            &[
                (
                    "truth",
                    result.card.truth.lat_deg,
                    result.card.truth.lon_deg,
                ),
                ("player", player.at.lat_deg, player.at.lon_deg),
                ("model", model.at.lat_deg, model.at.lon_deg),
            ],
        );
        assert!(player.points > 0.0 && player.points <= 5000.0);
        h.get_by_label_contains(&format!("{:.0} km", player.dist_km));
        h.get_by_label_contains(&format!("{:.0} km", model.dist_km));
        h.key_press(egui::Key::N);
        h.step();
    }
    h.step();
    assert!(h.state().game().game().is_some_and(|g| g.is_over()));
    h.get_by_label("Summary");
    let (p, m) = h.state().game().game().map(|g| g.totals()).expect("totals");
    h.get_by_label(&format!("You {p:.0} – {m:.0} model"));
    // The game went into the history, and the running stats count it.
    let games = geolens::game::history::load(&history).expect("history");
    assert_eq!(games.len(), 1);
    assert_eq!(games[0].rounds.len(), rounds);
    assert_eq!(h.state().game().stats().games, 1);
    h.get_by_label_contains(&format!("1 games, {rounds} rounds"));
    // A second game with the same photos answers from what the first one worked out: nothing
    // goes to the model, and the model's guess and the photo are there from the first frame.
    assert_eq!(h.state().game().photos_requested(), rounds);
    h.get_by_label("Start game (Enter)").click();
    h.step();
    assert_eq!(h.state().game().photos_requested(), 0);
    let game = h.state().game().game().expect("second game");
    assert!(
        game.model_guess_ready(),
        "the model's guess is known at once"
    );
    assert!(h.state().game().settled(), "the photo is shown at once");
}

#[test]
fn aerial_tiles_are_ranked_beside_the_photo_and_a_click_flies_the_map_there() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_aerial");
    let mut h = harness_sized(
        options(Mode::Explore, &dir.join("history.jsonl")),
        egui::vec2(1280.0, 1400.0),
    );
    let photo_path = common::fixture("photos/coffee.png");
    drop_file(&mut h, photo_path.clone());
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    // Around the most likely fine cell: a tile that looks like the photo, two plain ones and
    // a damaged one; the towers are the colour baseline (the scorer with a known answer).
    let top = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.prediction())
        .map(|p| p.top_places(Granularity::Fine, 1).remove(0))
        .expect("top place");
    let center = TileId::containing(top.center, 17);
    let tiles = dir.join("tiles");
    let path = |t: TileId, ext: &str| tiles.join(format!("{}/{}/{}.{ext}", t.zoom, t.x, t.y));
    let save = |image: &image::RgbImage, p: PathBuf| {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        image.save(p).expect("save");
    };
    let photo = image::open(&photo_path).expect("photo").to_rgb8();
    save(
        &image::imageops::thumbnail(&photo, 256, 256),
        path(center, "png"),
    );
    let east = center.offset(1, 0).expect("tile");
    let south = center.offset(0, 1).expect("tile");
    let damaged = center.offset(1, 1).expect("tile");
    save(
        &image::RgbImage::from_pixel(64, 64, image::Rgb([40, 160, 50])),
        path(east, "png"),
    );
    save(
        &image::RgbImage::from_pixel(64, 64, image::Rgb([90, 90, 200])),
        path(south, "png"),
    );
    std::fs::write(path(damaged, "jpg"), b"\xff\xd8 cut short").expect("write");
    {
        let state = h.state_mut().state_mut();
        state.aerial_folder = Some(tiles.clone());
        state.aerial_towers = TowerKind::Colour;
        state.aerial_prior_weight = 0.0;
    }
    h.step();
    h.get_by_label("Match aerial tiles").click();
    h.step();
    step_until(&mut h, "the ranked tiles", |app| {
        app.aerial_view().is_some_and(|a| !a.busy())
    });
    let view = h.state().aerial_view().expect("a run");
    assert_eq!(view.error, None);
    let ranked: Vec<TileId> = view
        .ranked
        .as_ref()
        .expect("ranked")
        .iter()
        .map(|r| r.tile())
        .collect();
    assert_eq!(ranked.len(), 3, "{ranked:?}");
    assert_eq!(
        ranked[0], center,
        "the tile that looks like the photo is first"
    );
    assert_eq!(view.failed_tiles(), 1);
    h.get_by_label_contains("1 of 4 tiles could not be had");
    h.get_by_label("tile failed");
    h.get_by_label_contains("Scored by colour histograms");

    // Hovering a tile outlines it on the map; clicking flies the map to it.
    h.get_by_label_contains("#2 ").hover();
    h.step();
    assert_eq!(
        h.state().aerial_view().and_then(|a| a.hovered),
        Some(ranked[1])
    );
    h.get_by_label_contains("#1 ").click();
    h.step();
    h.step();
    assert_eq!(
        h.state().aerial_view().and_then(|a| a.selected),
        Some(center)
    );
    let memory = &h.state().state().map_memory;
    assert_eq!(memory.zoom(), 16.0);
    let at = memory
        .detached()
        .expect("the map left its default position");
    let c = center.center();
    assert!((at.y() - c.lat_deg).abs() < 1e-6 && (at.x() - c.lon_deg).abs() < 1e-6);
}

#[test]
fn the_app_geolocates_a_photo_on_the_gpu_backend() {
    let Some(gpu) = common::wgpu_or_skip("the_app_geolocates_a_photo_on_the_gpu_backend") else {
        return;
    };
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_gpu");
    let mut options = options(Mode::Explore, &dir.join("history.jsonl"));
    if let Some(model) = options.model.as_mut() {
        model.backend = BackendChoice::Gpu;
    }
    let mut h = harness(options);
    drop_file(&mut h, common::fixture("photos/rocket.jpg"));
    step_until(&mut h, "a prediction on the GPU", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    h.get_by_label_contains(&format!("running on {}", gpu.description));
    h.get_by_label_contains("Geolocated in");
    let best = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.prediction())
        .and_then(|p| p.best_guess())
        .expect("a best guess");
    assert!(
        best.probability > 0.0 && best.lat_deg.abs() <= 90.0,
        "{best:?}"
    );
}

#[test]
fn opening_settings_keeps_the_command_lines_model_and_ephemeral_keeps_no_history() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_settings");
    let mut options = options(Mode::Explore, &dir.join("unused.jsonl"));
    // --ephemeral without a named history: none is read or written.
    options.game_history = None;
    let launched = options.model.clone().expect("model settings");
    let mut h = harness(options);
    step_until(&mut h, "the model", |app| {
        matches!(
            app.model_view().state,
            geolens::app::worker::ModelState::Ready { .. }
        )
    });
    h.get_by_label("Settings").click();
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().model_config(), &launched);
    assert!(
        matches!(
            h.state().model_view().state,
            geolens::app::worker::ModelState::Ready { .. }
        ),
        "opening Settings reloaded the model: {:?}",
        h.state().model_view().state
    );
    assert!(h.state().game_history_path().is_none());
}

#[test]
fn the_map_zooms_like_a_map_app_and_never_shows_less_than_the_world() {
    let dir = common::scratch_dir("gui_map_controls");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    let zoom = |h: &Harness<'static, GeolensApp>| h.state().state().map_memory.zoom();
    for _ in 0..3 {
        h.step();
    }
    // Zoom 0 would show the world as a 256-point square: the view keeps it filling the map.
    let start = zoom(&h);
    assert!(
        start >= 1.0,
        "zoom {start} leaves the world smaller than the map"
    );

    // The wheel zooms, without Ctrl, around the pointer over the map.
    let over_map = egui::pos2(900.0, 400.0);
    h.input_mut()
        .events
        .push(egui::Event::PointerMoved(over_map));
    h.step();
    for _ in 0..5 {
        h.input_mut().events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 120.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    let wheeled = zoom(&h);
    assert!(wheeled > start + 0.1, "wheel: {start} -> {wheeled}");

    // The + and − buttons, and the keys.
    h.get_by_label("+").click();
    h.step();
    let plus = zoom(&h);
    assert!((plus - wheeled - 1.0).abs() < 1e-6, "{wheeled} -> {plus}");
    h.get_by_label("−").click();
    h.step();
    assert!((zoom(&h) - wheeled).abs() < 1e-6);
    h.key_press(egui::Key::Plus);
    h.step();
    assert!((zoom(&h) - wheeled - 1.0).abs() < 1e-6);

    // Zoomed out as far as it goes, the world still fills the map (over 512 points wide here).
    for _ in 0..12 {
        h.get_by_label("−").click();
        h.step();
    }
    h.step();
    assert!(zoom(&h) > 1.0, "zoomed out to {}", zoom(&h));

    // Panned to the date line and the Arctic, the view stops at the world's edges (no wrap,
    // no black beyond them).
    h.state_mut()
        .state_mut()
        .map_memory
        .center_at(walkers::lat_lon(84.0, 179.0));
    h.step();
    h.step();
    let app = h.state();
    let rect = app.map_rect().expect("drawn");
    let (dx, dy) = offset_from_map_centre(app, 85.0511, 180.0).expect("moved");
    assert!(
        dx >= f64::from(rect.width()) / 2.0 - 1.0 && -dy >= f64::from(rect.height()) / 2.0 - 1.0,
        "the world's corner at ({dx:.0}, {dy:.0}) lies inside a {rect:?} map"
    );
}

#[test]
fn a_result_is_framed_with_its_guess_and_exif_position_in_view() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_fit");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let exif = geolens::testing::exif_block(
        (35, 0, 4104, b'N'),
        (135, 46, 516, b'E'),
        "2024:04:01 09:30:00",
    );
    let kyoto = dir.join("kyoto.jpg");
    std::fs::write(&kyoto, geolens::testing::jpeg_with_exif(&rocket, &exif)).expect("write");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    drop_file(&mut h, kyoto);
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    for _ in 0..5 {
        h.step();
    }
    let app = h.state();
    let photo = app.photos().selected().expect("selected");
    let guess = photo.best_guess.expect("a guess");
    let truth = photo.facts.gps.expect("EXIF GPS");
    assert_in_view(
        app,
        &[
            ("best guess", guess.lat_deg, guess.lon_deg),
            ("EXIF position", truth.lat_deg, truth.lon_deg),
        ],
    );
    let answer_zoom = app.state().map_memory.zoom();

    // A place picked in the list: its row is selected, the map closes in on its cell.
    let second = photo
        .prediction()
        .map(|p| p.top_places(app.state().granularity, 2).remove(1))
        .expect("a second place");
    h.get_by_label_contains("Place 2: ").click();
    for _ in 0..3 {
        h.step();
    }
    let app = h.state();
    assert_in_view(
        app,
        &[(
            "the second place",
            second.center.lat_deg,
            second.center.lon_deg,
        )],
    );
    let place_zoom = app.state().map_memory.zoom();
    assert!(
        place_zoom > answer_zoom,
        "a cell is framed closer than the answer: {answer_zoom} -> {place_zoom}"
    );
    assert_eq!(
        h.get_by_label_contains("Place 2: ")
            .accesskit_node()
            .toggled(),
        Some(egui::accesskit::Toggled::True),
        "the picked row shows as selected"
    );
    // Fit brings the whole answer back.
    h.get_by_label("Fit").click();
    for _ in 0..3 {
        h.step();
    }
    let fit_zoom = h.state().state().map_memory.zoom();
    assert!(
        (fit_zoom - answer_zoom).abs() < 1e-9,
        "{answer_zoom} -> {place_zoom} -> {fit_zoom}"
    );
    assert_in_view(
        h.state(),
        &[("EXIF position", truth.lat_deg, truth.lon_deg)],
    );
}

/// Options for an app whose model folder is empty: the first run, no model installed.
fn first_run_options(dir: &Path) -> LaunchOptions {
    let empty = dir.join("no-model");
    std::fs::create_dir_all(&empty).expect("mkdir");
    LaunchOptions {
        ephemeral: true,
        mode: Some(Mode::Explore),
        model: Some(ModelConfig {
            model_dir: Some(empty),
            backend: BackendChoice::Cpu,
            gallery_cache: None,
            threads: None,
        }),
        game_history: Some(dir.join("history.jsonl")),
        datasets_dir: Some(dir.join("datasets")),
        ..LaunchOptions::default()
    }
}

#[test]
fn the_first_run_says_what_the_download_is_and_the_sample_layer_says_what_it_is() {
    let dir = common::scratch_dir("gui_first_run");
    let mut h = harness_sized(first_run_options(&dir), egui::vec2(1024.0, 700.0));
    step_until(&mut h, "the model to be found missing", |app| {
        matches!(
            app.model_view().state,
            geolens::app::worker::ModelState::Missing { .. }
        )
    });
    h.get_by_label("Where was this photo taken?");
    h.get_by_label_contains("about 1.2 GB from huggingface.co");
    h.get_by_label_contains("MIT licence");
    // The download button is over the map, in view at 1024x700 (not below the fold).
    let button = h
        .query_all_by_label("Download CLIP ViT-L/14 (1.2 GB)")
        .map(|n| n.rect())
        .find(|r| r.center().x > 300.0)
        .expect("a download button over the map");
    assert!(button.bottom() < 700.0, "{button:?}");
    h.get_by_label("Sample layer: where people take photos, not a prediction");
    h.get_by_label_contains("Busiest cells of the sample layer");
    h.get_by_label("Not now").click();
    h.step();
    h.step();
    assert!(h.query_by_label("Where was this photo taken?").is_none());
}

#[test]
fn photos_are_walked_and_removed_with_keys_and_failures_keep_their_message() {
    let dir = common::scratch_dir("gui_keys");
    let mut h = harness(first_run_options(&dir));
    for name in [
        "photos/rocket.jpg",
        "photos/coffee.png",
        "photos/chelsea.png",
    ] {
        drop_file(&mut h, common::fixture(name));
    }
    let broken = dir.join("broken.jpg");
    std::fs::write(&broken, b"not a photo").expect("write");
    drop_file(&mut h, broken);
    step_until(&mut h, "the photos to be read", |app| {
        app.photos().entries().len() == 4 && !app.photos().busy()
    });
    let ids: Vec<_> = h.state().photos().entries().iter().map(|e| e.id).collect();
    let selected = |h: &Harness<'static, GeolensApp>| h.state().photos().selected_id();
    let press = |h: &mut Harness<'static, GeolensApp>, key: egui::Key| {
        h.key_press(key);
        h.step();
    };
    for _ in 0..3 {
        press(&mut h, egui::Key::ArrowLeft);
    }
    assert_eq!(selected(&h), Some(ids[0]), "left stops at the first photo");
    press(&mut h, egui::Key::ArrowRight);
    assert_eq!(selected(&h), Some(ids[1]));
    press(&mut h, egui::Key::ArrowRight);
    press(&mut h, egui::Key::ArrowRight);
    assert_eq!(
        selected(&h),
        Some(ids[2]),
        "the failed photo has nothing to show"
    );
    press(&mut h, egui::Key::ArrowLeft);
    assert_eq!(selected(&h), Some(ids[1]));
    press(&mut h, egui::Key::Delete);
    assert_eq!(h.state().photos().entries().len(), 3);
    assert!(h.state().photos().entries().iter().all(|e| e.id != ids[1]));
    assert!(selected(&h).is_some(), "a neighbour is shown");

    // The failed photo keeps its name and message on its thumbnail.
    h.get_by_label("broken.jpg");
    assert!(
        h.state()
            .recent_errors()
            .iter()
            .any(|e| e.contains("broken.jpg")),
        "{:?}",
        h.state().recent_errors()
    );

    // F1 shows the shortcuts; Escape puts them away.
    h.key_press(egui::Key::F1);
    h.step();
    h.step();
    h.get_by_label("Keyboard shortcuts");
    assert!(h.state().help_open());
    h.key_press(egui::Key::Escape);
    h.step();
    h.step();
    assert!(!h.state().help_open());
    assert!(h.query_by_label("Keyboard shortcuts").is_none());
}

#[test]
fn a_file_dialog_that_cannot_open_says_so_and_offers_a_path_field() {
    let bus = std::env::var_os("XDG_RUNTIME_DIR")
        .is_some_and(|d| std::path::Path::new(&d).join("bus").exists());
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() || bus {
        println!("skipped: a desktop session bus is here, so a real dialog could open");
        return;
    }
    if std::process::Command::new("zenity")
        .arg("--version")
        .output()
        .is_ok()
    {
        println!("skipped: zenity is installed, so a real dialog could open");
        return;
    }
    let dir = common::scratch_dir("gui_dialog");
    let mut h = harness(first_run_options(&dir));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.step();
    step_until(&mut h, "the dialog's failure", |app| app.notice().is_some());
    let notice = h.state().notice().expect("notice").to_string();
    assert!(
        notice.contains("No file dialog could be opened"),
        "{notice}"
    );
    h.get_by_label_contains("No file dialog could be opened");
    // The path field opens a photo.
    let rocket = common::fixture("photos/rocket.jpg");
    h.get_by_role(egui::accesskit::Role::TextInput).click();
    h.step();
    h.get_by_role(egui::accesskit::Role::TextInput)
        .type_text(&rocket.display().to_string());
    h.step();
    h.get_by_label("Open").click();
    h.step();
    assert_eq!(h.state().photos().entries().len(), 1);
}

#[test]
fn the_photos_clock_is_outlined_and_weighs_the_answer_on_request() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_clock");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let exif = geolens::testing::exif_block_with_offset(
        (35, 0, 4104, b'N'),
        (135, 46, 516, b'E'),
        "2019:04:03 09:30:00",
        Some("+09:00"),
    );
    let photo = dir.join("kyoto-clock.jpg");
    std::fs::write(&photo, geolens::testing::jpeg_with_exif(&rocket, &exif)).expect("write");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    drop_file(&mut h, photo);
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    h.step();
    h.get_by_label("Camera clock");
    h.get_by_label_contains("kept that time");
    h.get_by_label("It agrees with the photo's GPS.");
    h.get_by_label_contains("camera clock says UTC+09:00 on 2019-04-03: outlined");
    let (_, _, outlines) = h.state().region_outlines().expect("outlines");
    assert_eq!(
        outlines.len(),
        3,
        "the clock's area and two credible regions"
    );
    let plain = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.best_guess)
        .expect("guess");

    h.get_by_label("Weigh the answer by it").click();
    h.step();
    h.step();
    assert!(h.state().state().clock_prior);
    let weighed = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.best_guess)
        .expect("guess");
    assert_ne!(
        plain.probability, weighed.probability,
        "the prior changed the answer"
    );
    // One click away: the model's own answer again.
    h.get_by_label("Weigh the answer by it").click();
    h.step();
    h.step();
    let back = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.best_guess)
        .expect("guess");
    assert_eq!(back, plain);
}

/// XMP's "DDD,MM.mmmmmmN" as signed degrees.
fn xmp_degrees(text: &str) -> f64 {
    let (deg, rest) = text.split_once(',').expect("DDD,MM.mmN");
    let (minutes, hemisphere) = rest.split_at(rest.len() - 1);
    let value = deg.parse::<f64>().expect("deg") + minutes.parse::<f64>().expect("min") / 60.0;
    if hemisphere == "S" || hemisphere == "W" {
        -value
    } else {
        value
    }
}

/// The value of `attribute="..."` in an XML text.
fn attribute<'a>(xml: &'a str, attribute: &str) -> &'a str {
    let start = xml
        .find(&format!("{attribute}=\""))
        .unwrap_or_else(|| panic!("{attribute} in {xml}"))
        + attribute.len()
        + 2;
    let len = xml[start..].find('"').expect("closing quote");
    &xml[start..start + len]
}

#[test]
fn a_location_set_on_the_map_is_kept_in_an_xmp_sidecar_and_the_photo_untouched() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_keep");
    let photo = dir.join("IMG_7.jpg");
    std::fs::copy(common::fixture("photos/rocket.jpg"), &photo).expect("copy");
    let photo_bytes = std::fs::read(&photo).expect("read");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    drop_file(&mut h, photo.clone());
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    h.get_by_label("Pick on the map").click();
    h.step();
    let rect = h.state().map_rect().expect("map");
    let pos = rect.center() + egui::vec2(-60.0, 40.0);
    h.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.step();
    let (at, source) = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.chosen.clone())
        .expect("a location set by the click");
    assert!(source.contains("by hand"), "{source}");
    h.get_by_label_contains("Set: ");
    h.get_by_label("Write XMP sidecar").click();
    h.step();
    h.step();
    let sidecar = dir.join("IMG_7.xmp");
    let xml = std::fs::read_to_string(&sidecar).expect("the sidecar was written");
    assert!((xmp_degrees(attribute(&xml, "exif:GPSLatitude")) - at.lat_deg).abs() < 1e-5);
    assert!((xmp_degrees(attribute(&xml, "exif:GPSLongitude")) - at.lon_deg).abs() < 1e-5);
    assert_eq!(std::fs::read(&photo).expect("read"), photo_bytes);

    // The best guess next: the sidecar has a position, so it asks before replacing it.
    h.key_press(egui::Key::Escape);
    h.step();
    h.get_by_label("Use the best guess").click();
    h.step();
    let source = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.chosen.clone())
        .map(|c| c.1);
    assert!(source.is_some_and(|s| s.contains("best guess")));
    h.get_by_label("Write XMP sidecar").click();
    h.step();
    h.step();
    assert_eq!(std::fs::read_to_string(&sidecar).expect("read"), xml);
    h.get_by_label("Replace its position").click();
    h.step();
    h.step();
    let guess = h
        .state()
        .photos()
        .selected()
        .and_then(|p| p.best_guess)
        .expect("guess");
    let replaced = std::fs::read_to_string(&sidecar).expect("read");
    assert!((xmp_degrees(attribute(&replaced, "exif:GPSLatitude")) - guess.lat_deg).abs() < 1e-5);
    assert_eq!(std::fs::read(&photo).expect("read"), photo_bytes);

    // The filmstrip exported for other tools (GeoJSON beside the photo by default).
    h.get_by_label("Export 1 locations").click();
    h.step();
    h.get_by_label("Export").click();
    h.step();
    h.step();
    let exported = dir.join("geolens-export.geojson");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).expect("exported"))
            .expect("geojson");
    assert_eq!(doc["features"][0]["properties"]["kind"], "set");
    assert!(
        (doc["features"][0]["geometry"]["coordinates"][1]
            .as_f64()
            .expect("lat")
            - guess.lat_deg)
            .abs()
            < 1e-9
    );
}

#[test]
fn a_fetched_dataset_is_offered_as_a_game_deck_with_its_credits() {
    let dir = common::scratch_dir("gui_fetched_deck");
    let deck = dir.join("datasets/osv5m-test");
    std::fs::create_dir_all(deck.join("photos")).expect("mkdir");
    for (i, f) in ["rocket.jpg", "coffee.png"].iter().enumerate() {
        std::fs::copy(
            common::fixture(&format!("photos/{f}")),
            deck.join(format!("photos/{i}.jpg")),
        )
        .expect("copy");
    }
    std::fs::write(
        deck.join("deck.csv"),
        "file,lat,lon,title,credit,licence\n\
         photos/0.jpg,48.85,2.35,A street in Paris,someone (Mapillary),CC BY-SA 4.0\n\
         photos/1.jpg,35.01,135.77,A street in Kyoto,another (Mapillary),CC BY-SA 4.0\n",
    )
    .expect("deck");
    let mut h = harness(first_run_options(&dir));
    h.state_mut().state_mut().mode = Mode::Game;
    h.step();
    h.get_by_label("World streets (OSV-5M), 2 photos").click();
    h.step();
    h.get_by_label("Start game (Enter)").click();
    h.step();
    let cards = h
        .state()
        .game()
        .game()
        .map(|g| g.rounds())
        .expect("started");
    assert_eq!(cards, 2);
}

#[test]
fn a_folder_of_own_photos_becomes_a_deck_in_the_background_and_stays_untouched() {
    let dir = common::scratch_dir("gui_library");
    let pictures = dir.join("Pictures");
    std::fs::create_dir_all(pictures.join("2024/trip")).expect("mkdir");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    // Three places far apart, a burst of two more in Kyoto, and one photo without GPS.
    let places = [
        ("kyoto-1.jpg", (35, 0, 4104, b'N'), (135, 46, 516, b'E')),
        ("kyoto-2.jpg", (35, 0, 4110, b'N'), (135, 46, 520, b'E')),
        (
            "2024/trip/kyoto-3.jpg",
            (35, 0, 4120, b'N'),
            (135, 46, 530, b'E'),
        ),
        ("2024/trip/rio.jpg", (22, 54, 0, b'S'), (43, 10, 1200, b'W')),
        ("paris.jpg", (48, 51, 0, b'N'), (2, 21, 0, b'E')),
    ];
    let mut before = Vec::new();
    for (name, lat, lon) in places {
        let exif = geolens::testing::exif_block(lat, lon, "2024:04:01 09:30:00");
        let bytes = geolens::testing::jpeg_with_exif(&rocket, &exif);
        std::fs::write(pictures.join(name), &bytes).expect("write");
        before.push((pictures.join(name), bytes));
    }
    std::fs::write(pictures.join("no-gps.jpg"), &rocket).expect("write");
    let mut h = harness(first_run_options(&dir));
    h.state_mut().state_mut().mode = Mode::Game;
    h.step();
    h.get_by_label("Your photo folder…");
    h.state_mut().game_mut().scan_folder(pictures.clone());
    step_until(&mut h, "the folder scan", |app| {
        !app.game().scanning_library()
    });
    h.get_by_label("Your folder Pictures: 5 photos with GPS");
    h.get_by_label_contains("1 photo(s) without EXIF GPS left out");
    h.state_mut().state_mut().game_rounds = 3;
    h.get_by_label("Start game (Enter)").click();
    h.step();
    let game = h.state().game().game().expect("started");
    assert_eq!(
        game.rounds(),
        3,
        "three far-apart places, the Kyoto burst played once"
    );
    for (path, bytes) in before {
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bytes,
            "{path:?} untouched"
        );
    }
}

#[test]
fn a_folder_read_as_a_library_has_its_proposals_applied_and_the_apply_undone() {
    use geolens::testing::{TestExif, dms, jpeg_with_exif, test_exif};
    let dir = common::scratch_dir("gui_geotag");
    let folder = dir.join("Library");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    // A phone with GPS at 11:00 and 11:20 (Paris time, due east), a camera without GPS at
    // 11:05 and 11:15: both write their zone, so the times compare.
    let shot = |make: &str, model: &str, gps: Option<(f64, f64)>, time: &str| {
        let exif = test_exif(&TestExif {
            make,
            model,
            gps: gps.map(|(lat, lon)| (dms(lat, b'N', b'S'), dms(lon, b'E', b'W'))),
            taken_at: time,
            utc_offset: Some("+02:00"),
        });
        jpeg_with_exif(&rocket, &exif)
    };
    let files = [
        (
            "PXL_1.jpg",
            shot(
                "Google",
                "Pixel 8",
                Some((48.85, 2.30)),
                "2024:04:01 11:00:00",
            ),
        ),
        (
            "PXL_2.jpg",
            shot(
                "Google",
                "Pixel 8",
                Some((48.85, 2.32)),
                "2024:04:01 11:20:00",
            ),
        ),
        (
            "IMG_1.jpg",
            shot("Canon", "Canon EOS R6", None, "2024:04:01 11:05:00"),
        ),
        (
            "IMG_2.jpg",
            shot("Canon", "Canon EOS R6", None, "2024:04:01 11:15:00"),
        ),
    ];
    for (name, bytes) in &files {
        std::fs::write(folder.join(name), bytes).expect("write");
    }
    let mut h = harness(LaunchOptions {
        mode: Some(Mode::Library),
        ..first_run_options(&dir)
    });
    h.get_by_label("Open a folder as a library…");
    h.state_mut().open_library(folder.clone());
    step_until(&mut h, "the library", |app| !app.library().busy());
    let found = h.state().library().found().expect("read");
    assert_eq!(found.items.len(), 2);
    assert!(
        found
            .items
            .iter()
            .all(|i| i.selected && i.proposal.source.name() == "time")
    );
    h.get_by_label_contains("4 photos, 2 with a position, 2 proposed, 0 left without");
    h.get_by_label_contains("IMG_1.jpg");

    // Deselect one, apply the other.
    h.state_mut().library_mut().set_selected(1, false);
    h.step();
    h.get_by_label("Apply (1)").click();
    h.run_steps(2);
    let written = folder.join("IMG_1.xmp");
    let text = std::fs::read_to_string(&written).expect("the sidecar is written");
    assert!(
        text.contains("exif:GPSLatitude") && text.contains("library: time"),
        "{text}"
    );
    assert!(
        !folder.join("IMG_2.xmp").exists(),
        "deselected: not written"
    );
    h.get_by_label_contains("Kept 1 position(s)");

    h.get_by_label("Undo apply").click();
    h.run_steps(2);
    assert!(!written.exists(), "the apply is undone");
    h.get_by_label_contains("Undone: 1 sidecar(s)");

    // Drag IMG_1's pin 60 px east on the map: it is moved by hand, and applied as such.
    let (lat, lon) = {
        let p = &h.state().library().found().expect("read").items[0].proposal;
        (p.lat_deg, p.lon_deg)
    };
    let rect = h.state().map_rect().expect("the map was drawn");
    let (dx, dy) = offset_from_map_centre(h.state(), lat, lon).expect("fitted to the library");
    let from = rect.center() + egui::vec2(dx as f32, dy as f32);
    assert!(
        rect.contains(from),
        "the pin at {from:?} is in the map {rect:?}"
    );
    h.event(egui::Event::PointerMoved(from));
    h.step();
    h.event(egui::Event::PointerButton {
        pos: from,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.step();
    for step in 1..=6 {
        h.event(egui::Event::PointerMoved(
            from + egui::vec2(10.0 * step as f32, 0.0),
        ));
        h.step();
    }
    let to = from + egui::vec2(60.0, 0.0);
    h.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(2);
    let moved = &h.state().library().found().expect("read").items[0];
    assert!(moved.moved, "the pin was dragged");
    assert!(
        moved.proposal.lon_deg > lon && (moved.proposal.lat_deg - lat).abs() < 1e-3,
        "{lat}, {lon} -> {:?}",
        moved.proposal
    );
    h.get_by_label("Apply (1)").click();
    h.run_steps(2);
    let text = std::fs::read_to_string(&written).expect("the moved position is written");
    assert!(text.contains("set by hand on the map"), "{text}");
    for (name, bytes) in &files {
        assert_eq!(
            &std::fs::read(folder.join(name)).expect("read"),
            bytes,
            "{name} untouched"
        );
    }
}

#[test]
fn writing_a_guess_over_a_photos_own_gps_asks_first() {
    common::warm_gallery_cache();
    let dir = common::scratch_dir("gui_own_gps");
    let photo = dir.join("IMG_GPS.jpg");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let seattle = geolens::testing::exif_block(
        (47, 36, 3600, b'N'),
        (122, 19, 4800, b'W'),
        "2024:04:01 09:30:00",
    );
    std::fs::write(&photo, geolens::testing::jpeg_with_exif(&rocket, &seattle)).expect("write");
    let mut h = harness(options(Mode::Explore, &dir.join("history.jsonl")));
    drop_file(&mut h, photo.clone());
    step_until(&mut h, "a prediction", |app| {
        app.photos()
            .selected()
            .is_some_and(|p| p.prediction().is_some())
    });
    h.get_by_label("Use the best guess").click();
    h.run_steps(2);
    h.get_by_label("Write XMP sidecar").click();
    h.run_steps(2);
    let sidecar = dir.join("IMG_GPS.xmp");
    assert!(!sidecar.exists(), "asked first, nothing written yet");
    h.get_by_label_contains("This photo has its own GPS position (EXIF)");
    h.get_by_label("Write it anyway").click();
    h.run_steps(2);
    assert!(sidecar.exists(), "written once the user says so");
}
