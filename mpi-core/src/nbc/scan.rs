//! Reduce-scatter, scan and exscan on intracommunicators: the engine's side of
//! `schedule/scan.rs` (a child module of `nbc.rs`, whose frames and request plumbing it uses).
//!
//! Each call is one schedule, run now (`mode == None`) or kept in a request, as the
//! gather-like collectives are. A call's messages carry its own tag number (`nbc.rs`), so the
//! tag classes borrowed here from reduce and scatter never meet another call's.

use super::{CollMode, Engine, Frame, State};
use crate::buffer::Buf;
use crate::collective::{check_reduction, check_result_len, TAG_REDUCE, TAG_SCATTER};
use crate::datatype::Kind;
use crate::engine::{CommId, Request};
use crate::error::{fail, ErrorClass, Result};
use crate::op::BuiltinOp;
use crate::schedule::{self, Schedule};

impl Engine {
    /// Reduce-scatter: `blocks[i]` is the byte length of rank i's block of the result (for a
    /// predefined or derived type alike, the packed bytes of its elements); `send` (all blocks,
    /// in rank order) is this rank's contribution, `None` for `MPI_IN_PLACE`, where `recv`
    /// holds the contribution and receives the block at its start; else `recv` is this
    /// rank's block.
    #[allow(clippy::too_many_arguments)]
    fn reduce_scatter_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, blocks: &[usize], kind: Kind, op: BuiltinOp) -> Result<(Box<Schedule>, Frame)> {
        let c = st.comm(comm)?;
        c.intra_only("MPI_Reduce_scatter")?;
        let (rank, size) = (c.rank as usize, c.members.len());
        if blocks.len() != size {
            return fail(ErrorClass::Intern, "reduce-scatter with a block count per rank of another group size");
        }
        let total = blocks.iter().try_fold(0usize, |a, &b| a.checked_add(b));
        let Some(total) = total else { return fail(ErrorClass::Count, "reduce-scatter counts overflow") };
        check_reduction(op, kind, total)?;
        match send {
            Some(b) => {
                check_result_len("MPI_Reduce_scatter", total, b.len())?;
                check_result_len("MPI_Reduce_scatter", blocks[rank], recv.len())?;
            }
            None => check_result_len("MPI_Reduce_scatter", total, recv.len())?,
        }
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let r = s.stage(recv, send.is_none());
        let sr = send.map(|b| s.stage(b, true));
        schedule::scan::reduce_scatter(&mut s, rank, size, sr, r, blocks, kind, op, (TAG_REDUCE, TAG_SCATTER));
        s.unstage(r);
        Ok((s, frame))
    }

    /// Scan or exscan (`send == None`: `MPI_IN_PLACE`, the contribution in `recv`).
    fn scan_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, exclusive: bool, kind: Kind, op: BuiltinOp) -> Result<(Box<Schedule>, Frame)> {
        let what = if exclusive { "MPI_Exscan" } else { "MPI_Scan" };
        st.comm(comm)?.intra_only(what)?;
        check_reduction(op, kind, recv.len())?;
        if let Some(b) = send {
            check_result_len(what, b.len(), recv.len())?;
        }
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        // Exscan: rank 0's receive buffer is left as it is, so a scattered one is neither
        // packed nor unpacked there; with MPI_IN_PLACE it holds the contribution elsewhere.
        let untouched = exclusive && rank == 0;
        let r = s.stage(recv, send.is_none() && !untouched);
        let sr = send.map(|b| s.stage(b, true));
        // Rank 0's in-place contribution is needed by the others: read it into `partial`
        // from the application's buffer (a contiguous one is `r` itself).
        let input = match (untouched, sr) {
            (true, None) => Some(s.stage(recv, true)),
            (_, sr) => sr,
        };
        schedule::scan::scan(&mut s, rank, size, input, r, exclusive, kind, op, TAG_REDUCE);
        if !untouched {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// `MPI_Reduce_scatter` / `MPI_Reduce_scatter_block`, their nonblocking and persistent
    /// forms (`mode`, as `gather`): arguments as `reduce_scatter_sched`. The buffers must stay
    /// valid until the call returns or its request is freed.
    #[allow(clippy::too_many_arguments)]
    pub fn reduce_scatter(&self, comm: CommId, send: Option<Buf>, recv: Buf, blocks: &[usize], kind: Kind, op: BuiltinOp, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, |st| Self::reduce_scatter_sched(st, comm, send.as_ref(), &recv, blocks, kind, op))
    }

    /// `MPI_Scan` (`exclusive == false`) or `MPI_Exscan`, and their nonblocking and persistent
    /// forms (as `reduce_scatter`): `send == None` is `MPI_IN_PLACE`. Exscan leaves rank 0's
    /// `recv` untouched.
    #[allow(clippy::too_many_arguments)]
    pub fn scan(&self, comm: CommId, send: Option<Buf>, recv: Buf, exclusive: bool, kind: Kind, op: BuiltinOp, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, |st| Self::scan_sched(st, comm, send.as_ref(), &recv, exclusive, kind, op))
    }
}
