//! Signals: SIGINT/SIGTERM, which `signal-hook` writes as a byte to a
//! socket pair whose other end the first reactor polls to start the
//! graceful shutdown; and SIGHUP, delivered the same way to whoever asks
//! for it (the `lightapi` command reloads its file on it).

use std::io;
#[cfg(feature = "cli")]
use std::io::Read;

use mio::net::UnixStream;
#[cfg(feature = "cli")]
use signal_hook::consts::SIGHUP;
use signal_hook::consts::{SIGINT, SIGTERM};

/// Installs the handlers; returns the end the reactor polls.
pub(crate) fn install() -> io::Result<UnixStream> {
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?;
    signal_hook::low_level::pipe::register(SIGTERM, write)?;
    Ok(UnixStream::from_std(read))
}

/// SIGHUPs, as they arrive: from now on a SIGHUP no longer ends the
/// process.
#[cfg(feature = "cli")]
#[derive(Debug)]
pub(crate) struct Hangups(std::os::unix::net::UnixStream);

#[cfg(feature = "cli")]
impl Hangups {
    /// Installs the handler.
    pub(crate) fn install() -> io::Result<Hangups> {
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        // The handler must never block; a full socket means a SIGHUP is
        // pending already, which is all the reader needs to know.
        write.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(SIGHUP, write)?;
        Ok(Hangups(read))
    }

    /// Waits for the next SIGHUP (those that arrived together are read
    /// as one). False when no more can arrive.
    pub(crate) fn wait(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => return false,
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}
