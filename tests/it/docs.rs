//! `/docs`, the API explorer: its files over HTTP (public, revalidated,
//! under a strict `Content-Security-Policy`), and the page itself in
//! headless Chromium (Debian's `chromium`, installed by `.ci/browser.sh`):
//! it lists every operation and sends a request from its form.
//!
//! Without `/usr/bin/chromium` the browser test prints why and passes,
//! unless `LIGHTAPI_TEST_REQUIRE_SERVERS=1`, when it fails.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lightapi::{Access, Field, Method, Model};
use serde_json::json;

use crate::support::{token, unique, Client, TempDir, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A shop: a public category list and products that need a token.
fn shop() -> (TestServer, String, String) {
    let category = unique("category");
    let product = unique("product");
    let categories = Model::new(&category)
        .field("name", Field::text().max_length(100))
        .into_resource()
        .access(Method::Get, Access::Public);
    let products = Model::new(&product)
        .field("title", Field::text().max_length(200))
        .field("price", Field::float())
        .into_resource()
        .search_fields(&["title"])
        .ordering_fields(&["price"]);
    let (c, p) = (format!("/{category}"), format!("/{product}"));
    let server = TestServer::start(|app| {
        app.openapi_info("Shop", "1.0.0")
            .register(&c, categories)
            .register(&p, products)
    });
    (server, c, p)
}

#[test]
fn the_explorer_is_public_revalidated_and_locked_down() {
    let (server, _, _) = shop();
    let mut anyone = Client::new(server.addr());
    let page = anyone.get("/docs");
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.text().contains("/docs/app.js"));
    let etag = page.header("etag").unwrap().to_owned();
    let again = anyone.request("GET", "/docs", &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let mut total = page.body.len();
    for (path, kind) in [
        ("/docs/app.js", "text/javascript; charset=utf-8"),
        ("/docs/app.css", "text/css; charset=utf-8"),
    ] {
        let r = anyone.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(kind), "{path}");
        assert!(r.header("content-security-policy").is_some(), "{path}");
        total += r.body.len();
    }
    // Small enough to be on by default (README states the size).
    assert!(total < 30 * 1024, "{total} bytes");
    // The explorer is not part of the API it describes.
    let doc = anyone.get("/openapi.json").json();
    assert!(doc["paths"].get("/docs").is_none());
    server.stop();
}

/// Runs headless Chromium on `url` and returns the DOM once the page's
/// work is done (`--virtual-time-budget` lets its requests finish).
fn dump_dom(url: &str, profile: &Path) -> String {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("chromium's stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("read chromium's output")
}

#[test]
fn the_explorer_lists_the_operations_and_sends_a_request_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        let line = format!("skipped: {CHROMIUM} is not installed (see .ci/browser.sh)");
        if std::env::var_os("LIGHTAPI_TEST_REQUIRE_SERVERS").is_some() {
            panic!("{line}");
        }
        let _ = writeln!(std::io::stderr(), "{line}");
        return;
    }
    let (server, category, product) = shop();
    let admin = token("root", true);
    let mut client = Client::with_token(server.addr(), &admin);
    let made = client.post(&product, &json!({"title": "Blue teapot", "price": 12.5}));
    assert_eq!(made.status, 201, "{made:?}");
    let made = client.post(&product, &json!({"title": "Red kettle", "price": 30.0}));
    assert_eq!(made.status, 201, "{made:?}");
    let profile = TempDir::new("chromium");
    // The fragment opens the product list, fills `search` and the token,
    // and sends the request.
    let url = format!(
        "http://{}/docs#try=GET%20{product}&p.search=teapot&token={admin}",
        server.addr()
    );
    let dom = dump_dom(&url, profile.path());
    // Every operation, under its model's tag, with its summary.
    for op in [
        format!("data-op=\"GET {category}\""),
        format!("data-op=\"POST {category}\""),
        format!("data-op=\"GET {category}/{{id}}\""),
        format!("data-op=\"DELETE {product}/{{id}}\""),
        format!("data-op=\"PATCH {product}/{{id}}\""),
        "data-op=\"GET /healthz\"".to_owned(),
    ] {
        assert!(dom.contains(&op), "{op} not in the page:\n{dom}");
    }
    let product_tag = format!("data-tag=\"{}\"", product.trim_start_matches('/'));
    assert!(dom.contains(&product_tag), "{dom}");
    assert!(dom.contains(&format!("List {} rows", product.trim_start_matches('/'))));
    // The request made from the page: its status and the server's body.
    assert!(dom.contains("data-status=\"200\""), "no 200 in:\n{dom}");
    assert!(dom.contains("Blue teapot"), "{dom}");
    assert!(
        !dom.contains("Red kettle"),
        "the search was not sent:\n{dom}"
    );
    assert!(
        dom.contains("etag: W/"),
        "response headers not shown:\n{dom}"
    );
    server.stop();
}
