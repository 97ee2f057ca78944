//! Attributes: keyvals with copy and delete callbacks, and the values cached on objects
//! (MPI-5.0 §7.7), plus the predefined attributes of communicators.
//!
//! Attributes are C pointers handed to C callbacks, so they live here, beside the handles,
//! not in the engine. A keyval is an `int` that encodes a table index and a generation
//! (`generation << 20 | index`, generation 1..=1023), so it is never `MPI_KEYVAL_INVALID` nor
//! a predefined keyval (501..=507, 601..=605) and a freed one is reported as `MPI_ERR_KEYVAL`
//! until its slot has been reused 1023 times.
//!
//! Callbacks are user code that may call MPI, attribute functions on the same object
//! included, so no lock is held while one runs: each operation reads what it needs, calls,
//! then stores the outcome. A callback that returns an error code fails the call that ran it
//! with that code: the copy in `MPI_Comm_dup` (the half-made copy is freed), the delete in
//! `MPI_Comm_delete_attr`, `MPI_Comm_set_attr` (replacing a value), `MPI_Comm_free`.
//!
//! `MPI_Comm_free_keyval` marks the keyval freed; values already set with it keep working
//! (copied on dup, deleted through its callback) and the keyval's record goes when the last of
//! them does.
//!
//! Communicators, datatypes and windows carry attributes (`MPI_Type_dup` copies them,
//! `MPI_Type_free` deletes them; predefined datatypes carry them too, for the life of the
//! process; windows are never copied, `MPI_Win_free` deletes theirs). One machinery serves
//! the three kinds ([`Object`]).

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock};

use mpi_core::engine::TAG_UB;
use mpi_core::error::{fail, ErrorClass, MpiError, Result};

use crate::errors::{api, api_win, class_of_code};
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, handles, out, read};

/// The kind of object a keyval is for: a keyval of one kind is `MPI_ERR_KEYVAL` on another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Object {
    Comm,
    Type,
    Win,
}

/// The C signatures of the three kinds' callbacks differ only in the handle type, which is a
/// pointer-sized value in the standard ABI; these are called with the handle's bits.
type CopyFn = unsafe extern "C" fn(usize, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int;
type DeleteFn = unsafe extern "C" fn(usize, c_int, *mut c_void, *mut c_void) -> c_int;

#[derive(Clone, Copy)]
enum CopyRule {
    /// `MPI_*_NULL_COPY_FN` (0): the attribute is not copied.
    Null,
    /// `MPI_*_DUP_FN` (1): the value is copied as is.
    Dup,
    User(CopyFn),
}

#[derive(Clone, Copy)]
struct Keyval {
    object: Object,
    copy: CopyRule,
    /// `None`: `MPI_*_NULL_DELETE_FN`.
    delete: Option<DeleteFn>,
    extra_state: usize,
    freed: bool,
    /// Values set with this keyval on live objects.
    uses: usize,
}

struct Slot {
    generation: u32,
    keyval: Option<Keyval>,
}

const INDEX_BITS: u32 = 20;
const MAX_GENERATION: u32 = (i32::MAX as u32) >> INDEX_BITS;

#[derive(Default)]
struct Attrs {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The values on each object, in the order they were first set.
    values: HashMap<(Object, usize), Vec<(c_int, usize)>>,
}

static ATTRS: LazyLock<Mutex<Attrs>> = LazyLock::new(Default::default);

fn attrs() -> MutexGuard<'static, Attrs> {
    ATTRS.lock().unwrap_or_else(|p| p.into_inner())
}

