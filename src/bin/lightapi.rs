//! `lightapi`: serve a REST API declared in a TOML file (see README,
//! "Serving without Rust").

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(lightapi::cli::run(&args))
}
