//! The Person API: one model, one `register`, one `run`.
//!
//! ```sh
//! cargo run --example person          # SQLite file lightapi.db, 127.0.0.1:8000
//! ```
//!
//! Every route requires a bearer token; without `LIGHTAPI_JWT_SECRET`, a
//! ready-to-use token is printed at start-up.

use lightapi::{Field, LightApi, Model};

fn main() -> Result<(), lightapi::StartError> {
    let person = Model::new("person")
        .field("name", Field::text())
        .field("email", Field::text().unique())
        .field("email_verified", Field::boolean().default(false));
    LightApi::from_env()?
        .openapi_info("People", "1.0.0")
        .openapi_license("MIT License", "MIT")
        .register("/person", person)
        .run()
}