impl Attrs {
    fn create(&mut self, kv: Keyval) -> Result<c_int> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.slots.len() < (1 << INDEX_BITS) => {
                self.slots.push(Slot { generation: 1, keyval: None });
                (self.slots.len() - 1) as u32
            }
            None => return fail(ErrorClass::Other, "too many keyvals exist at once"),
        };
        let slot = &mut self.slots[index as usize];
        slot.keyval = Some(kv);
        Ok(((slot.generation << INDEX_BITS) | index) as c_int)
    }

    /// The record of a keyval, freed ones included (their values are still copied and deleted).
    fn record(&mut self, keyval: c_int) -> Option<&mut Keyval> {
        if keyval <= 0 {
            return None;
        }
        let (index, generation) = (keyval as u32 & ((1 << INDEX_BITS) - 1), keyval as u32 >> INDEX_BITS);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.keyval.as_mut()
    }

    /// A keyval the application may still use on `object`s.
    fn usable(&mut self, keyval: c_int, object: Object) -> Result<Keyval> {
        match self.record(keyval) {
            Some(kv) if kv.object == object && !kv.freed => Ok(*kv),
            Some(kv) if kv.freed => fail(ErrorClass::Keyval, format!("keyval {keyval} has been freed")),
            Some(kv) => fail(ErrorClass::Keyval, format!("keyval {keyval} is for {:?} objects, not {object:?}", kv.object)),
            None => fail(ErrorClass::Keyval, format!("invalid keyval {keyval}")),
        }
    }

    /// Drops the record of a freed keyval nothing uses any more.
    fn release_if_unused(&mut self, keyval: c_int) {
        if matches!(self.record(keyval), Some(kv) if kv.freed && kv.uses == 0) {
            let index = keyval as u32 & ((1 << INDEX_BITS) - 1);
            let slot = &mut self.slots[index as usize];
            slot.keyval = None;
            slot.generation = if slot.generation >= MAX_GENERATION { 1 } else { slot.generation + 1 };
            self.free.push(index);
        }
    }

    fn add_use(&mut self, keyval: c_int) {
        if let Some(kv) = self.record(keyval) {
            kv.uses += 1;
        }
    }

    fn drop_use(&mut self, keyval: c_int) {
        if let Some(kv) = self.record(keyval) {
            kv.uses = kv.uses.saturating_sub(1);
        }
        self.release_if_unused(keyval);
    }
}

/// The error a callback's return code stands for.
fn callback_error(code: c_int, what: &str, keyval: c_int) -> MpiError {
    let class = class_of_code(code).unwrap_or(ErrorClass::Other);
    MpiError::new(class, format!("the {what} callback of keyval {keyval} returned error code {code}"))
}

fn run_delete(kv: &Keyval, handle: usize, keyval: c_int, value: usize) -> Result<()> {
    let Some(f) = kv.delete else { return Ok(()) };
    // SAFETY: the application registered `f` with the callback signature for this kind.
    let rc = unsafe { f(handle, keyval, value as *mut c_void, kv.extra_state as *mut c_void) };
    if rc != MPI_SUCCESS {
        return Err(callback_error(rc, "delete", keyval));
    }
    Ok(())
}

fn create_keyval(object: Object, copy: usize, delete: usize, extra_state: usize) -> Result<c_int> {
    let copy = match copy {
        0 => CopyRule::Null,
        1 => CopyRule::Dup,
        // SAFETY: a function pointer of the copy-callback type (0 and 1 are the named constants).
        f => CopyRule::User(unsafe { std::mem::transmute::<usize, CopyFn>(f) }),
    };
    // SAFETY: as above, for the delete callback (0 is the null one).
    let delete = (delete != 0).then(|| unsafe { std::mem::transmute::<usize, DeleteFn>(delete) });
    attrs().create(Keyval { object, copy, delete, extra_state, freed: false, uses: 0 })
}

fn free_keyval(object: Object, keyval: *mut c_int) -> Result<()> {
    let k = unsafe { read(keyval)? };
    let mut t = attrs();
    t.usable(k, object)?;
    if let Some(kv) = t.record(k) {
        kv.freed = true;
    }
    t.release_if_unused(k);
    unsafe { out(keyval, MPI_KEYVAL_INVALID) }
}

/// `MPI_*_set_attr`: a value already there is deleted first (its callback runs).
fn set(object: Object, handle: usize, keyval: c_int, value: usize) -> Result<()> {
    let (kv, old) = {
        let mut t = attrs();
        let kv = t.usable(keyval, object)?;
        let old = t.values.get(&(object, handle)).and_then(|v| v.iter().find(|(k, _)| *k == keyval)).map(|&(_, v)| v);
        (kv, old)
    };
    if let Some(old) = old {
        run_delete(&kv, handle, keyval, old)?;
    }
    let mut t = attrs();
    let list = t.values.entry((object, handle)).or_default();
    match list.iter_mut().find(|(k, _)| *k == keyval) {
        Some(entry) => entry.1 = value,
        None => {
            list.push((keyval, value));
            t.add_use(keyval);
        }
    }
    Ok(())
}

