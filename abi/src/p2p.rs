//! Point-to-point: sends, receives, probes, persistent requests, attached buffers.
//!
//! Each operation is written once over `MPI_Count`; the `int` forms call the `_c` form.

use std::ffi::c_void;

use mpi_core::buffer::{Buf, TypedBuf, UserBuf};
use mpi_core::engine::{BufferScope, CommId, Engine, SendKind};
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::protocol::{SendData, Status};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::handles;
use crate::status::write_status;
use crate::{engine, out};

/// The user memory of `count` elements of any committed `datatype` at `buf`, as point-to-point
/// moves it: one range when the type is contiguous (a predefined type, or a derived one with
/// no gaps), else the type map's scattered ranges, streamed as packed bytes. Predefined pair
/// types (`MPI_DOUBLE_INT`, ...) have padding, so they go as packed bytes too: a message is the
/// same stream whichever of two matching type signatures each side names.
pub(crate) fn comm_buf(buf: *const c_void, count: MPI_Count, datatype: MPI_Datatype) -> Result<Buf> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    let map = if handles::is_predefined(datatype) {
        // The common case, kept short: a predefined type without padding is its memory image.
        let size = match handles::datatype(datatype)? {
            Some(kind) if kind.size() != kind.extent() => None,
            Some(kind) => Some(kind.extent()),
            None => Some(0),
        };
        if let Some(size) = size {
            let len = match (count as usize).checked_mul(size) {
                Some(n) if n <= isize::MAX as usize => n,
                _ => return fail(ErrorClass::Count, format!("count {count} of {size}-byte elements overflows")),
            };
            if len > 0 && buf.is_null() {
                return fail(ErrorClass::Buffer, format!("null buffer for {count} elements"));
            }
            // SAFETY: as in `user_buf`.
            return Ok(Buf::Contig(unsafe { UserBuf::new(buf as *mut u8, len) }));
        }
        handles::type_map(datatype)?
    } else {
        match crate::typector::lookup(datatype) {
            Some((map, true)) => map,
            Some((_, false)) => return fail(ErrorClass::Type, format!("datatype {:#x} is not committed", datatype.0)),
            None => return fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", datatype.0)),
        }
    };
    let count = count as usize;
    let Some(len) = map.size().checked_mul(count).filter(|&n| n <= isize::MAX as usize) else {
        return fail(ErrorClass::Count, format!("count {count} of {}-byte elements overflows", map.size()));
    };
    if map.is_dense() || len == 0 {
        // One range, starting at the type's lower bound.
        let start = (buf as *mut u8).wrapping_offset(if len == 0 { 0 } else { map.lb() as isize });
        if len > 0 && start.is_null() {
            return fail(ErrorClass::Buffer, format!("null buffer for {count} elements"));
        }
        // SAFETY: as in `user_buf`: the application keeps the memory valid until completion.
        return Ok(Buf::Contig(unsafe { UserBuf::new(start, len) }));
    }
    // A null `buf` is MPI_BOTTOM here: the type's displacements are absolute addresses.
    // SAFETY: the application keeps every byte the type map covers valid until completion.
    Ok(Buf::Typed(unsafe { TypedBuf::new(buf as *mut u8, count, map) }?))
}

struct Call {
    engine: &'static Engine,
    comm: CommId,
}

fn call(comm: MPI_Comm) -> Result<Call> {
    Ok(Call { engine: engine()?, comm: handles::comm(comm)? })
}

impl Call {
    /// `MPI_Sendrecv`: posts the receive, sends, waits for both. If the send cannot start, the
    /// receive is cancelled rather than left to land in memory the caller will reuse.
    fn exchange(&self, send: Buf, dest: c_int, sendtag: c_int, recv: Buf, source: c_int, recvtag: c_int) -> Result<Status> {
        let r = self.engine.irecv(self.comm, source, recvtag, recv)?;
        let s = match self.engine.isend(self.comm, dest, sendtag, send, SendKind::Standard) {
            Ok(s) => s,
            Err(e) => {
                let _ = self.engine.cancel(r);
                let _ = self.engine.wait(r);
                return Err(e);
            }
        };
        self.engine.wait(s)?;
        self.engine.wait(r)
    }
}

