//! `geolens` with no arguments opens the app; subcommands run the command line. Each
//! command's flags and work live in its own file under `cli/`; this file parses and
//! dispatches.

use clap::{Parser, Subcommand};

use geolens::cli::aerial::{MatchEvalOptions, MatchOptions, match_photo, run_match_eval};
use geolens::cli::cells::CellsCommand;
use geolens::cli::datasets::DatasetsCommand;
use geolens::cli::eval::{EvalOptions, run_eval};
use geolens::cli::export::{ExportOptions, export};
use geolens::cli::geotag::{GeotagOptions, geotag};
use geolens::cli::gui::{GuiArgs, launch};
use geolens::cli::models::ModelsCommand;
use geolens::cli::predict::{PredictOptions, predict};
use geolens::cli::{CliError, Exit, printable};
use geolens::model::backend::BackendChoice;
use geolens::model::config::ModelConfig;

#[derive(Parser)]
#[command(
    name = "geolens",
    version,
    about = "Tells where a photo was taken. No command: open the app (with any photos given)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    gui: GuiArgs,
    #[command(flatten)]
    model: ModelConfig,
}

#[derive(Subcommand)]
enum Command {
    Predict(PredictOptions),
    Export(ExportOptions),
    Geotag(GeotagOptions),
    Eval(EvalOptions),
    Match(MatchOptions),
    MatchEval(MatchEvalOptions),
    /// Adaptive S2 partitions (PlaNet's geocells).
    Cells {
        #[command(subcommand)]
        command: CellsCommand,
    },
    /// Model weights.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Public benchmark photos, fetched only when asked.
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
}

fn run() -> Result<Exit, CliError> {
    let cli = Cli::parse();
    let model = cli.model;
    // First thing, before anything starts rayon's pool at its default size.
    model.apply_threads();
    let stdout = std::io::stdout();
    let out = &mut stdout.lock();
    match cli.command {
        None => {
            // Model flags given on the command line override the app's saved settings.
            let explicit = model.model_dir.is_some() || model.backend != BackendChoice::Auto;
            launch(cli.gui, explicit.then_some(model)).map(|()| Exit::Ok)
        }
        Some(Command::Predict(options)) => predict(&options, &model, out).map(Exit::failed),
        Some(Command::Export(options)) => export(&options, &model).map(Exit::failed),
        Some(Command::Geotag(options)) => geotag(&options, &model, out).map(Exit::failed),
        Some(Command::Eval(options)) => run_eval(&options, &model, out),
        Some(Command::Match(options)) => match_photo(&options, &model, out).map(Exit::failed),
        Some(Command::MatchEval(options)) => run_match_eval(&options, &model, out),
        Some(Command::Cells { command }) => command.run(out),
        Some(Command::Models { command }) => command.run(&model, out),
        Some(Command::Datasets { command }) => command.run(out),
    }
}

fn main() {
    match run() {
        Ok(Exit::Ok) => {}
        Ok(Exit::Partial) => std::process::exit(2),
        Err(e) => {
            // One line, whatever the error chain holds.
            let message = printable(&one_line(&anyhow::Error::from(e)));
            eprintln!("geolens: error: {message}");
            std::process::exit(1);
        }
    }
}

/// An error and its causes on one line, each cause once: errors that quote their source in
/// their own message (`path: reason`) would otherwise print the reason twice.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