fn get(object: Object, handle: usize, keyval: c_int) -> Result<Option<usize>> {
    let mut t = attrs();
    t.usable(keyval, object)?;
    Ok(t.values.get(&(object, handle)).and_then(|v| v.iter().find(|(k, _)| *k == keyval)).map(|&(_, v)| v))
}

/// Removes one value after its delete callback succeeded.
fn remove(object: Object, handle: usize, keyval: c_int) {
    let mut t = attrs();
    if let Some(list) = t.values.get_mut(&(object, handle)) {
        list.retain(|(k, _)| *k != keyval);
        if list.is_empty() {
            t.values.remove(&(object, handle));
        }
        t.drop_use(keyval);
    }
}

/// `MPI_*_delete_attr`: a keyval with no value on the object is not an error (as in MPICH).
/// A failing callback leaves the value in place.
fn delete(object: Object, handle: usize, keyval: c_int) -> Result<()> {
    let (kv, value) = {
        let mut t = attrs();
        let kv = t.usable(keyval, object)?;
        let value = t.values.get(&(object, handle)).and_then(|v| v.iter().find(|(k, _)| *k == keyval)).map(|&(_, v)| v);
        (kv, value)
    };
    if let Some(value) = value {
        run_delete(&kv, handle, keyval, value)?;
        remove(object, handle, keyval);
    }
    Ok(())
}

/// Deletes every value on an object that is being freed, last set first (the order the
/// standard fixes for `MPI_COMM_SELF` at `MPI_Finalize`). Stops at the first failing
/// callback, leaving that value and those set before it.
pub(crate) fn delete_all(object: Object, handle: usize) -> Result<()> {
    loop {
        let next = {
            let mut t = attrs();
            let Some(&(keyval, value)) = t.values.get(&(object, handle)).and_then(|v| v.last()) else {
                return Ok(());
            };
            match t.record(keyval) {
                Some(kv) => (*kv, keyval, value),
                None => return fail(ErrorClass::Intern, format!("attribute with unknown keyval {keyval}")),
            }
        };
        let (kv, keyval, value) = next;
        run_delete(&kv, handle, keyval, value)?;
        remove(object, handle, keyval);
    }
}

/// Copies the attributes of `old` to its new duplicate `new`, through each keyval's copy
/// callback. On a failing callback, the values already copied are deleted again and the
/// callback's error is returned; the caller frees `new`.
pub(crate) fn copy_all(object: Object, old: usize, new: usize) -> Result<()> {
    let snapshot: Vec<(c_int, usize, Keyval)> = {
        let mut t = attrs();
        let list = t.values.get(&(object, old)).cloned().unwrap_or_default();
        list.into_iter().filter_map(|(k, v)| t.record(k).map(|kv| (k, v, *kv))).collect()
    };
    for (keyval, value, kv) in snapshot {
        let copied = match kv.copy {
            CopyRule::Null => None,
            CopyRule::Dup => Some(value),
            CopyRule::User(f) => {
                let mut value_out: usize = 0;
                let mut flag: c_int = 0;
                // SAFETY: the application's copy callback, with the standard's arguments:
                // `attribute_val_out` points to a `void *`, `flag` to an int.
                let rc = unsafe {
                    f(old, keyval, kv.extra_state as *mut c_void, value as *mut c_void, &mut value_out as *mut usize as *mut c_void, &mut flag)
                };
                if rc != MPI_SUCCESS {
                    let _ = delete_all(object, new);
                    return Err(callback_error(rc, "copy", keyval));
                }
                (flag != 0).then_some(value_out)
            }
        };
        if let Some(v) = copied {
            let mut t = attrs();
            t.values.entry((object, new)).or_default().push((keyval, v));
            t.add_use(keyval);
        }
    }
    Ok(())
}

/// `MPI_Finalize` begins by deleting the attributes of `MPI_COMM_SELF`, as if it were freed
/// (MPI-5.0 §11.2.4), so that libraries can clean up through delete callbacks.
pub(crate) fn finalize_self() -> Result<()> {
    delete_all(Object::Comm, MPI_COMM_SELF.0)
}

// ---- Communicators ----------------------------------------------------------------------

/// Values of the predefined attributes, at stable addresses: the standard hands out a
/// pointer to the value, not the value.
struct Predefined {
    tag_ub: c_int,
    host: c_int,
    io: c_int,
    wtime_is_global: c_int,
    appnum: c_int,
    universe_size: c_int,
}

