//! The driver's settings: flags, each with a `LIGHTAPI_CMP_*` variable as
//! its default (flag > variable > built-in default).

use std::path::PathBuf;
use std::time::Duration;

/// A group of workloads against one set of servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// plaintext, json, pipelined plaintext: no database.
    Http,
    Sqlite,
    Postgres,
    Mysql,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Http,
        Section::Sqlite,
        Section::Postgres,
        Section::Mysql,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Http => "http",
            Section::Sqlite => "sqlite",
            Section::Postgres => "postgres",
            Section::Mysql => "mysql",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Http => "No database (plaintext, JSON, pipelined)",
            Section::Sqlite => "SQLite",
            Section::Postgres => "PostgreSQL",
            Section::Mysql => "MariaDB",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub rounds: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub conns: usize,
    pub sections: Vec<Section>,
    /// Peer frameworks: `actix`, `axum`, `may`.
    pub peers: Vec<String>,
    /// Only workloads whose name contains one of these (empty: all).
    pub workloads: Vec<String>,
    pub lightapi: PathBuf,
    pub postgres_url: String,
    pub mysql_url: String,
    pub out: PathBuf,
    pub server_cpu: String,
    pub client_cpu: String,
    /// First-round estimate of DELETE/s, to size the rows to delete.
    pub delete_rate: Option<f64>,
    /// Run the functional check only.
    pub check_only: bool,
    /// The HTTP-only workloads' client: the project's `loadgen` (`own`) or
    /// `wrk`.
    pub client: String,
}

pub const USAGE: &str =
    "usage: lightapi-compare [--rounds N] [--warmup SECS] [--duration SECS] [--conns N]
  [--sections http,sqlite,postgres,mysql] [--peers actix,axum,may] [--workloads SUBSTR,…]
  [--lightapi PATH] [--postgres-url URL] [--mysql-url URL] [--out FILE.json]
  [--server-cpu N] [--client-cpu N] [--delete-rate N] [--client own|wrk] [--check-only]
Each flag's default can also be set as LIGHTAPI_CMP_<FLAG> (e.g. LIGHTAPI_CMP_ROUNDS=5).";

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn secs(flag: &str, v: &str) -> Result<Duration, String> {
    let s: f64 = v.parse().map_err(|e| format!("--{flag} {v}: {e}"))?;
    if !(0.0..=3600.0).contains(&s) {
        return Err(format!("--{flag} {v}: 0 to 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("--{flag} {v}: {e}"))
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut o = Options {
            rounds: 3,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(8),
            conns: 64,
            sections: Section::ALL.to_vec(),
            peers: list("actix,axum,may"),
            workloads: Vec::new(),
            lightapi: crate_dir.join("../../target/release/examples/bench"),
            postgres_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            mysql_url: "mysql://root@127.0.0.1:3306/test".into(),
            out: crate_dir.join(format!("target/compare-{now}.json")),
            server_cpu: "0".into(),
            client_cpu: "1".into(),
            delete_rate: None,
            check_only: false,
            client: "own".into(),
        };
        // Variables first, then flags over them.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for flag in [
            "rounds",
            "warmup",
            "duration",
            "conns",
            "sections",
            "peers",
            "workloads",
            "lightapi",
            "postgres-url",
            "mysql-url",
            "out",
            "server-cpu",
            "client-cpu",
            "delete-rate",
        ] {
            let var = format!("LIGHTAPI_CMP_{}", flag.to_uppercase().replace('-', "_"));
            if let Ok(v) = std::env::var(&var) {
                pairs.push((flag.into(), v));
            }
        }
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--check-only" => o.check_only = true,
                "-h" | "--help" => return Err(USAGE.into()),
                flag if flag.starts_with("--") => {
                    let value = it
                        .next()
                        .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
                    pairs.push((flag.trim_start_matches("--").into(), value.clone()));
                }
                other => return Err(format!("unexpected argument {other}\n{USAGE}")),
            }
        }
        for (flag, v) in pairs {
            match flag.as_str() {
                "rounds" => o.rounds = number::<usize>(&flag, &v)?.max(1),
                "warmup" => o.warmup = secs(&flag, &v)?,
                "duration" => o.duration = secs(&flag, &v)?.max(Duration::from_millis(100)),
                "conns" => o.conns = number::<usize>(&flag, &v)?.max(1),
                "sections" => {
                    o.sections = list(&v)
                        .iter()
                        .map(|s| {
                            Section::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
                                format!("--sections: unknown section {s} (http, sqlite, postgres, mysql)")
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                "peers" => {
                    o.peers = list(&v);
                    if let Some(p) = o.peers.iter().find(|p| !["actix", "axum", "may"].contains(&p.as_str())) {
                        return Err(format!("--peers: unknown peer {p} (actix, axum, may)"));
                    }
                }
                "workloads" => o.workloads = list(&v),
                "lightapi" => o.lightapi = PathBuf::from(v),
                "postgres-url" => o.postgres_url = v,
                "mysql-url" => o.mysql_url = v,
                "out" => o.out = PathBuf::from(v),
                "server-cpu" => o.server_cpu = v,
                "client-cpu" => o.client_cpu = v,
                "client" => {
                    if v != "own" && v != "wrk" {
                        return Err(format!("--client {v}: own or wrk"));
                    }
                    o.client = v;
                }
                "delete-rate" => o.delete_rate = Some(number::<f64>(&flag, &v)?.max(1.0)),
                other => return Err(format!("unknown flag --{other}\n{USAGE}")),
            }
        }
        Ok(o)
    }

    /// Whether workload `name` was asked for.
    pub fn wants(&self, name: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| name.contains(w.as_str()))
    }
}
