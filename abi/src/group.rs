//! Groups: handles for `mpi_core::group::Group` values and the `MPI_Group_*` functions.
//!
//! A group the library creates lives in a table here and its handle is the table's token
//! (generation in the high half, like requests: never in the predefined range, and a freed
//! handle is reported as `MPI_ERR_GROUP` instead of reaching a newer group). Empty results are
//! `MPI_GROUP_EMPTY`, which needs no entry. Group functions name no communicator, so their
//! errors are raised on `MPI_COMM_SELF`.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::group::{Comparison, Group};
use mpi_core::slab::{Id, Slab};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{engine, out, read};

static GROUPS: LazyLock<Mutex<Slab<Arc<Group>>>> = LazyLock::new(Default::default);

fn groups() -> MutexGuard<'static, Slab<Arc<Group>>> {
    GROUPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The group a handle names.
pub(crate) fn group(h: MPI_Group) -> Result<Arc<Group>> {
    match h {
        MPI_GROUP_EMPTY => Ok(Arc::new(Group::default())),
        MPI_GROUP_NULL => fail(ErrorClass::Group, "MPI_GROUP_NULL is not a valid group here"),
        _ if h.0 >= 4096 => match groups().get(Id::from_token(h.0 as u64)) {
            Some(g) => Ok(g.clone()),
            None => fail(ErrorClass::Group, format!("invalid or freed group handle {:#x}", h.0)),
        },
        _ => fail(ErrorClass::Group, format!("invalid group handle {:#x}", h.0)),
    }
}

/// A handle for a new group (`MPI_GROUP_EMPTY` when it is empty).
pub(crate) fn group_handle(g: Group) -> MPI_Group {
    if g.is_empty() {
        return MPI_GROUP_EMPTY;
    }
    MPI_Group(groups().insert(Arc::new(g)).token() as usize)
}

pub(crate) fn comparison(c: Comparison) -> c_int {
    match c {
        Comparison::Ident => MPI_IDENT,
        Comparison::Congruent => MPI_CONGRUENT,
        Comparison::Similar => MPI_SIMILAR,
        Comparison::Unequal => MPI_UNEQUAL,
    }
}

/// `n` values at `p`: a negative `n` or a null `p` with `n > 0` is `MPI_ERR_ARG`.
unsafe fn slice<'a, T>(p: *const T, n: c_int) -> Result<&'a [T]> {
    if n < 0 {
        return fail(ErrorClass::Arg, format!("negative count {n}"));
    }
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return fail(ErrorClass::Arg, "null array argument");
    }
    // SAFETY: the standard sizes the array to `n` elements.
    Ok(unsafe { std::slice::from_raw_parts(p, n as usize) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_size(group: MPI_Group, size: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_size", || {
        engine()?;
        out(size, self::group(group)?.size() as c_int)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_rank(group: MPI_Group, rank: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_rank", || {
        let me = engine()?.rank();
        out(rank, self::group(group)?.rank_of(me).map_or(MPI_UNDEFINED, |r| r as c_int))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_translate_ranks(
    group1: MPI_Group,
    n: c_int,
    ranks1: *const c_int,
    group2: MPI_Group,
    ranks2: *mut c_int,
) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_translate_ranks", || {
        engine()?;
        let (a, b) = (group(group1)?, group(group2)?);
        let ranks = slice(ranks1, n)?;
        let translated = a.translate(ranks, &b)?;
        if n > 0 && ranks2.is_null() {
            return fail(ErrorClass::Arg, "null ranks2 argument");
        }
        for (i, t) in translated.into_iter().enumerate() {
            // SAFETY: `ranks2` has room for `n` ranks, as the standard says.
            unsafe { *ranks2.add(i) = t.unwrap_or(MPI_UNDEFINED) };
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_compare(group1: MPI_Group, group2: MPI_Group, result: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_compare", || {
        engine()?;
        out(result, comparison(group(group1)?.compare(&*group(group2)?)))
    })
}

/// The three set operations share their shape.
unsafe fn set_op(
    name: &'static str,
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: *mut MPI_Group,
    f: fn(&Group, &Group) -> Group,
) -> c_int {
    api(MPI_COMM_SELF, name, || {
        engine()?;
        if newgroup.is_null() {
            return fail(ErrorClass::Arg, "null newgroup argument");
        }
        let g = f(&*group(group1)?, &*group(group2)?);
        out(newgroup, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_union(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
    set_op("MPI_Group_union", group1, group2, newgroup, Group::union)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_intersection(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
    set_op("MPI_Group_intersection", group1, group2, newgroup, Group::intersection)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_difference(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
    set_op("MPI_Group_difference", group1, group2, newgroup, Group::difference)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_incl(group: MPI_Group, n: c_int, ranks: *const c_int, newgroup: *mut MPI_Group) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_incl", || {
        engine()?;
        let g = self::group(group)?.incl(slice(ranks, n)?)?;
        out(newgroup, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_excl(group: MPI_Group, n: c_int, ranks: *const c_int, newgroup: *mut MPI_Group) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_excl", || {
        engine()?;
        let g = self::group(group)?.excl(slice(ranks, n)?)?;
        out(newgroup, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_range_incl(group: MPI_Group, n: c_int, ranges: *mut [c_int; 3], newgroup: *mut MPI_Group) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_range_incl", || {
        engine()?;
        let g = self::group(group)?.range_incl(slice(ranges, n)?)?;
        out(newgroup, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_range_excl(group: MPI_Group, n: c_int, ranges: *mut [c_int; 3], newgroup: *mut MPI_Group) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_range_excl", || {
        engine()?;
        let g = self::group(group)?.range_excl(slice(ranges, n)?)?;
        out(newgroup, group_handle(g))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Group_free(group: *mut MPI_Group) -> c_int {
    api(MPI_COMM_SELF, "MPI_Group_free", || {
        engine()?;
        let h = read(group)?;
        match h {
            // MPICH accepts freeing MPI_GROUP_EMPTY (many programs free every group they get);
            // it stays valid.
            MPI_GROUP_EMPTY => {}
            _ if h.0 >= 4096 => {
                if groups().remove(Id::from_token(h.0 as u64)).is_none() {
                    return fail(ErrorClass::Group, format!("invalid or already freed group handle {:#x}", h.0));
                }
            }
            _ => return fail(ErrorClass::Group, format!("invalid group handle {:#x}", h.0)),
        }
        out(group, MPI_GROUP_NULL)
    })
}
