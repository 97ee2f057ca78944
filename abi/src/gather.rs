//! Gather, Scatter, Allgather, Alltoall on intracommunicators: blocking, nonblocking
//! (`MPI_Igather`, ...) and persistent (`MPI_Gather_init`, ...) forms, and their `_c` forms.
//!
//! Every form hands the engine its buffers as they are (`Buf`), the blocking ones included:
//! the engine's schedule packs a scattered buffer into its scratch memory when it starts and
//! unpacks it at its end (`schedule.rs`), so a derived datatype costs one copy of the data
//! it covers, as with `coll.rs`'s nonblocking forms. A buffer of `size` blocks is
//! `count * size` elements of its type, whose packed stream is the blocks in rank order.
//! Buffers a process does not use (a gather's receive buffer off the root, ...) are not
//! looked at, as the standard says. On an intercommunicator a buffer of blocks has one block
//! per rank of the remote group (`coll::peers`), and a rooted collective's root passes
//! `MPI_ROOT`, its group partners `MPI_PROC_NULL` (their buffers unused).

use std::ffi::c_void;

use mpi_core::buffer::{Buf, UserBuf};
use mpi_core::error::{fail, ErrorClass, Result};

use crate::coll::{call, in_place, peers, Form};
use crate::generated::types::*;
use crate::handles;
use crate::p2p::comm_buf;


fn unused() -> Buf {
    Buf::Contig(UserBuf::EMPTY)
}

/// `size` blocks of `count` elements of `datatype` at `ptr`.
fn blocks(ptr: *const c_void, count: MPI_Count, datatype: MPI_Datatype, size: usize) -> Result<Buf> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    match count.checked_mul(size as MPI_Count) {
        Some(n) => comm_buf(ptr, n, datatype),
        None => fail(ErrorClass::Count, format!("{size} blocks of {count} elements overflow")),
    }
}


#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gather(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    root: c_int, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        // On an intercommunicator the root's send buffer and its partners' buffers are unused.
        let (is_root, contributes) = e.root_role(c, root)?;
        let send = if in_place(sendbuf) || !contributes { None } else { Some(comm_buf(sendbuf, sendcount, sendtype)?) };
        let recv = if is_root { blocks(recvbuf, recvcount, recvtype, peers(c)?)? } else { unused() };
        e.gather(c, send, recv, root, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn scatter(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    root: c_int, comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let (is_root, contributes) = e.root_role(c, root)?;
        let send = if is_root { blocks(sendbuf, sendcount, sendtype, peers(c)?)? } else { unused() };
        let recv = if in_place(recvbuf) || !contributes { None } else { Some(comm_buf(recvbuf, recvcount, recvtype)?) };
        e.scatter(c, send, recv, root, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn allgather(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let send = if in_place(sendbuf) { None } else { Some(comm_buf(sendbuf, sendcount, sendtype)?) };
        let recv = blocks(recvbuf, recvcount, recvtype, peers(c)?)?;
        e.allgather(c, send, recv, form)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn alltoall(
    sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
    recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype,
    comm: MPI_Comm, name: &'static str, form: Form, request: *mut MPI_Request,
) -> c_int {
    call(comm, name, form, request, |form| {
        let e = crate::engine()?;
        let c = handles::comm(comm)?;
        let size = peers(c)?;
        let send = if in_place(sendbuf) { None } else { Some(blocks(sendbuf, sendcount, sendtype, size)?) };
        let recv = blocks(recvbuf, recvcount, recvtype, size)?;
        e.alltoall(c, send, recv, form)
    })
}
