//! MPI-4 sessions (MPI-5.0 §11.3): `MPI_Session_init`/`finalize`, process sets, groups from
//! them, and communicators built from a group without `MPI_Init`.
//!
//! A session shares the process's one engine with the world model: whichever of `MPI_Init` and
//! `MPI_Session_init` comes first starts it, and it is finalized when the world model has ended
//! (or never began) and the last session ends (`init.rs`). After that nothing can start it
//! again: a program may open sessions before, during and after the world model, but not once
//! everything has been finalized (the standard leaves this to the implementation).
//!
//! The process sets are the standard's two: `mpi://WORLD` (every process of the job, in world
//! rank order) and `mpi://SELF` (this process). `MPI_Comm_create_from_group` creates over the
//! group with `MPI_Comm_create_group`'s machinery on the world communicator's collective
//! context, which exists whether or not `MPI_Init` was called; its string tag is hashed to the
//! integer tag that keeps concurrent creations apart (strings that hash alike, or a tag equal
//! to a program's own `MPI_Comm_create_group` tag on `MPI_COMM_WORLD` modulo 2^28, are not
//! told apart when the creations overlap in time and processes).
//!
//! A session's handle is its slab token (generation in the high half), so a finalized one is
//! reported as `MPI_ERR_SESSION`. Errors of calls on a session go to its error handler (set at
//! `MPI_Session_init`); on an invalid session, to `MPI_COMM_SELF`'s.

use std::ffi::{c_char, CStr};
use std::sync::{LazyLock, Mutex, MutexGuard};

use mpi_core::engine::CommId;
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::group::Group;
use mpi_core::info::Info;
use mpi_core::slab::{Id, Slab};

use crate::errors::{api_session, check_errhandler, forget_session, raise_with, set_comm_errhandler, set_session_errhandler, ErrKind};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, handles, out, read};

struct Session {
    /// The hints it was given, with `thread_level` as provided.
    info: Info,
}

static SESSIONS: LazyLock<Mutex<Slab<Session>>> = LazyLock::new(Default::default);

fn sessions() -> MutexGuard<'static, Slab<Session>> {
    SESSIONS.lock().unwrap_or_else(|p| p.into_inner())
}

fn id_of(s: MPI_Session) -> Option<Id> {
    (s.0 >= 4096).then(|| Id::from_token(s.0 as u64))
}

/// Runs `f` on a live session (`MPI_ERR_SESSION` otherwise).
fn with_session<T>(s: MPI_Session, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
    let t = sessions();
    match id_of(s).and_then(|id| t.get(id)) {
        Some(session) => f(session),
        None if s == MPI_SESSION_NULL => fail(ErrorClass::Session, "MPI_SESSION_NULL is not a valid session here"),
        None => fail(ErrorClass::Session, format!("invalid or finalized session handle {:#x}", s.0)),
    }
}

const PSETS: [&str; 2] = ["mpi://WORLD", "mpi://SELF"];

/// The world ranks of a process set, by name (`MPI_ERR_ARG` for a name no set has).
fn pset_members(name: &str) -> Result<Vec<usize>> {
    let e = engine()?;
    match name {
        "mpi://WORLD" => Ok((0..e.size()).collect()),
        "mpi://SELF" => Ok(vec![e.rank()]),
        _ => fail(ErrorClass::Arg, format!("unknown process set name {name:?} (known: {})", PSETS.join(", "))),
    }
}

/// A C string argument (`MPI_ERR_ARG` when null).
unsafe fn c_str(p: *const c_char, what: &str) -> Result<String> {
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} argument"));
    }
    // SAFETY: a NUL-terminated string, as the standard says.
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The session's thread level: what the `thread_level` hint asks for (every level is
/// provided), `MPI_THREAD_SINGLE` when it asks for none or for something that is no level.
fn thread_level(hints: &Info) -> &'static str {
    const LEVELS: [&str; 4] = ["MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"];
    let asked = hints.get("thread_level").ok().flatten().unwrap_or("");
    LEVELS.into_iter().find(|l| l.eq_ignore_ascii_case(asked.trim())).unwrap_or(LEVELS[0])
}

