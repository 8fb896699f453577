//! Command-line commands. Each returns a library error; `main` turns it into one line and a
//! non-zero exit.

pub mod cells;
pub mod models;
