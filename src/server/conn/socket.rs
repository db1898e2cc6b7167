//! The connection's side of its transport: reading into the input buffer under
//! its cap, writing queued output, lingering after a close.

use std::io;
use std::time::{Duration, Instant};

use super::{Conn, Cx, State, Transport, Verdict, LINGER, LINGER_MAX_BYTES};

impl<S: Transport> Conn<S> {
    /// Reads while the socket has data and the input cap allows.
    pub(super) fn fill(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let cap = cx.config.limits.max_head_bytes + cx.scratch.len();
        while self.maybe_readable && !self.peer_eof {
            if let State::Lingering { discarded, .. } = &mut self.state {
                match self.stream.read(cx.scratch) {
                    Ok(0) => self.peer_eof = true,
                    Ok(n) => {
                        *discarded += n;
                        if *discarded > LINGER_MAX_BYTES {
                            return Err(io::ErrorKind::InvalidData.into());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.maybe_readable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            if matches!(self.state, State::Closing) || self.rbuf.len() - self.rpos >= cap {
                // Back-pressure: process what we have first; readiness is
                // remembered in `maybe_readable`.
                break;
            }
            if self.rpos > 0 && self.rpos == self.rbuf.len() {
                self.rbuf.clear();
                self.rpos = 0;
            } else if self.rpos > 0 && self.rpos >= self.rbuf.len() / 2 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            match self.stream.read(cx.scratch) {
                Ok(0) => self.peer_eof = true,
                Ok(n) => {
                    if self.rbuf.len() == self.rpos
                        && self.head_started.is_none()
                        && matches!(self.state, State::Head)
                    {
                        self.head_started = Some(cx.now);
                    }
                    self.rbuf
                        .extend_from_slice(cx.scratch.get(..n).unwrap_or_default());
                    self.bytes_read += n as u64;
                    // A short read emptied the socket's queue: anything
                    // arriving later raises a new edge-triggered event, so
                    // the read that would only say WouldBlock is skipped
                    // (one system call per batch of pipelined requests).
                    // Once the peer's end was reported, read on to it.
                    if n < cx.scratch.len() && !self.read_closed {
                        self.maybe_readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.maybe_readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes queued output until done or the socket is full.
    /// A client that takes no output for `write_timeout` is dropped.
    pub(super) fn flush(&mut self, now: Instant, write_timeout: Duration) -> io::Result<()> {
        while self.wpos < self.wbuf.len() {
            match self
                .stream
                .write(self.wbuf.get(self.wpos..).unwrap_or_default())
            {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.wpos += n;
                    self.bytes_written += n as u64;
                    self.write_deadline = None;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.write_deadline.is_none() {
                        self.write_deadline = Some(now + write_timeout);
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        self.write_deadline = None;
        Ok(())
    }

    /// Moves a closing connection whose output is written to lingering.
    pub(super) fn after_flush(&mut self, cx: &mut Cx<'_>) -> Option<Verdict> {
        if matches!(self.state, State::Closing) && self.wpos >= self.wbuf.len() {
            if self.peer_eof {
                return Some(Verdict::Close);
            }
            let _ = self.stream.shutdown_write();
            self.state = State::Lingering {
                until: cx.now + LINGER,
                discarded: 0,
            };
        }
        if let State::Lingering { .. } = self.state {
            if self.peer_eof {
                return Some(Verdict::Close);
            }
        }
        None
    }
}
