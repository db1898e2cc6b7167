//! Counters shared through Redis: a small RESP2 client over a blocking
//! `TcpStream` with timeouts, and one Lua script that counts a request
//! atomically.
//!
//! The script reads the counter, increments it only while it is under the
//! quota (refused requests are not counted, as in this process's own
//! counters), starts its expiry with the first request of the window, and
//! answers the count, the milliseconds left and whether the request was
//! allowed — one round trip per request.
//!
//! Every connect, write and read has the configured time limit. A failure
//! marks Redis down for [`RETRY_INTERVAL`]: until then no request waits
//! for it, and the caller applies the configured failure behaviour. The
//! change to down, and back to up, is logged once each, not per request.
//! Idle connections are kept for reuse, at most [`MAX_IDLE`].

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::window::{Budget, Who};
use crate::log::Logger;

/// How long Redis is left alone after a failure.
pub(crate) const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Most idle connections kept.
pub(crate) const MAX_IDLE: usize = 16;
/// Longest reply line or bulk string accepted, in bytes.
const MAX_REPLY_BYTES: usize = 4096;
/// Most elements of a reply array accepted.
const MAX_REPLY_ELEMENTS: usize = 8;

/// Counts a request: `KEYS[1]` the counter, `ARGV[1]` the quota,
/// `ARGV[2]` the window in milliseconds. Answers `{count, ms left, allowed}`.
const SCRIPT: &str = "\
local n = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local ok = 0
if n < tonumber(ARGV[1]) then
  n = redis.call('INCR', KEYS[1])
  ok = 1
end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  if n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  t = tonumber(ARGV[2])
end
return {n, t, ok}";

/// What went wrong talking to Redis.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum RedisError {
    /// The URL cannot be used.
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting, writing or reading failed or timed out.
    Io {
        /// The cause.
        source: io::Error,
    },
    /// Redis answered something this client does not expect.
    Protocol {
        /// What was unexpected.
        reason: &'static str,
    },
    /// Redis answered an error.
    Server {
        /// Its message.
        message: String,
    },
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::Url { reason } => write!(f, "bad Redis URL: {reason}"),
            RedisError::Io { source } => write!(f, "Redis connection failed: {source}"),
            RedisError::Protocol { reason } => write!(f, "unexpected Redis reply: {reason}"),
            RedisError::Server { message } => write!(f, "Redis error: {message}"),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisError::Io { source } => Some(source),
            _ => None,
        }
    }
}

impl From<io::Error> for RedisError {
    fn from(source: io::Error) -> Self {
        RedisError::Io { source }
    }
}

/// Where Redis is and how to log in, from `redis://[[user]:password@]host[:port][/db]`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    db: Option<u32>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}:{}", self.host, self.port)
    }
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, RedisError> {
        let bad = |reason: &str| RedisError::Url {
            reason: reason.to_owned(),
        };
        let rest = url
            .trim()
            .strip_prefix("redis://")
            .ok_or_else(|| bad("expected redis://host[:port][/db]"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo.map(|u| u.split_once(':')) {
            None => (None, None),
            Some(None) => return Err(bad("the user info must be :password or user:password")),
            Some(Some((user, password))) => (
                Some(user.to_owned()).filter(|u| !u.is_empty()),
                Some(password.to_owned()),
            ),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 6379,
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        };
        let db = match path.trim_end_matches('/') {
            "" => None,
            d => Some(
                d.parse()
                    .map_err(|_| bad("the path must be a database number"))?,
            ),
        };
        Ok(Target {
            host: host.to_owned(),
            port,
            user,
            password,
            db,
        })
    }
}

/// One connection, with its read buffer.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(target: &Target, timeout: Duration) -> Result<Connection, RedisError> {
        let mut last = None;
        let mut stream = None;
        for addr in (target.host.as_str(), target.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e.into()),
            (None, None) => {
                return Err(RedisError::Protocol {
                    reason: "the host has no address",
                })
            }
        };
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut conn = Connection {
            reader: BufReader::with_capacity(512, stream),
        };
        if let Some(password) = &target.password {
            let reply = match &target.user {
                Some(user) => conn.call(&[b"AUTH", user.as_bytes(), password.as_bytes()])?,
                None => conn.call(&[b"AUTH", password.as_bytes()])?,
            };
            expect_ok(reply)?;
        }
        if let Some(db) = target.db {
            expect_ok(conn.call(&[b"SELECT", db.to_string().as_bytes()])?)?;
        }
        Ok(conn)
    }

    /// Sends one command and reads its reply.
    fn call(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        let mut out = Vec::with_capacity(64 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        encode_command(&mut out, args);
        let mut stream: &TcpStream = self.reader.get_ref();
        stream.write_all(&out)?;
        read_reply(&mut self.reader, 0)
    }
}

