//! Who may offer this process's context-id bitmap to an agreement, round by round (a child
//! module of `engine`; the agreements themselves are in `comm.rs`, `intercomm.rs` and
//! `idup.rs`).
//!
//! An agreement is an OR-allreduce of its members' used bitmaps (`comm.rs`, "Context ids"),
//! repeated until it finds a slot. Two agreements running at once in one process (threads on
//! different parents, or `MPI_Comm_idup`s outstanding while the program goes on) must not both
//! pick a slot from the same free bits, so each part of the bitmap is offered to one agreement
//! at a time; the others offer "all used" there and set the round's retry word.
//!
//! The danger is a round that waits for long while its agreement holds bits: the first round
//! of an agreement waits until every member has entered the call, and with nonblocking
//! `MPI_Comm_idup` that can be after a message that needs another creation in this process to
//! finish first. So the bitmap has two parts, as in MPICH:
//! - the first [`EAGER_WORDS`] words are for first rounds: an agreement offers them in its
//!   round 0 if no other first round holds them, and nothing else;
//! - the rest is for later rounds, which start only once every member has entered the call (the
//!   first round has completed), so they end without waiting for the application. Among the
//!   agreements waiting for it, the one whose parent has the lowest context id (then the lowest
//!   call number) goes first; every process orders them alike, so the first one eventually holds
//!   the main part in all its members in the same round, and nobody retries forever.
//!
//! A round that finds no slot retries while some member did not offer its main part (the
//! retry word); when every member offered it and still no slot is free everywhere, the ids are
//! exhausted: `MPI_ERR_OTHER`.

use std::collections::BTreeSet;

use crate::error::{fail, ErrorClass, Result};
use crate::group::{ContextIds, CONTEXT_WORDS};

/// Words of the bitmap reserved to first rounds (module doc).
pub(super) const EAGER_WORDS: usize = 2;

/// Length of an agreement's contribution: the bitmap, then the retry word.
pub(super) const OFFER_WORDS: usize = CONTEXT_WORDS + 1;

/// Which part of the bitmap an agreement holds during its current round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Nothing,
    Eager,
    Main,
}

/// One agreement's standing in this process: its priority for the main part (parent context
/// id, call number, then a ticket unique in this process), its round, and what it holds.
#[derive(Debug)]
pub(super) struct Claim {
    key: (u32, i64, u64),
    round: u32,
    held: Held,
}

/// The context-id bitmap and the agreements using it (module doc).
#[derive(Default)]
pub(super) struct ContextState {
    pub(super) ids: ContextIds,
    eager_busy: bool,
    main_busy: bool,
    /// Agreements past their first round, by priority.
    queue: BTreeSet<(u32, i64, u64)>,
    tickets: u64,
}

impl ContextState {
    /// A new agreement over a parent whose (point-to-point) context id is `parent_ctx`;
    /// `call` tells apart agreements on one parent that may run at once (the collective call
    /// number of `MPI_Comm_idup`, the tag of `MPI_Comm_create_group`).
    pub(super) fn claim(&mut self, parent_ctx: u32, call: i64) -> Claim {
        self.tickets += 1;
        Claim { key: (parent_ctx, call, self.tickets), round: 0, held: Held::Nothing }
    }

    /// This process's contribution to the next round of `claim` ([`OFFER_WORDS`] words):
    /// the used bits of the part it may hold, "all used" elsewhere, and the retry word.
    pub(super) fn offer(&mut self, claim: &mut Claim) -> Vec<u64> {
        let mut words = vec![u64::MAX; OFFER_WORDS];
        let used = self.ids.used();
        if claim.round == 0 {
            // A first round always allows a retry: the main part is still to be tried.
            if !self.eager_busy {
                self.eager_busy = true;
                claim.held = Held::Eager;
                words[..EAGER_WORDS].copy_from_slice(&used[..EAGER_WORDS]);
            }
        } else if !self.main_busy && self.queue.first() == Some(&claim.key) {
            self.main_busy = true;
            claim.held = Held::Main;
            words[EAGER_WORDS..CONTEXT_WORDS].copy_from_slice(&used[EAGER_WORDS..]);
            words[CONTEXT_WORDS] = 0;
        }
        words
    }

