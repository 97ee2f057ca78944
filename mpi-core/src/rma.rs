//! One-sided communication without I/O: the wire format of RMA requests and replies, what a
//! target does with a request (put, get, accumulate, compare-and-swap on its window memory),
//! and the lock table of passive-target epochs. `engine/window.rs` carries these messages on
//! a window's own communicator and calls [`apply`] from the target's progress engine.
//!
//! A request names the target memory as absolute addresses in the target process: the origin
//! computes them from the base it learnt when the window was made (or, for a dynamic window,
//! the application gives them), then the target type map's ranges. The target checks every
//! range against the memory it exposes before touching it, so a wrong address is an
//! `MPI_ERR_RMA_RANGE` in the reply, never a stray write.
//!
//! ```text
//! request: kind u8 | op u8 | elem u8 | lock u8 | reply tag u32 | addr u64 | nranges u32 |
//!          nranges x (offset i64, len u64) | payload (put, accumulate data; CAS: compare, origin)
//! reply:   status u8 (0: done, else an error class code) | data (get, get-accumulate, CAS)
//! ```

use std::collections::VecDeque;

use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, MpiError, Result};
use crate::op::{reduce_into, BuiltinOp};

/// What an RMA request asks of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Get,
    /// Accumulate, with `MPI_REPLACE` and `MPI_NO_OP` among the ops.
    Acc,
    /// Get_accumulate and Fetch_and_op: the old contents come back.
    GetAcc,
    CompareSwap,
    Lock,
    Unlock,
    /// `MPI_Win_post` tells an origin it may access us (not answered).
    Post,
    /// `MPI_Win_complete` tells a target our accesses are done (not answered).
    Complete,
}

const KINDS: [OpKind; 9] = [OpKind::Put, OpKind::Get, OpKind::Acc, OpKind::GetAcc, OpKind::CompareSwap, OpKind::Lock, OpKind::Unlock, OpKind::Post, OpKind::Complete];

/// Every element kind, in wire order.
const ELEMS: [Kind; 25] = [
    Kind::I8, Kind::I16, Kind::I32, Kind::I64, Kind::U8, Kind::U16, Kind::U32, Kind::U64, Kind::F32, Kind::F64,
    Kind::LongDouble, Kind::ComplexF32, Kind::ComplexF64, Kind::ComplexLongDouble, Kind::Bool, Kind::Byte,
    Kind::Char, Kind::WChar, Kind::Packed, Kind::FloatInt, Kind::DoubleInt, Kind::LongInt, Kind::TwoInt,
    Kind::ShortInt, Kind::LongDoubleInt,
];

/// Passive-target lock types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockType {
    Shared,
    Exclusive,
}

/// One RMA request as it travels from origin to target.
#[derive(Clone, Debug, PartialEq)]
pub struct RmaRequest {
    pub kind: OpKind,
    pub op: BuiltinOp,
    /// The basic element of accumulate and compare-and-swap data.
    pub elem: Kind,
    pub lock: LockType,
    /// The tag the target's reply carries.
    pub reply_tag: u32,
    /// Target address the ranges are relative to.
    pub addr: u64,
    /// The target memory, in type-map order: (offset from `addr`, length).
    pub ranges: Vec<(i64, u64)>,
}

const HEADER: usize = 24;

impl RmaRequest {
    /// A request for `kind` with no memory (locks, unlocks).
    pub fn control(kind: OpKind, lock: LockType, reply_tag: u32) -> RmaRequest {
        RmaRequest { kind, op: BuiltinOp::NoOp, elem: Kind::Byte, lock, reply_tag, addr: 0, ranges: Vec::new() }
    }

    /// Bytes of target memory the ranges cover.
    pub fn target_len(&self) -> usize {
        self.ranges.iter().map(|r| r.1 as usize).sum()
    }

