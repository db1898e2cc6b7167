//! Replays every fuzz target's checked-in seed corpus
//! (`fuzz/corpus/<target>/seed-*`) through the same check functions the
//! fuzz targets call, so `cargo test` exercises them without a fuzzing
//! toolchain. Regression inputs for past findings live there too.

use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {target}");
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for path in seeds(target) {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails its check",
            path.display()
        );
    }
}

#[test]
fn parse_head_seeds_hold_their_invariants() {
    replay("parse_head", lightapi::__private::fuzz::check_parse_head);
}

#[test]
fn chunked_seeds_agree_with_the_reference_decoder() {
    replay("chunked", lightapi::__private::fuzz::check_chunked);
}

#[test]
fn route_match_seeds_hold_their_invariants() {
    replay("route_match", lightapi::__private::fuzz::check_route_match);
}

#[test]
fn query_params_seeds_hold_their_invariants() {
    replay(
        "query_params",
        lightapi::__private::fuzz::check_query_params,
    );
}

#[test]
fn jwt_verify_seeds_hold_their_invariants() {
    replay("jwt_verify", lightapi::__private::fuzz::check_jwt_verify);
}

#[test]
fn conn_bytes_seeds_get_one_response_per_request() {
    replay("conn_bytes", lightapi::__private::fuzz::check_conn_bytes);
}

/// Fuzzing finding (`route_match`): when the route the trie prefers has a
/// parameter that does not percent-decode, lookup falls back to the next
/// route that matches (here one with a static segment that needs no
/// decoding), and answers "not found" only when none does.
#[test]
fn preferred_route_with_undecodable_parameter_falls_back() {
    let mut r = lightapi::__private::router::Router::new();
    r.insert("/f/{m}", 1).unwrap();
    r.insert("/{a}/%02", 2).unwrap();
    r.insert("/{a}/%zz", 3).unwrap();
    let (v, params) = r.lookup("/f/%zz").unwrap();
    assert_eq!((*v, params[0].1.as_str()), (3, "f"));
    assert!(r.lookup("/f/%zy").is_err());
    assert_eq!(*r.lookup("/g/%02").unwrap().0, 2);
    assert_eq!(*r.lookup("/f/%02").unwrap().0, 1);
}
