//! SIGINT/SIGTERM: `signal-hook` writes a byte to a socket pair; the first
//! reactor polls the other end and starts the graceful shutdown.

use std::io;

use mio::net::UnixStream;
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
