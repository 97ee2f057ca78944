//! Schedules of blocking collectives kept for the next identical call.
//!
//! A blocking collective's schedule is a function of its communicator and its arguments
//! only (the tuning table and the host layout do not change while the job runs): called
//! again with the same communicator, buffers, root and operation, it would be built the same.
//! Choosing and building costs a small collective as much as moving its messages, so a
//! finished blocking schedule is kept here with its [`Shape`], and an identical call restarts
//! it (as `MPI_Start` restarts a persistent one) under the call's own number (`nbc.rs`'s
//! tags), instead of building it anew. Only calls whose schedule holds nothing but their
//! buffers' addresses have a shape: contiguous buffers and a predefined operation (a
//! scattered buffer is packed by steps of its own; a user operation's schedule hands out
//! user steps). The other schedules are kept too, without a shape, so that their memory
//! serves the next build (the entry evicted when the cache is full).

use crate::buffer::{Buf, UserBuf};
use crate::datatype::Kind;
use crate::op::{BuiltinOp, Op};
use crate::schedule::{Reduction, Schedule};

use super::super::CommId;
use super::Frame;

/// Schedules kept at most (the least recently used is evicted, its memory reused).
const ENTRIES: usize = 4;

/// What a blocking collective's schedule depends on besides its communicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::engine) struct Shape {
    /// The collective (its tag class, `collective::TAG_BCAST`, ...).
    what: i32,
    root: i32,
    /// `None`: no buffer there, or `MPI_IN_PLACE` (never both for one collective).
    send: Option<UserBuf>,
    recv: Option<UserBuf>,
    op: Option<(BuiltinOp, Kind)>,
}

impl Shape {
    /// The shape of a call, `None` when its schedule may not be reused (module doc).
    pub(in crate::engine) fn of(what: i32, root: i32, send: Option<&Buf>, recv: Option<&Buf>, red: Option<&Reduction>) -> Option<Shape> {
        let contig = |b: Option<&Buf>| match b {
            None => Some(None),
            Some(b) => b.contiguous().map(Some),
        };
        let op = match red.map(|r| &r.op) {
            None => None,
            Some(Op::Builtin { op, kind }) => Some((*op, *kind)),
            Some(Op::User { .. }) => return None,
        };
        Some(Shape { what, root, send: contig(send)?, recv: contig(recv)?, op })
    }
}

/// A finished blocking schedule and the frame it ran in.
struct Entry {
    comm: CommId,
    shape: Option<Shape>,
    sched: Box<Schedule>,
    frame: Frame,
}

/// The kept schedules, least recently used first.
#[derive(Default)]
pub(in crate::engine) struct Cache {
    entries: Vec<Entry>,
    /// Member list memory of an evicted frame, for the next frame built.
    spare_members: Vec<usize>,
}

impl Cache {
    /// Takes out the schedule and frame of an earlier call of `shape` on `comm`, if kept.
    /// The schedule is ready to restart; the frame still carries the earlier call's number.
    pub(super) fn take(&mut self, comm: CommId, shape: Option<Shape>) -> Option<(Box<Schedule>, Frame)> {
        let shape = shape?;
        // From the most recently kept: a loop of one collective finds it last, and pops it.
        let i = self.entries.iter().rposition(|e| e.comm == comm && e.shape == Some(shape))?;
        let mut e = if i + 1 == self.entries.len() { self.entries.pop()? } else { self.entries.remove(i) };
        e.sched.restart();
        Some((e.sched, e.frame))
    }

    /// An empty schedule for a new build: the least recently used one's memory when the
    /// cache is full, else a new one.
    pub(super) fn new_sched(&mut self) -> Box<Schedule> {
        if self.entries.len() < ENTRIES {
            return Box::default();
        }
        let mut e = self.entries.remove(0);
        e.sched.clear();
        self.spare_members = e.frame.members;
        e.sched
    }

    /// An empty member list for a new frame (an evicted frame's memory, if any).
    pub(super) fn members(&mut self) -> Vec<usize> {
        let mut m = std::mem::take(&mut self.spare_members);
        m.clear();
        m
    }