macro_rules! blocking_send {
    ($pmpi:ident, $pmpi_c:ident, $name:literal, $kind:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi_c(
            buf: *const c_void,
            count: MPI_Count,
            datatype: MPI_Datatype,
            dest: c_int,
            tag: c_int,
            comm: MPI_Comm,
        ) -> c_int {
            api(comm, $name, || {
                let c = call(comm)?;
                c.engine.send(c.comm, dest, tag, comm_buf(buf, count, datatype)?, $kind)
            })
        }

        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(
            buf: *const c_void,
            count: c_int,
            datatype: MPI_Datatype,
            dest: c_int,
            tag: c_int,
            comm: MPI_Comm,
        ) -> c_int {
            $pmpi_c(buf, count.into(), datatype, dest, tag, comm)
        }
    };
}

macro_rules! nonblocking_send {
    ($pmpi:ident, $pmpi_c:ident, $name:literal, $kind:expr, $start:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi_c(
            buf: *const c_void,
            count: MPI_Count,
            datatype: MPI_Datatype,
            dest: c_int,
            tag: c_int,
            comm: MPI_Comm,
            request: *mut MPI_Request,
        ) -> c_int {
            api(comm, $name, || {
                let c = call(comm)?;
                if request.is_null() {
                    return fail(ErrorClass::Arg, "null request argument");
                }
                let r = c.engine.$start(c.comm, dest, tag, comm_buf(buf, count, datatype)?, $kind)?;
                out(request, handles::request_handle(r))
            })
        }

        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(
            buf: *const c_void,
            count: c_int,
            datatype: MPI_Datatype,
            dest: c_int,
            tag: c_int,
            comm: MPI_Comm,
            request: *mut MPI_Request,
        ) -> c_int {
            $pmpi_c(buf, count.into(), datatype, dest, tag, comm, request)
        }
    };
}

// The macros define these functions; their names are written out for abi/gen/generate.py,
// which finds hand-written functions by name:
// fn PMPI_Send fn PMPI_Send_c fn PMPI_Bsend fn PMPI_Bsend_c fn PMPI_Ssend fn PMPI_Ssend_c
// fn PMPI_Rsend fn PMPI_Rsend_c
blocking_send!(PMPI_Send, PMPI_Send_c, "MPI_Send", SendKind::Standard);
blocking_send!(PMPI_Bsend, PMPI_Bsend_c, "MPI_Bsend", SendKind::Buffered);
blocking_send!(PMPI_Ssend, PMPI_Ssend_c, "MPI_Ssend", SendKind::Synchronous);
blocking_send!(PMPI_Rsend, PMPI_Rsend_c, "MPI_Rsend", SendKind::Ready);

// fn PMPI_Isend fn PMPI_Isend_c fn PMPI_Ibsend fn PMPI_Ibsend_c fn PMPI_Issend fn PMPI_Issend_c
// fn PMPI_Irsend fn PMPI_Irsend_c
nonblocking_send!(PMPI_Isend, PMPI_Isend_c, "MPI_Isend", SendKind::Standard, isend);
nonblocking_send!(PMPI_Ibsend, PMPI_Ibsend_c, "MPI_Ibsend", SendKind::Buffered, isend);
nonblocking_send!(PMPI_Issend, PMPI_Issend_c, "MPI_Issend", SendKind::Synchronous, isend);
nonblocking_send!(PMPI_Irsend, PMPI_Irsend_c, "MPI_Irsend", SendKind::Ready, isend);

