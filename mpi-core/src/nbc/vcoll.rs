//! The engine's side of the v forms of the gather-like collectives (`schedule/vcoll.rs`):
//! argument checks, staging of every peer's block as a range of its own, and the calls as
//! blocking runs or requests, through `nbc.rs`'s `gather_like`.
//!
//! A v collective takes one buffer per peer (`Vec<Buf>`, indexed by communicator rank),
//! which the C layer cuts out of the application's buffer with the counts, displacements
//! and datatype extents; the engine never sees the gaps between them, so they stay as they
//! were. On an intercommunicator there is one buffer per rank of the remote group, and the
//! calls go to `inter.rs`.

use super::*;

/// Message classes of the v collectives (the tag's low part, `nbc.rs`'s module doc): each
/// call has its own sequence number, so these only keep apart the messages of one call and
/// may equal another collective's classes; they are kept out of `collective.rs`'s small
/// numbers all the same, for readable traces.
const TAG_GATHERV: i32 = 32;
const TAG_SCATTERV: i32 = 33;
const TAG_ALLGATHERV: i32 = 34;
const TAG_ALLTOALLV: i32 = 35;

/// One buffer per rank, as the C layer must hand them (a mismatch is its bug).
fn check_peers(what: &str, bufs: &[Buf], size: usize) -> Result<()> {
    if bufs.len() != size {
        return fail(ErrorClass::Intern, format!("{what}: {} buffers for a communicator of size {size}", bufs.len()));
    }
    Ok(())
}

/// A block this rank copies to itself: longer than the block it lands in means the two
/// sides' counts and types do not describe the same data.
fn check_own(what: &str, send: &Buf, recv: &Buf) -> Result<()> {
    if send.len() > recv.len() {
        return fail(ErrorClass::Truncate, format!("{what}: {} bytes sent to this rank's own block of {} bytes", send.len(), recv.len()));
    }
    Ok(())
}

