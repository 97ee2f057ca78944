//! Communicator management: dup, split, create, free, compare, names, groups, and
//! intercommunicators (create, merge, remote size and group; the engine's `intercomm.rs`).
//!
//! A created communicator's handle is the engine's token for it (`handles::comm_handle`); it
//! inherits its parent's error handler (an intercommunicator its local communicator's, a
//! merged one its intercommunicator's).
//!
//! `MPI_Comm_idup` and `MPI_Comm_idup_with_info` are nonblocking: the handle they return
//! names a placeholder until the request completes (the engine's `idup.rs` runs the context
//! agreement as rounds of the progress engine), so members may reach the call at different
//! times, after messages that need the others' progress. Attributes are copied by their
//! callbacks during the call, as for `MPI_Comm_dup`.
//!
//! Intercommunicators: dup and idup copy both groups; `MPI_Comm_split`, `MPI_Comm_create` and
//! `MPI_Comm_split_type` on an intercommunicator return intercommunicators (the standard's
//! rules: the same colour, or the groups each side passed, pair up; `MPI_COMM_NULL` where a
//! side is empty). `MPI_Comm_create_group` needs an intracommunicator, as the standard says.

use std::ffi::{c_char, CStr};

use mpi_core::engine::CommId;
use mpi_core::error::{fail, ErrorClass, Result};

use crate::errors::{api, check_errhandler, forget_errhandler, inherit_errhandler, raise_with, set_comm_errhandler, ErrKind};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::group::{comparison, group_handle};
use crate::{engine, handles, out, read, write_c_string};

/// The handle of a communicator created from `parent` (`MPI_COMM_NULL` for `None`).
pub(crate) fn created(parent: MPI_Comm, c: Option<CommId>) -> MPI_Comm {
    match c {
        Some(c) => {
            let h = handles::comm_handle(c);
            inherit_errhandler(parent, h);
            h
        }
        None => MPI_COMM_NULL,
    }
}

pub(crate) fn check_out<T>(p: *mut T, what: &str) -> Result<()> {
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} argument"));
    }
    Ok(())
}

