//! Invariant checks shared by the fuzz targets in `fuzz/` and by
//! `tests/fuzz_corpus.rs`, which replays the checked-in seed corpora under
//! `cargo test`. Not part of the public API.
//!
//! Each `check_*` function takes arbitrary bytes, drives one pure entry
//! point (or, for [`check_conn_bytes`], a live connection on loopback) and
//! panics when an invariant breaks: a panic inside the library, output
//! larger than the configured limits, or disagreement with a reference.
//! Inputs that are not well-formed are fine: refusing them is the point.

mod conn;

pub use conn::check_conn_bytes;

use std::time::Duration;

use crate::auth::jwt::{self, JwtConfig, JwtError, MAX_TOKEN_BYTES};
use crate::config::Limits;
use crate::http::chunked::{reference_decode, ChunkedDecoder, ChunkedError, Decoded};
use crate::http::parse::{parse_head, Framing, Head, ParseError};
use crate::http::query::{decode_component, parse_query, MAX_QUERY_PARAMS};
use crate::http::MessageLimits;
use crate::router::pattern::{parse_pattern, Segment};
use crate::router::Router;

/// Small limits, so that short fuzz inputs reach every limit.
pub fn tiny_limits() -> Limits {
    Limits {
        max_head_bytes: 256,
        max_body_bytes: 512,
        max_headers: 8,
        max_uri_bytes: 64,
        ..Limits::default()
    }
}

/// `parse_head` under the default and the tiny limits: no panic; a parsed
/// head respects every limit; the reported length is within the input;
/// re-parsing exactly the head gives the same result; a strict prefix of a
/// complete head is never accepted.
pub fn check_parse_head(data: &[u8]) {
    for limits in [Limits::default().message(), tiny_limits().message()] {
        let result = parse_head(data, &limits);
        match &result {
            Ok(None) => assert!(
                data.len() <= limits.max_head_bytes,
                "needs more bytes beyond the head limit ({} bytes)",
                data.len()
            ),
            Ok(Some((head, used))) => {
                check_head_limits(head, *used, data.len(), &limits);
                let again = parse_head(data.get(..*used).unwrap_or_default(), &limits);
                let (head2, used2) = match again {
                    Ok(Some(found)) => found,
                    other => panic!("the head alone parses differently: {other:?}"),
                };
                assert_eq!(used2, *used);
                assert_eq!(format!("{head:?}"), format!("{head2:?}"));
                let cut = (data.first().copied().unwrap_or(0) as usize) % *used;
                match parse_head(data.get(..cut).unwrap_or_default(), &limits) {
                    Ok(None) => {}
                    other => panic!("a {cut}-byte prefix of a {used}-byte head gives {other:?}"),
                }
            }
            Err(e) => check_parse_error(e, &limits),
        }
    }
}

fn check_head_limits(head: &Head, used: usize, len: usize, limits: &MessageLimits) {
    assert!(used > 0 && used <= len, "used {used} of {len}");
    assert!(
        used <= limits.max_head_bytes,
        "head of {used} bytes accepted"
    );
    assert!(
        head.target.len() <= limits.max_uri_bytes,
        "target of {} bytes",
        head.target.len()
    );
    assert!(
        head.headers.len() <= limits.max_headers,
        "{} headers",
        head.headers.len()
    );
    if let Framing::Length(n) = head.framing {
        assert!(
            n > 0 && n <= limits.max_body_bytes as u64,
            "Content-Length {n} accepted"
        );
    }
    assert!(head.target.starts_with('/') || head.target == "*");
}

fn check_parse_error(e: &ParseError, limits: &MessageLimits) {
    let shown = e.to_string();
    assert!(!shown.is_empty() && !shown.ends_with('.'));
    match e {
        ParseError::HeadTooLarge { limit } | ParseError::UriTooLong { limit } => {
            assert!(*limit == limits.max_head_bytes || *limit == limits.max_uri_bytes)
        }
        ParseError::TooManyHeaders { limit } => assert_eq!(*limit, limits.max_headers),
        ParseError::BodyTooLarge { limit } => assert_eq!(*limit, limits.max_body_bytes),
        _ => {}
    }
}

/// The body and trailer caps the chunked check uses: small, and chosen by
/// the first input byte so that both are exercised.
fn chunked_caps(data: &[u8]) -> (usize, usize) {
    let b = data.first().copied().unwrap_or(0);
    (
        16 + usize::from(b & 0x0f) * 64,
        8 + usize::from(b >> 4) * 16,
    )
}

