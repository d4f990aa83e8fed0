//! A page's storage as a driver keeps it for a reload (PROTOCOL.md, "Keeping a session
//! across page loads"): the saved session, and each unacknowledged message under its session
//! and seq. Shared by the continuity tests that reload a page (`mod page_storage;`).

use std::collections::BTreeMap;

use tether_ws::core::continuity::SavedSession;

/// The storage of one page's socket, surviving its reloads.
#[derive(Debug, Default)]
pub struct PageStorage {
    /// The session, as last written through.
    pub saved: Option<SavedSession>,
    /// The messages not yet acknowledged, by session and seq.
    pub messages: BTreeMap<(String, u64), u32>,
}

impl PageStorage {
    /// Message `n`, numbered `seq` in session `sid`, written before its frame goes.
    pub fn keep(&mut self, sid: &str, seq: u64, n: u32) {
        self.messages.insert((sid.to_owned(), seq), n);
    }

    /// Writes `saved` through and drops the messages no longer needed (acknowledged, or of a
    /// session that is over).
    pub fn write(&mut self, saved: Option<SavedSession>) {
        self.messages
            .retain(|(sid, seq), _| saved.as_ref().is_some_and(|s| *sid == s.sid && *seq > s.acked));
        self.saved = saved;
    }

    /// What a new page takes up: the saved session, with its messages oldest first, each
    /// counted as `size` bytes.
    pub fn take_up(&self, size: u64) -> Option<(SavedSession, Vec<(u32, u64)>)> {
        let saved = self.saved.clone()?;
        let range = (saved.sid.clone(), 0)..=(saved.sid.clone(), u64::MAX);
        let unacked = self.messages.range(range).map(|(_, &n)| (n, size)).collect();
        Some((saved, unacked))
    }
}