static PREDEFINED: OnceLock<Predefined> = OnceLock::new();

fn is_predefined_comm_keyval(k: c_int) -> bool {
    matches!(k, MPI_TAG_UB | MPI_HOST | MPI_IO | MPI_WTIME_IS_GLOBAL | MPI_APPNUM | MPI_UNIVERSE_SIZE | MPI_LASTUSEDCODE)
}

/// A live communicator's handle bits (`MPI_ERR_COMM` otherwise).
fn live_comm(comm: MPI_Comm) -> Result<usize> {
    engine()?.comm_size(handles::comm(comm)?)?;
    Ok(comm.0)
}

fn predefined_keyval(k: c_int, what: &str) -> Result<()> {
    if is_predefined_comm_keyval(k) {
        return fail(ErrorClass::Keyval, format!("keyval {k} is a predefined attribute: it cannot be {what}"));
    }
    Ok(())
}

/// `MPI_*_create_keyval`: `copy` and `delete` are the callbacks' bits (0 and 1 the named
/// constants), stored through `keyval`.
unsafe fn create_keyval_out(object: Object, copy: usize, delete: usize, keyval: *mut c_int, extra_state: *mut c_void) -> Result<()> {
    if keyval.is_null() {
        return fail(ErrorClass::Arg, "null keyval argument");
    }
    let k = create_keyval(object, copy, delete, extra_state as usize)?;
    unsafe { out(keyval, k) }
}

unsafe fn comm_create_keyval(copy: usize, delete: usize, keyval: *mut c_int, extra_state: *mut c_void) -> Result<()> {
    unsafe { create_keyval_out(Object::Comm, copy, delete, keyval, extra_state) }
}

unsafe fn comm_free_keyval(keyval: *mut c_int) -> Result<()> {
    predefined_keyval(unsafe { read(keyval)? }, "freed")?;
    free_keyval(Object::Comm, keyval)
}

fn comm_set_attr(comm: MPI_Comm, keyval: c_int, value: *mut c_void) -> Result<()> {
    let h = live_comm(comm)?;
    predefined_keyval(keyval, "set")?;
    set(Object::Comm, h, keyval, value as usize)
}

fn comm_delete_attr(comm: MPI_Comm, keyval: c_int) -> Result<()> {
    let h = live_comm(comm)?;
    predefined_keyval(keyval, "deleted")?;
    delete(Object::Comm, h, keyval)
}

