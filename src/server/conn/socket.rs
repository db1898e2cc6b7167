//! The connection's side of its transport: reading into the input buffer under
//! its cap, writing queued output, lingering after a close.

use std::io;

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
    /// A client that takes no output for the write timeout is dropped; so
    /// is one that takes it slower than the minimum send rate
    /// ([`Conn::on_timer`]), measured from when output starts waiting.
    /// Output written in full releases a buffer that took from the output
    /// budget.
    pub(super) fn flush(&mut self, cx: &Cx<'_>) -> io::Result<()> {
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
                    let t = &cx.config.timeouts;
                    if self.write_deadline.is_none() {
                        self.write_deadline = Some(cx.now + t.write);
                    }
                    if self.send_window.is_none() && t.min_send_rate > 0 {
                        self.send_window = Some((cx.now + t.send_rate_grace, self.bytes_written));
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
        self.send_window = None;
        if self.held_output > 0 {
            self.wbuf = Vec::new();
            self.return_output(cx.output);
        }
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