fn expect_ok(reply: Reply) -> Result<(), RedisError> {
    match reply {
        Reply::Simple(_) => Ok(()),
        Reply::Error(message) => Err(RedisError::Server { message }),
        _ => Err(RedisError::Protocol {
            reason: "expected +OK",
        }),
    }
}

/// A RESP2 command: an array of bulk strings.
fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A RESP2 reply.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

/// Reads one reply, with bounded line, string and array sizes and
/// nesting.
fn read_reply(r: &mut impl BufRead, depth: u8) -> Result<Reply, RedisError> {
    let bad = |reason| RedisError::Protocol { reason };
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_REPLY_BYTES as u64)
        .read_until(b'\n', &mut line)?;
    let line = line
        .strip_suffix(b"\r\n")
        .ok_or_else(|| bad("a reply line without CRLF"))?;
    let (&kind, rest) = line.split_first().ok_or_else(|| bad("an empty line"))?;
    let text = std::str::from_utf8(rest).map_err(|_| bad("a line that is not UTF-8"))?;
    let number = || text.parse::<i64>().map_err(|_| bad("a bad number"));
    match kind {
        b'+' => Ok(Reply::Simple(text.to_owned())),
        b'-' => Ok(Reply::Error(text.to_owned())),
        b':' => Ok(Reply::Int(number()?)),
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            let len = usize::try_from(len)
                .ok()
                .filter(|&n| n <= MAX_REPLY_BYTES)
                .ok_or_else(|| bad("a bulk string too long"))?;
            let mut data = vec![0; len + 2];
            r.read_exact(&mut data)?;
            if data.get(len..) != Some(b"\r\n") {
                return Err(bad("a bulk string without CRLF"));
            }
            data.truncate(len);
            Ok(Reply::Bulk(Some(data)))
        }
        b'*' => {
            let len = number()?;
            if len < 0 {
                return Ok(Reply::Array(Vec::new()));
            }
            let len = usize::try_from(len)
                .ok()
                .filter(|&n| n <= MAX_REPLY_ELEMENTS)
                .ok_or_else(|| bad("an array too long"))?;
            if depth >= 2 {
                return Err(bad("arrays nested too deep"));
            }
            let items = (0..len)
                .map(|_| read_reply(r, depth + 1))
                .collect::<Result<_, _>>()?;
            Ok(Reply::Array(items))
        }
        _ => Err(bad("an unknown reply type")),
    }
}

/// Counters in one Redis server (see the module documentation).
pub(crate) struct RedisStore {
    target: Target,
    timeout: Duration,
    prefix: String,
    idle: Mutex<Vec<Connection>>,
    /// Milliseconds after `epoch` before which Redis is not tried again;
    /// 0 while it answers.
    retry_at: AtomicU64,
    epoch: Instant,
    log: Logger,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Redis could not be asked; the cause was logged when it went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable;

impl RedisStore {
    /// A store at `url`; connects on first use.
    pub(crate) fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
        log: Logger,
    ) -> Result<RedisStore, RedisError> {
        Ok(RedisStore {
            target: Target::parse(url)?,
            timeout,
            prefix: prefix.to_owned(),
            idle: Mutex::new(Vec::new()),
            retry_at: AtomicU64::new(0),
            epoch: Instant::now(),
            log,
        })
    }

