//! lightapi against actix-web, axum and may_minihttp, measured the way
//! outside reviewers do: every server its own process at its own defaults,
//! pinned to one core; the load generator pinned to the other; alternating
//! rounds; medians and spread; server CPU time per request. See
//! `benches/README.md` (comparison section) and `run.sh`.
//!
//! One binary, three roles:
//!
//! - `lightapi-compare [flags]`: the driver (see `driver/options.rs`);
//! - `lightapi-compare peer <actix|axum|may> --port N [--db …]`: a peer server;
//! - `lightapi-compare loadgen --addr … --workload …`: the load generator.

mod driver;
mod loadgen;
mod peer;
mod procfs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("peer") => peer::main(&args[1..]),
        Some("loadgen") => loadgen::main(&args[1..]),
        _ => driver::main(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
