//! Reduce-scatter (on intra- and intercommunicators), scan and exscan (intracommunicators
//! only, as the standard defines them): the engine's side of `schedule/scan.rs` and of
//! `schedule/inter.rs`'s reduce-scatter (a child module of `nbc.rs`, whose frames and request
//! plumbing it uses).
//!
//! Each call is one schedule, run now (`mode == None`) or kept in a request, as the
//! gather-like collectives are. A call's messages carry its own tag number (`nbc.rs`), so the
//! tag classes borrowed here from reduce and scatter never meet another call's.

use super::{CollMode, Engine, Frame, State};
use crate::buffer::Buf;
use crate::collective::{check_result_len, TAG_REDUCE, TAG_SCATTER};
use crate::engine::{CommId, Request};
use crate::error::{fail, ErrorClass, Result};
use crate::schedule::{self, Reduction, Schedule};

impl Engine {
    /// Reduce-scatter: `blocks[i]` is rank i's block of the result as (offset, length) in
    /// the staged contribution (`stage_operand`: the packed bytes of its elements for a
    /// predefined operation, their memory span for a user one), blocks in rank order;
    /// `packed[i]` is the block's length in packed bytes. `send` (all blocks) is this rank's
    /// contribution, `None` for `MPI_IN_PLACE`, where `recv` holds the contribution and
    /// receives the block at its start; else `recv` is this rank's block. On an
    /// intercommunicator the blocks are those of the local group, which gets the other group's
    /// reduction (the two groups' operands have the same length), and `MPI_IN_PLACE` is
    /// invalid.
    #[allow(clippy::too_many_arguments)]
    fn reduce_scatter_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, blocks: &[(usize, usize)], packed: &[usize], red: &Reduction) -> Result<(Box<Schedule>, Frame)> {
        let c = st.comm(comm)?;
        let (rank, size, inter) = (c.rank as usize, c.members.len(), c.remote.is_some());
        if inter && send.is_none() {
            return fail(ErrorClass::Buffer, "MPI_Reduce_scatter: MPI_IN_PLACE is not valid on an intercommunicator");
        }
        if blocks.len() != size || packed.len() != size {
            return fail(ErrorClass::Intern, "reduce-scatter with a block count per rank of another group size");
        }
        let total = packed.iter().try_fold(0usize, |a, &b| a.checked_add(b));
        let Some(total) = total else { return fail(ErrorClass::Count, "reduce-scatter counts overflow") };
        Self::check_operand(red, total)?;
        match send {
            Some(b) => {
                check_result_len("MPI_Reduce_scatter", total, b.len())?;
                check_result_len("MPI_Reduce_scatter", packed[rank], recv.len())?;
            }
            None => check_result_len("MPI_Reduce_scatter", total, recv.len())?,
        }
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        let r = Self::stage_operand(&mut s, recv, send.is_none(), red)?;
        let sr = match send {
            Some(b) => Some(Self::stage_operand(&mut s, b, true, red)?),
            None => None,
        };
        // The operand's staged length: the contribution's, wherever it is.
        let whole = sr.unwrap_or(r).len();
        if blocks.iter().any(|&(off, len)| off.checked_add(len).is_none_or(|end| end > whole)) {
            return fail(ErrorClass::Intern, "reduce-scatter block outside the operand");
        }
        match sr {
            Some(sr) if inter => schedule::inter::reduce_scatter(&mut s, rank, size, sr, r, whole, blocks, red, (TAG_REDUCE, TAG_SCATTER)),
            _ => schedule::scan::reduce_scatter(&mut s, rank, size, sr, r, whole, blocks, red, (TAG_REDUCE, TAG_SCATTER)),
        }
        s.unstage(r);
        Ok((s, frame))
    }

    /// Scan or exscan (`send == None`: `MPI_IN_PLACE`, the contribution in `recv`).
    fn scan_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &Buf, exclusive: bool, red: &Reduction) -> Result<(Box<Schedule>, Frame)> {
        let what = if exclusive { "MPI_Exscan" } else { "MPI_Scan" };
        st.comm(comm)?.intra_only(what)?;
        Self::check_operand(red, recv.len())?;
        if let Some(b) = send {
            check_result_len(what, b.len(), recv.len())?;
        }
        let (frame, rank, size, _) = st.coll_frame(comm)?;
        let mut s = st.new_sched();
        // Exscan: rank 0's receive buffer is left as it is, so a scattered one is neither
        // packed nor unpacked there; with MPI_IN_PLACE it holds the contribution elsewhere.
        let untouched = exclusive && rank == 0;
        let r = Self::stage_operand(&mut s, recv, send.is_none() && !untouched, red)?;
        let sr = match send {
            Some(b) => Some(Self::stage_operand(&mut s, b, true, red)?),
            None => None,
        };
        // Rank 0's in-place contribution is needed by the others: read it into `partial`
        // from the application's buffer (a contiguous one is `r` itself).
        let input = match (untouched, sr) {
            (true, None) => Some(Self::stage_operand(&mut s, recv, true, red)?),
            (_, sr) => sr,
        };
        schedule::scan::scan(&mut s, rank, size, input, r, exclusive, red, TAG_REDUCE);
        if !untouched {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// `MPI_Reduce_scatter` / `MPI_Reduce_scatter_block`, their nonblocking and persistent
    /// forms (`mode`, as `gather`): arguments as `reduce_scatter_sched`. The buffers must stay
    /// valid until the call returns or its request is freed.
    #[allow(clippy::too_many_arguments)]
    pub fn reduce_scatter(&self, comm: CommId, send: Option<Buf>, recv: Buf, blocks: &[(usize, usize)], packed: &[usize], red: Reduction, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::reduce_scatter_sched(st, comm, send.as_ref(), &recv, blocks, packed, &red))
    }

    /// `MPI_Scan` (`exclusive == false`) or `MPI_Exscan`, and their nonblocking and persistent
    /// forms (as `reduce_scatter`): `send == None` is `MPI_IN_PLACE`. Exscan leaves rank 0's
    /// `recv` untouched.
    #[allow(clippy::too_many_arguments)]
    pub fn scan(&self, comm: CommId, send: Option<Buf>, recv: Buf, exclusive: bool, red: Reduction, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::scan_sched(st, comm, send.as_ref(), &recv, exclusive, &red))
    }
}
