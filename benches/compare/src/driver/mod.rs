//! The driver (the default subcommand): for each section (no database,
//! SQLite, PostgreSQL, MariaDB) it prepares one fresh database per server,
//! starts every server as its own pinned process, checks that each answers
//! each workload correctly, then measures in alternating rounds and prints
//! and writes the results.

mod check;
mod client;
mod db;
mod options;
mod plan;
mod report;
mod runner;
mod servers;
mod sysinfo;
mod workloads;
mod wrk;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use db::{Database, Target, SEED_ROWS};
use options::{Options, Section};
use report::{Report, Run};
use servers::Running;
use workloads::Workload;

/// First-round DELETE/s estimate when nothing better is known.
const DEFAULT_DELETE_RATE: f64 = 50_000.0;

pub fn main(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", options::USAGE);
        return Ok(());
    }
    let opts = Options::parse(args)?;
    preflight(&opts)?;
    let mut report = Report {
        config: sysinfo::collect(&opts),
        ..Report::default()
    };
    println!("{}", report.config_text());
    let mut unique = 0u64;
    for &section in &opts.sections {
        if let Err(reason) = run_section(section, &opts, &mut report, &mut unique) {
            println!("\n== {}: skipped or stopped: {reason}", section.title());
            report.skipped.push((section.name().into(), reason));
        }
    }
    if let Some(cfg) = report.config.as_object_mut() {
        cfg.insert("load_average_at_end".into(), json!(sysinfo::load_average()));
    }
    report.summarise();
    println!("\n# Results\n\n{}", report.config_text());
    for &section in &opts.sections {
        println!("{}", report.section_tables(section));
    }
    report.write_json(&opts.out)?;
    println!("\nwritten: {}", opts.out.display());
    if report.check_failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} functional check(s) failed (see above); those pairs were not measured",
            report.check_failures.len()
        ))
    }
}

fn preflight(opts: &Options) -> Result<(), String> {
    if std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_err()
    {
        return Err(
            "taskset (util-linux) is needed to pin the servers and the load generator".into(),
        );
    }
    if !opts.lightapi.is_file() {
        return Err(format!(
            "{} not found: build it first, from the repository root: \
             cargo build --release --example bench --features postgres,mysql (or run benches/compare/run.sh)",
            opts.lightapi.display()
        ));
    }
    if opts.client == "wrk" && !wrk::available() {
        return Err("--client wrk: wrk is not installed (apt-get install wrk)".into());
    }
    if opts.server_cpu == opts.client_cpu {
        println!(
            "warning: the servers and the load generator share CPU {}",
            opts.server_cpu
        );
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("LIGHTAPI_")
            && !k.starts_with("LIGHTAPI_CMP_")
            && !k.starts_with("LIGHTAPI_BENCH_")
        {
            println!(
                "note: {k} is set here; it is NOT passed to lightapi (it runs at its defaults)"
            );
        }
    }
    Ok(())
}

/// A started server with its database and seed ids.
struct Entry {
    server: Running,
    target: Option<Target>,
    ids: Vec<i64>,
    /// Workloads whose functional check failed.
    failed: Vec<Workload>,
}

fn connect_db(section: Section, opts: &Options) -> Result<Option<Box<dyn Database>>, String> {
    Ok(match section {
        Section::Http => None,
        Section::Sqlite => Some(Box::new(db::sqlite::Sqlite)),
        Section::Postgres => Some(Box::new(
            db::postgres::Postgres::connect(&opts.postgres_url)
                .map_err(|e| format!("PostgreSQL does not answer: {e}"))?,
        )),
        Section::Mysql => Some(Box::new(
            db::mysql::Mysql::connect(&opts.mysql_url)
                .map_err(|e| format!("MariaDB does not answer: {e}"))?,
        )),
    })
}

fn run_section(
    section: Section,
    opts: &Options,
    report: &mut Report,
    unique: &mut u64,
) -> Result<(), String> {
    let workloads: Vec<Workload> = match section {
        Section::Http => Workload::HTTP.to_vec(),
        _ => Workload::DB.to_vec(),
    }
    .into_iter()
    .filter(|w| opts.wants(w.name()))
    .collect();
    if workloads.is_empty() {
        return Err("no workload selected".into());
    }
    let mut database = connect_db(section, opts)?;
    let http_db = match section {
        // lightapi needs a database to start: a SQLite file it does not use.
        Section::Http => Some(db::sqlite::Sqlite.fresh("http_lightapi")?),
        _ => None,
    };
    if let Some(d) = database.as_mut() {
        report.database_versions.insert(section.name(), d.version());
    }
    println!("\n== {}: starting servers", section.title());
    let mut entries: Vec<Entry> = Vec::new();
    let mut result = start_all(section, opts, &mut database, http_db.as_ref(), &mut entries);
    if result.is_ok() {
        result = functional_check(section, &mut database, &mut entries, report);
    }
    if result.is_ok() && !opts.check_only {
        result = measure_all(
            section,
            opts,
            &mut database,
            &mut entries,
            &workloads,
            report,
            unique,
        );
    }
    report.servers.insert(
        section.name(),
        entries
            .iter()
            .map(|e| {
                json!({
                    "name": e.server.def.name,
                    "configuration": plan::describe(&e.server.def, section),
                    "max_threads": e.server.max_threads,
                    "cpus_allowed": e.server.cpus,
                })
            })
            .collect(),
    );
    for e in &mut entries {
        e.server.stop();
        if let (Some(d), Some(t)) = (database.as_mut(), &e.target) {
            d.drop_target(t);
        }
    }
    if let Some(t) = &http_db {
        db::sqlite::Sqlite.drop_target(t);
    }
    result
}