type Outcome = Result<(Vec<u8>, Decoded), ChunkedError>;

fn decode_in_pieces(input: &[u8], cuts: &[usize], caps: (usize, usize)) -> Outcome {
    let mut d = ChunkedDecoder::new(caps.0, caps.1);
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut fed = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(fed, input.len());
        // Bytes the decoder did not take are offered again with the next piece.
        let piece = input.get(consumed..cut).unwrap_or_default();
        fed = cut;
        let r = d.decode(piece, &mut out)?;
        consumed += r.consumed;
        assert!(
            out.len() <= caps.0,
            "decoded {} bytes over a cap of {}",
            out.len(),
            caps.0
        );
        if r.done {
            return Ok((
                out,
                Decoded {
                    consumed,
                    done: true,
                },
            ));
        }
        assert_eq!(consumed, cut, "an unfinished decoder left input unconsumed");
    }
    Ok((
        out,
        Decoded {
            consumed,
            done: false,
        },
    ))
}

/// The chunked decoder against [`reference_decode`], and against itself fed
/// in pieces: the first byte picks the caps, the rest is the body.
///
/// - complete per the reference ⇒ the decoder is done with the same body
///   and the same number of bytes consumed;
/// - invalid per the reference ⇒ the decoder fails;
/// - incomplete per the reference ⇒ the decoder is not done; it may have
///   failed already (it rejects a bad byte as soon as it sees it, the
///   reference only once the line is complete);
/// - whole input, one split point, and byte-at-a-time give identical
///   results (same error, or same body and consumed count);
/// - the body never exceeds the cap.
pub fn check_chunked(data: &[u8]) {
    let caps = chunked_caps(data);
    let input = data.get(1..).unwrap_or_default();
    let whole = decode_in_pieces(input, &[], caps);
    match (reference_decode(input, caps.0, caps.1), &whole) {
        (Ok(Some((body, used))), Ok((out, d))) => {
            assert!(d.done, "reference complete, decoder not done");
            assert_eq!((&body, used), (out, d.consumed), "body or length differ");
        }
        (Ok(Some(_)), Err(e)) => panic!("reference complete, decoder failed: {e}"),
        (Err(()), Ok((_, d))) => panic!("reference refused, decoder accepted (done {})", d.done),
        (Err(()), Err(_)) => {}
        (Ok(None), Ok((_, d))) => assert!(!d.done, "reference incomplete, decoder done"),
        (Ok(None), Err(_)) => {}
    }
    let split = data
        .get(1)
        .map_or(0, |&b| usize::from(b) * input.len() / 256);
    let one_cut = decode_in_pieces(input, &[split], caps);
    assert_eq!(one_cut, whole, "split at {split} changes the result");
    let every: Vec<usize> = (1..input.len()).collect();
    let bytewise = decode_in_pieces(input, &every, caps);
    assert_eq!(bytewise, whole, "byte-at-a-time changes the result");
}

/// Patterns and a path, one per line: all lines but the last are patterns
/// (registration may refuse them), the last is looked up. A match must
/// really match its pattern; a miss must have no matching pattern (by a
/// naive reference matcher) unless one of its parameters fails to decode; a
/// trailing slash never changes the answer.
pub fn check_route_match(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let path = lines.pop().unwrap_or_default();
    let mut router: Router<usize> = Router::new();
    let mut registered: Vec<Vec<Segment>> = Vec::new();
    for pattern in lines.iter().take(32) {
        let segments = parse_pattern(pattern);
        let inserted = router.insert(pattern, registered.len());
        match (segments, inserted) {
            (Ok(s), Ok(())) => registered.push(s),
            (Err(_), Err(_)) | (Ok(_), Err(_)) => {}
            (Err(e), Ok(())) => panic!("router took a pattern parse_pattern refuses: {e}"),
        }
    }
    assert_eq!(router.len(), registered.len());
    let found = router.lookup(path);
    match &found {
        Ok((&idx, params)) => {
            let pattern = registered
                .get(idx)
                .unwrap_or_else(|| panic!("bad index {idx}"));
            let raw = naive_match(pattern, path)
                .unwrap_or_else(|| panic!("{path:?} does not match {pattern:?}"));
            assert_eq!(raw.len(), params.len());
            for ((name, value), raw) in params.iter().zip(raw) {
                assert!(pattern.contains(&Segment::Param(name.to_string())));
                assert_eq!(
                    decode_component(raw, false).ok().as_deref(),
                    Some(value.as_str())
                );
            }
        }
        Err(_) => {
            // A miss despite a matching pattern is allowed only when that
            // pattern's parameters cannot all be percent-decoded: the
            // router falls back from a route whose parameter does not
            // decode to the next one (fuzzing finding, corpus seed
            // `seed-regression-undecodable-preferred-param`).
            for pattern in &registered {
                if let Some(raw) = naive_match(pattern, path) {
                    assert!(
                        raw.iter().any(|v| decode_component(v, false).is_err()),
                        "{path:?} matches {pattern:?} but was not found"
                    );
                }
            }
        }
    }
    if !path.ends_with('/') && path.len() > 1 {
        let slashed = format!("{path}/");
        let again = router.lookup(&slashed);
        assert_eq!(
            found.as_ref().ok().map(|(v, p)| (**v, p.clone())),
            again.ok().map(|(v, p)| (*v, p)),
            "a trailing slash changes the route"
        );
    }
}

