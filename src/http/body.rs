//! Request body framing: a fixed length or the chunked coding.

use super::chunked::{ChunkedDecoder, ChunkedError, Decoded};
use super::parse::Framing;

/// Decodes a request body as its bytes arrive.
#[derive(Debug, Clone)]
pub enum BodyDecoder {
    /// `remaining` bytes still expected.
    Length {
        /// Bytes still expected.
        remaining: u64,
    },
    /// The chunked coding.
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    /// The decoder for a head's framing, or `None` when there is no body.
    pub fn for_framing(
        framing: Framing,
        max_body_bytes: usize,
        max_trailer_bytes: usize,
    ) -> Option<BodyDecoder> {
        match framing {
            Framing::Empty => None,
            Framing::Length(n) => Some(BodyDecoder::Length { remaining: n }),
            Framing::Chunked => Some(BodyDecoder::Chunked(ChunkedDecoder::new(
                max_body_bytes,
                max_trailer_bytes,
            ))),
        }
    }

    /// Consumes body bytes from `input` into `out`.
    ///
    /// # Errors
    /// A [`ChunkedError`] for a malformed chunked body.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Decoded, ChunkedError> {
        match self {
            BodyDecoder::Length { remaining } => {
                let take = (*remaining).min(input.len() as u64) as usize;
                out.extend_from_slice(input.get(..take).unwrap_or_default());
                *remaining -= take as u64;
                Ok(Decoded {
                    consumed: take,
                    done: *remaining == 0,
                })
            }
            BodyDecoder::Chunked(d) => d.decode(input, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_body_stops_at_its_end() {
        let mut d = BodyDecoder::for_framing(Framing::Length(3), 10, 10).unwrap();
        let mut out = Vec::new();
        let r = d.decode(b"ab", &mut out).unwrap();
        assert_eq!((r.consumed, r.done), (2, false));
        let r = d.decode(b"cdef", &mut out).unwrap();
        assert_eq!((r.consumed, r.done), (1, true));
        assert_eq!(out, b"abc");
        assert!(BodyDecoder::for_framing(Framing::Empty, 1, 1).is_none());
    }
}
