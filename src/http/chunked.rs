//! The `chunked` transfer coding (RFC 9112 §7.1): a small, pure, resumable
//! byte state machine with checked arithmetic and explicit caps.

use std::fmt;

/// Cap on the bytes of chunk extensions in one chunk-size line.
pub const MAX_CHUNK_EXTENSION_BYTES: usize = 1024;
/// Cap on the hex digits of one chunk size (16 fit any `u64`; leading zeros
/// beyond that are refused too).
pub const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// Why a chunked body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// A chunk size line that is not `1*HEXDIG [ext] CRLF`.
    BadSize,
    /// A chunk size that overflows.
    SizeOverflow,
    /// Chunk data not followed by CRLF.
    MissingDataTerminator,
    /// Bare LF or another byte where CRLF was required.
    BadLineEnding,
    /// Chunk extensions over the cap (1 KiB).
    ExtensionTooLong {
        /// The cap.
        limit: usize,
    },
    /// Trailer fields over the head limit.
    TrailerTooLarge {
        /// The cap.
        limit: usize,
    },
    /// A trailer field with a control character.
    BadTrailer,
    /// The decoded body exceeds the body limit.
    BodyTooLarge {
        /// The cap.
        limit: usize,
    },
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkedError::BadSize => f.write_str("invalid chunk size line"),
            ChunkedError::SizeOverflow => f.write_str("chunk size overflows"),
            ChunkedError::MissingDataTerminator => f.write_str("chunk data not followed by CRLF"),
            ChunkedError::BadLineEnding => f.write_str("invalid line ending in chunked body"),
            ChunkedError::ExtensionTooLong { limit } => {
                write!(f, "chunk extensions exceed {limit} bytes")
            }
            ChunkedError::TrailerTooLarge { limit } => {
                write!(f, "trailer fields exceed {limit} bytes")
            }
            ChunkedError::BadTrailer => f.write_str("invalid trailer field"),
            ChunkedError::BodyTooLarge { limit } => write!(f, "request body exceeds {limit} bytes"),
        }
    }
}

impl std::error::Error for ChunkedError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size { digits: usize },
    /// Whitespace after the size, before `;` or CR.
    SizeWhitespace,
    /// Inside chunk extensions, up to CR.
    Extension { bytes: usize },
    /// Expecting the LF of the size line.
    SizeLf,
    /// Reading chunk data.
    Data,
    /// Expecting CR after chunk data.
    DataCr,
    /// Expecting LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final CRLF).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Expecting LF ending a trailer line.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Progress of one [`ChunkedDecoder::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Whether the final chunk and trailers are complete.
    pub done: bool,
}

