//! The outbox: messages sent while the socket is not open, bounded by count and bytes.
//! Items are opaque to the core (on the JS path, slot numbers of messages kept in JS; on
//! the Rust path, `Message`s); the caller tells how many bytes each one weighs.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use super::config::{Overflow, QueueLimits};

/// What became of a message offered to the outbox.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<P> {
    /// Queued.
    Queued,
    /// Not queued because it can never fit, or the policy is drop-newest: report it dropped.
    Dropped(P),
    /// Not queued and the policy is reject: give it back to the caller.
    Rejected(P),
}

/// A queued message: the payload, its size, and the replace key it was sent with, if any.
#[derive(Debug)]
struct Entry<P> {
    item: P,
    bytes: u64,
    key: Option<Box<str>>,
}

/// A FIFO of payloads with their byte sizes.
#[derive(Debug)]
pub struct Outbox<P> {
    items: VecDeque<Entry<P>>,
    bytes: u64,
    limits: QueueLimits,
}

impl<P> Outbox<P> {
    /// An empty outbox with these bounds.
    pub fn new(limits: QueueLimits) -> Self {
        Outbox {
            items: VecDeque::new(),
            bytes: 0,
            limits,
        }
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn fits(&self, extra: u64) -> bool {
        self.items.len() < self.limits.max_messages
            && self.bytes.saturating_add(extra) <= self.limits.max_bytes
    }

    /// Offers a message. Under drop-oldest, older messages evicted to make room are passed to
    /// `evicted`, oldest first.
    pub fn admit(&mut self, item: P, bytes: u64, evicted: impl FnMut(P)) -> Admission<P> {
        self.admit_keyed(item, bytes, None, evicted)
    }

    /// Removes the queued message sent with replace key `key`, if any (there is at most one).
    pub fn remove_key(&mut self, key: &str) -> Option<P> {
        let at = self.items.iter().position(|e| e.key.as_deref() == Some(key))?;
        let entry = self.items.remove(at)?;
        self.bytes -= entry.bytes;
        Some(entry.item)
    }

    /// [`Outbox::admit`] for a message carrying a replace key (see [`Outbox::remove_key`]).
    pub fn admit_keyed(
        &mut self,
        item: P,
        bytes: u64,
        key: Option<Box<str>>,
        mut evicted: impl FnMut(P),
    ) -> Admission<P> {
        if !self.fits(bytes) {
            let alone_fits = self.limits.max_messages > 0 && bytes <= self.limits.max_bytes;
            match self.limits.overflow {
                Overflow::Reject => return Admission::Rejected(item),
                Overflow::DropNewest => return Admission::Dropped(item),
                Overflow::DropOldest if !alone_fits => return Admission::Dropped(item),
                Overflow::DropOldest => {
                    while !self.fits(bytes) {
                        match self.pop() {
                            Some(old) => evicted(old),
                            None => break,
                        }
                    }
                }
            }
        }
        self.bytes += bytes;
        self.items.push_back(Entry { item, bytes, key });
        Admission::Queued
    }

    /// Puts a message back at the head without checking the bounds: for a message that was
    /// already accepted and could not be written after all, which must not be lost to limits.
    pub fn push_front_unchecked(&mut self, item: P, bytes: u64) {
        self.bytes += bytes;
        self.items.push_front(Entry {
            item,
            bytes,
            key: None,
        });
    }

    /// Takes the oldest message with its size.
    pub fn pop_with_size(&mut self) -> Option<(P, u64)> {
        let Entry { item, bytes, .. } = self.items.pop_front()?;
        self.bytes -= bytes;
        Some((item, bytes))
    }

    /// The size of the oldest message, if any.
    pub fn front_size(&self) -> Option<u64> {
        self.items.front().map(|e| e.bytes)
    }

    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<P> {
        self.pop_with_size().map(|(item, _)| item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(max_messages: usize, max_bytes: u64, overflow: Overflow) -> Outbox<u32> {
        Outbox::new(QueueLimits {
            max_messages,
            max_bytes,
            overflow,
        })
    }

    #[test]
    fn replace_key_removes_the_earlier_message_only() {
        let mut q = outbox(usize::MAX, u64::MAX, Overflow::DropOldest);
        q.admit_keyed(1, 3, Some("cursor".into()), |_| unreachable!());
        q.admit(2, 5, |_| unreachable!());
        assert_eq!(q.remove_key("other"), None);
        assert_eq!(q.remove_key("cursor"), Some(1));
        assert_eq!(q.remove_key("cursor"), None);
        assert_eq!((q.len(), q.bytes()), (1, 5));
    }

    #[test]
    fn drop_oldest_evicts_in_order() {
        let mut q = outbox(2, u64::MAX, Overflow::DropOldest);
        let mut gone = vec![];
        for i in 0..5 {
            assert_eq!(q.admit(i, 1, |x| gone.push(x)), Admission::Queued);
        }
        assert_eq!(gone, [0, 1, 2]);
        assert_eq!((q.pop(), q.pop(), q.pop()), (Some(3), Some(4), None));
    }

    #[test]
    fn drop_newest_and_reject_keep_the_queue() {
        let mut q = outbox(1, u64::MAX, Overflow::DropNewest);
        assert_eq!(q.admit(1, 1, |_| unreachable!()), Admission::Queued);
        assert_eq!(q.admit(2, 1, |_| unreachable!()), Admission::Dropped(2));
        let mut q = outbox(1, u64::MAX, Overflow::Reject);
        assert_eq!(q.admit(1, 1, |_| unreachable!()), Admission::Queued);
        assert_eq!(q.admit(2, 1, |_| unreachable!()), Admission::Rejected(2));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn byte_limit_and_too_large() {
        let mut q = outbox(usize::MAX, 10, Overflow::DropOldest);
        let mut gone = vec![];
        q.admit(1, 6, |x| gone.push(x));
        q.admit(2, 4, |x| gone.push(x));
        assert_eq!(q.bytes(), 10);
        q.admit(3, 5, |x| gone.push(x));
        assert_eq!(gone, [1]);
        assert_eq!(q.bytes(), 9);
        // Larger than the whole budget: dropped itself, nothing evicted for it.
        assert_eq!(q.admit(4, 11, |x| gone.push(x)), Admission::Dropped(4));
        assert_eq!(gone, [1]);
        assert_eq!(q.bytes(), 9);
    }
}