/// `MPI_Comm_dup` and its forms. The copy gets the parent's hints, or those of `info` for the
/// `_with_info` forms (`Some`), and the parent's attributes through their copy callbacks; a
/// failing callback fails the call, and the half-made copy is freed (for `MPI_Comm_idup`, once
/// its agreement, which the other members need, has ended). The nonblocking forms
/// (`request`) return the copy's handle at once; it may be used once the request completes.
unsafe fn dup(name: &'static str, comm: MPI_Comm, info: Option<MPI_Info>, newcomm: *mut MPI_Comm, request: Option<*mut MPI_Request>) -> c_int {
    api(comm, name, || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        check_out(newcomm, "newcomm")?;
        if let Some(r) = request {
            check_out(r, "request")?;
        }
        let hints = match info {
            Some(i) => crate::info::info_arg(i)?.unwrap_or_default(),
            None => crate::info::comm_hints(comm),
        };
        let (id, req) = match request {
            Some(_) => {
                let (id, req) = e.comm_idup(c)?;
                (id, Some(req))
            }
            None => (e.comm_dup(c)?, None),
        };
        let new = created(comm, Some(id));
        crate::info::set_comm_hints(new, hints);
        if let Err(err) = crate::attr::copy_comm_attrs(comm, new) {
            crate::info::forget_comm(new);
            forget_errhandler(new);
            match req {
                Some(req) => {
                    e.comm_idup_abandon(id);
                    e.free(req)?;
                }
                None => e.comm_free(id)?,
            }
            return Err(err);
        }
        out(newcomm, new)?;
        if let (Some(r), Some(req)) = (request, req) {
            out(r, handles::request_handle(req))?;
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_dup(comm: MPI_Comm, newcomm: *mut MPI_Comm) -> c_int {
    dup("MPI_Comm_dup", comm, None, newcomm, None)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_dup_with_info(comm: MPI_Comm, info: MPI_Info, newcomm: *mut MPI_Comm) -> c_int {
    dup("MPI_Comm_dup_with_info", comm, Some(info), newcomm, None)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_idup(comm: MPI_Comm, newcomm: *mut MPI_Comm, request: *mut MPI_Request) -> c_int {
    dup("MPI_Comm_idup", comm, None, newcomm, Some(request))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_idup_with_info(comm: MPI_Comm, info: MPI_Info, newcomm: *mut MPI_Comm, request: *mut MPI_Request) -> c_int {
    dup("MPI_Comm_idup_with_info", comm, Some(info), newcomm, Some(request))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_split(comm: MPI_Comm, color: c_int, key: c_int, newcomm: *mut MPI_Comm) -> c_int {
    api(comm, "MPI_Comm_split", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        check_out(newcomm, "newcomm")?;
        let color = (color != MPI_UNDEFINED).then_some(color);
        out(newcomm, created(comm, e.comm_split(c, color, key)?))
    })
}

/// `MPI_Comm_split_type`. `MPI_COMM_TYPE_SHARED` groups the ranks of one host (on an
/// intercommunicator, the processes of one host in each group, paired as `MPI_Comm_split`
/// pairs colours, which is also what MPICH does).
/// `MPI_COMM_TYPE_HW_UNGUIDED` must return communicators strictly smaller than the parent:
/// the host split when it is, `MPI_COMM_NULL` otherwise (no finer level is known).
/// `MPI_COMM_TYPE_HW_GUIDED` and `MPI_COMM_TYPE_RESOURCE_GUIDED` split by the resource the
/// info key `mpi_hw_resource_type` names: `mpi_shared_memory` (the standard's one predefined
/// value) is the host split; any other or none gives `MPI_COMM_NULL`, as the standard says for
/// a resource the implementation does not know.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_split_type(comm: MPI_Comm, split_type: c_int, key: c_int, info: MPI_Info, newcomm: *mut MPI_Comm) -> c_int {
    api(comm, "MPI_Comm_split_type", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        check_out(newcomm, "newcomm")?;
        let new = match split_type {
            MPI_UNDEFINED => e.comm_split(c, None, key)?,
            MPI_COMM_TYPE_SHARED => e.comm_split_shared(c, key)?,
            MPI_COMM_TYPE_HW_UNGUIDED => {
                let host = e.comm_split_shared(c, key)?;
                match host {
                    Some(h) if has_all_of(e, h, c)? => {
                        e.comm_free(h)?;
                        None
                    }
                    other => other,
                }
            }
            MPI_COMM_TYPE_HW_GUIDED | MPI_COMM_TYPE_RESOURCE_GUIDED => {
                let hints = crate::info::info_arg(info)?;
                let resource = hints.as_ref().map(|h| h.get("mpi_hw_resource_type")).transpose()?.flatten();
                if resource == Some("mpi_shared_memory") {
                    e.comm_split_shared(c, key)?
                } else {
                    e.comm_size(c)?;
                    None
                }
            }
            _ => return fail(ErrorClass::Arg, format!("{split_type} is not a split type")),
        };
        out(newcomm, created(comm, new))
    })
}

/// Whether `part`, split from `whole`, has all its processes: both groups, for an
/// intercommunicator (so that both groups decide alike).
fn has_all_of(e: &mpi_core::engine::Engine, part: CommId, whole: CommId) -> Result<bool> {
    if e.comm_size(part)? != e.comm_size(whole)? {
        return Ok(false);
    }
    if e.comm_is_inter(whole)? {
        return Ok(e.comm_remote_size(part)? == e.comm_remote_size(whole)?);
    }
    Ok(true)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create(comm: MPI_Comm, group: MPI_Group, newcomm: *mut MPI_Comm) -> c_int {
    api(comm, "MPI_Comm_create", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        let g = crate::group::group(group)?;
        check_out(newcomm, "newcomm")?;
        out(newcomm, created(comm, e.comm_create(c, &g)?))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create_group(comm: MPI_Comm, group: MPI_Group, tag: c_int, newcomm: *mut MPI_Comm) -> c_int {
    api(comm, "MPI_Comm_create_group", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        let g = crate::group::group(group)?;
        check_out(newcomm, "newcomm")?;
        out(newcomm, created(comm, e.comm_create_group(c, &g, tag)?))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_free(comm: *mut MPI_Comm) -> c_int {
    let h = if comm.is_null() { MPI_COMM_NULL } else { *comm };
    api(h, "MPI_Comm_free", || {
        let e = engine()?;
        let h = read(comm)?;
        let c = handles::comm(h)?;
        e.comm_size(c)?;
        // Delete callbacks run first; one that fails leaves the communicator as it is.
        crate::attr::delete_comm_attrs(h)?;
        e.comm_free(c)?;
        forget_errhandler(h);
        crate::info::forget_comm(h);
        out(comm, MPI_COMM_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_compare(comm1: MPI_Comm, comm2: MPI_Comm, result: *mut c_int) -> c_int {
    api(comm1, "MPI_Comm_compare", || {
        let e = engine()?;
        let cmp = e.comm_compare(handles::comm(comm1)?, handles::comm(comm2)?)?;
        out(result, comparison(cmp))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_group(comm: MPI_Comm, group: *mut MPI_Group) -> c_int {
    api(comm, "MPI_Comm_group", || {
        let g = engine()?.comm_group(handles::comm(comm)?)?;
        check_out(group, "group")?;
        out(group, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_test_inter(comm: MPI_Comm, flag: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_test_inter", || {
        let inter = engine()?.comm_is_inter(handles::comm(comm)?)?;
        out(flag, c_int::from(inter))
    })
}

/// `MPI_COMM_NULL`: a process has a parent only when `MPI_Comm_spawn` started it, and no
/// process of ours is started that way (dynamic processes are not implemented), so every
/// process is one `mpirun` (or another launcher) started.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_parent(parent: *mut MPI_Comm) -> c_int {
    api(MPI_COMM_SELF, "MPI_Comm_get_parent", || {
        engine()?;
        out(parent, MPI_COMM_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_remote_size(comm: MPI_Comm, size: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_remote_size", || {
        let n = engine()?.comm_remote_size(handles::comm(comm)?)?;
        out(size, n as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_remote_group(comm: MPI_Comm, group: *mut MPI_Group) -> c_int {
    api(comm, "MPI_Comm_remote_group", || {
        let g = engine()?.comm_remote_group(handles::comm(comm)?)?;
        check_out(group, "group")?;
        out(group, group_handle(g))
    })
}

/// `MPI_Intercomm_create`. `peer_comm` and `remote_leader` matter only at the local leader,
/// so the others may pass anything there (`MPI_COMM_NULL` included); an error the leader
/// meets with them reaches every member of the local group.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Intercomm_create(
    local_comm: MPI_Comm,
    local_leader: c_int,
    peer_comm: MPI_Comm,
    remote_leader: c_int,
    tag: c_int,
    newintercomm: *mut MPI_Comm,
) -> c_int {
    api(local_comm, "MPI_Intercomm_create", || {
        let e = engine()?;
        let c = handles::comm(local_comm)?;
        check_out(newintercomm, "newintercomm")?;
        let new = e.intercomm_create(c, local_leader, handles::comm(peer_comm), remote_leader, tag)?;
        out(newintercomm, created(local_comm, Some(new)))
    })
}

/// `MPI_Intercomm_create_from_groups`: collective over both groups; its errors go to
/// `errhandler`, which the new intercommunicator gets, with the hints of `info`.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Intercomm_create_from_groups(
    local_group: MPI_Group,
    local_leader: c_int,
    remote_group: MPI_Group,
    remote_leader: c_int,
    stringtag: *const c_char,
    info: MPI_Info,
    errhandler: MPI_Errhandler,
    newintercomm: *mut MPI_Comm,
) -> c_int {
    let made = || -> Result<()> {
        let e = engine()?;
        check_errhandler(errhandler, ErrKind::Comm)?;
        let (local, remote) = (crate::group::group(local_group)?, crate::group::group(remote_group)?);
        let tag = unsafe { crate::session::string_tag(stringtag) }?;
        let hints = crate::info::info_arg(info)?.unwrap_or_default();
        check_out(newintercomm, "newintercomm")?;
        let id = e.intercomm_create_from_groups(&local, local_leader, &remote, remote_leader, tag)?;
        let h = handles::comm_handle(id);
        set_comm_errhandler(h, errhandler)?;
        crate::info::set_comm_hints(h, hints);
        out(newintercomm, h)
    };
    match made() {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_with(errhandler, ErrKind::Comm, "MPI_Intercomm_create_from_groups", e),
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Intercomm_merge(intercomm: MPI_Comm, high: c_int, newintracomm: *mut MPI_Comm) -> c_int {
    api(intercomm, "MPI_Intercomm_merge", || {
        let e = engine()?;
        let c = handles::comm(intercomm)?;
        check_out(newintracomm, "newintracomm")?;
        let new = e.intercomm_merge(c, high != 0)?;
        out(newintracomm, created(intercomm, Some(new)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_set_name(comm: MPI_Comm, comm_name: *const c_char) -> c_int {
    api(comm, "MPI_Comm_set_name", || {
        let e = engine()?;
        let c = handles::comm(comm)?;
        if comm_name.is_null() {
            return fail(ErrorClass::Arg, "null comm_name argument");
        }
        // SAFETY: a NUL-terminated string, as the standard says.
        let name = unsafe { CStr::from_ptr(comm_name) }.to_string_lossy();
        e.comm_set_name(c, &name)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_name(comm: MPI_Comm, comm_name: *mut c_char, resultlen: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_get_name", || {
        // MPI-4.1: a null handle's name is the handle's name (as MPICH answers).
        let name = if comm == MPI_COMM_NULL {
            "MPI_COMM_NULL".to_string()
        } else {
            engine()?.comm_name(handles::comm(comm)?)?
        };
        check_out(resultlen, "resultlen")?;
        write_c_string(comm_name, resultlen, &name, MPI_MAX_OBJECT_NAME)
    })
}
