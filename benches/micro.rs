//! Micro-benchmarks of the pure entry points: the request-head parser, the
//! chunked decoder, the router (10 vs 500 routes), JWT verification and
//! the weak `ETag` of a 50-row list page.
//!
//! ```sh
//! cargo bench --bench micro
//! ```
//!
//! A std-only harness: each case runs in batches until a time budget is
//! spent (`LIGHTAPI_MICRO_MS`, default 300 ms per case) and reports the
//! median batch's time per iteration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use lightapi::__private::crud::etag::{weak_etag, EtagKey};
use lightapi::__private::http::{parse_head, ChunkedDecoder};
use lightapi::__private::router::Router;
use lightapi::auth::JwtConfig;
use lightapi::http::MessageLimits;

/// Times `f`, printing nanoseconds per call.
fn bench<R>(name: &str, budget: Duration, mut f: impl FnMut() -> R) {
    // Calibrate a batch of about 1 ms.
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() >= Duration::from_millis(1) || batch >= 1 << 30 {
            break;
        }
        batch *= 2;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let median = samples[samples.len() / 2];
    let min = samples[0];
    println!(
        "{name:<44} {median:>10.1} ns/iter  (min {min:.1}, {} samples)",
        samples.len()
    );
}

const GET: &[u8] =
    b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n";
const BROWSER: &[u8] = b"GET /person/42?fields=name,email HTTP/1.1\r\nHost: api.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.x\r\n\
Cookie: session=abcdef0123456789; theme=dark\r\nConnection: keep-alive\r\nCache-Control: max-age=0\r\n\r\n";
const POST: &[u8] = b"POST /person HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n";

fn router(n: usize) -> Router<usize> {
    let mut r = Router::new();
    let mut i = 0;
    while r.len() < n {
        r.insert(&format!("/resource{i}"), r.len()).unwrap();
        if r.len() < n {
            r.insert(&format!("/resource{i}/{{id}}"), r.len()).unwrap();
        }
        if r.len() < n {
            r.insert(&format!("/resource{i}/{{id}}/items/{{item}}"), r.len())
                .unwrap();
        }
        i += 1;
    }
    r
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let ms = std::env::var("LIGHTAPI_MICRO_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let budget = Duration::from_millis(if quick { 5 } else { ms });
    let limits = MessageLimits::default();

    bench("parse_head: wrk GET (4 headers)", budget, || {
        parse_head(black_box(GET), &limits).unwrap()
    });
    bench("parse_head: browser GET (10 headers)", budget, || {
        parse_head(black_box(BROWSER), &limits).unwrap()
    });
    bench("parse_head: JSON POST head", budget, || {
        parse_head(black_box(POST), &limits).unwrap()
    });

    let chunked: Vec<u8> = {
        let mut v = Vec::new();
        for _ in 0..16 {
            v.extend_from_slice(b"100\r\n");
            v.extend_from_slice(&[b'x'; 256]);
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"0\r\n\r\n");
        v
    };
    let mut out = Vec::with_capacity(8192);
    bench("chunked: 16 x 256-byte chunks", budget, || {
        out.clear();
        let mut d = ChunkedDecoder::new(1 << 20, 8192);
        d.decode(black_box(&chunked), &mut out).unwrap().consumed
    });

    for n in [10usize, 500] {
        let r = router(n);
        let last_static = format!("/resource{}", (n / 3).saturating_sub(1));
        let last_param = format!("/resource{}/12345", (n / 3).saturating_sub(1));
        bench(&format!("router {n} routes: static hit"), budget, || {
            *r.lookup(black_box(&last_static)).unwrap().0
        });
        bench(&format!("router {n} routes: one parameter"), budget, || {
            r.lookup(black_box(&last_param)).unwrap().1.len()
        });
        bench(&format!("router {n} routes: miss"), budget, || {
            r.lookup(black_box("/nowhere/at/all")).is_err()
        });
    }

    // A 50-row page of the benchmark's `person` rows, as sent.
    let page: Vec<u8> = {
        let mut v = b"{\"count\":1000,\"next\":\"/person?page=2&page_size=50\",\"pages\":20,\"previous\":null,\"results\":[".to_vec();
        for i in 1..=50 {
            if i > 1 {
                v.push(b',');
            }
            v.extend_from_slice(
                format!("{{\"id\":{i},\"name\":\"Person {i}\",\"email\":\"seed-{i}@example.com\",\"email_verified\":false}}")
                    .as_bytes(),
            );
        }
        v.extend_from_slice(b"]}");
        v
    };
    let key = EtagKey::derive(b"benchmark-secret-0123456789abcdef0123456789");
    bench("page etag: empty body", budget, || {
        weak_etag(&key, black_box(b""))
    });
    bench(&format!("page etag: {} bytes", page.len()), budget, || {
        weak_etag(&key, black_box(&page))
    });

    let config = JwtConfig::new(b"benchmark-secret-0123456789abcdef0123456789").unwrap();
    let now = 1_700_000_000;
    let token = config.sign_subject("alice", Duration::from_secs(3600), now, Default::default());
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    bench("jwt verify: valid HS256 token", budget, || {
        config.verify(black_box(&token), now).unwrap()
    });
    bench("jwt verify: bad signature", budget, || {
        config.verify(black_box(&forged), now).is_err()
    });
    bench("jwt sign: subject + exp", budget, || {
        config.sign_subject("alice", Duration::from_secs(3600), now, Default::default())
    });
}
