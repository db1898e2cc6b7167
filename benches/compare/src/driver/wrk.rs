//! The three HTTP-only workloads through `wrk -t1 -c<conns>` instead of the
//! project's load generator (`--client wrk`), pinned to the client core the
//! same way, as the outside reviewers ran them: a warm-up run, then the
//! measured run with the server's CPU time sampled just before and after
//! it. A Lua `done` hook prints wrk's counts and percentiles as JSON; the
//! pipelined workload uses wrk's documented pipelining script (16 requests
//! concatenated per write).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use super::options::Options;
use super::servers::Running;
use super::workloads::{Workload, PIPELINE};
use crate::loadgen::{Kind, Outcome};
use crate::procfs;

const SCRIPT: &str = r#"
local pipeline = 1
local path = "/"
init = function(args)
  pipeline = tonumber(args[1]) or 1
  path = args[2] or "/"
  if pipeline > 1 then
    local r = {}
    for i = 1, pipeline do r[i] = wrk.format(nil, path) end
    batch = table.concat(r)
    request = function() return batch end
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"duration_us":%d,"p50_us":%.1f,"p99_us":%.1f}\n',
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"#;

#[derive(Deserialize)]
struct WrkDone {
    requests: u64,
    status: u64,
    connect: u64,
    read: u64,
    write: u64,
    timeout: u64,
    duration_us: u64,
    p50_us: f64,
    p99_us: f64,
}

/// Whether `wrk` can be run.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

fn wrk(
    server: &Running,
    opts: &Options,
    path: &str,
    pipeline: usize,
    secs: Duration,
    script: &str,
) -> Result<WrkDone, String> {
    let url = format!("http://{}{path}", server.addr);
    let secs = format!("{}s", secs.as_secs().max(1));
    let out = Command::new("taskset")
        .args([
            "-c",
            &opts.client_cpu,
            "wrk",
            "-t1",
            &format!("-c{}", opts.conns),
            "-d",
            &secs,
            "--latency",
            "-s",
            script,
        ])
        .arg(&url)
        .args(["--", &pipeline.to_string(), path])
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("no result from wrk: {stdout}"))?;
    serde_json::from_str(line).map_err(|e| format!("wrk output {line:?}: {e}"))
}

/// Runs an HTTP-only workload with wrk.
pub fn measure(server: &Running, w: Workload, opts: &Options) -> Result<Outcome, String> {
    let (path, pipeline) = match w.kind() {
        Kind::Get { path, pipeline } => (path, pipeline),
        _ => return Err(format!("{} cannot run under wrk here", w.name())),
    };
    debug_assert!(pipeline == 1 || pipeline == PIPELINE);
    let script = std::env::temp_dir().join(format!("lightapi_cmp_{}_wrk.lua", std::process::id()));
    std::fs::write(&script, SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let script_s = script.to_string_lossy().into_owned();
    if !opts.warmup.is_zero() {
        wrk(server, opts, &path, pipeline, opts.warmup, &script_s)?;
    }
    let before = procfs::cpu_time(server.pid);
    let done = wrk(server, opts, &path, pipeline, opts.duration, &script_s);
    let after = procfs::cpu_time(server.pid);
    let _ = std::fs::remove_file(&script);
    let done = done?;
    let mut bad_statuses = BTreeMap::new();
    if done.status > 0 {
        // wrk counts responses outside 2xx/3xx without their status.
        bad_statuses.insert(0, done.status);
    }
    let lost = done.connect + done.read + done.write + done.timeout;
    Ok(Outcome {
        requests: done.requests.saturating_sub(done.status),
        bad_statuses,
        lost,
        elapsed_s: done.duration_us as f64 / 1e6,
        p50_us: done.p50_us,
        p99_us: done.p99_us,
        server_cpu_s: match (before, after) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64()),
            _ => None,
        },
        exhausted: false,
        first_error: (done.status + lost > 0).then(|| {
            format!(
                "wrk: {} non-2xx/3xx responses, {lost} socket errors",
                done.status
            )
        }),
    })
}
