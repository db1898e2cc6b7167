//! A non-blocking socket as the driver's `AsyncRead`/`AsyncWrite`.
//!
//! No waker is kept: the event loop polls a connection again whenever its
//! socket reports readiness, so `Pending` is returned only after the
//! socket said `WouldBlock`, which guarantees an edge-triggered event once
//! it can make progress. A socket still connecting is `Pending` until the
//! connect is done, and fails with the connect's error.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A non-blocking byte stream that may still be connecting.
pub(crate) trait Socket: Read + Write + Unpin {
    /// `Ok(true)` once connected, `Ok(false)` while the connect is under
    /// way, the connect's error when it failed.
    fn connected(&mut self) -> io::Result<bool>;
    /// Ends the sending side.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Socket for mio::net::TcpStream {
    fn connected(&mut self) -> io::Result<bool> {
        match self.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => match self.take_error()? {
                Some(e) => Err(e),
                None => Ok(false),
            },
            Err(e) => Err(e),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

/// A [`Socket`] driven by the event loop's readiness events.
pub(crate) struct LoopStream<S> {
    socket: S,
    connected: bool,
}

impl<S: Socket> LoopStream<S> {
    pub(crate) fn new(socket: S) -> LoopStream<S> {
        LoopStream {
            socket,
            connected: false,
        }
    }

    /// Ready once connected; `Pending` while the connect is under way.
    fn ready(&mut self) -> Poll<io::Result<()>> {
        if !self.connected {
            match self.socket.connected() {
                Ok(true) => self.connected = true,
                Ok(false) => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// `Pending` for `WouldBlock`; `Interrupted` tried again.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> Poll<io::Result<T>> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return Poll::Ready(other),
        }
    }
}

impl<S: Socket> AsyncRead for LoopStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.ready())?;
        let n = std::task::ready!(retry(|| this.socket.read(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: Socket> AsyncWrite for LoopStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.ready())?;
        retry(|| this.socket.write(data))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.connected {
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(this.socket.shutdown_write())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::task::Waker;

    /// A socket that connects after `connect_after` checks and hands out
    /// queued read results.
    struct Fake {
        connect_after: usize,
        fail_connect: bool,
        reads: VecDeque<io::Result<Vec<u8>>>,
        written: Vec<u8>,
        write_room: usize,
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.reads.pop_front() {
                Some(Ok(bytes)) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Some(Err(e)) => Err(e),
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    impl Write for Fake {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.write_room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = data.len().min(self.write_room);
            self.write_room -= n;
            self.written.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Socket for Fake {
        fn connected(&mut self) -> io::Result<bool> {
            if self.fail_connect {
                return Err(io::ErrorKind::ConnectionRefused.into());
            }
            if self.connect_after == 0 {
                return Ok(true);
            }
            self.connect_after -= 1;
            Ok(false)
        }
        fn shutdown_write(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn fake(connect_after: usize) -> Fake {
        Fake {
            connect_after,
            fail_connect: false,
            reads: VecDeque::new(),
            written: Vec::new(),
            write_room: usize::MAX,
        }
    }

    fn read(s: &mut LoopStream<Fake>) -> Poll<io::Result<Vec<u8>>> {
        let mut storage = [0u8; 16];
        let mut buf = ReadBuf::new(&mut storage);
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut *s).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().to_vec())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn write(s: &mut LoopStream<Fake>, data: &[u8]) -> Poll<io::Result<usize>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(s).poll_write(&mut cx, data)
    }

    #[test]
    fn pending_while_connecting_then_reads_what_arrived() {
        let mut f = fake(2);
        f.reads.push_back(Ok(b"abc".to_vec()));
        f.reads.push_back(Err(io::ErrorKind::Interrupted.into()));
        f.reads.push_back(Ok(b"de".to_vec()));
        let mut s = LoopStream::new(f);
        assert!(read(&mut s).is_pending());
        assert!(write(&mut s, b"x").is_pending());
        assert_eq!(s.socket.written, b"");
        let Poll::Ready(Ok(bytes)) = read(&mut s) else {
            panic!("connected and readable")
        };
        assert_eq!(bytes, b"abc");
        // An interrupted read is tried again at once.
        let Poll::Ready(Ok(bytes)) = read(&mut s) else {
            panic!("readable after EINTR")
        };
        assert_eq!(bytes, b"de");
        assert!(read(&mut s).is_pending(), "WouldBlock is Pending");
    }

    #[test]
    fn a_refused_connect_is_an_error_and_eof_reads_nothing() {
        let mut f = fake(0);
        f.fail_connect = true;
        let mut s = LoopStream::new(f);
        let Poll::Ready(Err(e)) = read(&mut s) else {
            panic!("refused")
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let mut s = LoopStream::new(fake(0));
        s.socket.reads.push_back(Ok(Vec::new()));
        let Poll::Ready(Ok(bytes)) = read(&mut s) else {
            panic!("end of stream")
        };
        assert!(bytes.is_empty());
    }

    #[test]
    fn writes_take_what_fits_and_wait_when_full() {
        let mut f = fake(0);
        f.write_room = 3;
        let mut s = LoopStream::new(f);
        let Poll::Ready(Ok(n)) = write(&mut s, b"hello") else {
            panic!("room for three bytes")
        };
        assert_eq!(n, 3);
        assert!(write(&mut s, b"lo").is_pending());
        assert_eq!(s.socket.written, b"hel");
    }
}
