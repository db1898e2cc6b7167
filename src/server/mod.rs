//! The running server: listener, reactors, worker pool, and the shutdown
//! sequence (stop accepting, finish in-flight requests, stop the workers).

pub(crate) mod budget;
pub(crate) mod conn;
pub(crate) mod handoff;
#[cfg(feature = "__private")]
pub(crate) mod memory;
pub(crate) mod reactor;
pub(crate) mod shutdown;
pub(crate) mod signal;
pub(crate) mod slab;
pub(crate) mod swap;
pub(crate) mod worker;

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::config::{descriptors, Config};
use crate::dispatch::{panic_message, AppState};
use crate::error::StartError;
use crate::log::Logger;
use budget::Budget;
use reactor::Reactor;
use swap::Apps;
use worker::Pool;

/// State every thread of one server shares.
pub(crate) struct Shared {
    shutting_down: AtomicBool,
    /// When the shutdown began (its first request).
    shutdown_began: OnceLock<Instant>,
    /// The first thread that stopped on a panic, and the panic's message.
    crashed: Mutex<Option<(String, String)>>,
    pub(crate) open: AtomicUsize,
    wakers: Mutex<Vec<Arc<Waker>>>,
    /// The request body bytes all connections may hold together.
    pub(crate) bodies: Budget,
    /// The output bytes all connections may hold together, beyond each
    /// one's allowance (`conn::OUTPUT_ALLOWANCE`).
    pub(crate) output: Budget,
}

impl Shared {
    pub(crate) fn new(body_budget: usize, output_budget: usize) -> Shared {
        Shared {
            shutting_down: AtomicBool::new(false),
            shutdown_began: OnceLock::new(),
            crashed: Mutex::new(None),
            open: AtomicUsize::new(0),
            wakers: Mutex::new(Vec::new()),
            bodies: Budget::new(body_budget),
            output: Budget::new(output_budget),
        }
    }

