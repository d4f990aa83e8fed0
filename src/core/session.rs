//! The machine's continuity session: the protocol's client ([`Client`]) when the crate is
//! built with the `continuity` feature, else [`Session`] is a type without values, so that
//! every continuity branch of the machine is dead code the compiler removes (the npm
//! package's default entry is built so: the protocol would double its size).

use super::config::Config;
#[cfg(feature = "continuity")]
pub(crate) use super::continuity::Client as Session;

/// The session for `cfg`, if continuity is on.
#[cfg(feature = "continuity")]
pub(crate) fn new_session<P>(cfg: &Config) -> Option<Session<P>> {
    cfg.continuity.map(|c| Session::new(c.client_config()))
}

#[cfg(not(feature = "continuity"))]
pub(crate) use without::{new_session, Session};

#[cfg(not(feature = "continuity"))]
mod without {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::convert::Infallible;
    use core::marker::PhantomData;
    use core::ops::RangeInclusive;

    use super::Config;
    use crate::core::continuity::{AckBuf, ClientInbound, ProtocolError};

    /// No session can exist: `Config::validate` refuses continuity in this build.
    pub(crate) fn new_session<P>(_cfg: &Config) -> Option<Session<P>> {
        None
    }

    /// [`Client`](crate::core::continuity::Client)'s methods the machine calls, on a type
    /// with no values.
    #[derive(Debug)]
    pub(crate) struct Session<P>(Infallible, PhantomData<P>);

    #[allow(clippy::unused_self)]
    impl<P> Session<P> {
        fn never(&self) -> ! {
            match self.0 {}
        }

        pub(crate) fn poll_timeout(&self) -> Option<f64> {
            self.never()
        }

        pub(crate) fn replay_range(&self) -> RangeInclusive<u64> {
            self.never()
        }

        pub(crate) fn ack_to_send(&mut self) -> u64 {
            self.never()
        }

        pub(crate) fn unacked_at(&self, _seq: u64) -> Option<&P> {
            self.never()
        }

        pub(crate) fn ping(&self, _out: &mut String) -> bool {
            self.never()
        }

        pub(crate) fn has_room(&self, _bytes: u64) -> bool {
            self.never()
        }

        pub(crate) fn next_header(&self) -> (u64, u64) {
            self.never()
        }

        pub(crate) fn bye(&mut self, _out: &mut String) -> Vec<(P, u64)> {
            self.never()
        }

        pub(crate) fn handle_opened(&mut self, _out: &mut String) {
            self.never()
        }

        pub(crate) fn handle_frame(
            &mut self,
            _frame: &[u8],
            _len: usize,
            _text: bool,
            _now: f64,
        ) -> Result<ClientInbound<P>, ProtocolError> {
            self.never()
        }

        pub(crate) fn push(&mut self, _payload: P, _bytes: u64) -> Result<(u64, u64), P> {
            self.never()
        }

        pub(crate) fn poll_ack(&mut self, _now: f64) -> Option<AckBuf> {
            self.never()
        }

        pub(crate) fn flush_ack(&mut self) -> Option<AckBuf> {
            self.never()
        }

        pub(crate) fn handle_closed(&mut self) {
            self.never()
        }

        pub(crate) fn forget(&mut self) -> Vec<(P, u64)> {
            self.never()
        }
    }
}