/// A resumable decoder: feed it the bytes as they arrive.
///
/// ```
/// use lightapi::__private::http::ChunkedDecoder;
/// let mut d = ChunkedDecoder::new(1024, 8192);
/// let mut body = Vec::new();
/// let r = d.decode(b"5\r\nhello\r\n0\r\n\r\nNEXT", &mut body).unwrap();
/// assert!(r.done);
/// assert_eq!(body, b"hello");
/// assert_eq!(r.consumed, 15);
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the chunk being read, then bytes of it still to read.
    remaining: u64,
    total: u64,
    trailer_bytes: usize,
    max_body_bytes: u64,
    max_trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body_bytes` decoded bytes and
    /// trailers of at most `max_trailer_bytes`.
    pub fn new(max_body_bytes: usize, max_trailer_bytes: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            remaining: 0,
            total: 0,
            trailer_bytes: 0,
            max_body_bytes: max_body_bytes as u64,
            max_trailer_bytes,
        }
    }

    /// Whether the body is complete.
    #[cfg(any(test, feature = "__private"))]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes as much of `input` as possible, appending chunk data to `out`.
    ///
    /// Stops at the end of the body: bytes after it (a pipelined request) are
    /// not consumed.
    ///
    /// # Errors
    /// A [`ChunkedError`] for malformed framing or a body over the limit;
    /// the decoder must not be used after an error.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Decoded, ChunkedError> {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            let Some(&b) = input.get(i) else { break };
            if self.state == State::Data {
                let available = (input.len() - i) as u64;
                let take = available.min(self.remaining) as usize;
                out.extend_from_slice(input.get(i..i + take).unwrap_or_default());
                self.remaining -= take as u64;
                i += take;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            self.state = self.step(b)?;
            i += 1;
        }
        Ok(Decoded {
            consumed: i,
            done: self.state == State::Done,
        })
    }

    fn step(&mut self, b: u8) -> Result<State, ChunkedError> {
        Ok(match self.state {
            State::Size { digits } => match (crate::hex::digit_value(b), b) {
                (Some(v), _) => {
                    if digits == MAX_CHUNK_SIZE_DIGITS {
                        return Err(ChunkedError::SizeOverflow);
                    }
                    self.remaining = self
                        .remaining
                        .checked_mul(16)
                        .and_then(|n| n.checked_add(u64::from(v)))
                        .ok_or(ChunkedError::SizeOverflow)?;
                    State::Size { digits: digits + 1 }
                }
                (None, _) if digits == 0 => return Err(ChunkedError::BadSize),
                (None, b' ' | b'\t') => State::SizeWhitespace,
                (None, b';') => State::Extension { bytes: 0 },
                (None, b'\r') => State::SizeLf,
                _ => return Err(ChunkedError::BadSize),
            },
            State::SizeWhitespace => match b {
                b' ' | b'\t' => State::SizeWhitespace,
                b';' => State::Extension { bytes: 0 },
                b'\r' => State::SizeLf,
                _ => return Err(ChunkedError::BadSize),
            },
            State::Extension { bytes } => match b {
                b'\r' => State::SizeLf,
                b'\n' => return Err(ChunkedError::BadLineEnding),
                _ if bytes >= MAX_CHUNK_EXTENSION_BYTES => {
                    return Err(ChunkedError::ExtensionTooLong {
                        limit: MAX_CHUNK_EXTENSION_BYTES,
                    })
                }
                0..=8 | 10..=31 | 127 => return Err(ChunkedError::BadSize),
                _ => State::Extension { bytes: bytes + 1 },
            },
            State::SizeLf => {
                if b != b'\n' {
                    return Err(ChunkedError::BadLineEnding);
                }
                if self.remaining == 0 {
                    State::TrailerStart
                } else {
                    self.total = self
                        .total
                        .checked_add(self.remaining)
                        .ok_or(ChunkedError::SizeOverflow)?;
                    if self.total > self.max_body_bytes {
                        return Err(ChunkedError::BodyTooLarge {
                            limit: self.max_body_bytes as usize,
                        });
                    }
                    State::Data
                }
            }
            State::Data => State::Data,
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(ChunkedError::MissingDataTerminator),
            },
            State::DataLf => match b {
                b'\n' => {
                    self.remaining = 0;
                    State::Size { digits: 0 }
                }
                _ => return Err(ChunkedError::MissingDataTerminator),
            },
            State::TrailerStart => match b {
                b'\r' => State::EndLf,
                b' ' | b'\t' => return Err(ChunkedError::BadTrailer),
                _ => self.trailer_byte(b, State::TrailerLine)?,
            },
            State::TrailerLine => match b {
                b'\r' => State::TrailerLf,
                b'\n' => return Err(ChunkedError::BadLineEnding),
                _ => self.trailer_byte(b, State::TrailerLine)?,
            },
            State::TrailerLf => match b {
                b'\n' => State::TrailerStart,
                _ => return Err(ChunkedError::BadLineEnding),
            },
            State::EndLf => match b {
                b'\n' => State::Done,
                _ => return Err(ChunkedError::BadLineEnding),
            },
            State::Done => State::Done,
        })
    }

    fn trailer_byte(&mut self, b: u8, next: State) -> Result<State, ChunkedError> {
        if b == 0 || (b < 32 && b != b'\t') || b == 127 {
            return Err(ChunkedError::BadTrailer);
        }
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.max_trailer_bytes {
            return Err(ChunkedError::TrailerTooLarge {
                limit: self.max_trailer_bytes,
            });
        }
        Ok(next)
    }
}

/// A deliberately simple, non-incremental decoder used as the reference in
/// differential tests and fuzzing: it sees the whole input at once.
///
/// Returns the body and the bytes used, `Ok(None)` if incomplete, or `Err(())`
/// if invalid. It applies the same caps as [`ChunkedDecoder`].
#[doc(hidden)]
#[allow(clippy::result_unit_err)]
#[cfg(any(test, feature = "__private"))]
pub fn reference_decode(
    input: &[u8],
    max_body_bytes: usize,
    max_trailer_bytes: usize,
) -> Result<Option<(Vec<u8>, usize)>, ()> {
    let mut body = Vec::new();
    let mut pos = 0usize;
    let line = |pos: usize| -> Result<Option<(&[u8], usize)>, ()> {
        let rest = input.get(pos..).ok_or(())?;
        match rest.iter().position(|&b| b == b'\n') {
            None => {
                if rest.contains(&b'\r') && !rest.ends_with(b"\r") {
                    return Err(());
                }
                Ok(None)
            }
            Some(n) => {
                let l = rest.get(..n).ok_or(())?;
                let l = l.strip_suffix(b"\r").ok_or(())?;
                if l.contains(&b'\r') {
                    return Err(());
                }
                Ok(Some((l, pos + n + 1)))
            }
        }
    };
    loop {
        let Some((l, next)) = line(pos)? else {
            return Ok(None);
        };
        let (size_part, ext) = match l.iter().position(|&b| b == b';') {
            Some(s) => (l.get(..s).ok_or(())?, Some(l.get(s + 1..).ok_or(())?)),
            None => (l, None),
        };
        if let Some(ext) = ext {
            if ext.len() + 1 > MAX_CHUNK_EXTENSION_BYTES
                || ext.iter().any(|&b| (b < 32 && b != b'\t') || b == 127)
            {
                return Err(());
            }
        }
        let digits_end = size_part
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .unwrap_or(size_part.len());
        let (digits, ws) = size_part.split_at(digits_end);
        if digits.is_empty()
            || digits.len() > MAX_CHUNK_SIZE_DIGITS
            || !ws.iter().all(|&b| b == b' ' || b == b'\t')
        {
            return Err(());
        }
        let text = std::str::from_utf8(digits).map_err(|_| ())?;
        let size = u64::from_str_radix(text, 16).map_err(|_| ())?;
        pos = next;
        if size == 0 {
            let mut trailer = 0usize;
            loop {
                let Some((l, next)) = line(pos)? else {
                    return Ok(None);
                };
                pos = next;
                if l.is_empty() {
                    return Ok(Some((body, pos)));
                }
                if l.first().is_some_and(|&b| b == b' ' || b == b'\t')
                    || l.iter()
                        .any(|&b| b == 0 || (b < 32 && b != b'\t') || b == 127)
                {
                    return Err(());
                }
                trailer += l.len();
                if trailer > max_trailer_bytes {
                    return Err(());
                }
            }
        }
        if (body.len() as u64).saturating_add(size) > max_body_bytes as u64 {
            return Err(());
        }
        let size = size as usize;
        let Some(data) = input.get(pos..pos + size) else {
            return Ok(None);
        };
        body.extend_from_slice(data);
        pos += size;
        match input.get(pos..pos + 2) {
            Some(b"\r\n") => pos += 2,
            Some(_) => return Err(()),
            None => {
                if input.get(pos).is_some_and(|&b| b != b'\r') {
                    return Err(());
                }
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(input: &[u8]) -> Result<(Vec<u8>, Decoded), ChunkedError> {
        let mut d = ChunkedDecoder::new(1 << 20, 8192);
        let mut out = Vec::new();
        let r = d.decode(input, &mut out)?;
        Ok((out, r))
    }

    type Outcome = Result<(Vec<u8>, usize, bool), ChunkedError>;

    /// Feeds the input split at every byte boundary.
    fn split_everywhere(input: &[u8]) -> Vec<Outcome> {
        (0..=input.len())
            .map(|cut| {
                let mut d = ChunkedDecoder::new(1 << 20, 8192);
                let mut out = Vec::new();
                let a = d.decode(&input[..cut], &mut out)?;
                if a.done {
                    return Ok((out, a.consumed, true));
                }
                let b = d.decode(&input[a.consumed..], &mut out)?;
                Ok((out, a.consumed + b.consumed, b.done))
            })
            .collect()
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let input =
            b"4;name=val\r\nWiki\r\n5 \r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n";
        let (out, r) = whole(input).unwrap();
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert!(r.done);
        assert_eq!(r.consumed, input.len());
        for res in split_everywhere(input) {
            let (o, used, done) = res.unwrap();
            assert_eq!((o.as_slice(), used, done), (&out[..], input.len(), true));
        }
    }

    #[test]
    fn rejects_malformed() {
        let cases: &[&[u8]] = &[
            b"x\r\n",
            b"\r\n",
            b"-1\r\n",
            b"0x5\r\nhello\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"10000000000000000\r\n",
            b"00000000000000001\r\n",
            b"0\r\nbad\0trailer\r\n\r\n",
            b"0\r\n folded\r\n\r\n",
            b"5;\x01\r\n",
            b"5 5\r\n",
        ];
        for c in cases {
            assert!(whole(c).is_err(), "{:?}", String::from_utf8_lossy(c));
            assert!(
                reference_decode(c, 1 << 20, 8192).is_err(),
                "ref {:?}",
                String::from_utf8_lossy(c)
            );
        }
    }

    #[test]
    fn enforces_body_and_trailer_caps() {
        let mut d = ChunkedDecoder::new(4, 8192);
        let mut out = Vec::new();
        assert_eq!(
            d.decode(b"5\r\n", &mut out),
            Err(ChunkedError::BodyTooLarge { limit: 4 })
        );
        let mut d = ChunkedDecoder::new(100, 4);
        assert_eq!(
            d.decode(b"0\r\nX: 12\r\n\r\n", &mut out),
            Err(ChunkedError::TrailerTooLarge { limit: 4 })
        );
        let long_ext = format!("1;{}\r\n", "a".repeat(MAX_CHUNK_EXTENSION_BYTES + 1));
        assert!(whole(long_ext.as_bytes()).is_err());
    }

    #[test]
    fn stops_at_end_of_body() {
        let (out, r) = whole(b"0\r\n\r\nGET / HTTP/1.1\r\n").unwrap();
        assert!(out.is_empty());
        assert_eq!(r.consumed, 5);
    }

    #[test]
    fn agrees_with_reference() {
        let inputs: &[&[u8]] = &[
            b"3\r\nabc\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0\r\n",
            b"3\r\nab",
            b"A\r\n0123456789\r\n0;e\r\nT: v\r\n\r\nrest",
            b"1\r\na\r\n1\r\nb\r\n0\r\n\r\n",
        ];
        for input in inputs {
            let mut d = ChunkedDecoder::new(1 << 20, 8192);
            let mut out = Vec::new();
            let r = d.decode(input, &mut out).unwrap();
            match reference_decode(input, 1 << 20, 8192).unwrap() {
                Some((body, used)) => {
                    assert!(r.done);
                    assert_eq!((out, r.consumed), (body, used));
                }
                None => assert!(!r.done),
            }
        }
    }
}
