//! Which servers run in a section, how each is started, and what its
//! configuration is (printed with the results).

use std::path::Path;

use super::db::Target;
use super::options::{Options, Section};
use super::servers::ServerDef;
use crate::peer::Variant;

fn framework_name(peer: &str) -> &'static str {
    match peer {
        "actix" => "actix-web",
        "axum" => "axum",
        _ => "may_minihttp",
    }
}

/// The short tag of a server (database names, logs).
pub fn tag(peer: &str, variant: Option<Variant>) -> String {
    match variant {
        Some(v) => format!("{peer}_{}", v.name()),
        None => peer.to_string(),
    }
}

/// lightapi: `examples/bench` on `target`'s database (SQLite for the HTTP
/// section: it needs one to start).
pub fn lightapi(opts: &Options, target: &Target) -> ServerDef {
    ServerDef {
        name: "lightapi".into(),
        framework: "lightapi",
        variant: None,
        program: opts.lightapi.clone(),
        args: Vec::new(),
        env: vec![("LIGHTAPI_DATABASE_URL".into(), target.lightapi_url.clone())],
        port_in_env: true,
    }
}

/// A peer, without a database (`target` None) or with one.
pub fn peer(exe: &Path, peer: &str, db: Option<(&str, Variant, &Target)>) -> ServerDef {
    let mut args = vec!["peer".to_string(), peer.to_string()];
    let (name, variant) = match db {
        Some((db, variant, t)) => {
            args.extend([
                "--db".into(),
                db.into(),
                "--variant".into(),
                variant.name().into(),
            ]);
            args.extend(["--url".into(), t.peer_url.clone()]);
            if !t.schema.is_empty() {
                args.extend(["--schema".into(), t.schema.clone()]);
            }
            (
                format!("{} {}", framework_name(peer), variant.name()),
                Some(variant),
            )
        }
        None => (framework_name(peer).to_string(), None),
    };
    ServerDef {
        name,
        framework: framework_name(peer),
        variant,
        program: exe.to_path_buf(),
        args,
        env: Vec::new(),
        port_in_env: false,
    }
}

/// The peers of a section: may_minihttp only without a database.
pub fn peers(opts: &Options, section: Section) -> Vec<(String, Option<Variant>)> {
    let mut out = Vec::new();
    for p in &opts.peers {
        match section {
            Section::Http => out.push((p.clone(), None)),
            _ if p == "may" => {}
            _ => {
                out.push((p.clone(), Some(Variant::Inline)));
                out.push((p.clone(), Some(Variant::Blocking)));
            }
        }
    }
    out
}

/// What a server does, in words, for the printed configuration.
pub fn describe(def: &ServerDef, section: Section) -> String {
    let offload = match def.framework {
        "actix-web" => "web::block",
        _ => "tokio::task::spawn_blocking",
    };
    let runtime = match def.framework {
        "lightapi" => {
            return "examples/bench (release build), lightapi defaults: workers = reactors = cores in its affinity mask, \
                    database pool 8 (SQLite: 8 readers + its writer thread, synchronous=NORMAL), access log off"
                .into()
        }
        "actix-web" => "actix-web 4 HttpServer defaults (workers = cores in its affinity mask)",
        "axum" => "axum 0.8 on tokio's multi-threaded runtime defaults (worker threads = cores in its affinity mask; blocking pool up to 512 threads), TCP_NODELAY via tap_io",
        _ => "may_minihttp 0.1, may's default workers (cores in its affinity mask)",
    };
    let store = match (section, def.variant) {
        (Section::Http, _) | (_, None) => String::new(),
        (Section::Sqlite, Some(Variant::Inline)) => {
            "; rusqlite on a thread-local connection per worker thread, called inline, prepare_cached, WAL, synchronous=NORMAL".into()
        }
        (Section::Sqlite, Some(Variant::Blocking)) => format!(
            "; rusqlite inside {offload}: pool of 8 read connections + 1 write connection behind a mutex, prepare_cached, WAL, synchronous=NORMAL"
        ),
        (Section::Postgres, Some(Variant::Inline)) => {
            "; tokio-postgres through deadpool-postgres (pool 8 per worker), awaited inline, prepare_cached".into()
        }
        (Section::Postgres, Some(Variant::Blocking)) => {
            format!("; sync `postgres` crate inside {offload}: pool of 8, statements prepared per connection")
        }
        (Section::Mysql, Some(Variant::Inline)) => {
            "; mysql_async pool of 8 per worker, awaited inline, cached server-side prepared statements".into()
        }
        (Section::Mysql, Some(Variant::Blocking)) => {
            format!("; sync `mysql` crate inside {offload}: pool of 8, cached server-side prepared statements")
        }
    };
    format!("{runtime}{store}")
}
