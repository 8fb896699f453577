//! Pins and great-circle lines on the map (true position, guesses, the line between them), as
//! a walkers [`Plugin`]. Also reports where on the map the pointer clicked, for the game.

use egui::{Align2, Color32, FontId, Response, Stroke, Ui, pos2};
use walkers::{MapMemory, Plugin, Projector, lat_lon};

use crate::geo::distance::great_circle_path;
use crate::geo::partition::LatLonDeg;

/// How near the pointer must come to a pin to show its hint, in points.
const PIN_HOVER_PX: f32 = 10.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub at: LatLonDeg,
    pub label: String,
    pub color: Color32,
    /// What the pin means, shown when the pointer rests on it (empty: nothing to add).
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GreatCircle {
    pub from: LatLonDeg,
    pub to: LatLonDeg,
    pub color: Color32,
}

/// A map tile's outline (its corners; Mercator keeps it a screen-aligned rectangle).
#[derive(Debug, Clone, PartialEq)]
pub struct TileOutline {
    pub north_west: LatLonDeg,
    pub south_east: LatLonDeg,
    pub color: Color32,
    pub width: f32,
    /// The tile's own picture, drawn inside the outline.
    pub image: Option<egui::TextureId>,
}

/// Screen-space polylines of a great circle: split where it crosses the antimeridian, so no
/// segment is drawn across the whole map.
pub fn great_circle_pieces(line: &GreatCircle) -> Vec<Vec<(f64, f64)>> {
    let path = great_circle_path(
        (line.from.lat_deg, line.from.lon_deg),
        (line.to.lat_deg, line.to.lon_deg),
        128,
    );
    let mut pieces: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in path {
        if let Some(last) = pieces.last().and_then(|piece| piece.last())
            && (p.1 - last.1).abs() > 180.0
        {
            pieces.push(Vec::new());
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push(p);
        }
    }
    pieces.retain(|p| p.len() > 1);
    pieces
}

/// Draws pins and lines; `clicked` receives the map position of a click (primary button,
/// not a drag).
pub struct MarkersPlugin<'a> {
    pub pins: &'a [Pin],
    pub lines: &'a [GreatCircle],
    pub outlines: &'a [TileOutline],
    pub clicked: Option<&'a mut Option<LatLonDeg>>,
    /// Filled with the hint of the pin under the pointer, if any.
    pub hovered_hint: &'a mut Option<String>,
}

impl Plugin for MarkersPlugin<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        response: &Response,
        projector: &Projector,
        _: &MapMemory,
    ) {
        let painter = ui.painter_at(projector.clip_rect());
        let screen = |lat: f64, lon: f64| {
            let v = projector.project(lat_lon(lat, lon));
            pos2(v.x, v.y)
        };
        for outline in self.outlines {
            let rect = egui::Rect::from_two_pos(
                screen(outline.north_west.lat_deg, outline.north_west.lon_deg),
                screen(outline.south_east.lat_deg, outline.south_east.lon_deg),
            );
            if let Some(texture) = outline.image {
                let uv = egui::Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
                painter.image(texture, rect, uv, Color32::WHITE);
            }
            painter.rect_stroke(
                rect,
                0.0,
                Stroke::new(outline.width, outline.color),
                egui::StrokeKind::Middle,
            );
        }
        for line in self.lines {
            for piece in great_circle_pieces(line) {
                let points = piece.iter().map(|&(lat, lon)| screen(lat, lon)).collect();
                painter.add(egui::Shape::line(points, Stroke::new(2.5, line.color)));
            }
        }
        *self.hovered_hint = None;
        let pointer = response.hover_pos();
        for pin in self.pins {
            let p = screen(pin.at.lat_deg, pin.at.lon_deg);
            if !pin.hint.is_empty() && pointer.is_some_and(|at| at.distance(p) <= PIN_HOVER_PX) {
                *self.hovered_hint = Some(pin.hint.clone());
            }
            painter.circle(p, 7.0, pin.color, Stroke::new(2.0, Color32::WHITE));
            if !pin.label.is_empty() {
                let galley = painter.layout_no_wrap(
                    pin.label.clone(),
                    FontId::proportional(13.0),
                    Color32::WHITE,
                );
                // Right of the pin, or left of it where the map's edge would cut the label.
                let right = Align2::LEFT_BOTTOM
                    .anchor_size(p + egui::vec2(10.0, -10.0), galley.size())
                    .expand(3.0);
                let rect = if right.right() > projector.clip_rect().right() {
                    Align2::RIGHT_BOTTOM
                        .anchor_size(p + egui::vec2(-10.0, -10.0), galley.size())
                        .expand(3.0)
                } else {
                    right
                };
                painter.rect_filled(rect, 3.0, Color32::from_black_alpha(170));
                painter.galley(rect.min + egui::vec2(3.0, 3.0), galley, Color32::WHITE);
            }
        }
        if let Some(slot) = self.clicked
            && response.clicked_by(egui::PointerButton::Primary)
            && let Some(pos) = response.interact_pointer_pos()
        {
            let at = projector.unproject(pos.to_vec2());
            *slot = Some(LatLonDeg {
                lat_deg: at.y(),
                lon_deg: at.x(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_the_antimeridian_are_split() {
        let line = GreatCircle {
            from: LatLonDeg {
                lat_deg: -17.7,
                lon_deg: 178.0,
            },
            to: LatLonDeg {
                lat_deg: -13.8,
                lon_deg: -172.0,
            },
            color: Color32::RED,
        };
        let pieces = great_circle_pieces(&line);
        assert_eq!(pieces.len(), 2);
        assert!(pieces[0].iter().all(|p| p.1 > 0.0) && pieces[1].iter().all(|p| p.1 < 0.0));
        let london_paris = GreatCircle {
            from: LatLonDeg {
                lat_deg: 51.5,
                lon_deg: -0.1,
            },
            to: LatLonDeg {
                lat_deg: 48.9,
                lon_deg: 2.35,
            },
            color: Color32::RED,
        };
        assert_eq!(great_circle_pieces(&london_paris).len(), 1);
    }
}
