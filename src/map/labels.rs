//! Place names on the map: countries, admin-1 regions and cities (Natural Earth and GeoNames,
//! `assets/labels.tsv`, embedded), drawn by a walkers [`Plugin`] in priority order, each only
//! from its own zoom on and only where it overlaps no label already placed.

use std::sync::OnceLock;

use egui::{Align2, Color32, FontId, Pos2, Rect, Response, Ui, pos2, vec2};
use walkers::{MapMemory, Plugin, Projector, lat_lon};

static EMBEDDED_LABELS: &str = include_str!("../../assets/labels.tsv");

/// Most labels placed in one frame: a dense view stays readable and cheap.
const MAX_LABELS_PER_FRAME: usize = 160;

/// What a label names, which decides its look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Country,
    Region,
    Capital,
    City,
}

/// One place name.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceLabel {
    pub kind: LabelKind,
    /// The lowest map zoom at which the label is drawn.
    pub min_zoom: f32,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub name: String,
}

/// The embedded place names, in drawing priority order (read once).
pub fn embedded_labels() -> &'static [PlaceLabel] {
    static LABELS: OnceLock<Vec<PlaceLabel>> = OnceLock::new();
    LABELS.get_or_init(|| parse_labels(EMBEDDED_LABELS))
}

/// Reads `kind \t min_zoom \t lat \t lon \t name` rows; `#` lines and malformed rows are
/// skipped (the file is ours, built by `tools/build_labels.py`).
pub fn parse_labels(text: &str) -> Vec<PlaceLabel> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.splitn(5, '\t');
            let kind = match fields.next()? {
                "C" => LabelKind::Country,
                "R" => LabelKind::Region,
                "K" => LabelKind::Capital,
                "P" => LabelKind::City,
                _ => return None,
            };
            let min_zoom = fields.next()?.parse().ok()?;
            let lat_deg: f64 = fields.next()?.parse().ok()?;
            let lon_deg: f64 = fields.next()?.parse().ok()?;
            let name = fields.next()?.trim().to_string();
            ((-90.0..=90.0).contains(&lat_deg)
                && (-180.0..=180.0).contains(&lon_deg)
                && !name.is_empty())
            .then_some(PlaceLabel {
                kind,
                min_zoom,
                lat_deg,
                lon_deg,
                name,
            })
        })
        .collect()
}

/// A label laid out for one frame: where its text goes and the box it claims.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel<'a> {
    pub label: &'a PlaceLabel,
    /// The label's anchor on screen (the place itself).
    pub at: Pos2,
    /// The screen box the text (and a city's dot) takes, with a margin.
    pub claimed: Rect,
}

/// The labels to draw at `zoom` inside `clip`: in priority order, each from its own zoom on,
/// none overlapping another. `project` gives a place's screen position, `text_size` a name's
/// size in points for its kind (`None` for a name the fonts cannot draw: it is left out rather
/// than drawn as boxes).
pub fn place_labels<'a>(
    labels: &'a [PlaceLabel],
    zoom: f64,
    clip: Rect,
    project: impl Fn(f64, f64) -> Pos2,
    text_size: impl Fn(&PlaceLabel) -> Option<egui::Vec2>,
) -> Vec<PlacedLabel<'a>> {
    let mut placed: Vec<PlacedLabel<'a>> = Vec::new();
    for label in labels {
        if f64::from(label.min_zoom) > zoom {
            continue;
        }
        let at = project(label.lat_deg, label.lon_deg);
        // Cheap tests first: most candidates in a dense view fall on a label already placed.
        if !clip.contains(at) || placed.iter().any(|p| p.claimed.contains(at)) {
            continue;
        }
        let Some(size) = text_size(label) else {
            continue;
        };
        let claimed = match label.kind {
            LabelKind::Country | LabelKind::Region => Rect::from_center_size(at, size),
            // A dot at the place, the name to its right.
            LabelKind::Capital | LabelKind::City => {
                Rect::from_min_size(at + vec2(-4.0, -size.y / 2.0), size + vec2(10.0, 0.0))
            }
        }
        .expand(3.0);
        if !clip.contains_rect(claimed) || placed.iter().any(|p| p.claimed.intersects(claimed)) {
            continue;
        }
        placed.push(PlacedLabel { label, at, claimed });
        if placed.len() == MAX_LABELS_PER_FRAME {
            break;
        }
    }
    placed
}

fn font_of(kind: LabelKind) -> FontId {
    match kind {
        LabelKind::Country => FontId::proportional(14.0),
        LabelKind::Region => FontId::proportional(11.0),
        LabelKind::Capital => FontId::proportional(13.0),
        LabelKind::City => FontId::proportional(12.0),
    }
}

fn color_of(kind: LabelKind) -> Color32 {
    match kind {
        LabelKind::Country => Color32::from_rgb(255, 250, 235),
        LabelKind::Region => Color32::from_rgb(215, 215, 225),
        LabelKind::Capital | LabelKind::City => Color32::WHITE,
    }
}

/// Draws the embedded place names over the map (above the heatmap, below pins).
pub struct LabelsPlugin;

