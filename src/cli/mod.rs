//! The `lightapi` command (feature `cli`): serves, checks and describes an
//! API declared in a TOML file, without writing Rust.
//!
//! ```text
//! file (TOML, spans) ─▶ env (${VAR}) ─▶ settings (Config; LIGHTAPI_* over
//!     the file) + models (Models, Resources) ─▶ declare ─▶ commands ─▶ LightApi
//! ```
//!
//! `serve` reads the file again on SIGHUP (`reload`) and swaps the result
//! into the running server.
//!
//! See README, "Serving without Rust", for the file's format.

mod args;
mod commands;
mod declare;
mod env;
mod error;
mod file;
mod init;
mod login;
mod models;
mod reflect;
mod reload;
mod settings;

use std::io::Write;

use args::Command;
use error::CliError;

pub use error::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// Runs the `lightapi` command with `args` (the arguments after the
/// program's name) and answers its exit status: [`EXIT_OK`],
/// [`EXIT_FAILURE`] (a runtime or database failure) or [`EXIT_USAGE`] (a
/// usage mistake or a bad file). Messages go to standard error, results
/// to standard output.
///
/// ```
/// use lightapi::cli::{run, EXIT_OK, EXIT_USAGE};
/// assert_eq!(run(&["--version".to_owned()]), EXIT_OK);
/// assert_eq!(run(&["no-such-command".to_owned()]), EXIT_USAGE);
/// assert_eq!(run(&["check".to_owned(), "/no/such/file.toml".to_owned()]), EXIT_USAGE);
/// ```
pub fn run(args: &[String]) -> u8 {
    let command = match args::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lightapi: {e}\n\n{}", args::USAGE);
            return EXIT_USAGE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match command {
        Command::Help(text) => write_help(&mut out, text),
        Command::Version => write_help(
            &mut out,
            concat!("lightapi ", env!("CARGO_PKG_VERSION"), "\n"),
        ),
        Command::Serve(path) => commands::serve(&path),
        Command::Routes(path) => commands::routes(&path, &mut out),
        Command::OpenApi(path) => commands::openapi(&path, &mut out),
        Command::HashPassword => commands::hash(&mut std::io::stdin().lock(), &mut out),
        Command::Init { url, file } => commands::init(&url, &file, &mut out),
        Command::Check(path) => match commands::check(&path, &mut out) {
            Ok(true) => Ok(()),
            Ok(false) => {
                eprintln!("lightapi: a table differs from its model");
                return EXIT_FAILURE;
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("lightapi: {e}");
            e.exit_status()
        }
    }
}

fn write_help(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::Runtime(format!("cannot write the output: {e}")))
}
