//! The running server: listener, reactors, worker pool, and the shutdown
//! sequence (stop accepting, finish in-flight requests, stop the workers).

pub(crate) mod budget;
pub(crate) mod conn;
pub(crate) mod handoff;
#[cfg(feature = "__private")]
pub(crate) mod memory;
pub(crate) mod reactor;
pub(crate) mod signal;
pub(crate) mod slab;
pub(crate) mod worker;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mio::Waker;

use crate::config::Config;
use crate::dispatch::AppState;
use crate::error::StartError;
use budget::Budget;
use reactor::Reactor;
use worker::Pool;

/// State every thread of one server shares.
pub(crate) struct Shared {
    shutting_down: AtomicBool,
    pub(crate) open: AtomicUsize,
    wakers: Mutex<Vec<Arc<Waker>>>,
    /// The request body bytes all connections may hold together.
    pub(crate) bodies: Budget,
}

impl Shared {
    pub(crate) fn new(body_budget: usize) -> Shared {
        Shared {
            shutting_down: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            wakers: Mutex::new(Vec::new()),
            bodies: Budget::new(body_budget),
        }
    }

    pub(crate) fn add_waker(&self, w: Arc<Waker>) {
        crate::sync::lock(&self.wakers).push(w);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        for w in crate::sync::lock(&self.wakers).iter() {
            let _ = w.wake();
        }
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
    reactors: Vec<JoinHandle<()>>,
    pool: Arc<Pool>,
    on_stop: Vec<Box<dyn FnOnce() + Send>>,
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
    pub fn join(mut self) {
        for r in self.reactors.drain(..) {
            let _ = r.join();
        }
        self.pool.shutdown();
        for f in self.on_stop.drain(..) {
            f();
        }
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
    let app = Arc::new(app);
    let config = Arc::new(config);
    let pool = Arc::new(
        Pool::start(config.server.workers, Arc::clone(&app)).map_err(|source| {
            StartError::Thread {
                name: "worker".into(),
                source,
            }
        })?,
    );
    let shared = Arc::new(Shared::new(config.limits.max_buffered_body_bytes));
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
            Arc::clone(&app),
            Arc::clone(&config),
            Arc::clone(&pool),
        )
        .map_err(|source| StartError::EventLoop { source })?;
        let t = std::thread::Builder::new()
            .name(format!("lightapi-reactor-{i}"))
            .spawn(move || reactor.run())
            .map_err(|source| StartError::Thread {
                name: "reactor".into(),
                source,
            })?;
        reactors.push(t);
    }
    app.log.info(&format!(
        "listening on http://{local} ({reactor_count} reactors, {} workers)",
        config.server.workers
    ));
    Ok(ServerHandle {
        addr: local,
        shared,
        reactors,
        pool,
        on_stop,
    })
}