// fn PMPI_Send_init fn PMPI_Send_init_c fn PMPI_Bsend_init fn PMPI_Bsend_init_c
// fn PMPI_Ssend_init fn PMPI_Ssend_init_c fn PMPI_Rsend_init fn PMPI_Rsend_init_c
nonblocking_send!(PMPI_Send_init, PMPI_Send_init_c, "MPI_Send_init", SendKind::Standard, send_init);
nonblocking_send!(PMPI_Bsend_init, PMPI_Bsend_init_c, "MPI_Bsend_init", SendKind::Buffered, send_init);
nonblocking_send!(PMPI_Ssend_init, PMPI_Ssend_init_c, "MPI_Ssend_init", SendKind::Synchronous, send_init);
nonblocking_send!(PMPI_Rsend_init, PMPI_Rsend_init_c, "MPI_Rsend_init", SendKind::Ready, send_init);

#[no_mangle]
pub unsafe extern "C" fn PMPI_Recv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Recv", || {
        let c = call(comm)?;
        let st = c.engine.recv(c.comm, source, tag, comm_buf(buf, count, datatype)?)?;
        write_status(status, &st);
        crate::status::check(&st)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Recv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    PMPI_Recv_c(buf, count.into(), datatype, source, tag, comm, status)
}

macro_rules! nonblocking_recv {
    ($pmpi:ident, $pmpi_c:ident, $name:literal, $start:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $pmpi_c(
            buf: *mut c_void,
            count: MPI_Count,
            datatype: MPI_Datatype,
            source: c_int,
            tag: c_int,
            comm: MPI_Comm,
            request: *mut MPI_Request,
        ) -> c_int {
            api(comm, $name, || {
                let c = call(comm)?;
                if request.is_null() {
                    return fail(ErrorClass::Arg, "null request argument");
                }
                let r = c.engine.$start(c.comm, source, tag, comm_buf(buf, count, datatype)?)?;
                out(request, handles::request_handle(r))
            })
        }

        #[no_mangle]
        pub unsafe extern "C" fn $pmpi(
            buf: *mut c_void,
            count: c_int,
            datatype: MPI_Datatype,
            source: c_int,
            tag: c_int,
            comm: MPI_Comm,
            request: *mut MPI_Request,
        ) -> c_int {
            $pmpi_c(buf, count.into(), datatype, source, tag, comm, request)
        }
    };
}

// fn PMPI_Irecv fn PMPI_Irecv_c fn PMPI_Recv_init fn PMPI_Recv_init_c
nonblocking_recv!(PMPI_Irecv, PMPI_Irecv_c, "MPI_Irecv", irecv);
nonblocking_recv!(PMPI_Recv_init, PMPI_Recv_init_c, "MPI_Recv_init", recv_init);

