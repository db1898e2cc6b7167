//! The TOML file's shape: every table and key the file may hold, read with
//! unknown keys refused, and read errors placed at their line and column.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// A mistake in the file: where it is (a byte range of the text, when
/// known, and the key path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileError {
    pub(crate) span: Option<Range<usize>>,
    pub(crate) key: Option<String>,
    pub(crate) message: String,
}

impl FileError {
    pub(crate) fn at(
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FileError {
            span: Some(span),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    pub(crate) fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        FileError {
            span: None,
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// `file:line:col: key: message`, the position taken from `text`.
    pub(crate) fn render(&self, file: &str, text: &str) -> String {
        let mut out = String::from(file);
        if let Some(span) = &self.span {
            let (line, col) = line_col(text, span.start);
            out.push_str(&format!(":{line}:{col}"));
        }
        out.push_str(": ");
        if let Some(key) = &self.key {
            out.push_str(key);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Parses the file's text.
pub(crate) fn parse(text: &str) -> Result<FileDoc, FileError> {
    toml::from_str::<FileDoc>(text).map_err(|e| FileError {
        span: e.span(),
        key: None,
        message: e.message().trim_end().to_owned(),
    })
}

/// A TOML table read in the order its keys are written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ordered<T>(pub(crate) Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDoc {
    #[serde(default)]
    pub(crate) server: ServerDecl,
    #[serde(default)]
    pub(crate) limits: LimitsDecl,
    #[serde(default)]
    pub(crate) timeouts: TimeoutsDecl,
    #[serde(default)]
    pub(crate) database: DatabaseDecl,
    #[serde(default)]
    pub(crate) jwt: JwtDecl,
    pub(crate) login: Option<LoginDecl>,
    pub(crate) cors: Option<CorsDecl>,
    #[serde(default)]
    pub(crate) log: LogDecl,
    #[serde(default)]
    pub(crate) metrics: MetricsDecl,
    #[serde(default)]
    pub(crate) rate_limit: RateLimitDecl,
    #[serde(default)]
    pub(crate) openapi: OpenApiDecl,
    #[serde(default)]
    pub(crate) models: Ordered<ModelDecl>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerDecl {
    pub(crate) host: Option<Spanned<String>>,
    pub(crate) port: Option<u16>,
    pub(crate) workers: Option<Spanned<usize>>,
    pub(crate) reactors: Option<Spanned<usize>>,
    pub(crate) trusted_proxies: Option<Vec<Spanned<String>>>,
}

/// `[limits]`: each in bytes or a count.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsDecl {
    pub(crate) max_body_bytes: Option<Spanned<u64>>,
    pub(crate) max_head_bytes: Option<Spanned<u64>>,
    pub(crate) max_headers: Option<Spanned<u64>>,
    pub(crate) max_uri_bytes: Option<Spanned<u64>>,
    pub(crate) max_connections: Option<Spanned<u64>>,
    pub(crate) max_buffered_body_bytes: Option<Spanned<u64>>,
    pub(crate) max_page_bytes: Option<Spanned<u64>>,
    pub(crate) max_unsent_bytes: Option<Spanned<u64>>,
    pub(crate) max_pending_write_bytes: Option<Spanned<u64>>,
}

/// `[timeouts]`: each in milliseconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeoutsDecl {
    pub(crate) header_ms: Option<Spanned<u64>>,
    pub(crate) body_ms: Option<Spanned<u64>>,
    pub(crate) idle_ms: Option<Spanned<u64>>,
    pub(crate) write_ms: Option<Spanned<u64>>,
    pub(crate) shutdown_ms: Option<Spanned<u64>>,
    pub(crate) query_ms: Option<Spanned<u64>>,
    pub(crate) send_rate_grace_ms: Option<Spanned<u64>>,
    pub(crate) min_send_rate: Option<Spanned<u64>>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseDecl {
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) pool: Option<Spanned<usize>>,
    pub(crate) add_columns: Option<bool>,
    pub(crate) sqlite_synchronous: Option<Synchronous>,
    pub(crate) connect_timeout_ms: Option<Spanned<u64>>,
    pub(crate) socket_timeout_ms: Option<Spanned<u64>>,
}

/// `sqlite_synchronous`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Synchronous {
    Normal,
    Full,
}

/// `[jwt]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JwtDecl {
    pub(crate) secret: Option<Spanned<String>>,
    pub(crate) secrets: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) allow_literal_secret: bool,
    pub(crate) ttl_secs: Option<Spanned<u64>>,
    pub(crate) leeway_secs: Option<Spanned<u64>>,
    pub(crate) issuer: Option<Spanned<String>>,
    pub(crate) audience: Option<Spanned<String>>,
}

/// `[login]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginDecl {
    pub(crate) table: Spanned<String>,
    pub(crate) username_column: Spanned<String>,
    pub(crate) password_column: Spanned<String>,
    #[serde(default)]
    pub(crate) claims: Ordered<Spanned<String>>,
    pub(crate) per_minute: Option<Spanned<u64>>,
    pub(crate) per_hour: Option<Spanned<u64>>,
}

