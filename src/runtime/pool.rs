//! A fixed set of preallocated sessions for one model, checked out by any thread.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::session::{Session, SessionOptions};
use crate::{Model, Monitor};

/// `size` sessions of one model, each attached to the slot's monitor. Checkout pops one from a
/// preallocated stack under a short lock; a caller that finds none waits on a condition
/// variable up to its deadline. Nothing allocates after creation.
pub(crate) struct SessionPool {
    free: Mutex<Vec<Session>>,
    returned: Condvar,
    size: usize,
}

impl SessionPool {
    /// Creates `size` sessions (each runs its warm-up) and attaches them to `monitor`.
    pub fn new(model: &Model, size: usize, options: &SessionOptions, monitor: Option<&Monitor>) -> Result<SessionPool> {
        let mut sessions = Vec::with_capacity(size);
        for _ in 0..size {
            let mut session = Session::with_options(model, options)?;
            if let Some(monitor) = monitor {
                session.attach_monitor(monitor)?;
            }
            sessions.push(session);
        }
        Ok(SessionPool { free: Mutex::new(sessions), returned: Condvar::new(), size })
    }

    /// Sessions in the pool (busy or not).
    pub fn size(&self) -> usize {
        self.size
    }

    /// A free session, waiting up to `wait` for one to come back; `None` when none did.
    pub fn checkout(&self, wait: Duration) -> Option<PooledSession<'_>> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = free.pop() {
            return Some(PooledSession { pool: self, session: Some(session) });
        }
        if wait.is_zero() {
            return None;
        }
        let deadline = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            free = self.returned.wait_timeout(free, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
            if let Some(session) = free.pop() {
                return Some(PooledSession { pool: self, session: Some(session) });
            }
        }
    }
}

/// A checked-out session; going out of scope puts it back (capacity is preallocated, so the
/// push does not allocate) and wakes one waiter.
pub(crate) struct PooledSession<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("a pooled session is present until dropped")
    }
}

impl DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("a pooled session is present until dropped")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.free.lock().unwrap_or_else(|e| e.into_inner()).push(session);
            self.pool.returned.notify_one();
        }
    }
}