    pub(crate) fn add_waker(&self, w: Arc<Waker>) {
        crate::sync::lock(&self.wakers).push(w);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Records that `thread` stopped on a panic and shuts the server down:
    /// with one of its threads gone the server cannot keep its promises,
    /// and a process supervisor restarts it only if it exits with a failure.
    pub(crate) fn crash(&self, thread: &str, cause: String) {
        crate::sync::lock(&self.crashed).get_or_insert_with(|| (thread.to_owned(), cause));
        self.shutdown();
    }

    pub(crate) fn crashed(&self) -> Option<(String, String)> {
        crate::sync::lock(&self.crashed).clone()
    }

    pub(crate) fn shutdown(&self) {
        self.shutdown_began.get_or_init(Instant::now);
        self.shutting_down.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Wakes every event loop.
    fn wake_all(&self) {
        for w in crate::sync::lock(&self.wakers).iter() {
            let _ = w.wake();
        }
    }
}

/// A running server's means to swap in another application: usable from
/// any thread, for as long as the server runs.
#[derive(Clone)]
pub(crate) struct Swapper {
    apps: Arc<Apps>,
    shared: Arc<Shared>,
}

impl Swapper {
    /// The current application, its configuration and generation, and
    /// the lock that serialises reloads.
    pub(crate) fn apps(&self) -> &Apps {
        &self.apps
    }

    /// Makes `app` (built from `config`) the application every request
    /// that starts from now on is served by, and wakes the event loops so
    /// they take it at once; answers the application it replaces.
    pub(crate) fn swap(&self, app: AppState, config: Config) -> Arc<AppState> {
        let old = self.apps.replace(Arc::new(app), Arc::new(config));
        self.shared.wake_all();
        old
    }
}

/// A running server: its address, and the means to stop it.
///
/// Dropping the handle does not stop the server; call
/// [`ServerHandle::shutdown`] then [`ServerHandle::join`], or
/// [`ServerHandle::stop`] for both.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    apps: Arc<Apps>,
    reactors: Vec<JoinHandle<()>>,
    pool: Arc<Pool>,
    on_stop: Vec<Box<dyn FnOnce() + Send>>,
    /// `LIGHTAPI_SHUTDOWN_TIMEOUT_MS`: the bound of the whole shutdown.
    shutdown_timeout: Duration,
    log: Logger,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ServerHandle {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Begins a graceful shutdown: stop accepting, let in-flight requests
    /// finish, close idle connections. Returns at once.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    /// Waits until the server has stopped (after [`ServerHandle::shutdown`]
    /// or a signal), then stops the workers and closes the database.
    ///
    /// It returns within the shutdown timeout
    /// ([`Timeouts::shutdown`](crate::config::Timeouts::shutdown)) of the
    /// shutdown's start, plus at most 200 ms for idle threads to end:
    /// handlers or queries still running then, such as one waiting on a
    /// database that does not answer, are left to end by themselves.
    pub fn join(self) {
        let _ = self.join_checked();
    }

    /// As [`ServerHandle::join`]; then the thread that stopped on a panic
    /// and shut the server down, if one did, with the panic's message.
    pub(crate) fn join_checked(mut self) -> Option<(String, String)> {
        for r in self.reactors.drain(..) {
            let _ = r.join();
        }
        let now = Instant::now();
        let began = self.shared.shutdown_began.get().copied().unwrap_or(now);
        let deadline = shutdown::close_deadline(began, self.shutdown_timeout, now);
        let pool = Arc::clone(&self.pool);
        let on_stop = std::mem::take(&mut self.on_stop);
        let apps = Arc::clone(&self.apps);
        let closed = shutdown::finish_by(deadline, move || {
            pool.shutdown();
            for f in on_stop {
                f();
            }
            // The database swapped in last, if it is not the first one.
            if let Some(engine) = &apps.current().0.engine {
                engine.as_backend().close();
            }
        });
        if !closed {
            self.log.warn(
                "shutdown timeout reached with handlers or database calls still running; \
                 exiting without waiting for them",
            );
        }
        self.shared.crashed()
    }

    /// Shuts down and waits.
    pub fn stop(self) {
        self.shutdown();
        self.join();
    }

    /// Number of open client connections.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }

    /// The means to swap in another application while the server runs.
    pub(crate) fn swapper(&self) -> Swapper {
        Swapper {
            apps: Arc::clone(&self.apps),
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Runs a server thread's loop; a panic that escapes it (every piece of
/// user code is isolated inside, so only a defect of the server's own)
/// is logged and shuts the whole server down.
pub(crate) fn supervise(thread: &str, shared: &Shared, log: &Logger, body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let cause = panic_message(payload.as_ref());
        log.error(&format!(
            "thread {thread} stopped on a panic ({cause}); shutting the server down"
        ));
        shared.crash(thread, cause);
    }
}

/// Lowers the connection cap to what the descriptor soft limit leaves
/// room for (`config::descriptors`), logging one warning when it does.
/// Where the limit cannot be read the cap is kept.
fn clamp_connections(config: &mut Config, log: &Logger) {
    let Some(soft) = descriptors::soft_limit() else {
        return;
    };
    let cap = config.limits.max_connections;
    let reactors = config.server.reactors.max(1);
    let clamped = descriptors::clamp_connections(cap, soft, reactors);
    if clamped < cap {
        log.warn(&format!(
            "connection cap {cap} lowered to {clamped}: the open-files soft limit is {soft} \
             ({} kept for the server's own descriptors)",
            descriptors::reserve(soft, reactors)
        ));
        config.limits.max_connections = clamped;
    }
}

/// Binds, starts the workers and the reactors.
pub(crate) fn start(
    config: Config,
    app: AppState,
    with_signals: bool,
    on_stop: Vec<Box<dyn FnOnce() + Send>>,
) -> Result<ServerHandle, StartError> {
    let addr = config.server.bind_addr();
    let bind_err = |source: std::io::Error| StartError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    // The application keeps the configuration as given, which a reload
    // compares its own with; the event loops run on the clamped one.
    let log = app.log;
    let apps = Arc::new(Apps::new(Arc::new(app), Arc::new(config.clone())));
    let mut config = config;
    clamp_connections(&mut config, &log);
    let config = Arc::new(config);
    let shared = Arc::new(Shared::new(
        config.limits.max_buffered_body_bytes,
        config.limits.max_unsent_bytes,
    ));
    let pool = Arc::new(
        Pool::start(config.server.workers, log, Arc::clone(&shared)).map_err(|source| {
            StartError::Thread {
                name: "worker".into(),
                source,
            }
        })?,
    );
    let mut signal_stream = if with_signals {
        Some(signal::install().map_err(|source| StartError::Signals { source })?)
    } else {
        None
    };
    let reactor_count = config.server.reactors.max(1);
    let mut reactors = Vec::with_capacity(reactor_count);
    for i in 0..reactor_count {
        let l = listener.try_clone().map_err(bind_err)?;
        let reactor = Reactor::new(
            mio::net::TcpListener::from_std(l),
            if i == 0 { signal_stream.take() } else { None },
            Arc::clone(&shared),
            Arc::clone(&apps),
            Arc::clone(&config),
            Arc::clone(&pool),
        )
        .map_err(|source| StartError::EventLoop { source })?;
        let name = format!("lightapi-reactor-{i}");
        let watched = Arc::clone(&shared);
        let t = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || supervise(&name, &watched, &log, || reactor.run()))
            .map_err(|source| StartError::Thread {
                name: "reactor".into(),
                source,
            })?;
        reactors.push(t);
    }
    log.info(&format!(
        "listening on http://{local} ({reactor_count} reactors, {} workers)",
        config.server.workers
    ));
    Ok(ServerHandle {
        addr: local,
        shared,
        apps,
        reactors,
        pool,
        on_stop,
        shutdown_timeout: config.timeouts.shutdown,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;

    #[test]
    fn a_thread_that_panics_shuts_the_server_down_and_is_reported() {
        let shared = Shared::new(1024, 1024);
        let log = Logger::new(LogLevel::Off);
        supervise("lightapi-reactor-0", &shared, &log, || {});
        assert!(!shared.is_shutting_down());
        assert_eq!(shared.crashed(), None);
        supervise("lightapi-reactor-1", &shared, &log, || panic!("a defect"));
        assert!(shared.is_shutting_down());
        assert_eq!(
            shared.crashed(),
            Some(("lightapi-reactor-1".to_owned(), "a defect".to_owned()))
        );
        // The first crash is the one reported.
        supervise("lightapi-worker-0", &shared, &log, || panic!("later"));
        assert_eq!(
            shared.crashed().map(|c| c.0).as_deref(),
            Some("lightapi-reactor-1")
        );
    }
}
