//! A minimal blocking connection pool (what r2d2 does): at most `max`
//! connections, opened on demand, handed out one caller at a time.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::peer::model::DbError;

type Make<C> = Box<dyn Fn() -> Result<C, String> + Send + Sync>;

pub struct Pool<C> {
    state: Mutex<(Vec<C>, usize)>,
    freed: Condvar,
    max: usize,
    make: Make<C>,
}

/// A checked-out connection, returned on drop.
pub struct Lease<'p, C> {
    pool: &'p Pool<C>,
    conn: Option<C>,
}

impl<C> Pool<C> {
    pub fn new(max: usize, make: Make<C>) -> Pool<C> {
        Pool {
            state: Mutex::new((Vec::new(), 0)),
            freed: Condvar::new(),
            max,
            make,
        }
    }

    pub fn get(&self) -> Result<Lease<'_, C>, DbError> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = st.0.pop() {
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if st.1 < self.max {
                st.1 += 1;
                drop(st);
                return match (self.make)() {
                    Ok(conn) => Ok(Lease {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 -= 1;
                        Err(DbError::Other(e))
                    }
                };
            }
            st = self.freed.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<C> Deref for Lease<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn.as_ref().expect("leased")
    }
}

impl<C> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("leased")
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .0
                .push(conn);
            self.pool.freed.notify_one();
        }
    }
}
