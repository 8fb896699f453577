use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use image::RgbImage;

use super::*;
use crate::geo::geocells::Granularity;
use crate::model::ModelError;
use crate::model::backend::{BackendChoice, BackendKind, SelectedBackend, cpu_backend, cpu_device};
use crate::model::clip::weights::load_clip_vision;
use crate::model::dirs::ModelDirs;
use crate::model::geoclip::gallery::GalleryEmbeddings;
use crate::model::geoclip::reference_fixture::fixture;
use crate::model::geoclip::weights::{default_model_dir, load_heads};

/// The shipped heads over the fixture's 4,000-point gallery subset.
fn subset_geolocator() -> (
    Geolocator,
    crate::model::geoclip::reference_fixture::Fixture,
) {
    let device = cpu_device();
    let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
    let f = fixture();
    let points = f.gallery_points();
    let embeddings =
        GalleryEmbeddings::compute(&heads.location, &points, &device, |_, _| ()).expect("embeds");
    let geolocator =
        Geolocator::from_parts(heads, points, &embeddings, &device).expect("parts fit");
    (geolocator, f)
}

#[test]
fn predictions_give_the_reference_points_and_cell_probabilities() {
    let (geolocator, f) = subset_geolocator();
    let device = cpu_device();
    let features = Tensor::<2>::from_data(
        TensorData::new(f.clip_inputs.concat(), [f.clip_inputs.len(), 768]),
        &device,
    );
    let predictions = geolocator.predict_features(features).expect("predicts");
    assert_eq!(predictions.len(), f.clip_inputs.len());
    for (i, prediction) in predictions.iter().enumerate() {
        let top = prediction.top_points(5);
        let expected: Vec<(f64, f64)> = f.top5_indices[i]
            .iter()
            .map(|&j| (f.gallery_coordinates[j][0], f.gallery_coordinates[j][1]))
            .collect();
        let got: Vec<(f64, f64)> = top.iter().map(|g| (g.lat_deg, g.lon_deg)).collect();
        assert_eq!(got, expected, "image {i}: top-5 point guesses");

        assert_eq!(prediction.best_guess(), top.first().copied());
        for granularity in Granularity::ALL {
            let places = prediction.top_places(granularity, 5);
            assert_eq!(places.len(), 5);
            assert!(
                places
                    .windows(2)
                    .all(|w| w[0].probability >= w[1].probability)
            );
            assert!(!places[0].place_name.is_empty());
            let cells = prediction.cell_probabilities(granularity);
            let best = cells
                .scores
                .iter()
                .map(|s| s.probability)
                .fold(0.0, f64::max);
            assert_eq!(places[0].probability, best);
            let total: f64 = cells.scores.iter().map(|s| s.probability).sum();
            assert!(
                (total - 1.0).abs() < 1e-9,
                "{granularity:?}: sums to {total}"
            );
            assert!((0.0..0.2).contains(&cells.uncovered), "{}", cells.uncovered);
            // The best point's cell holds at least that point's mass.
            let geocells = geolocator.gallery().cells(granularity);
            if let Some(k) = geocells.lookup_index(top[0].lat_deg, top[0].lon_deg) {
                assert_eq!(cells.scores[k].cell, geocells.cells()[k].cell);
                assert!(cells.scores[k].probability >= top[0].probability);
            }
        }
    }
}

