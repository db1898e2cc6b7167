//! Related rows in one request vs one request per row (SQLite, over
//! loopback): a page of 50 categories with their parent expanded and their
//! products embedded (`?expand=parent&embed=product`), against the page
//! alone followed by one `GET /product?category_id=…` per row (50 + 1
//! requests), each on one keep-alive connection.
//!
//! `cargo bench --bench relations` (`LIGHTAPI_BENCH_RUNS` pages per figure,
//! default 200).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use lightapi::auth::{unix_now, JwtConfig};
use lightapi::config::{Config, JwtSecret, LogLevel};
use lightapi::{Field, LightApi, Model};

const SECRET: &[u8] = b"benchmark-secret-0123456789abcdef0123456789";
const ROWS: usize = 50;
const PRODUCTS_PER_ROW: usize = 3;

/// One keep-alive connection with a bearer token.
struct Conn {
    reader: BufReader<TcpStream>,
    auth: String,
}

impl Conn {
    fn open(addr: SocketAddr, token: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream),
            auth: format!("Authorization: Bearer {token}\r\n"),
        }
    }

    /// Sends a request and reads its response; the body's bytes.
    fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\n{}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.auth,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        (status, body)
    }

    fn get(&mut self, path: &str) -> Vec<u8> {
        let (status, body) = self.send("GET", path, "");
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        body
    }

    fn create(&mut self, path: &str, body: &str) -> i64 {
        let (status, body) = self.send("POST", path, body);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let row: serde_json::Value = serde_json::from_slice(&body).unwrap();
        row["id"].as_i64().unwrap()
    }
}

fn time(label: &str, runs: u32, mut f: impl FnMut() -> usize) -> Duration {
    f();
    let start = Instant::now();
    let mut requests = 0;
    for _ in 0..runs {
        requests = f();
    }
    let per = start.elapsed() / runs;
    println!(
        "{label:<52} {:>9.1} µs/page ({requests} requests)",
        per.as_secs_f64() * 1e6
    );
    per
}

fn main() {
    let runs: u32 = std::env::var("LIGHTAPI_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = std::env::temp_dir().join(format!("lightapi-relations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::default();
    config.server.port = 0;
    config.server.reactors = 1;
    config.log = LogLevel::Off;
    config.jwt.secrets = vec![JwtSecret::new(SECRET.to_vec()).unwrap()];
    config.database.url = format!("sqlite://{}", dir.join("bench.db").display())
        .parse()
        .unwrap();
    let category = Model::new("category").field("name", Field::text()).field(
        "parent_id",
        Field::integer().nullable().references("category"),
    );
    let product = Model::new("product")
        .field("title", Field::text())
        .field("price", Field::float())
        .field(
            "category_id",
            Field::integer().references("category").index(),
        );
    let server = LightApi::with_config(config)
        .register("/category", category)
        .register(
            "/product",
            product.into_resource().filter_fields(&["category_id"]),
        )
        .start()
        .expect("the benchmark server starts");
    let token = JwtConfig::new(SECRET).unwrap().sign_subject(
        "bench",
        Duration::from_secs(86_400),
        unix_now(),
        Default::default(),
    );
    let mut c = Conn::open(server.local_addr(), &token);
    let root = c.create("/category", r#"{"name":"root"}"#);
    let mut ids = vec![root];
    for i in 1..ROWS {
        ids.push(c.create(
            "/category",
            &format!(r#"{{"name":"c{i}","parent_id":{root}}}"#),
        ));
    }
    for id in &ids {
        for j in 0..PRODUCTS_PER_ROW {
            c.create(
                "/product",
                &format!(r#"{{"title":"p{j}","price":1.5,"category_id":{id}}}"#),
            );
        }
    }
    let page = format!("/category?page_size={ROWS}");
    let related = time("1 request: ?expand=parent&embed=product", runs, || {
        c.get(&format!("{page}&expand=parent&embed=product"));
        1
    });
    for (label, query) in [
        ("1 request: ?expand=parent", "&expand=parent"),
        ("1 request: ?embed=product", "&embed=product"),
        ("1 request: the page alone", ""),
    ] {
        time(label, runs, || {
            c.get(&format!("{page}{query}"));
            1
        });
    }
    let each = time(
        "51 requests: the page, then each row's products",
        runs,
        || {
            c.get(&page);
            for id in &ids {
                c.get(&format!("/product?category_id={id}&page_size=20"));
            }
            ROWS + 1
        },
    );
    println!(
        "one request with relations takes {:.1}% of the time of 51",
        related.as_secs_f64() / each.as_secs_f64() * 100.0
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