/// `[cors]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorsDecl {
    pub(crate) origins: Vec<String>,
    #[serde(default)]
    pub(crate) allow_headers: Vec<String>,
    #[serde(default)]
    pub(crate) expose_headers: Vec<String>,
    pub(crate) credentials: Option<bool>,
    pub(crate) max_age_secs: Option<Spanned<u64>>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogDecl {
    pub(crate) level: Option<Spanned<String>>,
    pub(crate) format: Option<Spanned<String>>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricsDecl {
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) public: Option<bool>,
}

/// `[rate_limit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitDecl {
    /// `<requests>/<window>`, as `LIGHTAPI_RATE_LIMIT`.
    pub(crate) default: Option<Spanned<String>>,
    pub(crate) key: Option<RateKey>,
    pub(crate) max_keys: Option<Spanned<u64>>,
    pub(crate) redis_url: Option<Spanned<String>>,
    pub(crate) redis_prefix: Option<String>,
    pub(crate) redis_timeout_ms: Option<Spanned<u64>>,
}

/// What a rate limit counts by.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RateKey {
    Address,
    Subject,
}

/// `[openapi]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenApiDecl {
    pub(crate) title: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) license_name: Option<String>,
    pub(crate) license_id: Option<String>,
    #[serde(default)]
    pub(crate) servers: Vec<String>,
}

/// `[models.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelDecl {
    /// Where it is served; `/NAME` when absent.
    pub(crate) path: Option<String>,
    /// The table; `NAME` when absent.
    pub(crate) table: Option<String>,
    /// The fields are read from the existing table at start-up.
    #[serde(default)]
    pub(crate) reflect: bool,
    /// What a reflected table that cannot be served whole becomes.
    pub(crate) unsupported: Option<Spanned<Unsupported>>,
    #[serde(default)]
    pub(crate) fields: Ordered<FieldDecl>,
    /// The field that is the primary key; the implicit integer `id` when
    /// absent.
    pub(crate) primary_key: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) versioned: bool,
    #[serde(default)]
    pub(crate) require_if_match: bool,
    pub(crate) scope: Option<RuleDecl>,
    pub(crate) restrict_writes: Option<RuleDecl>,
    #[serde(default)]
    pub(crate) access: AccessDecl,
    #[serde(default)]
    pub(crate) filter_fields: Vec<String>,
    #[serde(default)]
    pub(crate) search_fields: Vec<String>,
    #[serde(default)]
    pub(crate) ordering_fields: Vec<String>,
    pub(crate) default_ordering: Option<String>,
    pub(crate) page_size: Option<u64>,
    pub(crate) max_page_size: Option<u64>,
    pub(crate) methods: Option<Vec<MethodName>>,
    #[serde(default)]
    pub(crate) exclude: Vec<MethodName>,
    pub(crate) max_age_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub(crate) rate_limit: MethodLimits,
    /// The foreign keys `?expand=` may follow, by relation name.
    #[serde(default)]
    pub(crate) expandable: Vec<Spanned<String>>,
    /// The most rows `?embed=` shows per parent.
    pub(crate) embed_limit: Option<Spanned<u64>>,
    /// The most items one bulk write may hold.
    pub(crate) max_bulk: Option<Spanned<u64>>,
    /// Routes listing this model's rows under a parent row.
    #[serde(default)]
    pub(crate) nested: Vec<NestedDecl>,
}