impl Engine {
    /// Gatherv (`send == None`: `MPI_IN_PLACE` at the root; `recv`, one block per rank, is
    /// the root's only).
    fn gatherv_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &[Buf], root: i32) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_gather_sched(st, comm, send, Blocks::Each(recv), root, "MPI_Gatherv");
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        let root = check_root(root, size)?;
        if rank == root {
            check_peers("MPI_Gatherv", recv, size)?;
            if let Some(b) = send {
                check_own("MPI_Gatherv", b, &recv[root])?;
            }
        } else if send.is_none() {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Gatherv");
        }
        let (frame, rank, _) = Self::intra_frame(st, comm, "MPI_Gatherv")?;
        let mut s = st.new_sched();
        let sr = send.map(|b| s.stage(b, true));
        let rs: Vec<schedule::Range> =
            if rank == root { recv.iter().enumerate().map(|(i, b)| s.stage(b, i == root && send.is_none())).collect() } else { Vec::new() };
        schedule::vcoll::gatherv(&mut s, rank, root, sr, &rs, TAG_GATHERV);
        for r in rs {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// Scatterv (`recv == None`: `MPI_IN_PLACE` at the root; `send`, one block per rank, is
    /// the root's only).
    fn scatterv_sched(st: &mut State, comm: CommId, send: &[Buf], recv: Option<&Buf>, root: i32) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_scatter_sched(st, comm, Blocks::Each(send), recv, root, "MPI_Scatterv");
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        let root = check_root(root, size)?;
        if rank == root {
            check_peers("MPI_Scatterv", send, size)?;
            if let Some(b) = recv {
                check_own("MPI_Scatterv", &send[root], b)?;
            }
        } else if recv.is_none() {
            return fail(ErrorClass::Buffer, "MPI_IN_PLACE is only valid at the root of MPI_Scatterv");
        }
        let (frame, rank, _) = Self::intra_frame(st, comm, "MPI_Scatterv")?;
        let mut s = st.new_sched();
        let ss: Vec<schedule::Range> = if rank == root { send.iter().map(|b| s.stage(b, true)).collect() } else { Vec::new() };
        let r = recv.map(|b| s.stage(b, false));
        schedule::vcoll::scatterv(&mut s, rank, root, &ss, r, TAG_SCATTERV);
        if let Some(r) = r {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// Allgatherv (`send == None`: `MPI_IN_PLACE`, this rank's block already in its place
    /// in `recv`, which has one block per rank).
    fn allgatherv_sched(st: &mut State, comm: CommId, send: Option<&Buf>, recv: &[Buf]) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_allgather_sched(st, comm, send, Blocks::Each(recv), "MPI_Allgatherv");
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        check_peers("MPI_Allgatherv", recv, size)?;
        if let Some(b) = send {
            check_own("MPI_Allgatherv", b, &recv[rank])?;
        }
        let (frame, rank, _) = Self::intra_frame(st, comm, "MPI_Allgatherv")?;
        let mut s = st.new_sched();
        // The blocks this rank sends before it has received them are read from the
        // application's memory: its own with MPI_IN_PLACE, and none other.
        let rs: Vec<schedule::Range> = recv.iter().enumerate().map(|(i, b)| s.stage(b, i == rank && send.is_none())).collect();
        if let Some(b) = send {
            let sr = s.stage(b, true);
            s.copy(sr, rs[rank]);
        }
        schedule::vcoll::allgatherv(&mut s, rank, &rs, TAG_ALLGATHERV);
        for r in rs {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// Alltoallv and alltoallw (`send == None`: `MPI_IN_PLACE`, the data to send in `recv`;
    /// both have one block per rank, each with its own type for alltoallw).
    fn alltoallv_sched(st: &mut State, comm: CommId, send: Option<&[Buf]>, recv: &[Buf], what: &str) -> Result<(Box<Schedule>, Frame)> {
        if st.comm(comm)?.remote.is_some() {
            return Self::inter_alltoall_sched(st, comm, send.map(Blocks::Each), Blocks::Each(recv), what);
        }
        let c = st.comm(comm)?;
        let (rank, size) = (c.rank as usize, c.members.len());
        check_peers(what, recv, size)?;
        if let Some(b) = send {
            check_peers(what, b, size)?;
            check_own(what, &b[rank], &recv[rank])?;
        }
        let (frame, rank, _) = Self::intra_frame(st, comm, what)?;
        let mut s = st.new_sched();
        let rs: Vec<schedule::Range> = recv.iter().map(|b| s.stage(b, send.is_none())).collect();
        let ss: Option<Vec<schedule::Range>> = send.map(|b| b.iter().map(|b| s.stage(b, true)).collect());
        schedule::vcoll::alltoallv(&mut s, rank, ss.as_deref(), &rs, TAG_ALLTOALLV);
        for r in rs {
            s.unstage(r);
        }
        Ok((s, frame))
    }

    /// `MPI_Gatherv` (`mode == None`), `MPI_Igatherv` or `MPI_Gatherv_init`: `send == None`
    /// is `MPI_IN_PLACE` at the root; `recv` (one block per rank, in rank order) matters at
    /// the root only. Buffers as for `gather`.
    pub fn gatherv(&self, comm: CommId, send: Option<Buf>, recv: Vec<Buf>, root: i32, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::gatherv_sched(st, comm, send.as_ref(), &recv, root))
    }

    /// `MPI_Scatterv` / `MPI_Iscatterv` / `MPI_Scatterv_init` (as `gatherv`): `recv == None`
    /// is `MPI_IN_PLACE` at the root; `send` matters at the root only.
    pub fn scatterv(&self, comm: CommId, send: Vec<Buf>, recv: Option<Buf>, root: i32, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::scatterv_sched(st, comm, &send, recv.as_ref(), root))
    }

    /// `MPI_Allgatherv` / `MPI_Iallgatherv` / `MPI_Allgatherv_init` (as `gatherv`): `send ==
    /// None` is `MPI_IN_PLACE`.
    pub fn allgatherv(&self, comm: CommId, send: Option<Buf>, recv: Vec<Buf>, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::allgatherv_sched(st, comm, send.as_ref(), &recv))
    }

    /// `MPI_Alltoallv` / `MPI_Alltoallw` and their nonblocking and persistent forms (as
    /// `gatherv`; `what` names the call in errors): `send == None` is `MPI_IN_PLACE`.
    pub fn alltoallv(&self, comm: CommId, send: Option<Vec<Buf>>, recv: Vec<Buf>, what: &'static str, mode: Option<CollMode>) -> Result<Option<Request>> {
        self.gather_like(comm, mode, || None, |st| Self::alltoallv_sched(st, comm, send.as_deref(), &recv, what))
    }
}
