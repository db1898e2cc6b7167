//! CPU time from a `/proc/…/stat` file, shared by
//! `benches/support/loadgen.rs` and the comparison (`benches/compare`).

use std::sync::OnceLock;
use std::time::Duration;

/// `utime + stime` from the `stat` file at `path` (`/proc/<pid>/stat`
/// counts every thread of the process, exited ones included;
/// `/proc/thread-self/stat` the calling thread).
pub fn cpu_time(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name: utime and stime are the
    // 14th and 15th fields overall, the 12th and 13th after ")".
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks_per_second() as f64,
    ))
}

/// `CLK_TCK` (100 on Linux unless the kernel says otherwise).
pub fn clock_ticks_per_second() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}
