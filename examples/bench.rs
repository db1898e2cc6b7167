//! Exactly the benchmark job, all public, on `LIGHTAPI_HOST`/`LIGHTAPI_PORT`:
//! `GET /plaintext` (`Hello, World!`, `text/plain`), `GET /json`
//! (`{"message":"Hello, World!"}`), and the Person model of
//! `examples/person.rs` at `/person` with every verb public (`GET
//! /person?page_size=50`, `GET`/`PATCH`/`DELETE /person/{id}`, `POST
//! /person`), on `LIGHTAPI_DATABASE_URL` (default the SQLite
//! file `lightapi.db`, in WAL mode). The table is created if needed and
//! filled up to 1000 rows before serving, so `GET /person/1` … `/person/1000`
//! answer.
//!
//! Access logging is off unless `LIGHTAPI_LOG` asks for it (one line per
//! request would dominate the measurement; no peer logs either).
//!
//! ```sh
//! cargo run --release --example bench
//! wrk -t1 -c64 -d10s http://127.0.0.1:8000/plaintext
//! wrk -t1 -c64 -d10s http://127.0.0.1:8000/person/1
//! ```

#[path = "../benches/support/lightapi_app.rs"]
mod bench_app;

use lightapi::config::LogLevel;
use lightapi::{LightApi, StartError};

fn main() -> Result<(), StartError> {
    let mut app = LightApi::from_env()?;
    if std::env::var_os("LIGHTAPI_LOG").is_none() {
        app.config_mut().log = LogLevel::Warn;
    }
    let url = app.config_mut().database.url.as_str().to_owned();
    bench_app::seed(&url, "person", bench_app::SEED_ROWS).map_err(|reason| {
        StartError::Database {
            source: reason.into(),
        }
    })?;
    bench_app::register(app).run()
}