fn start_all(
    section: Section,
    opts: &Options,
    database: &mut Option<Box<dyn Database>>,
    http_db: Option<&Target>,
    entries: &mut Vec<Entry>,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    // lightapi first: it creates and seeds its own table.
    let target = match (database.as_mut(), http_db) {
        (Some(d), _) => d.fresh("lightapi")?,
        (None, Some(t)) => t.clone(),
        (None, None) => return Err("no database for lightapi".into()),
    };
    let server = Running::start(&plan::lightapi(opts, &target), &opts.server_cpu)?;
    println!(
        "  lightapi: pid {} on {} (CPUs {})",
        server.pid, server.addr, server.cpus
    );
    let keep = database.is_some().then_some(target);
    entries.push(Entry {
        server,
        target: keep,
        ids: Vec::new(),
        failed: Vec::new(),
    });
    for (peer, variant) in plan::peers(opts, section) {
        let (def, target) = match (database.as_mut(), variant) {
            (Some(d), Some(v)) => {
                let t = d.fresh(&plan::tag(&peer, Some(v)))?;
                d.create_peer_table(&t)?;
                (plan::peer(&exe, &peer, Some((d.name(), v, &t))), Some(t))
            }
            _ => (plan::peer(&exe, &peer, None), None),
        };
        let server = Running::start(&def, &opts.server_cpu)?;
        println!(
            "  {}: pid {} on {} (CPUs {})",
            def.name, server.pid, server.addr, server.cpus
        );
        entries.push(Entry {
            server,
            target,
            ids: Vec::new(),
            failed: Vec::new(),
        });
    }
    if let Some(d) = database.as_mut() {
        for e in entries.iter_mut() {
            let Some(t) = &e.target else { continue };
            e.ids = d.ids(t, SEED_ROWS)?;
            let count = d.count(t)?;
            if count != SEED_ROWS || e.ids.len() as u64 != SEED_ROWS {
                return Err(format!(
                    "{}'s table has {count} rows, expected {SEED_ROWS}",
                    e.server.def.name
                ));
            }
        }
    }
    Ok(())
}

fn functional_check(
    section: Section,
    database: &mut Option<Box<dyn Database>>,
    entries: &mut [Entry],
    report: &mut Report,
) -> Result<(), String> {
    println!("\n== {}: functional check", section.title());
    let workloads: &[Workload] = match section {
        Section::Http => &Workload::HTTP,
        _ => &Workload::DB,
    };
    for e in entries.iter_mut() {
        for &w in workloads {
            let rows = match (database.as_mut(), &e.target) {
                (Some(d), Some(t)) => {
                    // The DELETE check deletes a row added for it.
                    let to_delete = match w {
                        Workload::Delete => d.add_rows_to_delete(t, 1)?.first().copied(),
                        _ => None,
                    };
                    Some(check::Rows {
                        ids: e.ids.clone(),
                        count: SEED_ROWS,
                        to_delete,
                    })
                }
                _ => None,
            };
            let result = check::check(e.server.addr, w, rows.as_ref());
            if let (Some(d), Some(t)) = (database.as_mut(), &e.target) {
                d.reset(t)?;
            }
            if let Err(what) = result {
                println!("  FAILED {} / {}: {what}", e.server.def.name, w.name());
                report.check_failures.push((
                    section.name().into(),
                    e.server.def.name.clone(),
                    w.name().into(),
                    what,
                ));
                e.failed.push(w);
            }
        }
        if e.failed.is_empty() {
            println!(
                "  {}: every workload answers as expected",
                e.server.def.name
            );
        }
    }
    Ok(())
}

