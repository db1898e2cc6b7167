//! The `Prefer` request header (RFC 7240): what a client would like, which
//! a server may honour and then names in `Preference-Applied`.

use super::Headers;

/// The preferences lightapi knows, as a request states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Preferences {
    /// `return=minimal` (`Some(true)`) or `return=representation`
    /// (`Some(false)`).
    pub(crate) return_minimal: Option<bool>,
    /// `count=none`: a page without the total.
    pub(crate) count_none: bool,
    /// `resolution=merge-duplicates` or `resolution=ignore-duplicates`: an
    /// insert meeting a row with the same unique key updates or skips it.
    pub(crate) resolution: Option<Resolution>,
}

/// What an insert does with a row that already holds its unique key
/// (the `resolution` preference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// `merge-duplicates`: the existing row takes the sent fields.
    Merge,
    /// `ignore-duplicates`: the existing row is left as it is.
    Ignore,
}

impl Resolution {
    /// The preference as `Preference-Applied` names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Resolution::Merge => "resolution=merge-duplicates",
            Resolution::Ignore => "resolution=ignore-duplicates",
        }
    }
}

impl Preferences {
    /// The preferences in every `Prefer` field of `headers`. Unknown
    /// preferences and unknown values are ignored, as RFC 7240 §2 says;
    /// of a preference given twice, the first counts.
    pub(crate) fn of(headers: &Headers) -> Preferences {
        let mut out = Preferences::default();
        let (mut seen_return, mut seen_count, mut seen_resolution) = (false, false, false);
        for line in headers.get_all("prefer") {
            let Ok(text) = std::str::from_utf8(line) else {
                continue;
            };
            for pref in text.split(',') {
                // Parameters after `;` do not change these preferences.
                let head = pref.split(';').next().unwrap_or("").trim();
                let (name, value) = match head.split_once('=') {
                    Some((n, v)) => (n.trim(), v.trim().trim_matches('"')),
                    None => (head, ""),
                };
                if name.eq_ignore_ascii_case("return") && !seen_return {
                    seen_return = true;
                    out.return_minimal = if value.eq_ignore_ascii_case("minimal") {
                        Some(true)
                    } else if value.eq_ignore_ascii_case("representation") {
                        Some(false)
                    } else {
                        None
                    };
                } else if name.eq_ignore_ascii_case("count") && !seen_count {
                    seen_count = true;
                    out.count_none = value.eq_ignore_ascii_case("none");
                } else if name.eq_ignore_ascii_case("resolution") && !seen_resolution {
                    seen_resolution = true;
                    out.resolution = if value.eq_ignore_ascii_case("merge-duplicates") {
                        Some(Resolution::Merge)
                    } else if value.eq_ignore_ascii_case("ignore-duplicates") {
                        Some(Resolution::Ignore)
                    } else {
                        None
                    };
                }
            }
        }
        out
    }

    /// The `return` preference honoured, for `Preference-Applied`.
    pub(crate) fn applied_return(&self) -> Option<&'static str> {
        match self.return_minimal {
            Some(true) => Some("return=minimal"),
            Some(false) => Some("return=representation"),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(lines: &[&str]) -> Preferences {
        let mut h = Headers::new();
        for l in lines {
            h.push(b"Prefer", l.as_bytes());
        }
        Preferences::of(&h)
    }

    #[test]
    fn resolution_is_read_once() {
        assert_eq!(
            prefs(&["resolution=merge-duplicates"]).resolution,
            Some(Resolution::Merge)
        );
        let p = prefs(&["return=minimal, Resolution=\"ignore-duplicates\""]);
        assert_eq!(p.resolution, Some(Resolution::Ignore));
        assert_eq!(p.return_minimal, Some(true));
        assert_eq!(prefs(&["resolution=replace"]).resolution, None);
        let first = prefs(&[
            "resolution=ignore-duplicates",
            "resolution=merge-duplicates",
        ]);
        assert_eq!(first.resolution, Some(Resolution::Ignore));
        assert_eq!(Resolution::Merge.as_str(), "resolution=merge-duplicates");
    }

    #[test]
    fn known_preferences_are_read_and_the_rest_ignored() {
        assert_eq!(prefs(&[]), Preferences::default());
        let p = prefs(&["return=minimal, count=none"]);
        assert_eq!(p.return_minimal, Some(true));
        assert!(p.count_none);
        assert_eq!(p.applied_return(), Some("return=minimal"));
        let p = prefs(&["handling=lenient", "RETURN = \"representation\"; x=1"]);
        assert_eq!(p.return_minimal, Some(false));
        assert!(!p.count_none);
        // Unknown values and repeats: the first statement counts.
        assert_eq!(prefs(&["return=everything"]).return_minimal, None);
        assert_eq!(
            prefs(&["return=minimal, return=representation"]).return_minimal,
            Some(true)
        );
        assert!(!prefs(&["count=exact, count=none"]).count_none);
        assert_eq!(prefs(&["\u{0}garbage;;=,"]), Preferences::default());
    }
}
