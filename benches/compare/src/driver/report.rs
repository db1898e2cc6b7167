//! Results: every run, the per-server medians with their spread, the
//! ratios against each peer's stronger variant, printed as tables and
//! written as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::options::Section;
use crate::loadgen::Outcome;

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub section: &'static str,
    pub workload: &'static str,
    pub server: String,
    pub framework: &'static str,
    pub variant: Option<&'static str>,
    pub round: usize,
    pub rps: f64,
    pub cpu_us_per_request: Option<f64>,
    pub outcome: Outcome,
}

impl Run {
    pub fn new(
        section: Section,
        workload: &'static str,
        server: &str,
        framework: &'static str,
        variant: Option<&'static str>,
        round: usize,
        outcome: Outcome,
    ) -> Run {
        let rps = outcome.requests as f64 / outcome.elapsed_s.max(1e-9);
        let cpu_us_per_request = match outcome.server_cpu_s {
            Some(cpu) if outcome.requests > 0 => Some(cpu * 1e6 / outcome.requests as f64),
            _ => None,
        };
        Run {
            section: section.name(),
            workload,
            server: server.into(),
            framework,
            variant,
            round,
            rps,
            cpu_us_per_request,
            outcome,
        }
    }

    /// The progress line printed after the run.
    pub fn line(&self) -> String {
        let cpu = self
            .cpu_us_per_request
            .map_or("n/a".into(), |c| format!("{c:.2}"));
        let mut s = format!(
            "  round {} {:<22} {:>10.0} req/s  p50 {:>9}  p99 {:>9}  CPU {cpu} µs/req",
            self.round,
            self.server,
            self.rps,
            fmt_us(self.outcome.p50_us),
            fmt_us(self.outcome.p99_us)
        );
        if self.outcome.errors() > 0 || self.outcome.exhausted {
            s.push_str(&format!(
                "  ERRORS {} {:?} lost {}{}",
                self.outcome.errors(),
                self.outcome.bad_statuses,
                self.outcome.lost,
                self.outcome
                    .first_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ));
        }
        s
    }
}

/// `123 µs` or `1.23 ms`.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn fmt_thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Median and range of a set of values.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Option<Spread> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// One server's runs of one workload, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub section: &'static str,
    pub workload: &'static str,
    pub server: String,
    pub framework: &'static str,
    pub variant: Option<&'static str>,
    pub runs: usize,
    pub rps: Spread,
    pub p50_us: Spread,
    pub p99_us: Spread,
    pub cpu_us_per_request: Option<Spread>,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// lightapi against one peer's stronger variant (by median req/s).
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub section: &'static str,
    pub workload: &'static str,
    pub peer: &'static str,
    pub against: String,
    /// lightapi's median req/s over the peer's.
    pub rps: f64,
    /// lightapi's median CPU per request over the peer's (below 1: less).
    pub cpu: Option<f64>,
}

#[derive(Default, Serialize)]
pub struct Report {
    pub config: Value,
    /// Per section: the servers, their configuration and observed threads.
    pub servers: BTreeMap<&'static str, Vec<Value>>,
    pub database_versions: BTreeMap<&'static str, String>,
    /// Functional check failures: (section, server, workload, what).
    pub check_failures: Vec<(String, String, String, String)>,
    pub skipped: Vec<(String, String)>,
    pub runs: Vec<Run>,
    pub summaries: Vec<Summary>,
    pub ratios: Vec<Ratio>,
}

impl Report {
    /// Summaries and ratios from the runs so far.
    pub fn summarise(&mut self) {
        let mut groups: BTreeMap<(&'static str, &'static str, String), Vec<&Run>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in &self.runs {
            let key = (r.section, r.workload, r.server.clone());
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            groups.entry(key).or_default().push(r);
        }
        self.summaries = order
            .into_iter()
            .filter_map(|key| {
                let runs = groups.get(&key)?;
                let first = runs.first()?;
                Some(Summary {
                    section: first.section,
                    workload: first.workload,
                    server: first.server.clone(),
                    framework: first.framework,
                    variant: first.variant,
                    runs: runs.len(),
                    rps: Spread::of(runs.iter().map(|r| r.rps).collect())?,
                    p50_us: Spread::of(runs.iter().map(|r| r.outcome.p50_us).collect())?,
                    p99_us: Spread::of(runs.iter().map(|r| r.outcome.p99_us).collect())?,
                    cpu_us_per_request: Spread::of(
                        runs.iter().filter_map(|r| r.cpu_us_per_request).collect(),
                    ),
                    errors: runs.iter().map(|r| r.outcome.errors()).sum(),
                    first_error: runs.iter().find_map(|r| r.outcome.first_error.clone()),
                })
            })
            .collect();
        self.ratios.clear();
        for ours in self.summaries.iter().filter(|s| s.framework == "lightapi") {
            let mut peers: Vec<&'static str> = Vec::new();
            for s in &self.summaries {
                if s.section == ours.section
                    && s.workload == ours.workload
                    && s.framework != "lightapi"
                    && !peers.contains(&s.framework)
                {
                    peers.push(s.framework);
                }
            }
            for peer in peers {
                let stronger = self
                    .summaries
                    .iter()
                    .filter(|s| {
                        s.section == ours.section
                            && s.workload == ours.workload
                            && s.framework == peer
                    })
                    .max_by(|a, b| a.rps.median.total_cmp(&b.rps.median));
                if let Some(theirs) = stronger {
                    let cpu = match (ours.cpu_us_per_request, theirs.cpu_us_per_request) {
                        (Some(a), Some(b)) if b.median > 0.0 => Some(a.median / b.median),
                        _ => None,
                    };
                    self.ratios.push(Ratio {
                        section: ours.section,
                        workload: ours.workload,
                        peer,
                        against: theirs.server.clone(),
                        rps: ours.rps.median / theirs.rps.median.max(1e-9),
                        cpu,
                    });
                }
            }
        }
    }