/// `[[models.NAME.nested]]`: the model's rows under one parent row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NestedDecl {
    /// The route, with an `{id}` segment for the parent.
    pub(crate) path: Spanned<String>,
    /// The foreign key into the parent.
    pub(crate) foreign_key: Spanned<String>,
}

/// `unsupported`: a reflected table without a one-column primary key, or
/// with a column of a type no field type maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unsupported {
    /// Start-up fails naming each problem.
    Error,
    /// The model is not served (logged).
    Skip,
    /// Served with `GET` only, without the unmapped columns (logged); a
    /// table without a one-column key is not served (logged).
    ReadOnly,
}

/// A model's own rate limits, per method, each `<requests>/<window>`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MethodLimits {
    pub(crate) get: Option<Spanned<String>>,
    pub(crate) post: Option<Spanned<String>>,
    pub(crate) put: Option<Spanned<String>>,
    pub(crate) patch: Option<Spanned<String>>,
    pub(crate) delete: Option<Spanned<String>>,
}

/// `scope` and `restrict_writes`: a column matched against a claim.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDecl {
    pub(crate) column: String,
    pub(crate) claim: String,
}

/// `access`: who may use each method (`default` for those not named).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessDecl {
    pub(crate) default: Option<AccessLevel>,
    pub(crate) get: Option<AccessLevel>,
    pub(crate) post: Option<AccessLevel>,
    pub(crate) put: Option<AccessLevel>,
    pub(crate) patch: Option<AccessLevel>,
    pub(crate) delete: Option<AccessLevel>,
}

/// An access rule the file can state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AccessLevel {
    Public,
    Authenticated,
    Admin,
}

/// A method a model's routes may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MethodName {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// `[models.NAME.fields]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldDecl {
    /// `integer`, `float`, `text`, `boolean`, `datetime`, `json`, `uuid`,
    /// `date` or `decimal(p,s)`.
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    #[serde(default)]
    pub(crate) nullable: bool,
    pub(crate) default: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) unique: bool,
    #[serde(default)]
    pub(crate) unique_in_scope: bool,
    #[serde(default)]
    pub(crate) index: bool,
    pub(crate) max_length: Option<usize>,
    pub(crate) min_length: Option<usize>,
    pub(crate) min: Option<serde_json::Value>,
    pub(crate) max: Option<serde_json::Value>,
    pub(crate) choices: Option<Vec<serde_json::Value>>,
    pub(crate) pattern: Option<String>,
    pub(crate) references: Option<String>,
    pub(crate) on_delete: Option<OnDelete>,
    #[serde(default)]
    pub(crate) read_only: bool,
    #[serde(default)]
    pub(crate) write_only: bool,
    #[serde(default)]
    pub(crate) set_on_create: bool,
    #[serde(default)]
    pub(crate) set_on_write: bool,
    pub(crate) from_claim: Option<String>,
}

/// `on_delete`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OnDelete {
    Restrict,
    Cascade,
    SetNull,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 1000), (3, 1));
    }

    #[test]
    fn an_unknown_key_is_placed_and_lists_the_keys_allowed() {
        let text = "[server]\nport = 1\nprot = 2\n";
        let err = parse(text).unwrap_err();
        let shown = err.render("f.toml", text);
        assert!(
            shown.starts_with("f.toml:3:1: unknown field `prot`"),
            "{shown}"
        );
        assert!(
            shown.contains("`port`") && shown.contains("`trusted_proxies`"),
            "{shown}"
        );
    }

    #[test]
    fn fields_keep_their_written_order() {
        let text = "[models.p.fields]\nz = { type = \"text\" }\na = { type = \"integer\" }\n";
        let doc = parse(text).unwrap();
        let (name, model) = &doc.models.0[0];
        assert_eq!(name, "p");
        let names: Vec<&str> = model.fields.0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["z", "a"]);
    }

    #[test]
    fn a_bad_access_value_names_the_allowed_ones() {
        let text = "[models.p]\naccess = { get = \"everyone\" }\n";
        let shown = parse(text).unwrap_err().render("f", text);
        assert!(shown.starts_with("f:2:"), "{shown}");
        assert!(
            shown.contains("`public`") && shown.contains("`admin`"),
            "{shown}"
        );
    }
}
