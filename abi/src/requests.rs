//! Completing requests: the wait and test families, cancel, free, start.

use std::ffi::c_int;

use mpi_core::engine::{empty_status, CommId, Request, State};
use mpi_core::error::{fail, ErrorClass, MpiError, Result};
use mpi_core::protocol::Status;

use crate::errors::{api, raise};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::status::{check, write_status, write_status_with_error};
use crate::{engine, handles, out};

/// Whose error handler a completion call raises its error on: the communicator of the first
/// request found complete with an error (a truncated receive, ...), else `MPI_COMM_WORLD`.
#[derive(Default)]
struct Blame(Option<CommId>);

/// `errors::api` for the completion calls: the handler is chosen by `Blame` after the call.
fn api_blamed(name: &'static str, body: impl FnOnce(&mut Blame) -> Result<()>) -> c_int {
    let mut blame = Blame::default();
    match body(&mut blame) {
        Ok(()) => MPI_SUCCESS,
        Err(e) => raise(blame.0.map_or(MPI_COMM_WORLD, handles::comm_handle), name, e),
    }
}

/// Tests one request under the engine lock. On completion, the handle becomes
/// `MPI_REQUEST_NULL` unless the request is persistent; a completion with an error names the
/// request's communicator in `blame` (the first one does).
fn test_one(st: &mut State, handle: &mut MPI_Request, blame: &mut Blame) -> Result<Option<Status>> {
    let Some(r) = handles::request(*handle)? else {
        return Ok(Some(empty_status()));
    };
    let persistent = st.is_persistent(r);
    let comm = st.request_comm(r);
    let status = st.test(r)?;
    if status.is_some_and(|s| s.error.is_some()) && blame.0.is_none() {
        blame.0 = comm;
    }
    if status.is_some() && !persistent {
        *handle = MPI_REQUEST_NULL;
    }
    Ok(status)
}

/// A request handle that must not be `MPI_REQUEST_NULL` (free, cancel, start).
fn live_request(handle: MPI_Request, call: &str) -> Result<Request> {
    match handles::request(handle)? {
        Some(r) => Ok(r),
        None => fail(ErrorClass::Request, format!("{call} of MPI_REQUEST_NULL")),
    }
}

/// Whether a request takes part in `MPI_Waitany`/`Waitsome` (not null, not inactive).
fn is_active(st: &State, handle: MPI_Request) -> Result<Option<Request>> {
    Ok(handles::request(handle)?.filter(|r| !st.is_inactive(*r)))
}

/// The application's request array.
unsafe fn requests<'a>(count: c_int, reqs: *mut MPI_Request) -> Result<&'a mut [MPI_Request]> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative request count {count}"));
    }
    if count == 0 {
        return Ok(&mut []);
    }
    if reqs.is_null() {
        return fail(ErrorClass::Arg, "null request array");
    }
    // SAFETY: the application passes `count` requests.
    Ok(unsafe { std::slice::from_raw_parts_mut(reqs, count as usize) })
}

