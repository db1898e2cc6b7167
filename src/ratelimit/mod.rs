//! Rate limits on any route: a quota of requests per fixed window, counted
//! per client address or per token subject, in this process or shared
//! through Redis.
//!
//! A limit is declared as a [`RateLimit`]: for every route the
//! application registers (`LIGHTAPI_RATE_LIMIT`,
//! [`RateLimitConfig::default`](crate::config::RateLimitConfig)), per
//! model verb ([`Resource::rate_limit`](crate::Resource::rate_limit)) and
//! per endpoint verb ([`Endpoint::rate_limit`](crate::Endpoint::rate_limit)).
//! A request must pass every limit of its route and verb: the route's own
//! first, then the default; the policy that refuses a request does not
//! count it, though one checked before it may have. The built-in
//! routes (`/healthz`, `/readyz`, `/openapi.json`, `/docs`, and
//! `/auth/login`, which has its own limiter) and `OPTIONS` are not counted.
//!
//! Limits are checked from the head, after authentication (a per-subject
//! limit needs the verified `sub`), before the body is read. A refused
//! request is answered `429 Too Many Requests` with `Retry-After` and a
//! problem document. Every answer on a limited route carries the
//! `RateLimit-Policy` and `RateLimit` fields of the IETF draft
//! draft-ietf-httpapi-ratelimit-headers-12 (the syntax of -08 and later):
//!
//! ```text
//! RateLimit-Policy: "person.post";q=10;w=60, "default";q=100;w=60
//! RateLimit: "person.post";r=9;t=58, "default";r=57;t=30
//! ```
//!
//! `q` is the quota, `w` the window in seconds, `r` what remains of the
//! quota and `t` the seconds until the window ends.
//!
//! ```
//! use lightapi::ratelimit::{RateLimit, RateLimitKey};
//! use lightapi::{Field, LightApi, Method, Model};
//! let note = Model::new("note")
//!     .field("body", Field::text())
//!     .into_resource()
//!     .rate_limit(Method::Post, RateLimit::per_minute(10).by(RateLimitKey::Subject));
//! let _app = LightApi::new()
//!     .configure(|c| c.rate_limit.default = Some(RateLimit::per_minute(600)))
//!     .register("/note", note);
//! ```

mod error;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod window;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

pub use crate::config::{RateLimit, RateLimitKey, RedisFailure};
pub use error::RateLimitError;

use crate::config::rate_limit::is_valid_name;
use crate::config::RateLimitConfig;
use crate::http::forwarded::client_ip;
use crate::http::{Cidr, Request, Response};
use crate::log::Logger;
use window::{Budget, Who, Windows};

/// The name of the policy `LIGHTAPI_RATE_LIMIT` declares.
pub(crate) const DEFAULT_POLICY: &str = "default";

/// One declared policy and where its counters are.
#[derive(Debug)]
pub(crate) struct Limiter {
    name: String,
    limit: RateLimit,
    /// Tells this policy's counters apart in this process's store.
    index: u32,
}

/// Every policy of an application and the counters they share.
#[derive(Debug)]
pub(crate) struct RateLimits {
    declared: HashMap<String, Arc<Limiter>>,
    default: Option<Arc<Limiter>>,
    windows: Windows,
    #[cfg(feature = "redis")]
    redis: Option<redis::RedisStore>,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    failure: RedisFailure,
    trusted_proxies: Vec<Cidr>,
}

impl RateLimits {
    /// The policies' home, from the configuration; the default policy
    /// declared.
    ///
    /// # Errors
    /// A Redis URL that does not parse, or one given without the `redis`
    /// feature.
    pub(crate) fn new(
        config: &RateLimitConfig,
        trusted_proxies: &[Cidr],
        log: Logger,
    ) -> Result<RateLimits, String> {
        #[cfg(feature = "redis")]
        let redis = match &config.redis_url {
            Some(url) => Some(
                redis::RedisStore::new(url, &config.redis_prefix, config.redis_timeout, log)
                    .map_err(|e| format!("LIGHTAPI_RATE_LIMIT_REDIS_URL: {e}"))?,
            ),
            None => None,
        };
        #[cfg(not(feature = "redis"))]
        {
            let _ = log;
            if config.redis_url.is_some() {
                return Err(
                    "LIGHTAPI_RATE_LIMIT_REDIS_URL needs lightapi's `redis` feature".into(),
                );
            }
        }
        let mut limits = RateLimits {
            declared: HashMap::new(),
            default: None,
            windows: Windows::new(config.max_keys),
            #[cfg(feature = "redis")]
            redis,
            failure: config.redis_failure,
            trusted_proxies: trusted_proxies.to_vec(),
        };
        if let Some(limit) = &config.default {
            let limit = limit.clone().or_named(|| DEFAULT_POLICY.to_owned());
            limits.default = Some(limits.declare(limit)?);
        }
        Ok(limits)
    }

