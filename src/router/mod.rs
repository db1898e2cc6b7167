//! The router: from a path to a registered route and its parameters.
//!
//! Patterns are stored in a segment trie, so a lookup costs one hash probe
//! per path segment however many routes there are. Static segments win over
//! parameters; when a static branch fails deeper down, the parameter branch
//! is tried, and a parameter branch is taken only when the segment
//! percent-decodes. `/a/b` and `/a/b/` are the same route.

pub mod pattern;

pub use pattern::PatternError;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::http::query::decode_component;
use crate::http::{MethodSet, Params};
use pattern::{parse_pattern, Segment};

/// Why a path has no route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// No route matches the path.
    NotFound,
    /// A route matches, but not for this method.
    MethodNotAllowed {
        /// The methods it does allow.
        allow: MethodSet,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::NotFound => f.write_str("no route matches the path"),
            RouteError::MethodNotAllowed { allow } => {
                write!(
                    f,
                    "method not allowed; allowed: {}",
                    allow.to_allow_header()
                )
            }
        }
    }
}

impl std::error::Error for RouteError {}

/// Hashes path segments for the static-child maps: a multiply-rotate hash
/// (as FxHash) over eight bytes at a time, a few instructions per word
/// where the default SipHash costs a hundred per call. The keys of these
/// maps are the registered routes' segments
/// (fixed at start-up, chosen by the application); a client only looks
/// up, so it can make no chain longer than the routes themselves made.
#[derive(Clone, Copy)]
struct SegmentHasher(u64);

