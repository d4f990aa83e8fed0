//! Messages handed to the open socket that may still sit in the browser's send buffer.
//!
//! The browser counts the bytes it has not yet passed to the network (`bufferedAmount`, UTF-8
//! for text), and it takes them in the order they were written. So when a socket dies with
//! `bufferedAmount = n`, the messages that never left are exactly the newest ones covering
//! the last `n` bytes written, a partly sent message included (it cannot have been received
//! whole). Those can be sent again on the next connection without risk of duplicates.
//!
//! Sizes are computed lazily, through callbacks, and only for the newest entries: while the
//! network keeps up, the buffer is empty and nothing needs sizing at all. Trimming the log
//! only needs a lower bound of each size (keeping a few entries too many is harmless), which
//! for text is its length, far cheaper than its UTF-8 size; exact sizes are computed only
//! when a socket dies with bytes unsent.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::machine::ConnId;

/// A write to the socket.
#[derive(Debug)]
struct Written<P> {
    payload: P,
    /// Bytes as the browser counts them, once known.
    size: Option<u64>,
    /// A user message (sent again if it never left); false for heartbeats, which only take
    /// up buffer space.
    resend: bool,
}

/// The log of recent writes to one socket.
#[derive(Debug)]
pub struct InFlight<P> {
    /// The socket the log belongs to; writes and reports about others are ignored.
    owner: Option<ConnId>,
    entries: VecDeque<Written<P>>,
    /// Length at which the driver is asked to trim the log (doubles with what is kept, so
    /// trimming costs O(1) per write amortised).
    trim_at: usize,
}

/// Length of the log before the first trim.
const FIRST_TRIM: usize = 64;

impl<P> InFlight<P> {
    /// An empty log owned by no socket.
    pub fn new() -> Self {
        InFlight {
            owner: None,
            entries: VecDeque::new(),
            trim_at: FIRST_TRIM,
        }
    }

    /// Empties the log and hands it to socket `owner` (or to none).
    pub fn reset(&mut self, owner: Option<ConnId>) {
        self.owner = owner;
        self.entries.clear();
        self.trim_at = FIRST_TRIM;
    }

    /// Writes recorded and not yet known to have left.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Writes that can be recorded before [`InFlight::push`] asks for a trim (at least 1:
    /// the one that asks).
    pub fn room(&self) -> usize {
        self.trim_at.saturating_sub(self.entries.len()).max(1)
    }

    /// Records a write to socket `id`. Returns true when the log has grown enough that the
    /// driver should call [`InFlight::trim`] with the socket's `bufferedAmount`.
    pub fn push(&mut self, id: ConnId, payload: P, size: Option<u64>, resend: bool) -> bool {
        if self.owner != Some(id) {
            return false;
        }
        self.entries.push_back(Written {
            payload,
            size,
            resend,
        });
        self.entries.len() >= self.trim_at
    }

    /// Forgets the writes that have left the browser, given socket `id`'s `bufferedAmount`.
    /// `size_at_least` may underestimate a size (never overestimate it): then a few more
    /// writes are kept than needed.
    pub fn trim(&mut self, id: ConnId, buffered: u64, mut size_at_least: impl FnMut(&P) -> u64) {
        if self.owner != Some(id) {
            return;
        }
        let keep = self.covering(buffered, |w| w.size.unwrap_or_else(|| size_at_least(&w.payload)));
        self.forget_all_but(keep);
        self.trim_at = FIRST_TRIM.max(keep.saturating_mul(2));
    }

    /// Socket `id` is gone with `buffered` bytes never sent: takes the user messages among
    /// them, oldest first, with their sizes, and empties the log.
    pub fn take_unsent(
        &mut self,
        id: ConnId,
        buffered: u64,
        mut size_of: impl FnMut(&P) -> u64,
    ) -> Vec<(P, u64)> {
        if self.owner != Some(id) {
            return Vec::new();
        }
        // Exact sizes, kept: they are reported with the requeued messages.
        let keep = self.covering(buffered, |w| *w.size.get_or_insert_with(|| size_of(&w.payload)));
        self.forget_all_but(keep);
        let unsent = core::mem::take(&mut self.entries)
            .into_iter()
            .filter(|w| w.resend)
            .map(|w| (w.payload, w.size.unwrap_or(0)))
            .collect();
        self.reset(None);
        unsent
    }