    /// Ends a round of `claim` on the OR of every member's offer (`reduced`, or the error of
    /// the round's messages): the slot, taken here, or `None` when the agreement must try
    /// again (every member sees the same OR, so all retry together). Releases what the round
    /// held.
    pub(super) fn settle(&mut self, claim: &mut Claim, reduced: Result<&[u64]>) -> Result<Option<u32>> {
        match claim.held {
            Held::Eager => self.eager_busy = false,
            Held::Main => self.main_busy = false,
            Held::Nothing => {}
        }
        claim.held = Held::Nothing;
        let words = match reduced {
            Ok(w) if w.len() >= OFFER_WORDS => w,
            Ok(_) => {
                self.queue.remove(&claim.key);
                return fail(ErrorClass::Intern, "context agreement with a short bitmap");
            }
            Err(e) => {
                self.queue.remove(&claim.key);
                return Err(e);
            }
        };
        match ContextIds::lowest_free(&words[..CONTEXT_WORDS]) {
            Some(slot) => {
                self.queue.remove(&claim.key);
                // Free everywhere means free in the part this process offered, which it held.
                if !self.ids.take(slot) {
                    return fail(ErrorClass::Intern, format!("context slot {slot} agreed on is already in use here"));
                }
                Ok(Some(slot))
            }
            None if words[CONTEXT_WORDS] != 0 => {
                claim.round += 1;
                self.queue.insert(claim.key);
                Ok(None)
            }
            None => {
                self.queue.remove(&claim.key);
                fail(ErrorClass::Other, "no free context id: too many communicators exist at once")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn or(a: &[u64], b: &[u64]) -> Vec<u64> {
        a.iter().zip(b).map(|(x, y)| x | y).collect()
    }

    #[test]
    fn a_lone_agreement_takes_an_eager_slot_in_one_round() {
        let mut st = ContextState::default();
        let mut c = st.claim(0, 0);
        let w = st.offer(&mut c);
        assert_eq!(st.settle(&mut c, Ok(&w)).unwrap(), Some(2));
        let mut c = st.claim(0, 1);
        let w = st.offer(&mut c);
        assert_eq!(st.settle(&mut c, Ok(&w)).unwrap(), Some(3));
    }

    #[test]
    fn a_second_first_round_waits_for_the_main_part() {
        let mut st = ContextState::default();
        let (mut a, mut b) = (st.claim(4, 0), st.claim(6, 0));
        let wa = st.offer(&mut a);
        // `b` cannot have the eager part while `a`'s first round holds it.
        let wb = st.offer(&mut b);
        assert!(wb.iter().all(|&w| w != 0));
        assert_eq!(st.settle(&mut b, Ok(&wb)).unwrap(), None);
        let wb = st.offer(&mut b);
        let main = st.settle(&mut b, Ok(&wb)).unwrap().unwrap();
        assert!(main as usize >= EAGER_WORDS * 64, "main slot {main}");
        assert_eq!(st.settle(&mut a, Ok(&wa)).unwrap(), Some(2));
    }

    #[test]
    fn the_lowest_parent_gets_the_main_part_first() {
        let mut st = ContextState::default();
        let (mut hi, mut lo) = (st.claim(10, 0), st.claim(8, 0));
        for c in [&mut hi, &mut lo] {
            // Both first rounds fail (another member held nothing).
            let _ = st.offer(c);
            assert_eq!(st.settle(c, Ok(&[u64::MAX; OFFER_WORDS])).unwrap(), None);
        }
        let w_hi = st.offer(&mut hi);
        assert_ne!(w_hi[CONTEXT_WORDS], 0, "held back behind the lower parent");
        let w_lo = st.offer(&mut lo);
        assert_eq!(w_lo[CONTEXT_WORDS], 0);
        assert!(st.settle(&mut lo, Ok(&or(&w_lo, &w_lo))).unwrap().is_some());
        assert_eq!(st.settle(&mut hi, Ok(&w_hi)).unwrap(), None);
        let w_hi = st.offer(&mut hi);
        assert!(st.settle(&mut hi, Ok(&w_hi)).unwrap().is_some());
    }

    #[test]
    fn exhaustion_is_an_error_only_when_everyone_offered_the_main_part() {
        let mut st = ContextState::default();
        let mut c = st.claim(0, 0);
        let _ = st.offer(&mut c);
        assert_eq!(st.settle(&mut c, Ok(&[u64::MAX; OFFER_WORDS])).unwrap(), None);
        let _ = st.offer(&mut c);
        let mut full = vec![u64::MAX; OFFER_WORDS];
        full[CONTEXT_WORDS] = 0;
        assert_eq!(st.settle(&mut c, Ok(&full)).unwrap_err().class, ErrorClass::Other);
        // Nothing stays held or queued.
        let mut d = st.claim(0, 1);
        let _ = st.offer(&mut d);
        assert_eq!(d.held, Held::Eager);
        assert!(st.queue.is_empty());
    }

    #[test]
    fn a_failed_round_releases_what_it_held() {
        let mut st = ContextState::default();
        let mut c = st.claim(0, 0);
        let _ = st.offer(&mut c);
        assert!(st.settle(&mut c, Err(crate::error::MpiError::new(ErrorClass::Other, "x"))).is_err());
        assert!(!st.eager_busy && !st.main_busy && st.queue.is_empty());
    }
}