unsafe fn comm_get_attr(comm: MPI_Comm, keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> Result<()> {
    let e = engine()?;
    let h = live_comm(comm)?;
    if flag.is_null() || attribute_val.is_null() {
        return fail(ErrorClass::Arg, "null flag or attribute_val argument");
    }
    // `attribute_val` is declared `void *` but points to the caller's `void *`.
    let slot = attribute_val as *mut usize;
    if !is_predefined_comm_keyval(keyval) {
        return match get(Object::Comm, h, keyval)? {
            Some(v) => unsafe {
                out(slot, v)?;
                out(flag, 1)
            },
            None => unsafe { out(flag, 0) },
        };
    }
    let p = PREDEFINED.get_or_init(|| Predefined {
        tag_ub: TAG_UB,
        // No process is the host; every process can do I/O; clocks are not synchronised.
        host: MPI_PROC_NULL,
        io: MPI_ANY_SOURCE,
        wtime_is_global: 0,
        appnum: e.appnum(),
        universe_size: e.size() as c_int,
    });
    let value: Option<*const c_int> = match keyval {
        MPI_TAG_UB => Some(&p.tag_ub),
        MPI_HOST => Some(&p.host),
        MPI_IO => Some(&p.io),
        MPI_WTIME_IS_GLOBAL => Some(&p.wtime_is_global),
        // A launcher that does not know the application number (Slurm says -1) leaves it unset.
        MPI_APPNUM => (p.appnum >= 0).then_some(&p.appnum),
        MPI_UNIVERSE_SIZE => Some(&p.universe_size),
        // MPI_Add_error_class/code raise it: the application reads the live value through
        // this pointer (an AtomicI32 has a c_int's layout; the static lives forever).
        _ => Some(crate::errcodes::LAST_USED.as_ptr()),
    };
    match value {
        Some(v) => unsafe {
            out(slot, v as usize)?;
            out(flag, 1)
        },
        None => unsafe { out(flag, 0) },
    }
}

/// `MPI_Comm_dup`'s attribute copy, from `old` to its duplicate `new`.
pub(crate) fn copy_comm_attrs(old: MPI_Comm, new: MPI_Comm) -> Result<()> {
    copy_all(Object::Comm, old.0, new.0)
}

/// `MPI_Comm_free`'s attribute deletion.
pub(crate) fn delete_comm_attrs(comm: MPI_Comm) -> Result<()> {
    delete_all(Object::Comm, comm.0)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_create_keyval(
    comm_copy_attr_fn: MPI_Comm_copy_attr_function,
    comm_delete_attr_fn: MPI_Comm_delete_attr_function,
    comm_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> c_int {
    // The header's MPI_COMM_DUP_FN is the pointer value 1: compare bits, never call it.
    let (copy, delete) = unsafe {
        (std::mem::transmute::<MPI_Comm_copy_attr_function, usize>(comm_copy_attr_fn), std::mem::transmute::<MPI_Comm_delete_attr_function, usize>(comm_delete_attr_fn))
    };
    api(MPI_COMM_SELF, "MPI_Comm_create_keyval", || unsafe { comm_create_keyval(copy, delete, comm_keyval, extra_state) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_free_keyval(comm_keyval: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Comm_free_keyval", || unsafe { comm_free_keyval(comm_keyval) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_set_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void) -> c_int {
    api(comm, "MPI_Comm_set_attr", || comm_set_attr(comm, comm_keyval, attribute_val))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_get_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    api(comm, "MPI_Comm_get_attr", || unsafe { comm_get_attr(comm, comm_keyval, attribute_val, flag) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Comm_delete_attr(comm: MPI_Comm, comm_keyval: c_int) -> c_int {
    api(comm, "MPI_Comm_delete_attr", || comm_delete_attr(comm, comm_keyval))
}

// The MPI-1 names, deprecated but in the ABI: the same functions under other names.

#[no_mangle]
pub unsafe extern "C" fn PMPI_Keyval_create(copy_fn: MPI_Copy_function, delete_fn: MPI_Delete_function, keyval: *mut c_int, extra_state: *mut c_void) -> c_int {
    let (copy, delete) =
        unsafe { (std::mem::transmute::<MPI_Copy_function, usize>(copy_fn), std::mem::transmute::<MPI_Delete_function, usize>(delete_fn)) };
    api(MPI_COMM_SELF, "MPI_Keyval_create", || unsafe { comm_create_keyval(copy, delete, keyval, extra_state) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Keyval_free(keyval: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Keyval_free", || unsafe { comm_free_keyval(keyval) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Attr_put(comm: MPI_Comm, keyval: c_int, attribute_val: *mut c_void) -> c_int {
    api(comm, "MPI_Attr_put", || comm_set_attr(comm, keyval, attribute_val))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Attr_get(comm: MPI_Comm, keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    api(comm, "MPI_Attr_get", || unsafe { comm_get_attr(comm, keyval, attribute_val, flag) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Attr_delete(comm: MPI_Comm, keyval: c_int) -> c_int {
    api(comm, "MPI_Attr_delete", || comm_delete_attr(comm, keyval))
}

// ---- Datatypes ----------------------------------------------------------------------------

/// A valid datatype's handle bits (`MPI_ERR_TYPE` otherwise), predefined ones included.
fn live_type(d: MPI_Datatype) -> Result<usize> {
    handles::type_map(d)?;
    Ok(d.0)
}

/// `MPI_Type_dup`'s attribute copy, from `old` to its duplicate `new`.
pub(crate) fn copy_type_attrs(old: MPI_Datatype, new: MPI_Datatype) -> Result<()> {
    copy_all(Object::Type, old.0, new.0)
}

/// `MPI_Type_free`'s attribute deletion.
pub(crate) fn delete_type_attrs(d: MPI_Datatype) -> Result<()> {
    delete_all(Object::Type, d.0)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_keyval(
    type_copy_attr_fn: MPI_Type_copy_attr_function,
    type_delete_attr_fn: MPI_Type_delete_attr_function,
    type_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> c_int {
    // MPI_TYPE_DUP_FN is the pointer value 1, as for communicators.
    let (copy, delete) = unsafe {
        (std::mem::transmute::<MPI_Type_copy_attr_function, usize>(type_copy_attr_fn), std::mem::transmute::<MPI_Type_delete_attr_function, usize>(type_delete_attr_fn))
    };
    api(MPI_COMM_SELF, "MPI_Type_create_keyval", || unsafe { create_keyval_out(Object::Type, copy, delete, type_keyval, extra_state) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_free_keyval(type_keyval: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_free_keyval", || free_keyval(Object::Type, type_keyval))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_set_attr(datatype: MPI_Datatype, type_keyval: c_int, attribute_val: *mut c_void) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_set_attr", || set(Object::Type, live_type(datatype)?, type_keyval, attribute_val as usize))
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_attr(datatype: MPI_Datatype, type_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_attr", || {
        let h = live_type(datatype)?;
        if flag.is_null() || attribute_val.is_null() {
            return fail(ErrorClass::Arg, "null flag or attribute_val argument");
        }
        // `attribute_val` is declared `void *` but points to the caller's `void *`.
        match get(Object::Type, h, type_keyval)? {
            Some(v) => unsafe {
                out(attribute_val as *mut usize, v)?;
                out(flag, 1)
            },
            None => unsafe { out(flag, 0) },
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_delete_attr(datatype: MPI_Datatype, type_keyval: c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_delete_attr", || delete(Object::Type, live_type(datatype)?, type_keyval))
}

// ---- Windows ------------------------------------------------------------------------------

fn is_predefined_win_keyval(k: c_int) -> bool {
    matches!(k, MPI_WIN_BASE | MPI_WIN_SIZE | MPI_WIN_DISP_UNIT | MPI_WIN_CREATE_FLAVOR | MPI_WIN_MODEL)
}

fn predefined_win_keyval(k: c_int, what: &str) -> Result<()> {
    if is_predefined_win_keyval(k) {
        return fail(ErrorClass::Keyval, format!("keyval {k} is a predefined window attribute: it cannot be {what}"));
    }
    Ok(())
}

/// `MPI_Win_free`'s attribute deletion.
pub(crate) fn delete_win_attrs(win: MPI_Win) -> Result<()> {
    delete_all(Object::Win, win.0)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_create_keyval(
    win_copy_attr_fn: MPI_Win_copy_attr_function,
    win_delete_attr_fn: MPI_Win_delete_attr_function,
    win_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> c_int {
    // Windows are never duplicated, so the copy callback is kept but never called.
    // SAFETY: function pointers (or the constants 0 and 1) read as their bits, as above.
    let (copy, delete) = unsafe {
        (std::mem::transmute::<MPI_Win_copy_attr_function, usize>(win_copy_attr_fn), std::mem::transmute::<MPI_Win_delete_attr_function, usize>(win_delete_attr_fn))
    };
    api(MPI_COMM_SELF, "MPI_Win_create_keyval", || unsafe { create_keyval_out(Object::Win, copy, delete, win_keyval, extra_state) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_free_keyval(win_keyval: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Win_free_keyval", || {
        predefined_win_keyval(unsafe { read(win_keyval)? }, "freed")?;
        free_keyval(Object::Win, win_keyval)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_set_attr(win: MPI_Win, win_keyval: c_int, attribute_val: *mut c_void) -> c_int {
    api_win(win, "MPI_Win_set_attr", || {
        crate::win::live(win)?;
        predefined_win_keyval(win_keyval, "set")?;
        set(Object::Win, win.0, win_keyval, attribute_val as usize)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_get_attr(win: MPI_Win, win_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    api_win(win, "MPI_Win_get_attr", || {
        crate::win::live(win)?;
        if flag.is_null() || attribute_val.is_null() {
            return fail(ErrorClass::Arg, "null flag or attribute_val argument");
        }
        // `attribute_val` is declared `void *` but points to the caller's `void *`.
        let value = match crate::win::predefined_attr(win, win_keyval) {
            Some(v) => Some(v),
            None => get(Object::Win, win.0, win_keyval)?,
        };
        match value {
            Some(v) => unsafe {
                out(attribute_val as *mut usize, v)?;
                out(flag, 1)
            },
            None => unsafe { out(flag, 0) },
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Win_delete_attr(win: MPI_Win, win_keyval: c_int) -> c_int {
    api_win(win, "MPI_Win_delete_attr", || {
        crate::win::live(win)?;
        predefined_win_keyval(win_keyval, "deleted")?;
        delete(Object::Win, win.0, win_keyval)
    })
}