#[no_mangle]
pub unsafe extern "C" fn PMPI_Sendrecv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Sendrecv", || {
        let c = call(comm)?;
        let sbuf = comm_buf(sendbuf, sendcount, sendtype)?;
        let rbuf = comm_buf(recvbuf, recvcount, recvtype)?;
        let st = c.exchange(sbuf, dest, sendtag, rbuf, source, recvtag)?;
        write_status(status, &st);
        crate::status::check(&st)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Sendrecv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    PMPI_Sendrecv_c(
        sendbuf,
        sendcount.into(),
        sendtype,
        dest,
        sendtag,
        recvbuf,
        recvcount.into(),
        recvtype,
        source,
        recvtag,
        comm,
        status,
    )
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Sendrecv_replace_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Sendrecv_replace", || {
        let c = call(comm)?;
        let user = comm_buf(buf, count, datatype)?;
        // The outgoing data is copied so that the receive can land in the same buffer.
        let mut copy = user.to_vec();
        let st = c.exchange(UserBuf::from_slice(&mut copy).into(), dest, sendtag, user, source, recvtag)?;
        write_status(status, &st);
        crate::status::check(&st)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Sendrecv_replace(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> c_int {
    PMPI_Sendrecv_replace_c(buf, count.into(), datatype, dest, sendtag, source, recvtag, comm, status)
}

// MPI-4's nonblocking send-receive: one request for a send and a receive that complete
// together (the engine's paired request); its status is the receive's.

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Isendrecv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    api(comm, "MPI_Isendrecv", || {
        let c = call(comm)?;
        if request.is_null() {
            return fail(ErrorClass::Arg, "null request argument");
        }
        let sbuf = comm_buf(sendbuf, sendcount, sendtype)?;
        let rbuf = comm_buf(recvbuf, recvcount, recvtype)?;
        let r = c.engine.isendrecv(c.comm, SendData::User(sbuf), dest, sendtag, rbuf, source, recvtag)?;
        out(request, handles::request_handle(r))
    })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Isendrecv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    PMPI_Isendrecv_c(
        sendbuf,
        sendcount.into(),
        sendtype,
        dest,
        sendtag,
        recvbuf,
        recvcount.into(),
        recvtype,
        source,
        recvtag,
        comm,
        request,
    )
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Isendrecv_replace_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    api(comm, "MPI_Isendrecv_replace", || {
        let c = call(comm)?;
        if request.is_null() {
            return fail(ErrorClass::Arg, "null request argument");
        }
        let user = comm_buf(buf, count, datatype)?;
        // The outgoing data (its packed stream) is copied now, into memory the request owns
        // until the send is done, so that the receive can land in the same buffer.
        let copy = user.to_vec();
        let r = c.engine.isendrecv(c.comm, SendData::Owned(copy), dest, sendtag, user, source, recvtag)?;
        out(request, handles::request_handle(r))
    })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn PMPI_Isendrecv_replace(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> c_int {
    PMPI_Isendrecv_replace_c(buf, count.into(), datatype, dest, sendtag, source, recvtag, comm, request)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Probe(source: c_int, tag: c_int, comm: MPI_Comm, status: *mut MPI_Status) -> c_int {
    api(comm, "MPI_Probe", || {
        let c = call(comm)?;
        let st = c.engine.probe(c.comm, source, tag)?;
        write_status(status, &st);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Iprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Iprobe", || {
        let c = call(comm)?;
        let found = c.engine.iprobe(c.comm, source, tag)?;
        if let Some(st) = &found {
            write_status(status, st);
        }
        out(flag, found.is_some() as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Mprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Mprobe", || {
        let c = call(comm)?;
        if message.is_null() {
            return fail(ErrorClass::Arg, "null message argument");
        }
        let (m, st) = c.engine.mprobe(c.comm, source, tag)?;
        write_status(status, &st);
        out(message, handles::message_handle(m))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Improbe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> c_int {
    api(comm, "MPI_Improbe", || {
        let c = call(comm)?;
        if message.is_null() || flag.is_null() {
            return fail(ErrorClass::Arg, "null flag or message argument");
        }
        match c.engine.improbe(c.comm, source, tag)? {
            Some((m, st)) => {
                write_status(status, &st);
                out(message, handles::message_handle(m))?;
                out(flag, 1)
            }
            None => out(flag, 0),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Mrecv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Mrecv", || {
        let e = engine()?;
        let m = handles::message(crate::read(message)?)?;
        let r = e.imrecv(m, comm_buf(buf, count, datatype)?)?;
        out(message, MPI_MESSAGE_NULL)?;
        let st = e.wait(r)?;
        write_status(status, &st);
        crate::status::check(&st)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Mrecv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> c_int {
    PMPI_Mrecv_c(buf, count.into(), datatype, message, status)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Imrecv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    request: *mut MPI_Request,
) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Imrecv", || {
        let e = engine()?;
        if request.is_null() {
            return fail(ErrorClass::Arg, "null request argument");
        }
        let m = handles::message(crate::read(message)?)?;
        let r = e.imrecv(m, comm_buf(buf, count, datatype)?)?;
        out(message, MPI_MESSAGE_NULL)?;
        out(request, handles::request_handle(r))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Imrecv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    request: *mut MPI_Request,
) -> c_int {
    PMPI_Imrecv_c(buf, count.into(), datatype, message, request)
}

// Buffers for buffered sends: the process's (MPI_Buffer_*) and, MPI-4.1, a communicator's
// (MPI_Comm_*_buffer), which its buffered sends use first. MPI_BUFFER_AUTOMATIC attaches a
// buffer of no fixed size: our buffered sends copy into memory the engine owns anyway and
// only account against the attached size, so it is an unlimited size; detach hands the
// constant back with size 0.

unsafe fn attach(scope: BufferScope, buffer: *mut c_void, size: MPI_Count) -> Result<()> {
    if buffer == MPI_BUFFER_AUTOMATIC {
        return engine()?.buffer_attach(scope, usize::MAX, buffer as usize);
    }
    if size < 0 {
        return fail(ErrorClass::Arg, format!("negative buffer size {size}"));
    }
    if buffer.is_null() && size > 0 {
        return fail(ErrorClass::Buffer, "null buffer");
    }
    engine()?.buffer_attach(scope, size as usize, buffer as usize)
}

unsafe fn detach(scope: BufferScope, buffer_addr: *mut c_void, size: *mut MPI_Count) -> Result<()> {
    let (len, addr) = engine()?.buffer_detach(scope)?;
    let len = if addr == MPI_BUFFER_AUTOMATIC as usize { 0 } else { len };
    // `buffer_addr` is declared `void *` but points to the caller's `void *`.
    out(buffer_addr as *mut *mut c_void, addr as *mut c_void)?;
    out(size, len as MPI_Count)
}

/// The `int`-size form of a detach: the size narrowed after the `_c` form succeeded.
unsafe fn detach_int(name: &'static str, handler: MPI_Comm, rc_c: impl FnOnce(*mut MPI_Count) -> c_int, size: *mut c_int) -> c_int {
    let mut n: MPI_Count = 0;
    let rc = rc_c(&mut n);
    if rc == MPI_SUCCESS {
        if let Err(e) = out(size, n as c_int) {
            return crate::errors::raise(handler, name, e);
        }
    }
    rc
}

fn comm_scope(comm: MPI_Comm) -> Result<BufferScope> {
    Ok(BufferScope::Comm(handles::comm(comm)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_attach_c(buffer: *mut c_void, size: MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Buffer_attach", || attach(BufferScope::Process, buffer, size))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_attach(buffer: *mut c_void, size: c_int) -> c_int {
    PMPI_Buffer_attach_c(buffer, size.into())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_detach_c(buffer_addr: *mut c_void, size: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Buffer_detach", || detach(BufferScope::Process, buffer_addr, size))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_detach(buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
    detach_int("MPI_Buffer_detach", MPI_COMM_SELF, |n| PMPI_Buffer_detach_c(buffer_addr, n), size)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_flush() -> c_int {
    api(MPI_COMM_SELF, "MPI_Buffer_flush", || engine()?.buffer_flush(BufferScope::Process))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Buffer_iflush(request: *mut MPI_Request) -> c_int {
    api(MPI_COMM_SELF, "MPI_Buffer_iflush", || {
        crate::comm::check_out(request, "request")?;
        let r = engine()?.buffer_iflush(BufferScope::Process)?;
        out(request, handles::request_handle(r))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_attach_buffer_c(comm: MPI_Comm, buffer: *mut c_void, size: MPI_Count) -> c_int {
    api(comm, "MPI_Comm_attach_buffer", || attach(comm_scope(comm)?, buffer, size))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_attach_buffer(comm: MPI_Comm, buffer: *mut c_void, size: c_int) -> c_int {
    PMPI_Comm_attach_buffer_c(comm, buffer, size.into())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_detach_buffer_c(comm: MPI_Comm, buffer_addr: *mut c_void, size: *mut MPI_Count) -> c_int {
    api(comm, "MPI_Comm_detach_buffer", || detach(comm_scope(comm)?, buffer_addr, size))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_detach_buffer(comm: MPI_Comm, buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
    detach_int("MPI_Comm_detach_buffer", comm, |n| PMPI_Comm_detach_buffer_c(comm, buffer_addr, n), size)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_flush_buffer(comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Comm_flush_buffer", || engine()?.buffer_flush(comm_scope(comm)?))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_iflush_buffer(comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
    api(comm, "MPI_Comm_iflush_buffer", || {
        crate::comm::check_out(request, "request")?;
        let r = engine()?.buffer_iflush(comm_scope(comm)?)?;
        out(request, handles::request_handle(r))
    })
}