impl Default for SegmentHasher {
    fn default() -> Self {
        SegmentHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl SegmentHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for SegmentHasher {
    /// Eight bytes at a time (the keys are fixed when routes are
    /// registered; a request only chooses what is looked up).
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.mix(u64::from_le_bytes(word));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word.get_mut(..tail.len())
                .unwrap_or_default()
                .copy_from_slice(tail);
            // The length tells "a" from "a\0".
            self.mix(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type SegmentMap = HashMap<Box<str>, usize, BuildHasherDefault<SegmentHasher>>;

#[derive(Debug, Default)]
struct Node {
    statics: SegmentMap,
    param: Option<(Arc<str>, usize)>,
    value: Option<usize>,
}

/// A path router holding one `T` per pattern.
///
/// ```
/// use lightapi::__private::router::Router;
/// let mut r = Router::new();
/// r.insert("/person", "list").unwrap();
/// r.insert("/person/{id}", "one").unwrap();
/// let (v, params) = r.lookup("/person/42/").unwrap();
/// assert_eq!(*v, "one");
/// assert_eq!(&*params[0].0, "id");
/// assert_eq!(params[0].1, "42");
/// assert!(r.lookup("/nope").is_err());
/// ```
#[derive(Debug)]
pub struct Router<T> {
    nodes: Vec<Node>,
    values: Vec<(String, T)>,
    /// Routes without parameters by their whole path (no trailing slash):
    /// one probe answers them. The trie prefers static segments at every
    /// level, so an exact static route is always what the walk would find.
    exact: SegmentMap,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router::new()
    }
}

impl<T> Router<T> {
    /// An empty router.
    pub fn new() -> Router<T> {
        Router {
            nodes: vec![Node::default()],
            values: Vec::new(),
            exact: SegmentMap::default(),
        }
    }

    /// Registers `pattern`.
    ///
    /// # Errors
    /// A malformed pattern, or one that is already registered (including
    /// the same shape with another parameter name).
    pub fn insert(&mut self, pattern: &str, value: T) -> Result<(), PatternError> {
        let segments = parse_pattern(pattern)?;
        let static_path = segments
            .iter()
            .map(|seg| match seg {
                Segment::Static(s) => Some(s.as_str()),
                Segment::Param(_) => None,
            })
            .collect::<Option<Vec<&str>>>()
            .map(|parts| format!("/{}", parts.join("/")));
        let mut node = 0usize;
        for seg in segments {
            node = match seg {
                Segment::Static(s) => {
                    let existing = self.node(node).statics.get(s.as_str()).copied();
                    match existing {
                        Some(n) => n,
                        None => {
                            let n = self.push_node();
                            self.node_mut(node).statics.insert(s.into_boxed_str(), n);
                            n
                        }
                    }
                }
                Segment::Param(name) => match &self.node(node).param {
                    Some((existing, n)) if **existing == *name => *n,
                    Some(_) => {
                        return Err(PatternError {
                            pattern: pattern.to_string(),
                            reason: "conflicts with a route using another parameter name here",
                        })
                    }
                    None => {
                        let n = self.push_node();
                        self.node_mut(node).param = Some((Arc::from(name.as_str()), n));
                        n
                    }
                },
            };
        }
        if self.node(node).value.is_some() {
            return Err(PatternError {
                pattern: pattern.to_string(),
                reason: "already registered",
            });
        }
        let idx = self.values.len();
        self.values.push((pattern.to_string(), value));
        self.node_mut(node).value = Some(idx);
        if let Some(path) = static_path {
            self.exact.insert(path.into_boxed_str(), idx);
        }
        Ok(())
    }

    fn push_node(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    fn node(&self, i: usize) -> &Node {
        // Indices only come from `push_node`.
        &self.nodes[i.min(self.nodes.len() - 1)]
    }

    fn node_mut(&mut self, i: usize) -> &mut Node {
        let last = self.nodes.len() - 1;
        &mut self.nodes[i.min(last)]
    }

    /// Finds the route for `path` (without query), with its parameters
    /// percent-decoded.
    ///
    /// # Errors
    /// [`RouteError::NotFound`] when no pattern matches. A parameter must
    /// percent-decode to UTF-8 to match; when the preferred route's does
    /// not, the next route that matches is taken.
    pub fn lookup(&self, path: &str) -> Result<(&T, Params), RouteError> {
        let trimmed = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        if let Some(&idx) = self.exact.get(trimmed) {
            if let Some((_, value)) = self.values.get(idx) {
                return Ok((value, Params::new()));
            }
        }
        let rest = trimmed.strip_prefix('/').ok_or(RouteError::NotFound)?;
        let mut raw: Vec<(Arc<str>, Cow<'_, str>)> = Vec::new();
        let found = if rest.is_empty() {
            self.node(0).value
        } else {
            self.walk(0, rest, &mut raw)
        };
        let idx = found.ok_or(RouteError::NotFound)?;
        let (_, value) = self.values.get(idx).ok_or(RouteError::NotFound)?;
        let params = raw
            .into_iter()
            .map(|(name, v)| (name, v.into_owned()))
            .collect();
        Ok((value, params))
    }

    /// Matches `rest` below `node`, static segments first; a parameter
    /// branch is taken only when the segment percent-decodes, so a path
    /// whose preferred route cannot take it falls back to the next one.
    fn walk<'p>(
        &self,
        node: usize,
        rest: &'p str,
        params: &mut Vec<(Arc<str>, Cow<'p, str>)>,
    ) -> Option<usize> {
        // A plain scan: segments are short, and the general substring
        // search costs more to set up than to run here.
        let (seg, tail) = match rest.bytes().position(|b| b == b'/') {
            Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i + 1..)),
            None => (rest, None),
        };
        if seg.is_empty() {
            return None;
        }
        let n = self.node(node);
        let descend = |child: usize, params: &mut Vec<(Arc<str>, Cow<'p, str>)>| match tail {
            None => self.node(child).value,
            Some(t) => self.walk(child, t, params),
        };
        if let Some(&child) = n.statics.get(seg) {
            if let Some(v) = descend(child, params) {
                return Some(v);
            }
        }
        if let Some((name, child)) = &n.param {
            if let Ok(decoded) = decode_component(seg, false) {
                params.push((name.clone(), decoded));
                if let Some(v) = descend(*child, params) {
                    return Some(v);
                }
                params.pop();
            }
        }
        None
    }

    /// Every registered `(pattern, value)`, in registration order.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &T)> {
        self.values.iter().map(|(p, v)| (p.as_str(), v))
    }

    /// Number of routes.
    #[cfg(any(test, feature = "__private"))]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no routes.
    #[cfg(any(test, feature = "__private"))]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<u32> {
        let mut r = Router::new();
        r.insert("/", 0).unwrap();
        r.insert("/person", 1).unwrap();
        r.insert("/person/{id}", 2).unwrap();
        r.insert("/person/me", 3).unwrap();
        r.insert("/person/{id}/friends/{friend}", 4).unwrap();
        r.insert("/person/me/settings", 5).unwrap();
        r
    }

    fn find(r: &Router<u32>, path: &str) -> Option<(u32, Vec<String>)> {
        r.lookup(path)
            .ok()
            .map(|(v, p)| (*v, p.into_iter().map(|(_, v)| v).collect()))
    }

    #[test]
    fn matches_static_and_params_with_and_without_slash() {
        let r = router();
        assert_eq!(find(&r, "/"), Some((0, vec![])));
        assert_eq!(find(&r, "/person"), Some((1, vec![])));
        assert_eq!(find(&r, "/person/"), Some((1, vec![])));
        assert_eq!(find(&r, "/person/7"), Some((2, vec!["7".into()])));
        assert_eq!(find(&r, "/person/7/"), Some((2, vec!["7".into()])));
        assert_eq!(find(&r, "/person/me"), Some((3, vec![])));
        assert_eq!(
            find(&r, "/person/me/friends/x%20y"),
            Some((4, vec!["me".into(), "x y".into()]))
        );
        assert_eq!(find(&r, "/person/me/settings"), Some((5, vec![])));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        let r = router();
        for p in [
            "/people",
            "/person//",
            "//person",
            "/person/7/x",
            "person",
            "",
            "/person/%zz",
            "/person/%ff",
        ] {
            assert_eq!(find(&r, p), None, "{p}");
        }
    }

    #[test]
    fn whole_static_paths_agree_with_the_walk() {
        let mut r = router();
        r.insert("/a/b/c", 6).unwrap();
        r.insert("/a/{x}/c", 7).unwrap();
        assert_eq!(find(&r, "/a/b/c"), Some((6, vec![])));
        assert_eq!(find(&r, "/a/b/c/"), Some((6, vec![])));
        assert_eq!(find(&r, "/a/z/c"), Some((7, vec!["z".into()])));
        assert_eq!(find(&r, "/a/b/c//"), None);
        assert_eq!(find(&r, "/A/b/c"), None, "paths are case-sensitive");
    }

    #[test]
    fn a_parameter_that_does_not_decode_falls_back_to_the_next_route() {
        let mut r = router();
        r.insert("/{kind}/%zz", 6).unwrap();
        r.insert("/files/{name}", 7).unwrap();
        // `/person/{id}` is preferred, but `%zz` is no escape: the
        // parameter route below `{kind}` takes the path instead.
        assert_eq!(find(&r, "/person/%zz"), Some((6, vec!["person".into()])));
        assert_eq!(find(&r, "/files/%zz"), Some((6, vec!["files".into()])));
        assert_eq!(find(&r, "/files/a%20b"), Some((7, vec!["a b".into()])));
        assert_eq!(
            find(&r, "/files/%ff"),
            None,
            "not UTF-8, and no other route"
        );
    }

    #[test]
    fn duplicate_and_conflicting_patterns_are_errors() {
        let mut r = router();
        assert!(r.insert("/person/", 9).is_err());
        assert!(r.insert("/person/{pid}", 9).is_err());
        assert_eq!(r.len(), 6);
    }
}