    /// The limiter of the application-wide policy, if there is one.
    pub(crate) fn default_limiter(&self) -> Option<&Arc<Limiter>> {
        self.default.as_ref()
    }

    /// The limiter of `limit` (which must be named): a new one, or the one
    /// declared before under that name.
    ///
    /// # Errors
    /// A bad name, or a name declared before with another quota, window or
    /// key.
    pub(crate) fn declare(&mut self, limit: RateLimit) -> Result<Arc<Limiter>, String> {
        let name = limit.name().unwrap_or(DEFAULT_POLICY).to_owned();
        if !is_valid_name(&name) {
            return Err(format!(
                "rate limit name {name:?} must be 1 to 64 of A-Z a-z 0-9 - _ . /"
            ));
        }
        if let Some(known) = self.declared.get(&name) {
            let same = known.limit.quota() == limit.quota()
                && known.limit.window() == limit.window()
                && known.limit.key() == limit.key();
            return if same {
                Ok(Arc::clone(known))
            } else {
                Err(format!(
                    "rate limit {name:?} is declared twice with different quotas, windows or keys"
                ))
            };
        }
        let index = u32::try_from(self.declared.len()).unwrap_or(u32::MAX);
        let limiter = Arc::new(Limiter {
            name: name.clone(),
            limit,
            index,
        });
        self.declared.insert(name, Arc::clone(&limiter));
        Ok(limiter)
    }