impl Plugin for LabelsPlugin {
    fn run(self: Box<Self>, ui: &mut Ui, _: &Response, projector: &Projector, _: &MapMemory) {
        let clip = projector.clip_rect();
        let painter = ui.painter_at(clip);
        let project = |lat: f64, lon: f64| {
            let v = projector.project(lat_lon(lat, lon));
            pos2(v.x, v.y)
        };
        let galley = |label: &PlaceLabel| {
            painter.layout_no_wrap(
                label.name.clone(),
                font_of(label.kind),
                color_of(label.kind),
            )
        };
        let placed = place_labels(
            embedded_labels(),
            projector.zoom(),
            clip,
            project,
            |label| {
                let drawable =
                    painter.fonts_mut(|f| f.has_glyphs(&font_of(label.kind), &label.name));
                drawable.then(|| galley(label).size())
            },
        );
        let halo = Color32::from_black_alpha(200);
        for p in placed {
            let (anchor, align) = match p.label.kind {
                LabelKind::Country | LabelKind::Region => (p.at, Align2::CENTER_CENTER),
                LabelKind::Capital | LabelKind::City => {
                    let radius = if p.label.kind == LabelKind::Capital {
                        3.5
                    } else {
                        2.5
                    };
                    painter.circle(p.at, radius, Color32::WHITE, (1.0, halo));
                    (p.at + vec2(6.0, 0.0), Align2::LEFT_CENTER)
                }
            };
            let font = font_of(p.label.kind);
            for offset in [
                vec2(1.0, 1.0),
                vec2(-1.0, -1.0),
                vec2(1.0, -1.0),
                vec2(-1.0, 1.0),
            ] {
                painter.text(anchor + offset, align, &p.label.name, font.clone(), halo);
            }
            painter.text(anchor, align, &p.label.name, font, color_of(p.label.kind));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(kind: LabelKind, min_zoom: f32, lat_deg: f64, lon_deg: f64, name: &str) -> PlaceLabel {
        PlaceLabel {
            kind,
            min_zoom,
            lat_deg,
            lon_deg,
            name: name.into(),
        }
    }

    /// A plain projection for tests: 10 points a degree, origin at (0, 0).
    fn project(lat: f64, lon: f64) -> Pos2 {
        pos2((lon * 10.0) as f32, (-lat * 10.0) as f32)
    }

    #[test]
    fn the_embedded_names_hold_countries_regions_and_cities() {
        let labels = embedded_labels();
        let count = |kind| labels.iter().filter(|l| l.kind == kind).count();
        assert!(
            count(LabelKind::Country) > 200,
            "{}",
            count(LabelKind::Country)
        );
        assert!(count(LabelKind::Region) > 1000);
        assert!(count(LabelKind::Capital) > 150);
        assert!(count(LabelKind::City) > 20_000);
        let paris = labels
            .iter()
            .find(|l| l.name == "Paris" && l.kind == LabelKind::Capital)
            .expect("Paris is a capital");
        assert!((paris.lat_deg - 48.85).abs() < 0.1 && (paris.lon_deg - 2.35).abs() < 0.1);
        let france = labels.iter().find(|l| l.name == "France").expect("France");
        assert!(
            (42.0..51.0).contains(&france.lat_deg) && (-5.0..8.0).contains(&france.lon_deg),
            "France's label lies in France: {france:?}"
        );
        // Priority order: never a label of a later zoom before one of an earlier zoom.
        assert!(labels.windows(2).all(|w| w[0].min_zoom <= w[1].min_zoom));
    }

    #[test]
    fn labels_appear_by_zoom_and_never_overlap() {
        let labels = vec![
            label(LabelKind::Country, 1.5, 0.0, 0.0, "Bigland"),
            label(LabelKind::City, 2.0, 0.1, 0.1, "Overlapping City"),
            label(LabelKind::City, 2.0, 5.0, 5.0, "Far City"),
            label(LabelKind::City, 6.0, -5.0, -5.0, "Village"),
            label(LabelKind::City, 2.0, 80.0, 170.0, "Offscreen"),
            label(LabelKind::City, 2.0, 10.0, -10.0, "Bến Tre"),
        ];
        let clip = Rect::from_min_max(pos2(-200.0, -200.0), pos2(200.0, 200.0));
        // A font without "ế": that name is left out, never drawn as boxes.
        let size =
            |l: &PlaceLabel| (!l.name.contains('ế')).then(|| vec2(8.0 * l.name.len() as f32, 14.0));
        let names = |zoom: f64| -> Vec<&str> {
            place_labels(&labels, zoom, clip, project, size)
                .iter()
                .map(|p| p.label.name.as_str())
                .collect()
        };
        assert_eq!(names(1.0), Vec::<&str>::new());
        assert_eq!(names(1.5), vec!["Bigland"]);
        assert_eq!(names(3.0), vec!["Bigland", "Far City"]);
        assert_eq!(names(7.0), vec!["Bigland", "Far City", "Village"]);
        let placed = place_labels(&labels, 7.0, clip, project, size);
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(!a.claimed.intersects(b.claimed), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn malformed_rows_are_skipped() {
        let parsed = parse_labels(
            "# header\nC\t1.5\t10\t20\tGood\nX\t1\t0\t0\tBad kind\nP\tz\t0\t0\tBad zoom\n\
             P\t2\t95\t0\tBad lat\nP\t2\t0\t0\t\n",
        );
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "Good");
    }
}
