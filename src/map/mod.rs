//! The map: the offline basemap pack, place names, opt-in online layers, colour maps and the
//! heatmap layer, and a library's photos and proposals.

pub mod basemap;
pub mod colormap;
pub mod heatmap;
pub mod labels;
pub mod library_layer;
pub mod markers;
pub mod online;
pub mod regions;
pub mod tile_pack;
