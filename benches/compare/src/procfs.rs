//! What the driver and the load generator read about a server process from
//! `/proc`: its CPU time and its thread count.

use std::time::Duration;

#[path = "../../support/cpu_time.rs"]
mod shared;

/// `utime + stime` of process `pid`: `/proc/<pid>/stat` counts every thread
/// of the process, including threads that have exited.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    shared::cpu_time(&format!("/proc/{pid}/stat"))
}

/// The `Threads:` line of `/proc/<pid>/status`.
pub fn threads(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// `Cpus_allowed_list:` of `/proc/<pid>/status` (the pinning in force).
pub fn cpus_allowed(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}
