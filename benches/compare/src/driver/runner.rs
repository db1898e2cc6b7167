//! One measured run: the load generator as its own process, pinned to the
//! client core, against one running server.

use std::process::{Command, Stdio};

use super::options::Options;
use super::servers::Running;
use super::workloads::Workload;
use crate::loadgen::Outcome;

/// Runs `w` against `server`. `ids` are the rows the workload reads,
/// patches (one per connection) or deletes.
pub fn measure(
    server: &Running,
    w: Workload,
    opts: &Options,
    ids: &[i64],
    unique_base: u64,
) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(&opts.client_cpu).arg(exe).arg("loadgen");
    cmd.args([
        "--addr",
        &server.addr.to_string(),
        "--pid",
        &server.pid.to_string(),
    ]);
    cmd.args(["--conns", &opts.conns.to_string()]);
    cmd.args(["--warmup-ms", &opts.warmup.as_millis().to_string()]);
    cmd.args(["--duration-ms", &opts.duration.as_millis().to_string()]);
    cmd.args(["--unique-base", &unique_base.to_string()]);
    cmd.args(w.loadgen_args());
    let ids_file =
        std::env::temp_dir().join(format!("lightapi_cmp_{}_ids.txt", std::process::id()));
    if !ids.is_empty() {
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        std::fs::write(&ids_file, text).map_err(|e| format!("{}: {e}", ids_file.display()))?;
        cmd.arg("--ids-file").arg(&ids_file);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start the load generator: {e}"))?;
    let _ = std::fs::remove_file(&ids_file);
    if !out.status.success() {
        return Err(format!(
            "load generator failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("load generator output {line:?}: {e}"))
}