    /// Counts `req` against each of `limiters` in turn, until one refuses.
    /// `subject` is the `sub` of the caller's verified token. Answers the
    /// budgets counted (to attach to the request for its answer's
    /// headers, [`Budgets::write_into`]) and the decision.
    ///
    /// # Errors
    /// [`RateLimitError::TooManyRequests`] from the first full window;
    /// [`RateLimitError::Unavailable`] when the shared counters cannot be
    /// reached and the configuration says to refuse.
    pub(crate) fn check<'a>(
        &self,
        limiters: impl Iterator<Item = &'a Arc<Limiter>>,
        req: &Request,
        subject: Option<&str>,
        now: Instant,
    ) -> (Option<Budgets>, Result<(), RateLimitError>) {
        let mut budgets = Budgets(Vec::with_capacity(2));
        let mut address = None;
        let mut result = Ok(());
        for limiter in limiters {
            let who = match (limiter.limit.key(), subject) {
                (RateLimitKey::Subject, Some(sub)) => Who::Subject(subject_digest(sub)),
                _ => *address.get_or_insert_with(|| Who::Address(self.client(req))),
            };
            match self.hit(limiter, who, now) {
                Ok(budget) => {
                    budgets.0.push((Arc::clone(limiter), budget));
                    if !budget.allowed {
                        result = Err(refuse(limiter, &budget));
                        break;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        ((!budgets.0.is_empty()).then_some(budgets), result)
    }

    /// Counts one request of `who` under `limiter`: in Redis when it is
    /// configured and answers, otherwise here.
    fn hit(&self, limiter: &Limiter, who: Who, now: Instant) -> Result<Budget, RateLimitError> {
        let limit = &limiter.limit;
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            match redis.hit(&limiter.name, who, limit.quota(), limit.window(), now) {
                Ok(budget) => return Ok(budget),
                Err(redis::Unreachable) => {
                    if self.failure == RedisFailure::Closed {
                        return Err(RateLimitError::Unavailable);
                    }
                }
            }
        }
        Ok(self
            .windows
            .hit(limiter.index, who, limit.quota(), limit.window(), now))
    }

    /// The address `req` is counted by.
    fn client(&self, req: &Request) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        window::client_key(client_ip(peer, req.headers(), &self.trusted_proxies))
    }
}

/// The refusal of a request by `limiter`: the one place every `429` of a
/// rate limit comes from.
fn refuse(limiter: &Limiter, budget: &Budget) -> RateLimitError {
    crate::metrics::rate_limit_refused(&limiter.name);
    RateLimitError::TooManyRequests {
        policy: limiter.name.clone(),
        retry_after: budget.reset_secs,
    }
}

/// The first 16 bytes of the SHA-256 of a subject: a long subject costs
/// no more memory than a short one.
fn subject_digest(sub: &str) -> [u8; 16] {
    let digest = Sha256::digest(sub.as_bytes());
    let mut out = [0u8; 16];
    if let Some(head) = digest.get(..16) {
        out.copy_from_slice(head);
    }
    out
}

/// The budgets a request was counted against, attached to it until its
/// answer is written.
#[derive(Debug)]
pub(crate) struct Budgets(Vec<(Arc<Limiter>, Budget)>);

impl Budgets {
    /// Adds `RateLimit-Policy` and `RateLimit` to `resp`.
    pub(crate) fn write_into(&self, resp: &mut Response) {
        let mut policy = String::with_capacity(32 * self.0.len());
        let mut current = String::with_capacity(32 * self.0.len());
        for (i, (limiter, budget)) in self.0.iter().enumerate() {
            if i > 0 {
                policy.push_str(", ");
                current.push_str(", ");
            }
            let limit = &limiter.limit;
            // Names are plain (`is_valid_name`): nothing to escape in the
            // quoted string.
            let _ = write!(
                policy,
                "\"{}\";q={};w={}",
                limiter.name,
                limit.quota(),
                limit.window().as_secs()
            );
            let _ = write!(
                current,
                "\"{}\";r={};t={}",
                limiter.name, budget.remaining, budget.reset_secs
            );
        }
        resp.insert_header("RateLimit-Policy", policy);
        resp.insert_header("RateLimit", current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(default: Option<RateLimit>) -> RateLimits {
        let config = RateLimitConfig {
            default,
            ..RateLimitConfig::default()
        };
        RateLimits::new(&config, &[], Logger::new(crate::config::LogLevel::Off)).unwrap()
    }

    fn request(peer: &str) -> Request {
        Request::new(crate::http::Method::Get, "/x").with_peer_addr(peer.parse().unwrap())
    }

    #[test]
    fn names_are_shared_and_conflicts_refused() {
        let mut l = limits(Some(RateLimit::per_minute(100)));
        assert_eq!(
            l.default_limiter().map(|d| d.name.as_str()),
            Some("default")
        );
        let a = l
            .declare(RateLimit::per_second(5).named("uploads"))
            .unwrap();
        let b = l
            .declare(RateLimit::per_second(5).named("uploads"))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(l
            .declare(RateLimit::per_second(6).named("uploads"))
            .is_err());
        assert!(l.declare(RateLimit::per_minute(100)).is_ok());
        assert!(l.declare(RateLimit::per_second(1).named("a b")).is_err());
    }

    #[test]
    fn headers_list_every_policy_counted() {
        let mut l = limits(Some(RateLimit::per_minute(3)));
        let route = l.declare(RateLimit::per_second(2).named("p.post")).unwrap();
        let all = [Arc::clone(l.default_limiter().unwrap()), route];
        let now = Instant::now();
        let (budgets, result) = l.check(all.iter(), &request("192.0.2.1:5000"), None, now);
        assert!(result.is_ok());
        let mut resp = Response::new(crate::http::StatusCode::OK);
        budgets.unwrap().write_into(&mut resp);
        assert_eq!(
            resp.header("ratelimit-policy"),
            Some("\"default\";q=3;w=60, \"p.post\";q=2;w=1")
        );
        assert_eq!(
            resp.header("ratelimit"),
            Some("\"default\";r=2;t=60, \"p.post\";r=1;t=1")
        );
        let req = request("192.0.2.1:5001");
        assert!(l.check(all.iter(), &req, None, now).1.is_ok());
        let (budgets, refused) = l.check(all.iter(), &req, None, now);
        let mut resp = Response::new(crate::http::StatusCode::OK);
        budgets.unwrap().write_into(&mut resp);
        assert_eq!(
            resp.header("ratelimit"),
            Some("\"default\";r=0;t=60, \"p.post\";r=0;t=1")
        );
        let refused = refused.unwrap_err();
        assert_eq!(
            refused,
            RateLimitError::TooManyRequests {
                policy: "p.post".into(),
                retry_after: 1
            }
        );
    }

    #[test]
    fn subjects_count_apart_and_anonymous_callers_by_address() {
        let l = limits(Some(
            RateLimit::new(1, Duration::from_secs(60)).by(RateLimitKey::Subject),
        ));
        let d = [Arc::clone(l.default_limiter().unwrap())];
        let now = Instant::now();
        let check =
            |peer: &str, sub: Option<&str>| l.check(d.iter(), &request(peer), sub, now).1.is_ok();
        assert!(check("192.0.2.1:1", Some("alice")));
        assert!(check("192.0.2.1:1", Some("bob")));
        assert!(!check("192.0.2.9:1", Some("alice")));
        assert!(check("192.0.2.1:1", None));
        assert!(!check("192.0.2.1:2", None));
        assert!(check("192.0.2.2:1", None));
    }
}