    /// Keeps a blocking collective's finished schedule: restartable by an identical call
    /// when it has a shape, or for its memory.
    pub(super) fn keep(&mut self, comm: CommId, shape: Option<Shape>, sched: Box<Schedule>, frame: Frame) {
        if self.entries.len() >= ENTRIES {
            let old = self.entries.remove(0);
            self.spare_members = old.frame.members;
        }
        self.entries.push(Entry { comm, shape, sched, frame });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{self, Peer, Wire};
    use crate::protocol::ReqId;
    use crate::error::Result;

    fn frame(tag_base: i32) -> Frame {
        Frame { ctx: 1, me: 0, members: vec![0, 1], remote: Vec::new(), tag_base }
    }

    fn sum_f32() -> Reduction {
        Reduction { op: Op::Builtin { op: BuiltinOp::Sum, kind: Kind::F32 }, count: 0 }
    }

    struct NoOp;
    impl crate::op::UserFunction for NoOp {
        fn call(&self, _: &mut [u8], _: &[u8], _: usize) -> Result<()> {
            Ok(())
        }
        fn span(&self, count: usize) -> Result<usize> {
            Ok(count)
        }
    }

    #[test]
    fn shapes_tell_calls_apart() {
        let (mut a, mut b) = ([0u8; 8], [0u8; 8]);
        let (a, b): (Buf, Buf) = (UserBuf::from_slice(&mut a).into(), UserBuf::from_slice(&mut b).into());
        let red = sum_f32();
        let s = Shape::of(4, 0, Some(&a), Some(&b), Some(&red));
        assert!(s.is_some());
        assert_eq!(s, Shape::of(4, 0, Some(&a), Some(&b), Some(&red)));
        // In place, other buffers, another collective, root or operation: another shape.
        assert_ne!(s, Shape::of(4, 0, None, Some(&b), Some(&red)));
        assert_ne!(s, Shape::of(4, 0, Some(&b), Some(&a), Some(&red)));
        assert_ne!(s, Shape::of(3, 0, Some(&a), Some(&b), Some(&red)));
        assert_ne!(s, Shape::of(4, 1, Some(&a), Some(&b), Some(&red)));
        let max = Reduction { op: Op::Builtin { op: BuiltinOp::Max, kind: Kind::F32 }, count: 0 };
        assert_ne!(s, Shape::of(4, 0, Some(&a), Some(&b), Some(&max)));
        // A user operation's schedule is never reused.
        let user = Reduction { op: Op::User { func: std::sync::Arc::new(NoOp), commutative: true }, count: 2 };
        assert_eq!(Shape::of(4, 0, Some(&a), Some(&b), Some(&user)), None);
    }

    #[test]
    fn scattered_buffers_have_no_shape() {
        use crate::typemap::TypeMap;
        let int = TypeMap::predefined(Kind::I64, None, 0);
        let vector = std::sync::Arc::new(TypeMap::vector(2, 1, 3, false, &int).unwrap());
        let mut mem = [0u8; 32];
        // SAFETY: `mem` holds the vector's data and outlives `t`.
        let t = Buf::Typed(unsafe { crate::buffer::TypedBuf::new(mem.as_mut_ptr(), 1, vector) }.unwrap());
        assert_eq!(Shape::of(2, 0, None, Some(&t), None), None);
    }

    #[test]
    fn kept_schedule_serves_the_same_call_on_the_same_communicator_only() {
        let mut buf = [0u8; 8];
        let b: Buf = UserBuf::from_slice(&mut buf).into();
        let shape = Shape::of(2, 0, None, Some(&b), None);
        let mut c = Cache::default();
        let mut s = c.new_sched();
        let r = s.user(b.contiguous().unwrap());
        schedule::bcast(&mut s, 0, 2, 0, r, 2);
        c.keep(CommId(7), shape, s, frame(100));
        assert!(c.take(CommId(8), shape).is_none(), "another communicator");
        assert!(c.take(CommId(7), None).is_none(), "a call without a shape");
        let (s, f) = c.take(CommId(7), shape).expect("kept");
        assert_eq!((s.rounds(), f.tag_base), (1, 100));
        assert!(c.take(CommId(7), shape).is_none(), "taken out while it runs");
    }

    /// A wire on which every send leaves at once and every receive is complete.
    struct Immediate(u32);
    impl Wire for Immediate {
        fn send(&mut self, _: Peer, _: i32, _: UserBuf) -> Result<Option<ReqId>> {
            self.0 += 1;
            Ok(None)
        }
        fn recv(&mut self, _: Peer, _: i32, _: UserBuf) -> Result<ReqId> {
            crate::error::fail(crate::error::ErrorClass::Intern, "the root of a bcast receives nothing")
        }
        fn done(&mut self, _: ReqId) -> Result<bool> {
            Ok(true)
        }
        fn forget(&mut self, _: ReqId) {}
    }

    #[test]
    fn taken_schedule_runs_again() {
        let mut buf = [0u8; 8];
        let b: Buf = UserBuf::from_slice(&mut buf).into();
        let shape = Shape::of(2, 0, None, Some(&b), None);
        let mut c = Cache::default();
        let mut s = c.new_sched();
        let r = s.user(b.contiguous().unwrap());
        schedule::bcast(&mut s, 0, 4, 0, r, 2);
        let mut w = Immediate(0);
        assert!(s.advance(&mut w).unwrap());
        c.keep(CommId(1), shape, s, frame(0));
        let (mut s, _) = c.take(CommId(1), shape).unwrap();
        assert!(!s.is_done(), "restarted");
        assert!(s.advance(&mut w).unwrap());
        assert_eq!(w.0, 4, "the root of a 4-rank binomial bcast sends twice per run");
    }

    #[test]
    fn full_cache_evicts_the_least_recently_kept_and_reuses_its_memory() {
        let mut c = Cache::default();
        let shapes: Vec<_> = (0..=ENTRIES as i32).map(|root| Shape::of(2, root, None, None, None)).collect();
        for (i, &shape) in shapes.iter().enumerate() {
            let s = c.new_sched();
            c.keep(CommId(1), shape, s, frame(i as i32));
        }
        assert!(c.take(CommId(1), shapes[0]).is_none(), "evicted");
        for &shape in &shapes[1..] {
            assert!(c.take(CommId(1), shape).is_some());
        }
        assert_eq!(c.spare_members, vec![0, 1], "the evicted frame's member list is kept");
        assert_eq!(c.members(), Vec::<usize>::new());
    }
}