unsafe fn status_at(statuses: *mut MPI_Status, i: usize) -> *mut MPI_Status {
    if statuses.is_null() {
        std::ptr::null_mut()
    } else {
        unsafe { statuses.add(i) }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Wait(request: *mut MPI_Request, status: *mut MPI_Status) -> c_int {
    api_blamed("MPI_Wait", |blame| {
        let mut h = crate::read(request)?;
        let st = if handles::request(h)?.is_none() {
            empty_status()
        } else {
            engine()?.wait_until(|state| test_one(state, &mut h, blame))?
        };
        out(request, h)?;
        write_status(status, &st);
        check(&st)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Test(request: *mut MPI_Request, flag: *mut c_int, status: *mut MPI_Status) -> c_int {
    api_blamed("MPI_Test", |blame| {
        let mut h = crate::read(request)?;
        let done = engine()?.with_state(|state| test_one(state, &mut h, blame))?;
        out(request, h)?;
        out(flag, done.is_some() as c_int)?;
        match done {
            Some(st) => {
                write_status(status, &st);
                check(&st)
            }
            None => Ok(()),
        }
    })
}

/// How a pass over a request array completes one request: `test_one` for the wait and test
/// families, `peek_one` for `MPI_Request_get_status_*`, which leave every request as it is.
type Complete<'a> = dyn FnMut(&mut State, &mut MPI_Request) -> Result<Option<Status>> + 'a;

/// One pass of `MPI_Testany`: `Some(Some(i))` when request `i` completed, `Some(None)` when
/// no request is active, `None` when active requests remain incomplete.
fn any_pass(state: &mut State, reqs: &mut [MPI_Request], complete: &mut Complete) -> Result<Option<Option<(usize, Status)>>> {
    let mut active = false;
    for (i, h) in reqs.iter_mut().enumerate() {
        if is_active(state, *h)?.is_none() {
            continue;
        }
        active = true;
        if let Some(st) = complete(state, h)? {
            return Ok(Some(Some((i, st))));
        }
    }
    Ok(if active { None } else { Some(None) })
}

unsafe fn finish_any(found: Option<(usize, Status)>, index: *mut c_int, status: *mut MPI_Status) -> Result<()> {
    match found {
        Some((i, st)) => {
            out(index, i as c_int)?;
            write_status(status, &st);
            check(&st)
        }
        None => {
            out(index, MPI_UNDEFINED)?;
            // The standard's empty status has MPI_ERROR = MPI_SUCCESS (MPI-4.1 3.7.3), so
            // this one is written in full (mpi4py's test_request checks it).
            write_status_with_error(status, &empty_status());
            Ok(())
        }
    }
}

/// `MPI_Testany`'s outputs from `any_pass`'s answer.
unsafe fn finish_testany(found: Option<Option<(usize, Status)>>, index: *mut c_int, flag: *mut c_int, status: *mut MPI_Status) -> Result<()> {
    match found {
        Some(found) => {
            out(flag, 1)?;
            finish_any(found, index, status)
        }
        None => {
            out(flag, 0)?;
            out(index, MPI_UNDEFINED)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Waitany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    status: *mut MPI_Status,
) -> c_int {
    api_blamed("MPI_Waitany", |blame| {
        let reqs = requests(count, array_of_requests)?;
        let found = engine()?.wait_until(|state| any_pass(state, reqs, &mut |s, h| test_one(s, h, blame)))?;
        finish_any(found, index, status)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Testany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> c_int {
    api_blamed("MPI_Testany", |blame| {
        let reqs = requests(count, array_of_requests)?;
        let found = engine()?.with_state(|state| any_pass(state, reqs, &mut |s, h| test_one(s, h, blame)))?;
        finish_testany(found, index, flag, status)
    })
}

/// Writes the statuses of a multiple-completion call, `status_of(k)` for the k-th completed
/// request. With an error among them, every status gets its `MPI_ERROR` and the call fails
/// with `MPI_ERR_IN_STATUS`, as the standard asks.
unsafe fn write_statuses(done: &[(usize, Status)], status_of: impl Fn(usize, usize) -> *mut MPI_Status) -> Result<()> {
    let failed = done.iter().any(|(_, st)| st.error.is_some());
    for (k, (i, st)) in done.iter().enumerate() {
        let ptr = status_of(k, *i);
        if failed {
            write_status_with_error(ptr, st);
        } else {
            write_status(ptr, st);
        }
    }
    if failed {
        return Err(MpiError::new(ErrorClass::InStatus, "a request completed with an error; see the statuses"));
    }
    Ok(())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Waitall(count: c_int, array_of_requests: *mut MPI_Request, array_of_statuses: *mut MPI_Status) -> c_int {
    api_blamed("MPI_Waitall", |blame| {
        let reqs = requests(count, array_of_requests)?;
        // One progress round serves every request still open: a window of sends that
        // completed at once costs one pass, not one round per request.
        let mut statuses: Vec<Option<Status>> = vec![None; reqs.len()];
        let mut open = reqs.len();
        engine()?.wait_until(|state| {
            for (h, slot) in reqs.iter_mut().zip(statuses.iter_mut()) {
                if slot.is_none() {
                    *slot = test_one(state, h, blame)?;
                    open -= slot.is_some() as usize;
                }
            }
            Ok((open == 0).then_some(()))
        })?;
        let done: Vec<(usize, Status)> = statuses.into_iter().enumerate().map(|(i, st)| (i, st.unwrap_or_else(empty_status))).collect();
        write_statuses(&done, |_, i| status_at(array_of_statuses, i))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Testall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> c_int {
    api_blamed("MPI_Testall", |blame| {
        let reqs = requests(count, array_of_requests)?;
        let done = engine()?.with_state(|state| {
            // Complete nothing unless everything is complete.
            for h in reqs.iter() {
                if let Some(r) = handles::request(*h)? {
                    if state.peek(r)?.is_none() {
                        return Ok(None);
                    }
                }
            }
            let mut done = Vec::with_capacity(reqs.len());
            for (i, h) in reqs.iter_mut().enumerate() {
                done.push((i, test_one(state, h, blame)?.unwrap_or_else(empty_status)));
            }
            Ok(Some(done))
        })?;
        out(flag, done.is_some() as c_int)?;
        match done {
            Some(done) => write_statuses(&done, |_, i| status_at(array_of_statuses, i)),
            None => Ok(()),
        }
    })
}

/// One pass of `MPI_Testsome`: every completed request, or `None` when no request is active.
fn some_pass(state: &mut State, reqs: &mut [MPI_Request], complete: &mut Complete) -> Result<Option<Vec<(usize, Status)>>> {
    let mut active = false;
    let mut done = Vec::new();
    for (i, h) in reqs.iter_mut().enumerate() {
        if is_active(state, *h)?.is_none() {
            continue;
        }
        active = true;
        if let Some(st) = complete(state, h)? {
            done.push((i, st));
        }
    }
    Ok(active.then_some(done))
}

unsafe fn finish_some(
    done: Option<Vec<(usize, Status)>>,
    outcount: *mut c_int,
    indices: *mut c_int,
    statuses: *mut MPI_Status,
) -> Result<()> {
    let Some(done) = done else {
        return out(outcount, MPI_UNDEFINED);
    };
    out(outcount, done.len() as c_int)?;
    if !done.is_empty() && indices.is_null() {
        return fail(ErrorClass::Arg, "null indices array");
    }
    for (k, (i, _)) in done.iter().enumerate() {
        *indices.add(k) = *i as c_int;
    }
    write_statuses(&done, |k, _| status_at(statuses, k))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Waitsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> c_int {
    api_blamed("MPI_Waitsome", |blame| {
        let reqs = requests(incount, array_of_requests)?;
        let done = engine()?.wait_until(|state| {
            Ok(match some_pass(state, reqs, &mut |s, h| test_one(s, h, blame))? {
                None => Some(None),
                Some(d) if d.is_empty() => None,
                Some(d) => Some(Some(d)),
            })
        })?;
        finish_some(done, outcount, array_of_indices, array_of_statuses)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Testsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> c_int {
    api_blamed("MPI_Testsome", |blame| {
        let reqs = requests(incount, array_of_requests)?;
        let done = engine()?.with_state(|state| some_pass(state, reqs, &mut |s, h| test_one(s, h, blame)))?;
        finish_some(done, outcount, array_of_indices, array_of_statuses)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Request_free(request: *mut MPI_Request) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Request_free", || {
        let r = live_request(crate::read(request)?, "MPI_Request_free")?;
        engine()?.free(r)?;
        out(request, MPI_REQUEST_NULL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Request_get_status(request: MPI_Request, flag: *mut c_int, status: *mut MPI_Status) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Request_get_status", || {
        let st = match handles::request(request)? {
            None => Some(empty_status()),
            Some(r) => engine()?.with_state(|state| state.peek(r))?,
        };
        out(flag, st.is_some() as c_int)?;
        if let Some(st) = st {
            write_status(status, &st);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Cancel(request: *mut MPI_Request) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Cancel", || {
        let r = live_request(crate::read(request)?, "MPI_Cancel")?;
        engine()?.cancel(r)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Start(request: *mut MPI_Request) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Start", || {
        let r = live_request(crate::read(request)?, "MPI_Start")?;
        engine()?.start(r)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Startall(count: c_int, array_of_requests: *mut MPI_Request) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Startall", || {
        let e = engine()?;
        for h in requests(count, array_of_requests)?.iter() {
            e.start(live_request(*h, "MPI_Startall")?)?;
        }
        Ok(())
    })
}

/// The application's request array of the `MPI_Request_get_status_*` calls (read only: the
/// passes work on a copy).
unsafe fn const_requests<'a>(count: c_int, reqs: *const MPI_Request) -> Result<&'a [MPI_Request]> {
    Ok(unsafe { requests(count, reqs as *mut MPI_Request) }?)
}

/// The status of `handle` if it is complete, without completing it; `MPI_REQUEST_NULL` and
/// inactive persistent requests are complete with an empty status.
fn peek_one(state: &State, handle: MPI_Request) -> Result<Option<Status>> {
    match handles::request(handle)? {
        None => Ok(Some(empty_status())),
        Some(r) => state.peek(r),
    }
}

// MPI-4.1's MPI_Request_get_status_{any,all,some}: MPI_Testany/Testall/Testsome that leave
// every request as it is (not freed, not set to MPI_REQUEST_NULL), as MPI_Request_get_status
// is to MPI_Test. mpi4py's pickle-5 utilities (mpi4py.util.pkl5) use them.

#[no_mangle]
pub unsafe extern "C" fn PMPI_Request_get_status_any(
    count: c_int,
    array_of_requests: *const MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Request_get_status_any", || {
        let mut reqs = const_requests(count, array_of_requests)?.to_vec();
        let found = engine()?.with_state(|state| any_pass(state, &mut reqs, &mut |s, h| peek_one(s, *h)))?;
        finish_testany(found, index, flag, status)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Request_get_status_all(
    count: c_int,
    array_of_requests: *const MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Request_get_status_all", || {
        let reqs = const_requests(count, array_of_requests)?;
        let done = engine()?.with_state(|state| {
            let mut done = Vec::with_capacity(reqs.len());
            for (i, h) in reqs.iter().enumerate() {
                match peek_one(state, *h)? {
                    Some(st) => done.push((i, st)),
                    None => return Ok(None),
                }
            }
            Ok(Some(done))
        })?;
        out(flag, done.is_some() as c_int)?;
        match done {
            Some(done) => write_statuses(&done, |_, i| status_at(array_of_statuses, i)),
            None => Ok(()),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Request_get_status_some(
    incount: c_int,
    array_of_requests: *const MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> c_int {
    api(MPI_COMM_WORLD, "MPI_Request_get_status_some", || {
        let mut reqs = const_requests(incount, array_of_requests)?.to_vec();
        let done = engine()?.with_state(|state| some_pass(state, &mut reqs, &mut |s, h| peek_one(s, *h)))?;
        finish_some(done, outcount, array_of_indices, array_of_statuses)
    })
}