unsafe fn session_init(info: MPI_Info, errhandler: MPI_Errhandler, session: *mut MPI_Session) -> Result<()> {
    if session.is_null() {
        return fail(ErrorClass::Arg, "null session argument");
    }
    check_errhandler(errhandler, ErrKind::Session)?;
    let mut hints = crate::info::info_arg(info)?.unwrap_or_default();
    let level = thread_level(&hints);
    hints.set("thread_level", level)?;
    crate::init::session_started()?;
    let h = MPI_Session(sessions().insert(Session { info: hints }).token() as usize);
    if let Err(e) = set_session_errhandler(h, errhandler) {
        sessions().remove(Id::from_token(h.0 as u64));
        crate::init::session_ended()?;
        return Err(e);
    }
    unsafe { out(session, h) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_init(info: MPI_Info, errhandler: MPI_Errhandler, session: *mut MPI_Session) -> c_int {
    match unsafe { session_init(info, errhandler, session) } {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_with(errhandler, ErrKind::Session, "MPI_Session_init", e),
    }
}

/// `MPI_Session_finalize`. Objects derived from the session are the application's to free
/// first (MPI-5.0 §11.3.1); the last session out, with no world model running, finalizes the
/// engine, which waits for every process of the job.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_finalize(session: *mut MPI_Session) -> c_int {
    let h = if session.is_null() { MPI_SESSION_NULL } else { unsafe { *session } };
    api_session(h, "MPI_Session_finalize", || {
        let h = unsafe { read(session)? };
        with_session(h, |_| Ok(()))?;
        if let Some(id) = id_of(h) {
            sessions().remove(id);
        }
        forget_session(h);
        unsafe { out(session, MPI_SESSION_NULL)? };
        crate::init::session_ended()
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_get_num_psets(session: MPI_Session, info: MPI_Info, npset_names: *mut c_int) -> c_int {
    api_session(session, "MPI_Session_get_num_psets", || {
        with_session(session, |_| Ok(()))?;
        crate::info::info_arg(info)?;
        unsafe { out(npset_names, PSETS.len() as c_int) }
    })
}

/// `MPI_Session_get_nth_pset`: with `*pset_len` 0, only the length the name needs (its NUL
/// included) is stored there; otherwise the name is copied, cut to `*pset_len - 1` bytes.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_get_nth_pset(session: MPI_Session, info: MPI_Info, n: c_int, pset_len: *mut c_int, pset_name: *mut c_char) -> c_int {
    api_session(session, "MPI_Session_get_nth_pset", || {
        with_session(session, |_| Ok(()))?;
        crate::info::info_arg(info)?;
        let Some(name) = usize::try_from(n).ok().and_then(|n| PSETS.get(n)) else {
            return fail(ErrorClass::Arg, format!("{n} is not a process set number (there are {})", PSETS.len()));
        };
        let room = unsafe { read(pset_len)? };
        match room {
            0 => unsafe { out(pset_len, name.len() as c_int + 1) },
            r if r < 0 => fail(ErrorClass::Arg, format!("negative pset_len {r}")),
            r => {
                if pset_name.is_null() {
                    return fail(ErrorClass::Arg, "null pset_name argument");
                }
                let k = name.len().min(r as usize - 1);
                // SAFETY: `pset_name` has `*pset_len` bytes, as the standard says.
                unsafe {
                    std::ptr::copy_nonoverlapping(name.as_ptr(), pset_name as *mut u8, k);
                    *pset_name.add(k) = 0;
                }
                Ok(())
            }
        }
    })
}

/// `MPI_Session_get_pset_info`: the one key the standard requires, `mpi_size`.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_get_pset_info(session: MPI_Session, pset_name: *const c_char, info: *mut MPI_Info) -> c_int {
    api_session(session, "MPI_Session_get_pset_info", || {
        with_session(session, |_| Ok(()))?;
        let name = unsafe { c_str(pset_name, "pset_name")? };
        let size = pset_members(&name)?.len();
        if info.is_null() {
            return fail(ErrorClass::Arg, "null info argument");
        }
        let mut i = Info::new();
        i.set("mpi_size", &size.to_string())?;
        unsafe { out(info, crate::info::new_handle(i)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Session_get_info(session: MPI_Session, info_used: *mut MPI_Info) -> c_int {
    api_session(session, "MPI_Session_get_info", || {
        let hints = with_session(session, |s| Ok(s.info.clone()))?;
        if info_used.is_null() {
            return fail(ErrorClass::Arg, "null info_used argument");
        }
        unsafe { out(info_used, crate::info::new_handle(hints)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_from_session_pset(session: MPI_Session, pset_name: *const c_char, newgroup: *mut MPI_Group) -> c_int {
    api_session(session, "MPI_Group_from_session_pset", || {
        with_session(session, |_| Ok(()))?;
        let name = unsafe { c_str(pset_name, "pset_name")? };
        let g = Group::new(pset_members(&name)?)?;
        if newgroup.is_null() {
            return fail(ErrorClass::Arg, "null newgroup argument");
        }
        unsafe { out(newgroup, crate::group::group_handle(g)) }
    })
}

/// The integer tag a C string tag stands for, after the standard's checks (not null, shorter
/// than `MPI_MAX_STRINGTAG_LEN`).
///
/// # Safety
/// A non-null `stringtag` must be NUL-terminated, as the standard says.
pub(crate) unsafe fn string_tag(stringtag: *const c_char) -> Result<i32> {
    if stringtag.is_null() {
        return fail(ErrorClass::Arg, "null stringtag argument");
    }
    // SAFETY: the caller's promise.
    let tag = unsafe { CStr::from_ptr(stringtag) }.to_bytes();
    if tag.len() >= MPI_MAX_STRINGTAG_LEN as usize {
        return fail(ErrorClass::Arg, format!("stringtag of {} bytes is longer than MPI_MAX_STRINGTAG_LEN - 1", tag.len()));
    }
    Ok(tag_of(tag))
}

/// The integer tag a string tag stands for: FNV-1a, cut to the 28 bits that
/// `MPI_Comm_create_group`'s tags keep apart.
fn tag_of(stringtag: &[u8]) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in stringtag {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h & 0x0FFF_FFFF) as i32
}

unsafe fn create_from_group(group: MPI_Group, stringtag: *const c_char, info: MPI_Info, errhandler: MPI_Errhandler, newcomm: *mut MPI_Comm) -> Result<()> {
    let e = engine()?;
    check_errhandler(errhandler, ErrKind::Comm)?;
    let g = crate::group::group(group)?;
    let tag = unsafe { string_tag(stringtag) }?;
    let hints = crate::info::info_arg(info)?.unwrap_or_default();
    if newcomm.is_null() {
        return fail(ErrorClass::Arg, "null newcomm argument");
    }
    // A process outside the group gets MPI_COMM_NULL, as from MPI_Comm_create_group.
    let Some(id) = e.comm_create_group(CommId::WORLD, &g, tag)? else {
        return unsafe { out(newcomm, MPI_COMM_NULL) };
    };
    let h = handles::comm_handle(id);
    set_comm_errhandler(h, errhandler)?;
    crate::info::set_comm_hints(h, hints);
    unsafe { out(newcomm, h) }
}

/// `MPI_Comm_create_from_group`: collective over `group`'s processes; its errors go to
/// `errhandler`, which the new communicator gets.
#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create_from_group(group: MPI_Group, stringtag: *const c_char, info: MPI_Info, errhandler: MPI_Errhandler, newcomm: *mut MPI_Comm) -> c_int {
    match unsafe { create_from_group(group, stringtag, info, errhandler, newcomm) } {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise_with(errhandler, ErrKind::Comm, "MPI_Comm_create_from_group", e),
    }
}