    /// Drops the oldest entries until `keep` are left. (A loop rather than `drain`, whose
    /// drop glue cost the npm package's wasm a kilobyte.)
    fn forget_all_but(&mut self, keep: usize) {
        while self.entries.len() > keep {
            self.entries.pop_front();
        }
    }

    /// How many of the newest entries cover the last `buffered` bytes, each weighed by `size`.
    fn covering(&mut self, buffered: u64, mut size: impl FnMut(&mut Written<P>) -> u64) -> usize {
        let mut covered = 0u64;
        let mut count = 0;
        for w in self.entries.iter_mut().rev() {
            if covered >= buffered {
                break;
            }
            covered = covered.saturating_add(size(w));
            count += 1;
        }
        count
    }
}

impl<P> Default for InFlight<P> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnId = ConnId(1);
    const B: ConnId = ConnId(2);

    fn log(sizes: &[u64]) -> InFlight<u64> {
        let mut f = InFlight::new();
        f.reset(Some(A));
        for &s in sizes {
            f.push(A, s, None, true);
        }
        f
    }

    #[test]
    fn unsent_are_the_newest_covering_the_buffered_bytes() {
        // Sizes double as payloads: 10, 20, 30, 40 bytes written; 45 bytes never left, so
        // 40 is whole in the buffer and 30 partly: both go again, in order.
        let mut f = log(&[10, 20, 30, 40]);
        assert_eq!(f.take_unsent(A, 45, |p| *p), [(30, 30), (40, 40)]);
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn nothing_buffered_means_nothing_to_resend_and_no_sizing() {
        let mut f = log(&[10, 20]);
        assert_eq!(f.take_unsent(A, 0, |_| unreachable!()), []);
    }

    #[test]
    fn other_sockets_are_ignored() {
        let mut f = log(&[10]);
        assert!(!f.push(B, 5, None, true));
        assert_eq!(f.take_unsent(B, 100, |p| *p), []);
        assert_eq!(f.take_unsent(A, 100, |p| *p), [(10, 10)]);
    }

    #[test]
    fn heartbeats_count_as_bytes_but_are_not_resent() {
        let mut f = log(&[10]);
        f.push(A, 4, None, false);
        f.push(A, 20, None, true);
        assert_eq!(f.take_unsent(A, 30, |p| *p), [(10, 10), (20, 20)]);
    }

    #[test]
    fn room_is_the_writes_until_a_trim_is_asked() {
        let mut f = log(&[1; 10]);
        assert_eq!(f.room(), FIRST_TRIM - 10);
        let asked: Vec<bool> = (0..FIRST_TRIM - 10)
            .map(|i| f.push(A, i as u64, Some(1), true))
            .collect();
        assert_eq!(asked.iter().filter(|&&a| a).count(), 1);
        assert!(
            asked[asked.len() - 1],
            "the last write the room allows asks for the trim"
        );
        assert_eq!(f.room(), 1, "a full log still takes the write that asks");
        f.trim(A, 0, |_| unreachable!());
        assert_eq!(f.room(), FIRST_TRIM);
    }

    #[test]
    fn trim_keeps_the_covering_suffix_and_backs_off() {
        let mut f = log(&[]);
        let mut asked = 0;
        for i in 0..200u64 {
            if f.push(A, i, Some(1), true) {
                asked += 1;
                f.trim(A, 50, |_| unreachable!());
                assert_eq!(f.len(), 50);
            }
        }
        // An underestimated size keeps more: never one that may be unsent.
        let mut g = log(&[10, 10, 10]);
        g.trim(A, 15, |_| 5);
        assert_eq!(g.len(), 3);
        assert_eq!(g.take_unsent(A, 15, |p| *p), [(10, 10), (10, 10)]);
        // First at 64, then every time the log reaches 100 (twice the 50 kept).
        assert_eq!(asked, 3);
        assert_eq!(f.take_unsent(A, 3, |_| 1), [(197, 1), (198, 1), (199, 1)]);
    }
}