    /// The message: this header and `payload`.
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + 16 * self.ranges.len() + payload.len());
        v.push(KINDS.iter().position(|&k| k == self.kind).unwrap_or(0) as u8);
        v.push(BuiltinOp::ALL.iter().position(|&o| o == self.op).unwrap_or(0) as u8);
        v.push(ELEMS.iter().position(|&k| k == self.elem).unwrap_or(0) as u8);
        v.push(u8::from(self.lock == LockType::Exclusive));
        v.extend_from_slice(&self.reply_tag.to_le_bytes());
        v.extend_from_slice(&self.addr.to_le_bytes());
        v.extend_from_slice(&(self.ranges.len() as u32).to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        for &(off, len) in &self.ranges {
            v.extend_from_slice(&off.to_le_bytes());
            v.extend_from_slice(&len.to_le_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    /// The request in `msg` and its payload.
    pub fn decode(msg: &[u8]) -> Result<(RmaRequest, &[u8])> {
        let bad = || MpiError::new(ErrorClass::Intern, "malformed RMA request");
        let word = |at: usize, n: usize| msg.get(at..at + n).ok_or_else(bad);
        let h = word(0, HEADER)?;
        let kind = *KINDS.get(h[0] as usize).ok_or_else(bad)?;
        let op = *BuiltinOp::ALL.get(h[1] as usize).ok_or_else(bad)?;
        let elem = *ELEMS.get(h[2] as usize).ok_or_else(bad)?;
        let lock = if h[3] == 1 { LockType::Exclusive } else { LockType::Shared };
        let reply_tag = u32::from_le_bytes(h[4..8].try_into().map_err(|_| bad())?);
        let addr = u64::from_le_bytes(h[8..16].try_into().map_err(|_| bad())?);
        let n = u32::from_le_bytes(h[16..20].try_into().map_err(|_| bad())?) as usize;
        let mut ranges = Vec::with_capacity(n.min(msg.len() / 16));
        for i in 0..n {
            let r = word(HEADER + 16 * i, 16)?;
            let off = i64::from_le_bytes(r[..8].try_into().map_err(|_| bad())?);
            let len = u64::from_le_bytes(r[8..].try_into().map_err(|_| bad())?);
            ranges.push((off, len));
        }
        let payload = msg.get(HEADER + 16 * n..).ok_or_else(bad)?;
        Ok((RmaRequest { kind, op, elem, lock, reply_tag, addr, ranges }, payload))
    }
}

/// The error classes a reply can carry (anything else travels as `Other`).
const REPLY_ERRORS: [ErrorClass; 6] = [ErrorClass::RmaRange, ErrorClass::Op, ErrorClass::Type, ErrorClass::Count, ErrorClass::Intern, ErrorClass::Other];

/// A reply: the outcome and the data the origin asked for.
pub fn encode_reply(outcome: &Result<Vec<u8>>) -> Vec<u8> {
    match outcome {
        Ok(data) => {
            let mut v = Vec::with_capacity(1 + data.len());
            v.push(0);
            v.extend_from_slice(data);
            v
        }
        Err(e) => vec![1 + REPLY_ERRORS.iter().position(|&c| c == e.class).unwrap_or(REPLY_ERRORS.len() - 1) as u8],
    }
}

/// The outcome a reply carries: its data, or the error the target met.
pub fn decode_reply(reply: &[u8]) -> Result<&[u8]> {
    match reply.split_first() {
        Some((0, data)) => Ok(data),
        Some((&code, _)) => {
            let class = REPLY_ERRORS.get(code as usize - 1).copied().unwrap_or(ErrorClass::Other);
            fail(class, "the target of an RMA operation refused it")
        }
        None => fail(ErrorClass::Intern, "empty RMA reply"),
    }
}

/// The memory a target exposes, as the target's progress engine reaches it.
pub trait TargetMemory {
    /// The exposed regions: (address, length).
    fn regions(&self) -> &[(usize, usize)];
    /// Copies `out.len()` bytes at `addr`, which lies inside a region.
    fn read(&self, addr: usize, out: &mut [u8]);
    /// Copies `data` to `addr`, which lies inside a region.
    fn write(&mut self, addr: usize, data: &[u8]);
}

/// The absolute ranges of a request, each checked to lie inside one exposed region.
fn resolve(req: &RmaRequest, regions: &[(usize, usize)]) -> Result<Vec<(usize, usize)>> {
    // Empty ranges touch nothing and are dropped, whatever their address.
    req.ranges
        .iter()
        .filter(|r| r.1 > 0)
        .map(|&(off, len)| {
            let start = (req.addr as i128) + off as i128;
            let end = start + len as i128;
            let inside = regions.iter().any(|&(a, n)| start >= a as i128 && end <= a as i128 + n as i128);
            if !inside {
                return fail(ErrorClass::RmaRange, format!("target bytes {start:#x}..{end:#x} are not in the window"));
            }
            Ok((start as usize, len as usize))
        })
        .collect()
}

fn gather(mem: &dyn TargetMemory, ranges: &[(usize, usize)]) -> Vec<u8> {
    let mut v = vec![0u8; ranges.iter().map(|r| r.1).sum()];
    let mut at = 0;
    for &(addr, len) in ranges {
        mem.read(addr, &mut v[at..at + len]);
        at += len;
    }
    v
}

fn scatter(mem: &mut dyn TargetMemory, ranges: &[(usize, usize)], data: &[u8]) {
    let mut at = 0;
    for &(addr, len) in ranges {
        mem.write(addr, &data[at..at + len]);
        at += len;
    }
}

/// Pair kinds travel packed (value, then index) but reduce in their memory layout (index at
/// the value size rounded up to 4): the layout a reduction expects.
fn unpacked_pairs(kind: Kind, packed: &[u8]) -> Vec<u8> {
    let Some(v) = kind.pair_value_size() else { return packed.to_vec() };
    let (size, extent, at) = (kind.size(), kind.extent(), v.next_multiple_of(4));
    let mut out = vec![0u8; packed.len() / size * extent];
    for (src, dst) in packed.chunks_exact(size).zip(out.chunks_exact_mut(extent)) {
        dst[..v].copy_from_slice(&src[..v]);
        dst[at..at + 4].copy_from_slice(&src[v..]);
    }
    out
}

fn packed_pairs(kind: Kind, memory: &[u8]) -> Vec<u8> {
    let Some(v) = kind.pair_value_size() else { return memory.to_vec() };
    let (size, extent, at) = (kind.size(), kind.extent(), v.next_multiple_of(4));
    let mut out = vec![0u8; memory.len() / extent * size];
    for (src, dst) in memory.chunks_exact(extent).zip(out.chunks_exact_mut(size)) {
        dst[..v].copy_from_slice(&src[..v]);
        dst[v..].copy_from_slice(&src[at..at + 4]);
    }
    out
}

/// `old op origin` over packed elements of `kind`.
pub fn combine(op: BuiltinOp, kind: Kind, old: &[u8], origin: &[u8]) -> Result<Vec<u8>> {
    if op == BuiltinOp::NoOp {
        // The origin buffer is ignored (and not sent).
        return Ok(old.to_vec());
    }
    if old.len() != origin.len() {
        return fail(ErrorClass::Count, format!("accumulate of {} bytes into {} bytes of target", origin.len(), old.len()));
    }
    match op {
        BuiltinOp::Replace => Ok(origin.to_vec()),
        // No element: nothing to combine, whatever the op (the origin lets any predefined op
        // through then, as MPICH does).
        _ if old.is_empty() => Ok(Vec::new()),
        _ => {
            let mut inout = unpacked_pairs(kind, old);
            reduce_into(op, kind, &mut inout, &unpacked_pairs(kind, origin))?;
            Ok(packed_pairs(kind, &inout))
        }
    }
}

/// Performs a data request on `mem`; returns the reply's data. Locks are not data requests.
pub fn apply(req: &RmaRequest, payload: &[u8], mem: &mut dyn TargetMemory) -> Result<Vec<u8>> {
    let ranges = resolve(req, mem.regions())?;
    let len = req.target_len();
    match req.kind {
        OpKind::Put => {
            if payload.len() != len {
                return fail(ErrorClass::Count, format!("put of {} bytes into {len} bytes of target", payload.len()));
            }
            scatter(mem, &ranges, payload);
            Ok(Vec::new())
        }
        OpKind::Get => Ok(gather(mem, &ranges)),
        OpKind::Acc | OpKind::GetAcc => {
            let old = gather(mem, &ranges);
            let new = combine(req.op, req.elem, &old, payload)?;
            if req.op != BuiltinOp::NoOp {
                scatter(mem, &ranges, &new);
            }
            Ok(if req.kind == OpKind::GetAcc { old } else { Vec::new() })
        }
        OpKind::CompareSwap => {
            if payload.len() != 2 * len {
                return fail(ErrorClass::Count, "compare-and-swap operands do not match the target element");
            }
            let old = gather(mem, &ranges);
            let (compare, origin) = payload.split_at(len);
            if old == compare {
                scatter(mem, &ranges, origin);
            }
            Ok(old)
        }
        OpKind::Lock | OpKind::Unlock | OpKind::Post | OpKind::Complete => fail(ErrorClass::Intern, "a synchronisation request is not a data request"),
    }
}

/// A target's passive-target locks: granted in request order, shared ones together.
#[derive(Default, Debug)]
pub struct LockTable {
    exclusive: Option<u32>,
    shared: usize,
    /// Requests not granted yet: (origin, type, reply tag).
    waiting: VecDeque<(u32, LockType, u32)>,
}

impl LockTable {
    fn grantable(&self, t: LockType) -> bool {
        self.exclusive.is_none() && (t == LockType::Shared || self.shared == 0)
    }

    fn take(&mut self, origin: u32, t: LockType) {
        match t {
            LockType::Shared => self.shared += 1,
            LockType::Exclusive => self.exclusive = Some(origin),
        }
    }

    /// Grants what can be granted from the queue, in order: (origin, reply tag).
    fn grant_waiting(&mut self) -> Vec<(u32, u32)> {
        let mut granted = Vec::new();
        while let Some(&(origin, t, tag)) = self.waiting.front() {
            if !self.grantable(t) {
                break;
            }
            self.waiting.pop_front();
            self.take(origin, t);
            granted.push((origin, tag));
        }
        granted
    }

    /// A lock request from `origin`; returns the grants it allows now.
    pub fn request(&mut self, origin: u32, t: LockType, tag: u32) -> Vec<(u32, u32)> {
        self.waiting.push_back((origin, t, tag));
        self.grant_waiting()
    }

    /// `origin` releases its lock of type `t`; returns the grants that allows.
    pub fn release(&mut self, origin: u32, t: LockType) -> Result<Vec<(u32, u32)>> {
        match t {
            LockType::Shared if self.shared > 0 => self.shared -= 1,
            LockType::Exclusive if self.exclusive == Some(origin) => self.exclusive = None,
            _ => return fail(ErrorClass::RmaSync, format!("rank {origin} releases a {t:?} lock it does not hold")),
        }
        Ok(self.grant_waiting())
    }
}

#[cfg(test)]
#[path = "rma/tests.rs"]
mod tests;
