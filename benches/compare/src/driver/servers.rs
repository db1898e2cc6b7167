//! Starting, watching and stopping the servers under test: each its own
//! process, started through `taskset -c <server-cpu>` (which sets the
//! affinity and then execs the server, so the child's pid is the server's),
//! at its own defaults. lightapi gets no `LIGHTAPI_*` variable but its
//! port and database URL: the driver removes any others from its
//! environment, so workers, reactors and pool size are lightapi's defaults.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use super::client;
use crate::peer::Variant;
use crate::procfs;

/// How long a server may take to answer `GET /plaintext` after starting
/// (lightapi seeds its table first).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A server to run.
#[derive(Debug, Clone)]
pub struct ServerDef {
    /// Shown in tables: `lightapi`, `actix-web inline`, …
    pub name: String,
    /// `lightapi`, `actix-web`, `axum`, `may_minihttp`.
    pub framework: &'static str,
    pub variant: Option<Variant>,
    /// What runs, before `taskset` is put in front.
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where the port goes: a `LIGHTAPI_PORT` variable or a `--port` flag.
    pub port_in_env: bool,
}

/// A started server.
pub struct Running {
    pub def: ServerDef,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    log: PathBuf,
    /// The most threads seen in the process.
    pub max_threads: u32,
    /// The affinity in force (`Cpus_allowed_list`).
    pub cpus: String,
}

/// The pids of the servers running now, killed if the driver is told to
/// stop (SIGINT, SIGTERM, SIGHUP), so that no server is left pinned to the
/// server core.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn kill_on_signal() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            eprintln!("warning: cannot watch for signals; servers may outlive an interrupted run");
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let pids = RUNNING
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                for pid in pids {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
                eprintln!("interrupted (signal {signal}): servers stopped");
                std::process::exit(130);
            }
        });
    });
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Running {
    /// Starts `def` pinned to `cpu` and waits until it answers.
    pub fn start(def: &ServerDef, cpu: &str) -> Result<Running, String> {
        kill_on_signal();
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!(
            "lightapi_cmp_{}_{}.log",
            std::process::id(),
            def.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(cpu).arg(&def.program).args(&def.args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LIGHTAPI_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(def.env.iter().map(|(k, v)| (k, v)));
        if def.port_in_env {
            cmd.env("LIGHTAPI_PORT", port.to_string());
        } else {
            cmd.arg("--port").arg(port.to_string());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| {
                format!(
                    "{}: cannot start taskset {}: {e}",
                    def.name,
                    def.program.display()
                )
            })?;
        let pid = child.id();
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
        let mut server = Running {
            def: def.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            pid,
            child,
            log,
            max_threads: 0,
            cpus: String::new(),
        };
        server.wait_ready()?;
        server.cpus = procfs::cpus_allowed(pid).unwrap_or_else(|| "?".into());
        server.observe();
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited at start-up ({status}); its log:\n{}",
                    self.def.name,
                    tail(&self.log)
                ));
            }
            if let Ok(r) = client::get(self.addr, "/plaintext") {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "{} did not answer within {START_TIMEOUT:?}; its log:\n{}",
                    self.def.name,
                    tail(&self.log)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Records the thread count; says whether the process is still alive.
    pub fn observe(&mut self) -> bool {
        if let Ok(Some(_)) = self.child.try_wait() {
            return false;
        }
        if let Some(n) = procfs::threads(self.pid) {
            self.max_threads = self.max_threads.max(n);
        }
        true
    }

    /// The end of its log, for error messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|&p| p != self.pid);
        let _ = std::fs::remove_file(&self.log);
    }
}
