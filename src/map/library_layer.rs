//! A library on the map (a walkers [`Plugin`]): the track as a line, the photos that have a
//! position as small dots, and the proposals as pins coloured by where they came from, filled
//! when selected. A pin can be clicked (to select it) or dragged (to correct it).

use egui::{Color32, Rect, Response, Sense, Stroke, Ui, pos2, vec2};
use walkers::{MapMemory, Plugin, Projector, lat_lon};

use crate::geo::latlon::LatLonDeg;

/// A proposal's pin.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryPin {
    pub at: LatLonDeg,
    pub color: Color32,
    pub selected: bool,
}

/// What the pointer did to the pins this frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PinInput {
    /// A pin clicked (its index in the pins).
    pub clicked: Option<usize>,
    /// A pin being dragged, and where it is now.
    pub dragged: Option<(usize, LatLonDeg)>,
}

pub struct LibraryPlugin<'a> {
    pub pins: &'a [LibraryPin],
    /// The photos that have a position.
    pub dots: &'a [LatLonDeg],
    /// The tracks, each a line.
    pub tracks: &'a [Vec<LatLonDeg>],
    pub input: &'a mut PinInput,
}

/// How far from a pin's centre the pointer takes it (px).
const PIN_GRAB_PX: f32 = 9.0;

impl Plugin for LibraryPlugin<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, _: &Response, projector: &Projector, _: &MapMemory) {
        let painter = ui.painter_at(projector.clip_rect());
        let screen = |at: &LatLonDeg| {
            let v = projector.project(lat_lon(at.lat_deg, at.lon_deg));
            pos2(v.x, v.y)
        };
        for track in self.tracks {
            let points: Vec<_> = track.iter().map(screen).collect();
            painter.add(egui::Shape::line(
                points,
                Stroke::new(2.5, Color32::from_rgb(255, 140, 0)),
            ));
        }
        for dot in self.dots {
            painter.circle(
                screen(dot),
                3.0,
                Color32::from_gray(230),
                Stroke::new(1.0, Color32::from_gray(40)),
            );
        }
        *self.input = PinInput::default();
        for (i, pin) in self.pins.iter().enumerate() {
            let p = screen(&pin.at);
            let grab = Rect::from_center_size(p, vec2(2.0 * PIN_GRAB_PX, 2.0 * PIN_GRAB_PX));
            let response = ui.interact(
                grab,
                ui.scope_id().with(("library_pin", i)),
                Sense::click_and_drag(),
            );
            if response.clicked() {
                self.input.clicked = Some(i);
            }
            if response.dragged()
                && let Some(pos) = response.interact_pointer_pos()
            {
                let at = projector.unproject(pos.to_vec2());
                self.input.dragged = Some((
                    i,
                    LatLonDeg {
                        lat_deg: at.y(),
                        lon_deg: at.x(),
                    },
                ));
            }
            let fill = if pin.selected {
                pin.color
            } else {
                Color32::from_black_alpha(120)
            };
            painter.circle(p, 7.0, fill, Stroke::new(2.5, pin.color));
        }
    }
}