/// The raw parameter values if `path` matches `pattern` segment by segment.
fn naive_match<'p>(pattern: &[Segment], path: &'p str) -> Option<Vec<&'p str>> {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let rest = path.strip_prefix('/')?;
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    if segments.len() != pattern.len() {
        return None;
    }
    let mut params = Vec::new();
    for (seg, pat) in segments.iter().zip(pattern) {
        match pat {
            _ if seg.is_empty() => return None,
            Segment::Static(s) if s == seg => {}
            Segment::Static(_) => return None,
            Segment::Param(_) => params.push(*seg),
        }
    }
    Some(params)
}

/// `parse_query` and `decode_component` on the input as UTF-8: no panic,
/// at most [`MAX_QUERY_PARAMS`] pairs, decoded text never longer than the
/// encoded text, and text without escapes decoded as itself.
pub fn check_query_params(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pairs) = parse_query(text) {
        assert!(pairs.len() <= MAX_QUERY_PARAMS);
        let decoded: usize = pairs.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(
            decoded <= text.len(),
            "{decoded} decoded bytes from {}",
            text.len()
        );
        let pieces = text.split('&').filter(|p| !p.is_empty()).count();
        assert_eq!(pairs.len(), pieces);
    }
    for plus in [false, true] {
        match decode_component(text, plus) {
            Ok(out) => {
                assert!(out.len() <= text.len());
                let escaped = text.contains('%') || (plus && text.contains('+'));
                if !escaped {
                    assert_eq!(out, text);
                }
            }
            Err(e) => assert!(text.contains('%'), "{e} without any %"),
        }
    }
}

/// A fixed secret for the JWT check.
const FUZZ_SECRET: &[u8] = b"fuzz-secret-0123456789abcdef0123456789";
/// A fixed "now" for the JWT check.
const FUZZ_NOW: u64 = 1_700_000_000;

/// Verifies the input as a token: no panic, oversized tokens refused
/// unread. Then signs a token whose subject is the input, checks that it
/// verifies to that subject, and that changing any one byte of it (at a
/// position the input picks) makes it fail.
pub fn check_jwt_verify(data: &[u8]) {
    let config = JwtConfig::new(FUZZ_SECRET).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(data);
    match jwt::verify(&text, &config, FUZZ_NOW) {
        Ok(claims) => {
            // Only a token signed with the secret gets here; the fuzzer
            // cannot forge one, but a corpus file may hold one.
            assert!(text.len() <= MAX_TOKEN_BYTES);
            let _ = claims.sub();
        }
        Err(JwtError::TooLarge { limit }) => assert!(text.len() > limit),
        Err(e) => assert!(text.len() <= MAX_TOKEN_BYTES, "{e} for an oversized token"),
    }
    let subject: String = text.chars().take(256).collect();
    let token = config.sign_subject(
        &subject,
        Duration::from_secs(60),
        FUZZ_NOW,
        Default::default(),
    );
    let claims = config
        .verify(&token, FUZZ_NOW)
        .unwrap_or_else(|e| panic!("own token refused: {e}"));
    assert_eq!(claims.sub(), Some(subject.as_str()));
    let mut bytes = token.into_bytes();
    let at = data.first().map_or(0, |&b| usize::from(b)) * bytes.len() / 256;
    if let Some(b) = bytes.get_mut(at) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let tampered = String::from_utf8_lossy(&bytes);
    assert!(
        config.verify(&tampered, FUZZ_NOW).is_err(),
        "a token changed at byte {at} still verifies"
    );
}