    /// The tables of one section, as Markdown.
    pub fn section_tables(&self, section: Section) -> String {
        let name = section.name();
        let mut out = format!("\n## {}\n", section.title());
        if let Some(v) = self.database_versions.get(name) {
            out.push_str(&format!("\n{v}\n"));
        }
        let summaries: Vec<&Summary> = self
            .summaries
            .iter()
            .filter(|s| s.section == name)
            .collect();
        if summaries.is_empty() {
            out.push_str("\n(no runs)\n");
            return out;
        }
        let mut peers: Vec<&'static str> = Vec::new();
        for s in &summaries {
            if s.framework != "lightapi" && !peers.contains(&s.framework) {
                peers.push(s.framework);
            }
        }
        let mut workloads: Vec<&'static str> = Vec::new();
        for s in &summaries {
            if !workloads.contains(&s.workload) {
                workloads.push(s.workload);
            }
        }
        out.push_str("\nlightapi (medians) and lightapi / each peer's stronger variant: req/s ratio (above 1: lightapi faster), CPU-per-request ratio (below 1: lightapi cheaper)\n\n");
        out.push_str("| workload | lightapi req/s | lightapi CPU µs/req |");
        for p in &peers {
            out.push_str(&format!(" vs {p} |"));
        }
        out.push_str("\n|---|---:|---:|");
        for _ in &peers {
            out.push_str("---|");
        }
        out.push('\n');
        for w in &workloads {
            let ours = summaries
                .iter()
                .find(|s| s.workload == *w && s.framework == "lightapi");
            let (rps, cpu) = match ours {
                Some(s) => (
                    fmt_thousands(s.rps.median),
                    s.cpu_us_per_request
                        .map_or("n/a".into(), |c| format!("{:.2}", c.median)),
                ),
                None => ("n/a".into(), "n/a".into()),
            };
            out.push_str(&format!("| {w} | {rps} | {cpu} |"));
            for p in &peers {
                let r = self
                    .ratios
                    .iter()
                    .find(|r| r.section == name && r.workload == *w && r.peer == *p);
                match r {
                    Some(r) => {
                        let cpu = r.cpu.map_or("n/a".into(), |c| format!("{c:.2}×"));
                        let variant = r
                            .against
                            .strip_prefix(p)
                            .map(str::trim)
                            .filter(|v| !v.is_empty());
                        let variant = variant.map(|v| format!(" ({v})")).unwrap_or_default();
                        out.push_str(&format!(" {:.2}× req/s, {cpu} CPU{variant} |", r.rps));
                    }
                    None => out.push_str(" n/a |"),
                }
            }
            out.push('\n');
        }
        out.push_str("\nEvery server: median (min–max) over the rounds\n\n");
        out.push_str("| workload | server | req/s | p50 | p99 | CPU µs/req | errors |\n|---|---|---:|---:|---:|---:|---:|\n");
        for w in &workloads {
            for s in summaries.iter().filter(|s| s.workload == *w) {
                let cpu = s.cpu_us_per_request.map_or("n/a".into(), |c| {
                    format!("{:.2} ({:.2}–{:.2})", c.median, c.min, c.max)
                });
                out.push_str(&format!(
                    "| {w} | {} | {} ({}–{}) | {} ({}–{}) | {} ({}–{}) | {cpu} | {} |\n",
                    s.server,
                    fmt_thousands(s.rps.median),
                    fmt_thousands(s.rps.min),
                    fmt_thousands(s.rps.max),
                    fmt_us(s.p50_us.median),
                    fmt_us(s.p50_us.min),
                    fmt_us(s.p50_us.max),
                    fmt_us(s.p99_us.median),
                    fmt_us(s.p99_us.min),
                    fmt_us(s.p99_us.max),
                    s.errors
                ));
            }
        }
        for s in summaries.iter().filter(|s| s.errors > 0) {
            out.push_str(&format!(
                "\n{} / {}: {} errors; first: {}\n",
                s.workload,
                s.server,
                s.errors,
                s.first_error.as_deref().unwrap_or("?")
            ));
        }
        out
    }

    /// The configuration block, as text.
    pub fn config_text(&self) -> String {
        let mut out = String::from("## Configuration\n\n");
        if let Some(map) = self.config.as_object() {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map_or(x.to_string(), String::from))
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                out.push_str(&format!("- {k}: {v}\n"));
            }
        }
        for (section, servers) in &self.servers {
            out.push_str(&format!("- servers ({section}):\n"));
            for s in servers {
                out.push_str(&format!(
                    "  - {}: {} [threads seen: {}, CPUs allowed: {}]\n",
                    s["name"].as_str().unwrap_or("?"),
                    s["configuration"].as_str().unwrap_or("?"),
                    s["max_threads"],
                    s["cpus_allowed"].as_str().unwrap_or("?")
                ));
            }
        }
        for (section, reason) in &self.skipped {
            out.push_str(&format!("- skipped {section}: {reason}\n"));
        }
        for (section, server, workload, what) in &self.check_failures {
            out.push_str(&format!("- functional check FAILED ({section}) {server} / {workload}: {what} (not measured)\n"));
        }
        out
    }

    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
