//! The configuration printed with the results: machine, software versions
//! and the run's settings.

use std::process::Command;

use serde_json::{json, Value};

use super::options::Options;

fn command(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn file_line(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once([':', '=']))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// `name version` of the peers' crates, from this crate's `Cargo.lock`.
fn crate_versions() -> Vec<String> {
    const LOCK: &str = include_str!("../../Cargo.lock");
    const WANTED: [&str; 12] = [
        "actix-web",
        "actix-http",
        "axum",
        "hyper",
        "tokio",
        "may_minihttp",
        "may",
        "rusqlite",
        "tokio-postgres",
        "deadpool-postgres",
        "mysql_async",
        "mysql",
    ];
    let mut out = Vec::new();
    let mut name = None;
    for line in LOCK.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if WANTED.contains(&n.as_str()) {
                out.push(format!("{n} {}", v.trim_matches('"')));
            }
        }
    }
    out
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Everything but the per-server details.
pub fn collect(opts: &Options) -> Value {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.to_string_lossy();
    let commit = command("git", &["-C", &repo, "rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "?".into());
    let dirty = command(
        "git",
        &["-C", &repo, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|s| !s.is_empty());
    json!({
        "date_utc": command("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
        "cpu": file_line("/proc/cpuinfo", "model name"),
        "cores_online": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memory": file_line("/proc/meminfo", "MemTotal"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        "os": file_line("/etc/os-release", "PRETTY_NAME"),
        "rustc": command("rustc", &["-V"]),
        "lightapi_commit": format!("{commit}{}", if dirty { " (with uncommitted changes)" } else { "" }),
        "lightapi_binary": opts.lightapi.display().to_string(),
        "peer_crates": crate_versions(),
        "load_average_at_start": load_average(),
        "pinning": format!("each server: taskset -c {}; load generator: taskset -c {}", opts.server_cpu, opts.client_cpu),
        "load_generator": if opts.client == "wrk" {
            format!(
                "plaintext/json/pipelined: {} -t1 -c{} --latency (warm-up run, then measured run); database workloads: lightapi-compare loadgen (1 thread, mio, {} keep-alive connections, closed loop)",
                command("wrk", &["--version"]).or_else(|| Command::new("wrk").arg("--version").output().ok().map(|o| {
                        let text = String::from_utf8_lossy(&o.stdout).into_owned();
                        let first = text.lines().next().unwrap_or("wrk");
                        first.split(" Copyright").next().unwrap_or(first).trim().to_string()
                    })).unwrap_or_else(|| "wrk".into()),
                opts.conns, opts.conns
            )
        } else {
            format!(
                "lightapi-compare loadgen: 1 thread, mio, {} keep-alive connections, closed loop (like wrk -t1 -c{})",
                opts.conns, opts.conns
            )
        },
        "rounds": opts.rounds,
        "warmup_s": opts.warmup.as_secs_f64(),
        "measured_s": opts.duration.as_secs_f64(),
        "connections": opts.conns,
        "order": "for each workload: round 1 of every server, round 2 of every server, … (A, B, C, A, B, C, …)",
    })
}