/// How many rows to add before a DELETE run of `server`.
fn rows_to_delete(
    opts: &Options,
    server: &str,
    seen: &HashMap<(String, &'static str), f64>,
) -> u64 {
    // The largest of the estimates: a round may run much faster than the
    // one before it, and a run that runs out of ids is void, while spare
    // rows only cost the time to add them.
    let rate = opts.delete_rate.unwrap_or_else(|| {
        let delete = seen.get(&(server.to_string(), "delete")).map(|r| r * 2.0);
        let post = seen.get(&(server.to_string(), "post")).map(|r| r * 4.0);
        [delete, post]
            .into_iter()
            .flatten()
            .fold(DEFAULT_DELETE_RATE, f64::max)
    });
    let secs = opts.warmup.as_secs_f64() + opts.duration.as_secs_f64() + 0.5;
    (rate * secs).ceil() as u64 + opts.conns as u64 * 2
}

fn measure_all(
    section: Section,
    opts: &Options,
    database: &mut Option<Box<dyn Database>>,
    entries: &mut [Entry],
    workloads: &[Workload],
    report: &mut Report,
    unique: &mut u64,
) -> Result<(), String> {
    // The fastest total rate seen per (server, workload), for sizing DELETE runs.
    let mut seen: HashMap<(String, &'static str), f64> = HashMap::new();
    for &w in workloads {
        println!("\n== {}: {}", section.title(), w.name());
        for round in 1..=opts.rounds {
            for i in 0..entries.len() {
                if entries[i].failed.contains(&w) {
                    continue;
                }
                let idle_before: Vec<Option<Duration>> = entries_cpu(entries);
                let e = &mut entries[i];
                let ids: Vec<i64> = match (w, database.as_mut(), &e.target) {
                    (Workload::GetById, ..) => e.ids.clone(),
                    (Workload::Patch, ..) => e.ids.iter().copied().take(opts.conns).collect(),
                    (Workload::Delete, Some(d), Some(t)) => {
                        let n = rows_to_delete(opts, &e.server.def.name, &seen);
                        d.add_rows_to_delete(t, n)?
                    }
                    _ => Vec::new(),
                };
                if w == Workload::Patch && ids.len() < opts.conns {
                    return Err(format!(
                        "PATCH needs a row per connection: {} rows, {} connections",
                        ids.len(),
                        opts.conns
                    ));
                }
                *unique += 1;
                let outcome = if section == Section::Http && opts.client == "wrk" {
                    wrk::measure(&e.server, w, opts)
                } else {
                    runner::measure(&e.server, w, opts, &ids, *unique * 10_000_000_000)
                };
                if !e.server.observe() {
                    return Err(format!(
                        "{} died during {}; its log:\n{}",
                        e.server.def.name,
                        w.name(),
                        e.server.log_tail()
                    ));
                }
                if w.adds_or_removes_rows() {
                    if let (Some(d), Some(t)) = (database.as_mut(), &e.target) {
                        d.reset(t)?;
                    }
                }
                let outcome = outcome
                    .map_err(|err| format!("{} / {}: {err}", e.server.def.name, w.name()))?;
                let run = Run::new(
                    section,
                    w.name(),
                    &e.server.def.name,
                    e.server.def.framework,
                    e.server.def.variant.map(|v| v.name()),
                    round,
                    outcome,
                );
                let key = (e.server.def.name.clone(), workload_key(w));
                let rate = (run.outcome.requests as f64 / run.outcome.elapsed_s.max(1e-9)).max(0.0);
                let best = seen.entry(key).or_insert(0.0);
                *best = best.max(rate);
                println!("{}", run.line());
                let idle_after = entries_cpu(entries);
                warn_busy_idle(entries, &run.server, &idle_before, &idle_after, opts);
                report.runs.push(run);
            }
        }
    }
    Ok(())
}

fn workload_key(w: Workload) -> &'static str {
    match w {
        Workload::Delete => "delete",
        Workload::Post => "post",
        _ => "other",
    }
}

fn entries_cpu(entries: &[Entry]) -> Vec<Option<Duration>> {
    entries
        .iter()
        .map(|e| crate::procfs::cpu_time(e.server.pid))
        .collect()
}

/// Says so when a server that was not under test used CPU during a run
/// (it would have competed with the one measured).
fn warn_busy_idle(
    entries: &[Entry],
    measured: &str,
    before: &[Option<Duration>],
    after: &[Option<Duration>],
    opts: &Options,
) {
    let window = opts.warmup + opts.duration;
    for (i, e) in entries.iter().enumerate() {
        if e.server.def.name == measured {
            continue;
        }
        if let (Some(Some(a)), Some(Some(b))) = (before.get(i), after.get(i)) {
            let used = b.saturating_sub(*a);
            if used.as_secs_f64() > window.as_secs_f64() * 0.01 {
                println!(
                    "    note: idle {} used {:.0} ms of CPU during this run",
                    e.server.def.name,
                    used.as_secs_f64() * 1000.0
                );
            }
        }
    }
}
