//! Tasks waiting for a socket to reach a condition: [`Socket::opened`](super::Socket::opened),
//! [`Socket::flushed`](super::Socket::flushed) and the [`Sink`](futures_sink::Sink)'s
//! `poll_ready` / `poll_flush` / `poll_close`.
//!
//! Each waiting task is registered with what it waits for. Events (state changes, drops,
//! requeues) wake every waiter, which re-checks its condition when polled; the bytes a
//! socket buffers drain without any browser event, so while a task waits for them and the
//! socket is open, the socket also wakes the byte waiters on a short timer (socket.rs).

use std::cell::RefCell;
use std::task::Waker;

/// What a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// The socket is open, or closed for good (which ends the wait too).
    Open,
    /// The socket is closed.
    Closed,
    /// At most this many bytes are not yet sent (`Socket::buffered_amount`).
    AtMost(u64),
}

/// Everyone waiting on one socket.
#[derive(Default)]
pub(crate) struct Waiters {
    list: RefCell<Vec<(Until, Waker)>>,
}

// Native builds never hold a socket, so nothing waits there outside tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Waiters {
    /// Registers `waker` until its next wake. A task polled again before being woken replaces
    /// its entry instead of adding one, so the list stays as long as the number of tasks.
    pub(crate) fn register(&self, until: Until, waker: &Waker) {
        let mut list = self.list.borrow_mut();
        list.retain(|(u, w)| !(*u == until && w.will_wake(waker)));
        list.push((until, waker.clone()));
    }

    /// Whether a task waits for bytes to drain.
    pub(crate) fn wants_bytes(&self) -> bool {
        self.list
            .borrow()
            .iter()
            .any(|(u, _)| matches!(u, Until::AtMost(_)))
    }

    /// Wakes every waiter (`bytes_only`: only those waiting for bytes to drain). Each
    /// re-checks when polled and registers again if it must still wait.
    pub(crate) fn wake(&self, bytes_only: bool) {
        let woken: Vec<Waker> = {
            let mut list = self.list.borrow_mut();
            if bytes_only {
                let (bytes, rest) = list
                    .drain(..)
                    .partition::<Vec<_>, _>(|(u, _)| matches!(u, Until::AtMost(_)));
                *list = rest;
                bytes.into_iter().map(|(_, w)| w).collect()
            } else {
                list.drain(..).map(|(_, w)| w).collect()
            }
        };
        // (Unborrowed: a waker may poll at once.)
        for w in woken {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_task_polled_twice_is_registered_once_and_bytes_wakes_only_byte_waiters() {
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let waiters = Waiters::default();
        waiters.register(Until::AtMost(10), &wa);
        waiters.register(Until::AtMost(10), &wa);
        waiters.register(Until::Open, &wb);
        assert_eq!(waiters.list.borrow().len(), 2);
        assert!(waiters.wants_bytes());

        waiters.wake(true);
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 0);
        assert!(!waiters.wants_bytes());

        waiters.wake(false);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert!(waiters.list.borrow().is_empty());
    }
}