    /// Counts a request of `who` under the policy `policy` (`quota` per
    /// `window`).
    ///
    /// # Errors
    /// [`Unreachable`] while Redis is marked down or when it fails now.
    pub(crate) fn hit(
        &self,
        policy: &str,
        who: Who,
        quota: u32,
        window: Duration,
        now: Instant,
    ) -> Result<Budget, Unreachable> {
        let now_ms = self.millis(now);
        let retry_at = self.retry_at.load(Ordering::Relaxed);
        if retry_at != 0 && now_ms < retry_at {
            return Err(Unreachable);
        }
        match self.try_hit(policy, who, quota, window) {
            Ok(budget) => {
                if retry_at != 0 && self.retry_at.swap(0, Ordering::Relaxed) != 0 {
                    self.log
                        .warn("rate limit: Redis answers again; counters are shared again");
                }
                Ok(budget)
            }
            Err(e) => {
                let until = now_ms
                    .saturating_add(RETRY_INTERVAL.as_millis() as u64)
                    .max(1);
                if self.retry_at.swap(until, Ordering::Relaxed) == 0 {
                    self.log.error(&format!(
                        "rate limit: {e} ({:?}); retrying every {} s",
                        self.target,
                        RETRY_INTERVAL.as_secs()
                    ));
                }
                Err(Unreachable)
            }
        }
    }

