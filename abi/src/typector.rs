//! Derived datatypes: constructors, commit/free, envelope and contents, names, pack/unpack
//! (native and external32), `MPI_Type_match_size` and `MPI_Type_get_value_index`.
//!
//! Created types live in a slab here; their handle is the slab id's token (generation in the
//! high half), so it is never a predefined handle and a freed one is reported as
//! `MPI_ERR_TYPE`. Each entry holds an `Arc<TypeMap>`: a type built from another holds that
//! one through its `Contents`, so freeing the constituent's handle frees nothing it needs.
//! The type maps themselves (layout, walker, pack, external32) are `mpi_core::typemap`.
//!
//! Point-to-point moves any committed type (`p2p::comm_buf`: contiguous ones as one range,
//! others as their packed stream, walked piecewise). Collectives do not take derived types yet:
//! `handles::datatype` refuses them with `MPI_ERR_TYPE`, saying so.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::slab::{Id, Slab};
use mpi_core::typemap::{Combiner, Contents, Distrib, TypeMap};

use crate::errors::api;
use crate::generated::consts::*;
use crate::generated::types::*;
use crate::{handles, out, write_c_string};

struct Entry {
    map: Arc<TypeMap>,
    committed: bool,
    name: String,
}

#[derive(Default)]
struct Registry {
    types: Slab<Entry>,
    /// Names set on predefined types (they start with their standard names).
    predefined_names: HashMap<usize, String>,
    /// The types `MPI_Type_create_f90_*` returned, by (combiner, p, r): the same arguments
    /// give the same handle, as for a predefined type.
    f90: HashMap<(c_int, c_int, c_int), MPI_Datatype>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn id_of(d: MPI_Datatype) -> Id {
    Id::from_token(d.0 as u64)
}

/// A created type's map and whether it is committed; `None` if `d` is not a live created type.
pub(crate) fn lookup(d: MPI_Datatype) -> Option<(Arc<TypeMap>, bool)> {
    registry().types.get(id_of(d)).map(|e| (e.map.clone(), e.committed))
}

fn register(map: Arc<TypeMap>) -> MPI_Datatype {
    let id = registry().types.insert(Entry { map, committed: false, name: String::new() });
    MPI_Datatype(id.token() as usize)
}

/// The handle for a constituent type in `get_contents`: a predefined type is itself; a derived
/// one is a new handle on the same map, which the application frees (MPI-5.0 §5.1.13).
fn handle_for(map: &Arc<TypeMap>) -> MPI_Datatype {
    match map.named_id {
        Some(h) => MPI_Datatype(h),
        None => register(map.clone()),
    }
}

/// Reads `n` elements of a C array argument.
unsafe fn array<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    // SAFETY: the application passes arrays of the length the standard says.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

fn count_arg(n: i64) -> Result<usize> {
    usize::try_from(n).or_else(|_| fail(ErrorClass::Count, format!("negative count {n}")))
}

fn widen<T: Copy + Into<i64>>(a: &[T]) -> Vec<i64> {
    a.iter().map(|&x| x.into()).collect()
}

/// Records what the constructor got and stores the new type through `newtype`.
unsafe fn finish(newtype: *mut MPI_Datatype, map: Result<TypeMap>, ints: Vec<i64>, addrs: Vec<i64>, large: Vec<i64>, types: Vec<Arc<TypeMap>>) -> Result<()> {
    if newtype.is_null() {
        return fail(ErrorClass::Arg, "null newtype");
    }
    let mut map = map?;
    map.contents = Contents { combiner: map.contents.combiner, ints, addrs, large, types };
    unsafe { out(newtype, register(Arc::new(map))) }
}

fn map(d: MPI_Datatype) -> Result<Arc<TypeMap>> {
    handles::type_map(d)
}

/// The map of a type that packing may use: like communication, packing needs a committed
/// type (MPICH enforces this too).
fn committed_map(d: MPI_Datatype) -> Result<Arc<TypeMap>> {
    let m = handles::type_map(d)?;
    if !handles::is_predefined(d) && lookup(d).is_some_and(|(_, c)| !c) {
        return fail(ErrorClass::Type, format!("datatype {:#x} is not committed", d.0));
    }
    Ok(m)
}

// ---- constructors -------------------------------------------------------------------------

unsafe fn contiguous(count: i64, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype, large: bool) -> Result<()> {
    let old = map(oldtype)?;
    let t = TypeMap::contiguous(count, &old);
    let (i, l) = if large { (vec![], vec![count]) } else { (vec![count], vec![]) };
    unsafe { finish(newtype, t, i, vec![], l, vec![old]) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_contiguous(count: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_contiguous", || unsafe { contiguous(count.into(), oldtype, newtype, false) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_contiguous_c(count: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_contiguous", || unsafe { contiguous(count, oldtype, newtype, true) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_vector(count: c_int, blocklength: c_int, stride: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_vector", || unsafe {
        let old = map(oldtype)?;
        let (c, b, s) = (count.into(), blocklength.into(), stride.into());
        finish(newtype, TypeMap::vector(c, b, s, false, &old), vec![c, b, s], vec![], vec![], vec![old])
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_vector_c(count: MPI_Count, blocklength: MPI_Count, stride: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_vector", || unsafe {
        let old = map(oldtype)?;
        finish(newtype, TypeMap::vector(count, blocklength, stride, false, &old), vec![], vec![], vec![count, blocklength, stride], vec![old])
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hvector(count: c_int, blocklength: c_int, stride: MPI_Aint, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hvector", || unsafe {
        let old = map(oldtype)?;
        let (c, b, s) = (count.into(), blocklength.into(), stride as i64);
        finish(newtype, TypeMap::vector(c, b, s, true, &old), vec![c, b], vec![s], vec![], vec![old])
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hvector_c(count: MPI_Count, blocklength: MPI_Count, stride: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hvector", || unsafe {
        let old = map(oldtype)?;
        finish(newtype, TypeMap::vector(count, blocklength, stride, true, &old), vec![], vec![], vec![count, blocklength, stride], vec![old])
    })
}

/// indexed / hindexed (`in_bytes`), int or large-count form.
unsafe fn indexed(count: i64, bls: &[i64], disps: &[i64], in_bytes: bool, large: bool, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> Result<()> {
    let old = map(oldtype)?;
    let combiner = if in_bytes { Combiner::Hindexed } else { Combiner::Indexed };
    let t = TypeMap::indexed(bls, disps, in_bytes, &old, combiner);
    let all = [&[count][..], bls, disps].concat();
    unsafe {
        match (large, in_bytes) {
            (true, _) => finish(newtype, t, vec![], vec![], all, vec![old]),
            (false, false) => finish(newtype, t, all, vec![], vec![], vec![old]),
            (false, true) => finish(newtype, t, [&[count][..], bls].concat(), disps.to_vec(), vec![], vec![old]),
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_indexed(count: c_int, array_of_blocklengths: *const c_int, array_of_displacements: *const c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_indexed", || unsafe {
        let n = count_arg(count.into())?;
        let b = widen(array(array_of_blocklengths, n, "block length")?);
        let d = widen(array(array_of_displacements, n, "displacement")?);
        indexed(count.into(), &b, &d, false, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_indexed_c(count: MPI_Count, array_of_blocklengths: *const MPI_Count, array_of_displacements: *const MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_indexed", || unsafe {
        let n = count_arg(count)?;
        let b = array(array_of_blocklengths, n, "block length")?;
        let d = array(array_of_displacements, n, "displacement")?;
        indexed(count, b, d, false, true, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hindexed(count: c_int, array_of_blocklengths: *const c_int, array_of_displacements: *const MPI_Aint, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hindexed", || unsafe {
        let n = count_arg(count.into())?;
        let b = widen(array(array_of_blocklengths, n, "block length")?);
        let d: Vec<i64> = array(array_of_displacements, n, "displacement")?.iter().map(|&x| x as i64).collect();
        indexed(count.into(), &b, &d, true, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hindexed_c(count: MPI_Count, array_of_blocklengths: *const MPI_Count, array_of_displacements: *const MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hindexed", || unsafe {
        let n = count_arg(count)?;
        let b = array(array_of_blocklengths, n, "block length")?;
        let d = array(array_of_displacements, n, "displacement")?;
        indexed(count, b, d, true, true, oldtype, newtype)
    })
}

/// indexed_block / hindexed_block (`in_bytes`), int or large-count form.
unsafe fn indexed_block(count: i64, blocklength: i64, disps: &[i64], in_bytes: bool, large: bool, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> Result<()> {
    let old = map(oldtype)?;
    let combiner = if in_bytes { Combiner::HindexedBlock } else { Combiner::IndexedBlock };
    let bls = vec![blocklength; disps.len()];
    let t = TypeMap::indexed(&bls, disps, in_bytes, &old, combiner);
    let head = vec![count, blocklength];
    let all = [&head[..], disps].concat();
    unsafe {
        match (large, in_bytes) {
            (true, _) => finish(newtype, t, vec![], vec![], all, vec![old]),
            (false, false) => finish(newtype, t, all, vec![], vec![], vec![old]),
            (false, true) => finish(newtype, t, head, disps.to_vec(), vec![], vec![old]),
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_indexed_block(count: c_int, blocklength: c_int, array_of_displacements: *const c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_indexed_block", || unsafe {
        let d = widen(array(array_of_displacements, count_arg(count.into())?, "displacement")?);
        indexed_block(count.into(), blocklength.into(), &d, false, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_indexed_block_c(count: MPI_Count, blocklength: MPI_Count, array_of_displacements: *const MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_indexed_block", || unsafe {
        let d = array(array_of_displacements, count_arg(count)?, "displacement")?;
        indexed_block(count, blocklength, d, false, true, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hindexed_block(count: c_int, blocklength: c_int, array_of_displacements: *const MPI_Aint, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hindexed_block", || unsafe {
        let d: Vec<i64> = array(array_of_displacements, count_arg(count.into())?, "displacement")?.iter().map(|&x| x as i64).collect();
        indexed_block(count.into(), blocklength.into(), &d, true, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_hindexed_block_c(count: MPI_Count, blocklength: MPI_Count, array_of_displacements: *const MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_hindexed_block", || unsafe {
        let d = array(array_of_displacements, count_arg(count)?, "displacement")?;
        indexed_block(count, blocklength, d, true, true, oldtype, newtype)
    })
}

unsafe fn structure(count: i64, bls: &[i64], disps: &[i64], types: &[MPI_Datatype], large: bool, newtype: *mut MPI_Datatype) -> Result<()> {
    let maps = types.iter().map(|&t| map(t)).collect::<Result<Vec<_>>>()?;
    let refs: Vec<&TypeMap> = maps.iter().map(|m| &**m).collect();
    let t = TypeMap::structure(bls, disps, &refs);
    unsafe {
        if large {
            finish(newtype, t, vec![], vec![], [&[count][..], bls, disps].concat(), maps)
        } else {
            finish(newtype, t, [&[count][..], bls].concat(), disps.to_vec(), vec![], maps)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_struct(count: c_int, array_of_blocklengths: *const c_int, array_of_displacements: *const MPI_Aint, array_of_types: *const MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_struct", || unsafe {
        let n = count_arg(count.into())?;
        let b = widen(array(array_of_blocklengths, n, "block length")?);
        let d: Vec<i64> = array(array_of_displacements, n, "displacement")?.iter().map(|&x| x as i64).collect();
        let t = array(array_of_types, n, "datatype")?;
        structure(count.into(), &b, &d, t, false, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_struct_c(count: MPI_Count, array_of_blocklengths: *const MPI_Count, array_of_displacements: *const MPI_Count, array_of_types: *const MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_struct", || unsafe {
        let n = count_arg(count)?;
        let b = array(array_of_blocklengths, n, "block length")?;
        let d = array(array_of_displacements, n, "displacement")?;
        let t = array(array_of_types, n, "datatype")?;
        structure(count, b, d, t, true, newtype)
    })
}

fn order_arg(order: c_int) -> Result<bool> {
    match order {
        MPI_ORDER_C => Ok(false),
        MPI_ORDER_FORTRAN => Ok(true),
        _ => fail(ErrorClass::Arg, format!("invalid order {order}")),
    }
}

fn ndims_arg(ndims: c_int) -> Result<usize> {
    match usize::try_from(ndims) {
        Ok(n) if n > 0 => Ok(n),
        _ => fail(ErrorClass::Arg, format!("invalid ndims {ndims}")),
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn subarray(ndims: c_int, sizes: &[i64], subsizes: &[i64], starts: &[i64], order: c_int, large: bool, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> Result<()> {
    let old = map(oldtype)?;
    let t = TypeMap::subarray(sizes, subsizes, starts, order_arg(order)?, &old);
    let arrays = [sizes, subsizes, starts].concat();
    unsafe {
        if large {
            finish(newtype, t, vec![ndims.into(), order.into()], vec![], arrays, vec![old])
        } else {
            finish(newtype, t, [&[ndims.into()][..], &arrays, &[order.into()]].concat(), vec![], vec![], vec![old])
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_subarray(ndims: c_int, array_of_sizes: *const c_int, array_of_subsizes: *const c_int, array_of_starts: *const c_int, order: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_subarray", || unsafe {
        let n = ndims_arg(ndims)?;
        let s = widen(array(array_of_sizes, n, "sizes")?);
        let ss = widen(array(array_of_subsizes, n, "subsizes")?);
        let st = widen(array(array_of_starts, n, "starts")?);
        subarray(ndims, &s, &ss, &st, order, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_subarray_c(ndims: c_int, array_of_sizes: *const MPI_Count, array_of_subsizes: *const MPI_Count, array_of_starts: *const MPI_Count, order: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_subarray", || unsafe {
        let n = ndims_arg(ndims)?;
        let s = array(array_of_sizes, n, "sizes")?;
        let ss = array(array_of_subsizes, n, "subsizes")?;
        let st = array(array_of_starts, n, "starts")?;
        subarray(ndims, s, ss, st, order, true, oldtype, newtype)
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn darray(size: c_int, rank: c_int, ndims: c_int, gsizes: &[i64], distribs: &[c_int], dargs: &[c_int], psizes: &[c_int], order: c_int, large: bool, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> Result<()> {
    let old = map(oldtype)?;
    let mut ds = Vec::with_capacity(distribs.len());
    for (d, (&dist, &darg)) in distribs.iter().zip(dargs).enumerate() {
        let arg = if darg == MPI_DISTRIBUTE_DFLT_DARG { None } else { Some(darg.into()) };
        ds.push(match dist {
            MPI_DISTRIBUTE_BLOCK => Distrib::Block(arg),
            MPI_DISTRIBUTE_CYCLIC => Distrib::Cyclic(arg),
            MPI_DISTRIBUTE_NONE => Distrib::None,
            _ => return fail(ErrorClass::Arg, format!("invalid distribution {dist} for dimension {d}")),
        });
    }
    let t = TypeMap::darray(size.into(), rank.into(), gsizes, &ds, &widen(psizes), order_arg(order)?, &old);
    let head = vec![size.into(), rank.into(), ndims.into()];
    let tail = [widen(distribs), widen(dargs), widen(psizes), vec![order.into()]].concat();
    unsafe {
        if large {
            finish(newtype, t, [head, tail].concat(), vec![], gsizes.to_vec(), vec![old])
        } else {
            finish(newtype, t, [head, gsizes.to_vec(), tail].concat(), vec![], vec![], vec![old])
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_darray(size: c_int, rank: c_int, ndims: c_int, array_of_gsizes: *const c_int, array_of_distribs: *const c_int, array_of_dargs: *const c_int, array_of_psizes: *const c_int, order: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_darray", || unsafe {
        let n = ndims_arg(ndims)?;
        let g = widen(array(array_of_gsizes, n, "gsizes")?);
        let (di, da, ps) = (array(array_of_distribs, n, "distribs")?, array(array_of_dargs, n, "dargs")?, array(array_of_psizes, n, "psizes")?);
        darray(size, rank, ndims, &g, di, da, ps, order, false, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_darray_c(size: c_int, rank: c_int, ndims: c_int, array_of_gsizes: *const MPI_Count, array_of_distribs: *const c_int, array_of_dargs: *const c_int, array_of_psizes: *const c_int, order: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_darray", || unsafe {
        let n = ndims_arg(ndims)?;
        let g = array(array_of_gsizes, n, "gsizes")?;
        let (di, da, ps) = (array(array_of_distribs, n, "distribs")?, array(array_of_dargs, n, "dargs")?, array(array_of_psizes, n, "psizes")?);
        darray(size, rank, ndims, g, di, da, ps, order, true, oldtype, newtype)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_resized(oldtype: MPI_Datatype, lb: MPI_Aint, extent: MPI_Aint, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_resized", || unsafe {
        let old = map(oldtype)?;
        let (lb, extent) = (lb as i64, extent as i64);
        finish(newtype, TypeMap::resized(&old, lb, extent), vec![], vec![lb, extent], vec![], vec![old])
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_resized_c(oldtype: MPI_Datatype, lb: MPI_Count, extent: MPI_Count, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_resized", || unsafe {
        let old = map(oldtype)?;
        finish(newtype, TypeMap::resized(&old, lb, extent), vec![], vec![], vec![lb, extent], vec![old])
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_dup(oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_dup", || unsafe {
        let old = map(oldtype)?;
        // A duplicate is committed if the original is (MPI-5.0 §5.1.10).
        let committed = old.is_named() || lookup(oldtype).is_some_and(|(_, c)| c);
        finish(newtype, Ok(TypeMap::dup(&old)), vec![], vec![], vec![], vec![old])?;
        if committed {
            if let Some(e) = registry().types.get_mut(id_of(*newtype)) {
                e.committed = true;
            }
        }
        // Attributes follow through their copy callbacks; a failing one fails the dup.
        if let Err(err) = crate::attr::copy_type_attrs(oldtype, *newtype) {
            registry().types.remove(id_of(*newtype));
            *newtype = MPI_DATATYPE_NULL;
            return Err(err);
        }
        Ok(())
    })
}

// ---- commit, free --------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_commit(datatype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_commit", || unsafe {
        let d = crate::read(datatype)?;
        if handles::is_predefined(d) {
            return handles::type_map(d).map(|_| ());
        }
        match registry().types.get_mut(id_of(d)) {
            Some(e) => {
                e.committed = true;
                Ok(())
            }
            None => fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0)),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_free(datatype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_free", || unsafe {
        let d = crate::read(datatype)?;
        if handles::is_predefined(d) {
            handles::type_map(d)?;
            return fail(ErrorClass::Type, "a predefined datatype cannot be freed");
        }
        match lookup(d) {
            None => return fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0)),
            // MPI-4.1 19.1.9: the result of MPI_Type_create_f90_* is predefined.
            Some((m, _)) if matches!(m.contents.combiner, Combiner::F90Real | Combiner::F90Complex | Combiner::F90Integer) => {
                return fail(ErrorClass::Type, "a datatype from MPI_Type_create_f90_* is predefined and cannot be freed");
            }
            Some(_) => {}
        }
        // Delete callbacks run first; one that fails leaves the type as it is.
        crate::attr::delete_type_attrs(d)?;
        // Types built on this one keep its map alive through their contents.
        match registry().types.remove(id_of(d)) {
            Some(_) => out(datatype, MPI_DATATYPE_NULL),
            None => fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0)),
        }
    })
}

// ---- envelope, contents ----------------------------------------------------------------------

fn combiner_code(c: Combiner) -> c_int {
    match c {
        Combiner::Named => MPI_COMBINER_NAMED,
        Combiner::Dup => MPI_COMBINER_DUP,
        Combiner::Contiguous => MPI_COMBINER_CONTIGUOUS,
        Combiner::Vector => MPI_COMBINER_VECTOR,
        Combiner::Hvector => MPI_COMBINER_HVECTOR,
        Combiner::Indexed => MPI_COMBINER_INDEXED,
        Combiner::Hindexed => MPI_COMBINER_HINDEXED,
        Combiner::IndexedBlock => MPI_COMBINER_INDEXED_BLOCK,
        Combiner::HindexedBlock => MPI_COMBINER_HINDEXED_BLOCK,
        Combiner::Struct => MPI_COMBINER_STRUCT,
        Combiner::Subarray => MPI_COMBINER_SUBARRAY,
        Combiner::Darray => MPI_COMBINER_DARRAY,
        Combiner::Resized => MPI_COMBINER_RESIZED,
        Combiner::F90Real => MPI_COMBINER_F90_REAL,
        Combiner::F90Complex => MPI_COMBINER_F90_COMPLEX,
        Combiner::F90Integer => MPI_COMBINER_F90_INTEGER,
    }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_envelope_c(datatype: MPI_Datatype, num_integers: *mut MPI_Count, num_addresses: *mut MPI_Count, num_large_counts: *mut MPI_Count, num_datatypes: *mut MPI_Count, combiner: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_envelope", || unsafe {
        let c = &map(datatype)?.contents;
        out(num_integers, c.ints.len() as MPI_Count)?;
        out(num_addresses, c.addrs.len() as MPI_Count)?;
        out(num_large_counts, c.large.len() as MPI_Count)?;
        out(num_datatypes, c.types.len() as MPI_Count)?;
        out(combiner, combiner_code(c.combiner))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_envelope(datatype: MPI_Datatype, num_integers: *mut c_int, num_addresses: *mut c_int, num_datatypes: *mut c_int, combiner: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_envelope", || unsafe {
        let c = &map(datatype)?.contents;
        if !c.large.is_empty() {
            return fail(ErrorClass::Type, "the datatype was made by a large-count constructor: use MPI_Type_get_envelope_c");
        }
        out(num_integers, c.ints.len() as c_int)?;
        out(num_addresses, c.addrs.len() as c_int)?;
        out(num_datatypes, c.types.len() as c_int)?;
        out(combiner, combiner_code(c.combiner))
    })
}

/// Writes `values` into a C array of `max` entries.
unsafe fn fill<T: Copy>(dst: *mut T, max: MPI_Count, values: impl ExactSizeIterator<Item = T>, what: &str) -> Result<()> {
    let n = values.len();
    if (max as i128) < n as i128 {
        return fail(ErrorClass::Arg, format!("{what} array of {max} entries is too small for {n}"));
    }
    if n > 0 && dst.is_null() {
        return fail(ErrorClass::Arg, format!("null {what} array"));
    }
    for (i, v) in values.enumerate() {
        // SAFETY: the application sized the array to `max` >= n entries.
        unsafe { dst.add(i).write(v) };
    }
    Ok(())
}

fn contents_of(datatype: MPI_Datatype) -> Result<Arc<TypeMap>> {
    let m = map(datatype)?;
    if m.is_named() {
        return fail(ErrorClass::Type, "MPI_Type_get_contents of a predefined datatype");
    }
    Ok(m)
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_contents_c(datatype: MPI_Datatype, max_integers: MPI_Count, max_addresses: MPI_Count, max_large_counts: MPI_Count, max_datatypes: MPI_Count, array_of_integers: *mut c_int, array_of_addresses: *mut MPI_Aint, array_of_large_counts: *mut MPI_Count, array_of_datatypes: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_contents", || unsafe {
        let m = contents_of(datatype)?;
        let c = &m.contents;
        if (max_datatypes as i128) < c.types.len() as i128 {
            return fail(ErrorClass::Arg, format!("datatype array of {max_datatypes} entries is too small for {}", c.types.len()));
        }
        fill(array_of_integers, max_integers, c.ints.iter().map(|&v| v as c_int), "integer")?;
        fill(array_of_addresses, max_addresses, c.addrs.iter().map(|&v| v as MPI_Aint), "address")?;
        fill(array_of_large_counts, max_large_counts, c.large.iter().copied(), "large count")?;
        fill(array_of_datatypes, max_datatypes, c.types.iter().map(handle_for), "datatype")
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_contents(datatype: MPI_Datatype, max_integers: c_int, max_addresses: c_int, max_datatypes: c_int, array_of_integers: *mut c_int, array_of_addresses: *mut MPI_Aint, array_of_datatypes: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_contents", || unsafe {
        let m = contents_of(datatype)?;
        let c = &m.contents;
        if !c.large.is_empty() {
            return fail(ErrorClass::Type, "the datatype was made by a large-count constructor: use MPI_Type_get_contents_c");
        }
        if (max_datatypes as usize) < c.types.len() || max_datatypes < 0 {
            return fail(ErrorClass::Arg, format!("datatype array of {max_datatypes} entries is too small for {}", c.types.len()));
        }
        fill(array_of_integers, max_integers.into(), c.ints.iter().map(|&v| v as c_int), "integer")?;
        fill(array_of_addresses, max_addresses.into(), c.addrs.iter().map(|&v| v as MPI_Aint), "address")?;
        fill(array_of_datatypes, max_datatypes.into(), c.types.iter().map(handle_for), "datatype")
    })
}

// ---- names ---------------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_set_name(datatype: MPI_Datatype, type_name: *const c_char) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_set_name", || {
        if type_name.is_null() {
            return fail(ErrorClass::Arg, "null type name");
        }
        // SAFETY: a NUL-terminated string from the application.
        let name = unsafe { CStr::from_ptr(type_name) }.to_string_lossy();
        let max = MPI_MAX_OBJECT_NAME as usize - 1;
        let name: String = if name.len() > max {
            let mut end = max;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name[..end].to_string()
        } else {
            name.into_owned()
        };
        if handles::is_predefined(datatype) {
            handles::type_map(datatype)?;
            registry().predefined_names.insert(datatype.0, name);
            return Ok(());
        }
        match registry().types.get_mut(id_of(datatype)) {
            Some(e) => {
                e.name = name;
                Ok(())
            }
            None => fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", datatype.0)),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_name(datatype: MPI_Datatype, type_name: *mut c_char, resultlen: *mut c_int) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_name", || unsafe {
        // MPI-4.1: a null handle's name is the handle's name (as MPICH answers).
        let name = if datatype == MPI_DATATYPE_NULL {
            "MPI_DATATYPE_NULL".to_string()
        } else if handles::is_predefined(datatype) {
            handles::type_map(datatype)?;
            match registry().predefined_names.get(&datatype.0) {
                Some(n) => n.clone(),
                None => handles::datatype_name(datatype).to_string(),
            }
        } else {
            match registry().types.get(id_of(datatype)) {
                Some(e) => e.name.clone(),
                None => return fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", datatype.0)),
            }
        };
        write_c_string(type_name, resultlen, &name, MPI_MAX_OBJECT_NAME)
    })
}

// ---- pack, unpack --------------------------------------------------------------------------

fn pos_arg(p: MPI_Count, what: &str) -> Result<usize> {
    usize::try_from(p).or_else(|_| fail(ErrorClass::Arg, format!("negative {what} {p}")))
}

/// Packs `count` elements at `inbuf` into `outbuf[position..outsize]` (native or external32).
unsafe fn pack(inbuf: *const c_void, count: MPI_Count, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Count, position: *mut MPI_Count, ext32: bool) -> Result<()> {
    let m = committed_map(datatype)?;
    let count = count_arg(count)?;
    let outsize = pos_arg(outsize, "outsize")?;
    let pos = pos_arg(unsafe { crate::read(position)? }, "position")?;
    let native = m.packed_size(count)?;
    let need = if ext32 { m.ext32_packed_size(count)? } else { native };
    if pos > outsize || need > outsize - pos {
        return fail(ErrorClass::Truncate, format!("{need} packed bytes do not fit at position {pos} of a {outsize}-byte buffer"));
    }
    if need == 0 {
        return Ok(());
    }
    if inbuf.is_null() || outbuf.is_null() {
        return fail(ErrorClass::Buffer, "null buffer");
    }
    // SAFETY: outsize bytes at outbuf, as the standard requires.
    let dst = unsafe { std::slice::from_raw_parts_mut((outbuf as *mut u8).add(pos), need) };
    if ext32 {
        let mut tmp = vec![0u8; native];
        unsafe { m.pack(inbuf as *const u8, count, 0, &mut tmp) };
        m.native_to_ext32(count, &tmp, dst)?;
    } else {
        unsafe { m.pack(inbuf as *const u8, count, 0, dst) };
    }
    unsafe { out(position, (pos + need) as MPI_Count) }
}

/// Unpacks `count` elements from `inbuf[position..insize]` into `outbuf`.
unsafe fn unpack(inbuf: *const c_void, insize: MPI_Count, position: *mut MPI_Count, outbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, ext32: bool) -> Result<()> {
    let m = committed_map(datatype)?;
    let count = count_arg(count)?;
    let insize = pos_arg(insize, "insize")?;
    let pos = pos_arg(unsafe { crate::read(position)? }, "position")?;
    let native = m.packed_size(count)?;
    let need = if ext32 { m.ext32_packed_size(count)? } else { native };
    if pos > insize || need > insize - pos {
        return fail(ErrorClass::Truncate, format!("unpacking {need} bytes at position {pos} runs past the {insize}-byte buffer"));
    }
    if need == 0 {
        return Ok(());
    }
    if inbuf.is_null() || outbuf.is_null() {
        return fail(ErrorClass::Buffer, "null buffer");
    }
    // SAFETY: insize bytes at inbuf.
    let src = unsafe { std::slice::from_raw_parts((inbuf as *const u8).add(pos), need) };
    if ext32 {
        let mut tmp = vec![0u8; native];
        m.ext32_to_native(count, src, &mut tmp)?;
        unsafe { m.unpack(&tmp, outbuf as *mut u8, count, 0) };
    } else {
        unsafe { m.unpack(src, outbuf as *mut u8, count, 0) };
    }
    unsafe { out(position, (pos + need) as MPI_Count) }
}

/// Runs an `MPI_Count` position body on an `int` or `MPI_Aint` position argument.
unsafe fn with_position<P: Copy + TryFrom<MPI_Count>>(position: *mut P, body: impl FnOnce(*mut MPI_Count) -> Result<()>) -> Result<()>
where
    MPI_Count: TryFrom<P>,
{
    let Ok(mut p) = MPI_Count::try_from(unsafe { crate::read(position)? }) else {
        return fail(ErrorClass::Arg, "position out of range");
    };
    body(&mut p)?;
    match P::try_from(p) {
        Ok(v) => unsafe { out(position, v) },
        Err(_) => fail(ErrorClass::Count, format!("position {p} does not fit the argument")),
    }
}

fn check_datarep(datarep: *const c_char) -> Result<()> {
    if datarep.is_null() {
        return fail(ErrorClass::Arg, "null datarep");
    }
    // SAFETY: a NUL-terminated string from the application.
    let rep = unsafe { CStr::from_ptr(datarep) };
    if rep.to_bytes() != b"external32" {
        return fail(ErrorClass::UnsupportedDatarep, format!("data representation {:?} is not \"external32\"", rep.to_string_lossy()));
    }
    Ok(())
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_c(inbuf: *const c_void, incount: MPI_Count, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Count, position: *mut MPI_Count, comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Pack", || unsafe {
        handles::comm(comm)?;
        pack(inbuf, incount, datatype, outbuf, outsize, position, false)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack(inbuf: *const c_void, incount: c_int, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: c_int, position: *mut c_int, comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Pack", || unsafe {
        handles::comm(comm)?;
        with_position(position, |p| pack(inbuf, incount.into(), datatype, outbuf, outsize.into(), p, false))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Unpack_c(inbuf: *const c_void, insize: MPI_Count, position: *mut MPI_Count, outbuf: *mut c_void, outcount: MPI_Count, datatype: MPI_Datatype, comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Unpack", || unsafe {
        handles::comm(comm)?;
        unpack(inbuf, insize, position, outbuf, outcount, datatype, false)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Unpack(inbuf: *const c_void, insize: c_int, position: *mut c_int, outbuf: *mut c_void, outcount: c_int, datatype: MPI_Datatype, comm: MPI_Comm) -> c_int {
    api(comm, "MPI_Unpack", || unsafe {
        handles::comm(comm)?;
        with_position(position, |p| unpack(inbuf, insize.into(), p, outbuf, outcount.into(), datatype, false))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_size_c(incount: MPI_Count, datatype: MPI_Datatype, comm: MPI_Comm, size: *mut MPI_Count) -> c_int {
    api(comm, "MPI_Pack_size", || unsafe {
        handles::comm(comm)?;
        let n = committed_map(datatype)?.packed_size(count_arg(incount)?)?;
        out(size, n as MPI_Count)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_size(incount: c_int, datatype: MPI_Datatype, comm: MPI_Comm, size: *mut c_int) -> c_int {
    api(comm, "MPI_Pack_size", || unsafe {
        handles::comm(comm)?;
        let n = committed_map(datatype)?.packed_size(count_arg(incount.into())?)?;
        match c_int::try_from(n) {
            Ok(v) => out(size, v),
            Err(_) => fail(ErrorClass::Count, format!("pack size {n} does not fit an int: use MPI_Pack_size_c")),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_external_c(datarep: *const c_char, inbuf: *const c_void, incount: MPI_Count, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Count, position: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Pack_external", || unsafe {
        check_datarep(datarep)?;
        pack(inbuf, incount, datatype, outbuf, outsize, position, true)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_external(datarep: *const c_char, inbuf: *const c_void, incount: c_int, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Aint, position: *mut MPI_Aint) -> c_int {
    api(MPI_COMM_SELF, "MPI_Pack_external", || unsafe {
        check_datarep(datarep)?;
        with_position(position, |p| pack(inbuf, incount.into(), datatype, outbuf, outsize as MPI_Count, p, true))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Unpack_external_c(datarep: *const c_char, inbuf: *const c_void, insize: MPI_Count, position: *mut MPI_Count, outbuf: *mut c_void, outcount: MPI_Count, datatype: MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Unpack_external", || unsafe {
        check_datarep(datarep)?;
        unpack(inbuf, insize, position, outbuf, outcount, datatype, true)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Unpack_external(datarep: *const c_char, inbuf: *const c_void, insize: MPI_Aint, position: *mut MPI_Aint, outbuf: *mut c_void, outcount: c_int, datatype: MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Unpack_external", || unsafe {
        check_datarep(datarep)?;
        with_position(position, |p| unpack(inbuf, insize as MPI_Count, p, outbuf, outcount.into(), datatype, true))
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_external_size_c(datarep: *const c_char, incount: MPI_Count, datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
    api(MPI_COMM_SELF, "MPI_Pack_external_size", || unsafe {
        check_datarep(datarep)?;
        let n = committed_map(datatype)?.ext32_packed_size(count_arg(incount)?)?;
        out(size, n as MPI_Count)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Pack_external_size(datarep: *const c_char, incount: c_int, datatype: MPI_Datatype, size: *mut MPI_Aint) -> c_int {
    api(MPI_COMM_SELF, "MPI_Pack_external_size", || unsafe {
        check_datarep(datarep)?;
        let n = committed_map(datatype)?.ext32_packed_size(count_arg(incount.into())?)?;
        out(size, n as MPI_Aint)
    })
}

// ---- match_size, value_index ---------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_match_size(typeclass: c_int, size: c_int, datatype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_match_size", || unsafe {
        let found = match (typeclass, size) {
            (MPI_TYPECLASS_INTEGER, 1) => MPI_INTEGER1,
            (MPI_TYPECLASS_INTEGER, 2) => MPI_INTEGER2,
            (MPI_TYPECLASS_INTEGER, 4) => MPI_INTEGER4,
            (MPI_TYPECLASS_INTEGER, 8) => MPI_INTEGER8,
            (MPI_TYPECLASS_REAL, 4) => MPI_REAL4,
            (MPI_TYPECLASS_REAL, 8) => MPI_REAL8,
            (MPI_TYPECLASS_COMPLEX, 8) => MPI_COMPLEX8,
            (MPI_TYPECLASS_COMPLEX, 16) => MPI_COMPLEX16,
            (MPI_TYPECLASS_INTEGER | MPI_TYPECLASS_REAL | MPI_TYPECLASS_COMPLEX, _) => {
                return fail(ErrorClass::Arg, format!("no predefined type of class {typeclass} has size {size}"))
            }
            _ => return fail(ErrorClass::Arg, format!("invalid type class {typeclass}")),
        };
        out(datatype, found)
    })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_get_value_index(value_type: MPI_Datatype, index_type: MPI_Datatype, pair_type: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_get_value_index", || unsafe {
        map(value_type)?;
        map(index_type)?;
        let pair = match (value_type, index_type) {
            (MPI_FLOAT, MPI_INT) => MPI_FLOAT_INT,
            (MPI_DOUBLE, MPI_INT) => MPI_DOUBLE_INT,
            (MPI_LONG, MPI_INT) => MPI_LONG_INT,
            (MPI_INT, MPI_INT) => MPI_2INT,
            (MPI_SHORT, MPI_INT) => MPI_SHORT_INT,
            (MPI_LONG_DOUBLE, MPI_INT) => MPI_LONG_DOUBLE_INT,
            // No predefined pair type for these (MPI-5.0 §6.9.4).
            _ => MPI_DATATYPE_NULL,
        };
        out(pair_type, pair)
    })
}

// ---- Fortran 90 parameterized types (MPI-4.1 19.1.9) --------------------------------------------

/// The predefined type `MPI_Type_create_f90_*` picks: the smallest of the standard's sized
/// Fortran types whose precision (decimal digits) and range (decimal exponent) cover the
/// arguments, as IEEE formats and two's-complement integers give them (MPICH's table);
/// `MPI_UNDEFINED` leaves a bound free. None covers it: `MPI_ERR_ARG`.
fn f90_base(combiner: Combiner, p: c_int, r: c_int) -> Result<MPI_Datatype> {
    let fits = |pmax: c_int, rmax: c_int| (p == MPI_UNDEFINED || p <= pmax) && (r == MPI_UNDEFINED || r <= rmax);
    let bad = |what: &str| fail(ErrorClass::Arg, format!("no Fortran {what} type has precision {p} and range {r}"));
    if (p != MPI_UNDEFINED && p < 0) || (r != MPI_UNDEFINED && r < 0) {
        return bad("");
    }
    match combiner {
        Combiner::F90Integer => Ok(match r {
            _ if r == MPI_UNDEFINED || r <= 2 => MPI_INTEGER1,
            _ if r <= 4 => MPI_INTEGER2,
            _ if r <= 9 => MPI_INTEGER4,
            _ if r <= 18 => MPI_INTEGER8,
            _ => return bad("INTEGER"),
        }),
        Combiner::F90Real | Combiner::F90Complex => {
            let real = combiner == Combiner::F90Real;
            if p == MPI_UNDEFINED && r == MPI_UNDEFINED {
                return bad(if real { "REAL" } else { "COMPLEX" });
            }
            // binary32, binary64, binary128.
            if fits(6, 37) {
                Ok(if real { MPI_REAL4 } else { MPI_COMPLEX8 })
            } else if fits(15, 307) {
                Ok(if real { MPI_REAL8 } else { MPI_COMPLEX16 })
            } else if fits(33, 4931) {
                Ok(if real { MPI_REAL16 } else { MPI_COMPLEX32 })
            } else {
                bad(if real { "REAL" } else { "COMPLEX" })
            }
        }
        _ => fail(ErrorClass::Intern, "not a Fortran 90 combiner"),
    }
}

unsafe fn create_f90(combiner: Combiner, p: c_int, r: c_int, newtype: *mut MPI_Datatype) -> Result<()> {
    let key = (combiner_code(combiner), p, r);
    if let Some(&h) = registry().f90.get(&key) {
        return unsafe { out(newtype, h) };
    }
    let base = f90_base(combiner, p, r)?;
    // A sized type this build has no C equivalent for (REAL16 where long double is not
    // binary128) fails here with MPI_ERR_TYPE.
    let old = handles::type_map(base)?;
    let ints = if combiner == Combiner::F90Integer { vec![r as i64] } else { vec![p as i64, r as i64] };
    let map = Arc::new(TypeMap::f90(&old, combiner, ints));
    let mut reg = registry();
    // Another thread may have made it since the look-up above.
    let h = match reg.f90.get(&key) {
        Some(&h) => h,
        None => {
            // Committed, and named after the sized type it is.
            let name = handles::datatype_name(base).to_string();
            let h = MPI_Datatype(reg.types.insert(Entry { map, committed: true, name }).token() as usize);
            reg.f90.insert(key, h);
            h
        }
    };
    drop(reg);
    unsafe { out(newtype, h) }
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_f90_integer(r: c_int, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_f90_integer", || unsafe { create_f90(Combiner::F90Integer, MPI_UNDEFINED, r, newtype) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_f90_real(p: c_int, r: c_int, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_f90_real", || unsafe { create_f90(Combiner::F90Real, p, r, newtype) })
}

#[no_mangle]
pub unsafe extern "C" fn PMPI_Type_create_f90_complex(p: c_int, r: c_int, newtype: *mut MPI_Datatype) -> c_int {
    api(MPI_COMM_SELF, "MPI_Type_create_f90_complex", || unsafe { create_f90(Combiner::F90Complex, p, r, newtype) })
}
