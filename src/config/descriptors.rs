//! The process's file-descriptor limit, and the connection cap it allows.
//!
//! Every open connection holds a descriptor, so a connection cap above the
//! descriptor limit cannot be reached: `accept` fails first and clients
//! over the limit are left waiting in the backlog instead of being answered
//! `503`. Start-up therefore clamps the cap to the soft limit minus a
//! reserve for the descriptors the server holds besides connections.

/// Descriptors kept back from connections at least: standard streams, the
/// listener, the signal pair, database files and network connections, and
/// anything the application opens.
const BASE_RESERVE: usize = 32;
/// Descriptors each event loop holds besides its connections: its poller,
/// its waker, its duplicate of the listener and its spare descriptor.
const PER_REACTOR_RESERVE: usize = 4;

/// The soft "Max open files" limit of this process, read from
/// `/proc/self/limits`; `None` where that file is missing or unreadable, or
/// the limit is unlimited.
pub(crate) fn soft_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&text)
}

/// The soft limit on the "Max open files" line of a `/proc/<pid>/limits`
/// text (columns: name, soft limit, hard limit, units).
pub(crate) fn parse_soft_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The descriptors kept back from connections under a soft limit of
/// `soft` with `reactors` event loops: a tenth of the limit, and never
/// less than what the server itself holds.
pub(crate) fn reserve(soft: usize, reactors: usize) -> usize {
    let own = BASE_RESERVE.saturating_add(PER_REACTOR_RESERVE.saturating_mul(reactors));
    (soft / 10).max(own)
}

/// The connection cap that fits under a descriptor soft limit of `soft`:
/// `cap` itself if it fits, else the limit less the [`reserve`] (half the
/// limit if the reserve would take it all, and at least one).
pub(crate) fn clamp_connections(cap: usize, soft: usize, reactors: usize) -> usize {
    let room = match soft.checked_sub(reserve(soft, reactors)) {
        Some(n) if n > 0 => n,
        _ => soft / 2,
    };
    cap.min(room.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             63448                63448                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
";

    #[test]
    fn reads_the_soft_open_files_limit() {
        assert_eq!(parse_soft_limit(LIMITS), Some(1024));
    }

    #[test]
    fn an_unlimited_or_missing_limit_reads_as_none() {
        let unlimited = LIMITS.replace(
            "Max open files            1024 ",
            "Max open files            unlimited ",
        );
        assert_eq!(parse_soft_limit(&unlimited), None);
        assert_eq!(parse_soft_limit("Max processes 10 10 processes\n"), None);
        assert_eq!(parse_soft_limit(""), None);
    }

    #[test]
    fn the_reserve_is_a_tenth_or_what_the_server_holds() {
        assert_eq!(reserve(1024, 2), 102);
        assert_eq!(reserve(64, 2), 40);
        assert_eq!(reserve(1_048_576, 16), 104_857);
        assert_eq!(reserve(1024, 100), 432);
    }

    #[test]
    fn the_cap_is_clamped_below_the_limit() {
        // The default cap is above the common soft limit.
        assert_eq!(clamp_connections(16_384, 1024, 2), 922);
        // A cap that fits is kept.
        assert_eq!(clamp_connections(500, 1024, 2), 500);
        assert_eq!(clamp_connections(16_384, 1_048_576, 2), 16_384);
        assert_eq!(clamp_connections(16_384, 128, 2), 88);
        // A reserve that would take everything leaves half, at least one.
        assert_eq!(clamp_connections(16_384, 30, 2), 15);
        assert_eq!(clamp_connections(16_384, 1, 2), 1);
        assert_eq!(clamp_connections(16_384, 0, 2), 1);
    }
}
