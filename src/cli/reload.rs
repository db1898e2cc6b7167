//! `serve` on SIGHUP: the file read and checked again as at start-up
//! (`LIGHTAPI_*` over it, the models against their tables), and the
//! running server's application swapped for it; a file that fails keeps
//! the running one. One log line per reload says which it was.

use std::path::{Path, PathBuf};

use super::commands::{app, load_resolved};
use super::error::CliError;
use crate::app::{needs_restart, reload};
use crate::server::signal::Hangups;
use crate::server::Swapper;

/// Reloads `path` into the server `swapper` drives at each SIGHUP, on a
/// thread of its own, for as long as the process runs.
pub(super) fn watch(path: &Path, mut hangups: Hangups, swapper: Swapper) -> Result<(), CliError> {
    let path: PathBuf = path.to_owned();
    std::thread::Builder::new()
        .name("lightapi-reload".to_owned())
        .spawn(move || {
            while hangups.wait() {
                reload_file(&path, &swapper);
            }
        })
        .map(drop)
        .map_err(|e| CliError::Runtime(format!("cannot start the reload thread: {e}")))
}

/// One reload of `path`, logged in one line.
fn reload_file(path: &Path, swapper: &Swapper) {
    let shown = path.display();
    match load_resolved(path)
        .and_then(app)
        .and_then(|next| reload(swapper, next).map_err(|e| CliError::Runtime(e.to_string())))
    {
        Ok(kept) => {
            // The new application's log, at its level.
            let log = swapper.apps().current().0.log;
            if kept.is_empty() {
                log.info(&format!("reloaded {shown}"));
            } else {
                log.warn(&format!("reloaded {shown}; {}", needs_restart(&kept)));
            }
        }
        Err(e) => {
            let log = swapper.apps().current().0.log;
            log.error(&format!(
                "reload of {shown} failed, the previous configuration goes on serving: {e}"
            ));
        }
    }
}
