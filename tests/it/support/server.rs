//! Guards for the servers a test runs: [`TestServer`] owns an in-process
//! `lightapi` server, [`ExampleProcess`] a child process running one of the
//! examples. Dropping either stops what it owns, so a failing assertion
//! never leaves a server running.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use lightapi::config::Config;
use lightapi::{LightApi, ServerHandle, StartError};

use super::{config, eventually, token, Client, SECRET};

/// A running in-process server on an ephemeral port; shut down and joined
/// on drop.
#[derive(Debug)]
pub struct TestServer {
    handle: Option<ServerHandle>,
    addr: SocketAddr,
}

impl TestServer {
    /// Starts `build(app)` on the test configuration ([`config`]).
    pub fn start(build: impl FnOnce(LightApi) -> LightApi) -> TestServer {
        TestServer::start_with(|_| {}, build)
    }

    /// As [`TestServer::start`], changing the configuration first.
    pub fn start_with(
        tweak: impl FnOnce(&mut Config),
        build: impl FnOnce(LightApi) -> LightApi,
    ) -> TestServer {
        let mut c = config();
        tweak(&mut c);
        TestServer::try_start(c, build).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts `build(app)` on exactly `config`, or says why it cannot.
    pub fn try_start(
        config: Config,
        build: impl FnOnce(LightApi) -> LightApi,
    ) -> Result<TestServer, StartError> {
        let handle = build(LightApi::with_config(config)).start()?;
        Ok(TestServer {
            addr: handle.local_addr(),
            handle: Some(handle),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A raw connection to it ([`Client::connect`]).
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// A request client without a token ([`Client::new`]).
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// A request client with a (non-admin) token for `sub`.
    pub fn client_as(&self, sub: &str) -> Client {
        Client::with_token(self.addr, &token(sub, false))
    }

    fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("the server is running")
    }

    /// Number of open client connections.
    pub fn open_connections(&self) -> usize {
        self.handle().open_connections()
    }

    /// Begins a graceful shutdown and returns at once ([`TestServer::join`]
    /// waits for it).
    pub fn shutdown(&self) {
        self.handle().shutdown();
    }

    /// Waits until the server has stopped (after [`TestServer::shutdown`]).
    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            h.join();
        }
    }

    /// Shuts down and waits.
    pub fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }
}

/// How long an example may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// An example binary running as a child process, on an ephemeral port;
/// killed (SIGKILL) on drop. Its standard error is read all along (so it
/// never blocks on a full pipe) and kept, for tests about its log.
#[derive(Debug)]
pub struct ExampleProcess {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl ExampleProcess {
    /// The built `examples/<name>` binary beside this test binary (`cargo
    /// test` builds the examples first), if it is there.
    pub fn binary(name: &str) -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        // target/<profile>/deps/it-<hash> → target/<profile>/examples/<name>
        let bin = exe
            .parent()?
            .parent()?
            .join("examples")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        bin.exists().then_some(bin)
    }

    /// A command running example `name` on 127.0.0.1, port 0, logging at
    /// `info` (the address is read from the log), with the test secret;
    /// add or override environment variables before [`ExampleProcess::spawn`].
    pub fn command(name: &str) -> Command {
        let bin = ExampleProcess::binary(name).unwrap_or_else(|| {
            panic!("examples/{name} is not built: run `cargo build --examples` (plain `cargo test` builds it)")
        });
        ExampleProcess::command_for(&bin)
    }

    /// As [`ExampleProcess::command`], for the binary at `bin`.
    pub fn command_for(bin: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env("LIGHTAPI_HOST", "127.0.0.1")
            .env("LIGHTAPI_PORT", "0")
            .env("LIGHTAPI_LOG", "info")
            .env(
                "LIGHTAPI_JWT_SECRET",
                std::str::from_utf8(SECRET).expect("ASCII secret"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Spawns `cmd` and waits until it logs the address it listens on.
    pub fn spawn(mut cmd: Command) -> ExampleProcess {
        let mut child = cmd.spawn().expect("spawn the example");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    // Up to a space (a text line) or a quote (a JSON one).
                    let addr = rest
                        .split(|c: char| c.is_whitespace() || c == '"')
                        .next()
                        .and_then(|a| a.parse().ok());
                    if let Some(addr) = addr {
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut ex = ExampleProcess {
            child,
            // Replaced below; a guard exists from here on, so a failure to
            // start still kills the child.
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => ex.addr = addr,
            Err(e) => {
                let status = ex.child.try_wait();
                panic!(
                    "the example did not start listening ({e}; exit {status:?}): {:#?}",
                    ex.log()
                );
            }
        }
        ex
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The lines it has written to standard error so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `within` for a log line `pred` accepts; the first one.
    pub fn wait_for_line(&self, within: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let mut found = None;
        eventually(within, || {
            found = self.log.lock().unwrap().iter().find(|l| pred(l)).cloned();
            found.is_some()
        });
        found
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for the example")
    }

    /// Kills it (SIGKILL: no shutdown code runs), waits for it, and reads
    /// the rest of its log.
    pub fn kill(&mut self) {
        if self.try_wait().is_none() {
            self.child.kill().expect("kill the example");
        }
        self.child.wait().expect("wait for the example");
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
