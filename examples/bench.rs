//! Exactly the benchmark job: `GET /plaintext` (`Hello, World!`,
//! `text/plain`) and `GET /json` (`{"message":"Hello, World!"}`), both
//! public, on `LIGHTAPI_HOST`/`LIGHTAPI_PORT`.
//!
//! Access logging is off unless `LIGHTAPI_LOG` asks for it (one line per
//! request would dominate the measurement; no peer logs either).
//!
//! ```sh
//! cargo run --release --example bench
//! wrk -t1 -c64 -d10s http://127.0.0.1:8000/plaintext
//! ```

#[path = "../benches/support/lightapi_app.rs"]
mod bench_app;

use lightapi::{ConfigError, LightApi, LogLevel};

fn main() -> Result<(), ConfigError> {
    let mut app = LightApi::from_env()?;
    if std::env::var_os("LIGHTAPI_LOG").is_none() {
        app.config_mut().log_level = LogLevel::Warn;
    }
    bench_app::register(app).run()
}
