//! What can stop a server from starting, each with its cause.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::BoxError;
use crate::backend::BackendError;
use crate::config::ConfigError;
use crate::crud::CrudError;

/// Why a server did not start: one line saying what failed, with the
/// cause as its `source()`.
///
/// Its `Debug` output is the same single line as its `Display`, so
/// `fn main() -> Result<(), StartError>` prints `Error: …` and no
/// backtrace.
#[non_exhaustive]
pub enum StartError {
    /// A `LIGHTAPI_*` value that cannot be used.
    Config(ConfigError),
    /// A mistake in the application's own declarations (routes, models,
    /// CORS settings), found before anything is served.
    Declaration {
        /// Where: the route path or model, when there is one.
        at: Option<String>,
        /// What is wrong.
        source: BoxError,
    },
    /// The listening address could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// A thread could not be started.
    Thread {
        /// Which thread (`worker`, `reactor`, …).
        name: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// An event loop could not be set up (polling, waking).
    EventLoop {
        /// The operating system's error.
        source: io::Error,
    },
    /// The SIGINT/SIGTERM handlers could not be installed.
    Signals {
        /// The operating system's error.
        source: io::Error,
    },
    /// The database could not be opened or its tables prepared.
    Database {
        /// The database's error.
        source: BoxError,
    },
    /// A server thread stopped on a panic while serving, which shut the
    /// server down ([`LightApi::run`](crate::LightApi::run) returns it, so
    /// the process exits with a failure status).
    Crashed {
        /// Which thread.
        thread: String,
        /// The panic's message.
        cause: String,
    },
}

impl StartError {
    /// A declaration mistake at `at`.
    pub(crate) fn declaration(at: Option<&str>, source: impl Into<BoxError>) -> StartError {
        StartError::Declaration {
            at: at.map(str::to_owned),
            source: source.into(),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => fmt::Display::fmt(e, f),
            StartError::Declaration {
                at: Some(at),
                source,
            } => write!(f, "invalid declaration: {at}: {source}"),
            StartError::Declaration { at: None, source } => {
                write!(f, "invalid declaration: {source}")
            }
            StartError::Bind { addr, source } => write!(
                f,
                "LIGHTAPI_HOST/LIGHTAPI_PORT: cannot listen on {addr}: {source}"
            ),
            StartError::Thread { name, source } => {
                write!(f, "cannot start the {name} thread: {source}")
            }
            StartError::EventLoop { source } => write!(f, "cannot set up the event loop: {source}"),
            StartError::Signals { source } => {
                write!(f, "cannot install SIGINT/SIGTERM handlers: {source}")
            }
            StartError::Database { source } => write!(f, "LIGHTAPI_DATABASE_URL: {source}"),
            StartError::Crashed { thread, cause } => write!(
                f,
                "thread {thread} stopped on a panic ({cause}); the server was shut down"
            ),
        }
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Declaration { source, .. } | StartError::Database { source } => {
                Some(&**source)
            }
            StartError::Bind { source, .. }
            | StartError::Thread { source, .. }
            | StartError::EventLoop { source }
            | StartError::Signals { source } => Some(source),
            StartError::Crashed { .. } => None,
        }
    }
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        StartError::Config(e)
    }
}

impl From<BackendError> for StartError {
    fn from(e: BackendError) -> Self {
        StartError::Database {
            source: Box::new(e),
        }
    }
}

impl From<CrudError> for StartError {
    fn from(e: CrudError) -> Self {
        StartError::Database {
            source: Box::new(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn each_failure_says_what_failed_with_its_cause() {
        let bind = StartError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 80)),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert!(bind
            .to_string()
            .starts_with("LIGHTAPI_HOST/LIGHTAPI_PORT: cannot listen on 127.0.0.1:80"));
        assert!(bind.source().is_some());
        let thread = StartError::Thread {
            name: "worker".into(),
            source: io::Error::from(io::ErrorKind::OutOfMemory),
        };
        assert!(thread
            .to_string()
            .starts_with("cannot start the worker thread"));
        let db = StartError::from(BackendError::Closed);
        assert_eq!(
            db.to_string(),
            "LIGHTAPI_DATABASE_URL: database backend closed"
        );
        assert_eq!(format!("{db:?}"), db.to_string());
    }
}