    fn try_hit(
        &self,
        policy: &str,
        who: Who,
        quota: u32,
        window: Duration,
    ) -> Result<Budget, RedisError> {
        let key = self.key(policy, who);
        let mut conn = match crate::sync::lock(&self.idle).pop() {
            Some(conn) => conn,
            None => Connection::open(&self.target, self.timeout)?,
        };
        let quota_text = quota.to_string();
        let window_ms = window.as_millis().to_string();
        let reply = conn.call(&[
            b"EVAL",
            SCRIPT.as_bytes(),
            b"1",
            key.as_bytes(),
            quota_text.as_bytes(),
            window_ms.as_bytes(),
        ])?;
        // The exchange is complete: the connection can serve another.
        {
            let mut idle = crate::sync::lock(&self.idle);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        let [count, left_ms, allowed] = match reply {
            Reply::Array(items) => match <[Reply; 3]>::try_from(items) {
                Ok([Reply::Int(c), Reply::Int(t), Reply::Int(ok)]) => [c, t, ok],
                _ => {
                    return Err(RedisError::Protocol {
                        reason: "the script's answer is not three integers",
                    })
                }
            },
            Reply::Error(message) => return Err(RedisError::Server { message }),
            _ => {
                return Err(RedisError::Protocol {
                    reason: "the script's answer is not an array",
                })
            }
        };
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
        let count = u64::try_from(count).unwrap_or(0);
        Ok(Budget::new(allowed == 1, quota, count, left))
    }

    /// The counter's key: the prefix, the policy, and the client.
    fn key(&self, policy: &str, who: Who) -> String {
        let mut key = String::with_capacity(self.prefix.len() + policy.len() + 48);
        key.push_str(&self.prefix);
        key.push_str(policy);
        match who {
            Who::Address(ip) => {
                key.push_str(":a:");
                key.push_str(&ip.to_string());
            }
            Who::Subject(digest) => {
                key.push_str(":s:");
                crate::hex::encode_into(&mut key, &digest);
            }
        }
        key
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_targets() {
        let t = Target::parse("redis://127.0.0.1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.db), ("127.0.0.1", 6379, None));
        let t = Target::parse("redis://:pw@cache:6380/3").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user, t.password.as_deref(), t.db),
            ("cache", 6380, None, Some("pw"), Some(3))
        );
        let t = Target::parse("redis://app:pw@[::1]:7000/").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_deref()),
            ("::1", 7000, Some("app"))
        );
        assert!(!format!("{t:?}").contains("pw"));
        for bad in [
            "http://x",
            "redis://",
            "redis://h:port",
            "redis://h/x",
            "redis://pw@h",
            "redis://[::1",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"GET", b"k"]);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }

    #[test]
    fn replies_parse_within_bounds() {
        let parse = |bytes: &[u8]| read_reply(&mut &bytes[..], 0);
        assert_eq!(parse(b"+OK\r\n").unwrap(), Reply::Simple("OK".into()));
        assert_eq!(parse(b"-ERR x\r\n").unwrap(), Reply::Error("ERR x".into()));
        assert_eq!(parse(b":-2\r\n").unwrap(), Reply::Int(-2));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(
            parse(b"$2\r\nhi\r\n").unwrap(),
            Reply::Bulk(Some(b"hi".to_vec()))
        );
        assert_eq!(
            parse(b"*3\r\n:1\r\n:59000\r\n:1\r\n").unwrap(),
            Reply::Array(vec![Reply::Int(1), Reply::Int(59000), Reply::Int(1)])
        );
        let refused: &[&[u8]] = &[
            b"",
            b"+OK",
            b"?\r\n",
            b":x\r\n",
            b"$2\r\nhi",
            b"$2\r\nhix\r\n",
            b"$999999\r\n",
            b"*99\r\n",
            b"*1\r\n*1\r\n*1\r\n:1\r\n",
        ];
        for bytes in refused {
            assert!(
                parse(bytes).is_err(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let long = [b"+".as_slice(), &[b'a'; 5000], b"\r\n"].concat();
        assert!(parse(&long).is_err());
    }

    #[test]
    fn keys_name_the_policy_and_the_client() {
        let store = RedisStore::new(
            "redis://127.0.0.1:1",
            "p:",
            Duration::from_millis(10),
            Logger::new(crate::config::LogLevel::Off),
        )
        .unwrap();
        let ip = Who::Address("192.0.2.1".parse().unwrap());
        assert_eq!(store.key("default", ip), "p:default:a:192.0.2.1");
        let sub = Who::Subject([0xab; 16]);
        assert_eq!(store.key("x", sub), format!("p:x:s:{}", "ab".repeat(16)));
    }

    /// Connections accepted so far by `listener` (non-blocking).
    fn accepted(listener: &std::net::TcpListener) -> usize {
        std::iter::from_fn(|| listener.accept().ok()).count()
    }

    #[test]
    fn after_a_failure_redis_is_left_alone_for_the_retry_interval() {
        // A listener that never answers: each attempt connects (the kernel
        // accepts it into the backlog), then its read times out.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let store = RedisStore::new(
            &url,
            "p:",
            Duration::from_millis(20),
            Logger::new(crate::config::LogLevel::Off),
        )
        .unwrap();
        let who = Who::Address("192.0.2.1".parse().unwrap());
        let t0 = Instant::now();
        let hit = |at: Instant| store.hit("default", who, 10, Duration::from_secs(60), at);
        assert_eq!(hit(t0), Err(Unreachable));
        let mut attempts = accepted(&listener);
        assert_eq!(attempts, 1);
        // Within the interval nothing is tried.
        for ms in [0, 10, 500, 999] {
            assert_eq!(hit(t0 + Duration::from_millis(ms)), Err(Unreachable));
        }
        attempts += accepted(&listener);
        assert_eq!(attempts, 1);
        // Then one attempt, and another interval.
        let later = t0 + RETRY_INTERVAL + Duration::from_millis(1);
        assert_eq!(hit(later), Err(Unreachable));
        assert_eq!(hit(later + Duration::from_millis(500)), Err(Unreachable));
        attempts += accepted(&listener);
        assert_eq!(attempts, 2);
    }
}