#[test]
fn a_photo_goes_through_tower_and_heads_to_cell_probabilities() {
    let dir = std::env::temp_dir().join(format!("geolens-test-tower-{}", std::process::id()));
    crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 7)
        .expect("write tower");
    let device = cpu_device();
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let (geolocator, _) = subset_geolocator();
    let predictor = Predictor::from_parts(tower, geolocator, &device).expect("fits");
    assert_eq!(predictor.input_size_px(), 28);
    let photo = crate::photo::decode::decode_photo(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"),
    )
    .expect("decodes");
    let (prediction, times) = predictor.predict_photo(&photo).expect("predicts");
    assert!(times.tower_ms > 0.0 && times.heads_ms > 0.0);
    let total: f32 = prediction.point_probabilities().iter().sum();
    assert!((total - 1.0).abs() < 1e-3, "{total}");
    // The same photo twice in a batch gives the same answer as alone: the same places, the
    // probabilities up to rounding (the matrix kernels tile a batch differently).
    let batch = predictor.predict_photos(&[&photo, &photo]).expect("batch");
    assert_eq!(batch.len(), 2);
    let alone = prediction.top_points(3);
    for (answer, _) in &batch {
        let top = answer.top_points(3);
        for (b, a) in top.iter().zip(&alone) {
            assert_eq!((b.lat_deg, b.lon_deg), (a.lat_deg, a.lon_deg));
            assert!(
                (b.probability - a.probability).abs() <= 1e-5 * a.probability,
                "{top:?} vs {alone:?}"
            );
        }
    }

    // A tower with the wrong feature width is refused up front.
    let narrow = crate::testing::TestTower {
        projection_dim: 16,
        ..Default::default()
    };
    crate::testing::write_test_clip_tower(&dir, narrow, 7).expect("write tower");
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let err = Predictor::from_parts(tower, subset_geolocator().0, &device)
        .expect_err("16 features")
        .to_string();
    assert!(err.contains("16") && err.contains("768"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn occlusion_maps_cover_the_grid_and_can_be_cancelled() {
    let dir = std::env::temp_dir().join(format!("geolens-occl-tower-{}", std::process::id()));
    crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 3)
        .expect("write tower");
    let device = cpu_device();
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let predictor = Predictor::from_parts(tower, subset_geolocator().0, &device).expect("fits");
    let photo = crate::photo::decode::decode_photo(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/coffee.png"),
    )
    .expect("decodes");
    let mut reports = Vec::new();
    let map = predictor
        .occlusion_map(
            &photo,
            Granularity::Coarse,
            3,
            4,
            |d, t| reports.push((d, t)),
            || false,
        )
        .expect("runs")
        .expect("not cancelled");
    assert_eq!(map.grid, 3);
    assert_eq!(map.drops.len(), 9);
    assert_eq!(reports, [(4, 9), (8, 9), (9, 9)]);
    assert!(map.drops.iter().all(|d| d.is_finite() && d.abs() <= 1.0));
    // The stand-in tower is noise, but hiding parts of the photo still changes its answer.
    assert!(map.drops.iter().any(|d| d.abs() > 0.0));
    let top = predictor.predict_photo(&photo).expect("predicts").0;
    assert_eq!(top.top_places(Granularity::Coarse, 1)[0], map.top_place);
    let cancelled = predictor
        .occlusion_map(&photo, Granularity::Coarse, 3, 4, |_, _| (), || true)
        .expect("runs");
    assert!(cancelled.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gpu_that_fails_while_loading_hands_over_to_the_cpu_in_auto_mode_only() {
    let dir = std::env::temp_dir().join(format!("geolens-fallback-{}", std::process::id()));
    crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 5)
        .expect("write tower");
    let dirs = ModelDirs {
        geoclip: default_model_dir(),
        clip: dir.clone(),
        gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
    };
    // A "GPU" whose buffers cannot hold one gallery point (2,048 bytes).
    let failing = SelectedBackend {
        description: "GPU: a test adapter".into(),
        kind: BackendKind::Gpu,
        max_tensor_bytes: Some(1000),
        ..cpu_backend(None)
    };
    let (predictor, used) =
        Predictor::load_with_fallback(&dirs, failing.clone(), BackendChoice::Auto, |_| ())
            .expect("falls back to the CPU");
    assert_eq!(used.kind, BackendKind::Cpu);
    let notice = used.fallback_notice.expect("says why");
    assert!(
        notice.contains("GPU: a test adapter")
            && notice.contains("2048 bytes")
            && notice.contains("1000 bytes")
            && notice.ends_with("running on the CPU instead"),
        "{notice}"
    );
    let grey = RgbImage::from_pixel(40, 30, image::Rgb([90, 120, 200]));
    assert!(predictor.predict_photo(&grey).is_ok());
    // Asked for the GPU by name, the same failure is an error naming the limit.
    let err = Predictor::load_with_fallback(&dirs, failing, BackendChoice::Gpu, |_| ())
        .expect_err("no fallback for --backend gpu");
    assert!(
        matches!(
            err,
            ModelError::DeviceLimit {
                limit_bytes: 1000,
                ..
            }
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_weights_give_an_error_naming_them_not_a_nan_answer() {
    let dir = std::env::temp_dir().join(format!("geolens-nan-{}", std::process::id()));
    crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 5)
        .expect("write tower");
    // Overwrite the projection's first float32 with NaN, as a bad download would.
    let path = dir.join(crate::model::clip::weights::SAFETENSORS_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + header_len]).expect("header");
    let entry = &header["visual_projection.weight"];
    assert_eq!(entry["dtype"], "F32");
    let start = 8 + header_len + entry["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&path, bytes).expect("write");
    let dirs = ModelDirs {
        geoclip: default_model_dir(),
        clip: dir.clone(),
        gallery_cache: Some(crate::testing::shared_gallery_cache_dir()),
    };
    let predictor = Predictor::load(&dirs, &cpu_device(), |_| ()).expect("loads");
    let grey = RgbImage::from_pixel(40, 30, image::Rgb([90, 120, 200]));
    let err = predictor.predict_photo(&grey).expect_err("NaN").to_string();
    assert!(
        err.contains("not a number") && err.contains(&dir.display().to_string()),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn photos_go_through_the_tower_in_batches_that_fit_the_device() {
    let dir = std::env::temp_dir().join(format!("geolens-batches-{}", std::process::id()));
    crate::testing::write_test_clip_tower(&dir, crate::testing::TestTower::default(), 7)
        .expect("write tower");
    let device = cpu_device();
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let peak = tower.peak_bytes_per_image();
    let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
    let f = fixture();
    let points = f.gallery_points();
    let embeddings =
        GalleryEmbeddings::compute(&heads.location, &points, &device, |_, _| ()).expect("embeds");
    // Room for two photos at a time in the tower (three passes for five photos), and nine
    // gallery points a block.
    let limit = Some(2 * peak);
    let geolocator =
        Geolocator::from_parts_within(heads, points, &embeddings, &device, limit).expect("fits");
    let small = Predictor::from_parts(tower, geolocator, &device).expect("fits");
    assert_eq!(small.max_batch(), 2);
    assert_eq!(small.geolocator().gallery_blocks(), 4000usize.div_ceil(9));
    let (whole, _) = subset_geolocator();
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let unlimited = Predictor::from_parts(tower, whole, &device).expect("fits");
    assert_eq!(unlimited.max_batch(), MAX_TOWER_BATCH);
    let photos: Vec<RgbImage> = (0..5u8)
        .map(|i| RgbImage::from_pixel(50, 40, image::Rgb([40 * i, 200 - 30 * i, 90])))
        .collect();
    let refs: Vec<&RgbImage> = photos.iter().collect();
    let a = small.predict_photos(&refs).expect("predicts in passes");
    let b = unlimited
        .predict_photos(&refs)
        .expect("predicts in one pass");
    assert_eq!(a.len(), 5);
    for ((pa, _), (pb, _)) in a.iter().zip(&b) {
        assert_eq!(pa.top_points(5).len(), 5);
        let same: Vec<_> = pa
            .top_points(5)
            .iter()
            .map(|p| (p.lat_deg, p.lon_deg))
            .collect();
        let other: Vec<_> = pb
            .top_points(5)
            .iter()
            .map(|p| (p.lat_deg, p.lon_deg))
            .collect();
        assert_eq!(same, other);
    }
    // A device too small for one photo in the tower is refused up front, naming the limit.
    let heads = load_heads(&default_model_dir(), &device).expect("shipped heads");
    let tight = Geolocator::from_parts_within(
        heads,
        f.gallery_points(),
        &embeddings,
        &device,
        Some(peak - 1),
    )
    .expect("a gallery point fits");
    let tower = load_clip_vision(&dir, &device).expect("loads");
    let err = Predictor::from_parts(tower, tight, &device).expect_err("too small");
    assert!(
        err.to_string().contains("one photo in the CLIP tower"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn features_of_the_wrong_width_are_an_error_not_a_panic() {
    let (geolocator, _) = subset_geolocator();
    let err = geolocator
        .predict_feature_vector(&[0.5; 512])
        .expect_err("512 values")
        .to_string();
    assert!(err.contains("512") && err.contains("768"), "{err}");
}

#[test]
fn the_credible_radius_grows_until_it_holds_the_mass_asked_for() {
    let at = |lat_deg: f64, lon_deg: f64| crate::geo::partition::LatLonDeg { lat_deg, lon_deg };
    // Paris, 1 degree of latitude north of it (111 km), and New York.
    let index =
        GalleryIndex::new(vec![at(48.85, 2.35), at(49.85, 2.35), at(40.71, -74.0)]).expect("index");
    let prediction = Prediction {
        index: std::sync::Arc::new(index),
        point_probabilities: vec![0.6, 0.3, 0.1],
    };
    let paris = at(48.85, 2.35);
    assert_eq!(prediction.radius_holding_km(paris, 0.5), 0.0);
    let r = prediction.radius_holding_km(paris, 0.9);
    assert!((r - 111.2).abs() < 1.0, "{r}");
    let r = prediction.radius_holding_km(paris, 0.95);
    assert!(r > 5_000.0, "{r}");
}
