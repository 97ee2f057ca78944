//! Datatypes as type maps: predefined and derived (issue 4).
//!
//! A [`TypeMap`] is what every datatype reduces to once constructed: its bounds (lb, ub, true
//! lb/ub), its size, its type signature (the sequence of basic elements, run-length encoded)
//! and the memory its data occupies, flattened into contiguous segments relative to the
//! buffer's address. Constituent types are flattened at construction, so a type never walks
//! its children again; the constituents stay alive only through [`Contents`] (for
//! `MPI_Type_get_contents`), which is why freeing a constituent never breaks a type built on
//! it.
//!
//! Segments are run-length encoded ([`Seg`]: `reps` segments `stride` bytes apart), so a
//! vector of a million blocks is one `Seg`, and `count` repetitions of a type are never
//! materialised: [`TypeMap::segments`] walks them (the segment walker transports will use to
//! move non-contiguous data without packing it first). Pack and unpack are that walker copying
//! to or from a contiguous stream; external32 converts the native packed stream element by
//! element along the signature.
//!
//! Sizes are checked: every bound is computed in `i128` and must fit in `i64` (and the size in
//! `isize`), or construction fails with `MPI_ERR_COUNT`-class errors; nothing panics on bad
//! input.

use std::sync::Arc;

use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, Result};

/// One basic element of a type signature: its machine kind and its size in the external32
/// representation, which is not always its memory size (the standard fixes `MPI_LONG` at 4
/// bytes and `MPI_WCHAR` at 2 in external32, whatever the platform's `sizeof`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Basic {
    pub kind: Kind,
    pub ext32: u8,
}

impl Basic {
    /// A basic element whose external32 size is its memory size.
    pub const fn native(kind: Kind) -> Basic {
        Basic { kind, ext32: kind.extent() as u8 }
    }

    /// Bytes of this element in a native packed stream.
    pub const fn size(self) -> usize {
        self.kind.size()
    }
}

/// `reps` contiguous byte ranges of `len` bytes, the first at `off` (relative to the buffer
/// address) and each next one `stride` bytes further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub off: isize,
    pub len: usize,
    pub reps: usize,
    pub stride: isize,
}

/// How a type was made (`MPI_Type_get_envelope`'s combiner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combiner {
    Named,
    Dup,
    Contiguous,
    Vector,
    Hvector,
    Indexed,
    Hindexed,
    IndexedBlock,
    HindexedBlock,
    Struct,
    Subarray,
    Darray,
    Resized,
    /// `MPI_Type_create_f90_real/complex/integer`: a predefined type chosen by precision
    /// and range, with those as its contents.
    F90Real,
    F90Complex,
    F90Integer,
}

/// The arguments a constructor got, in the arrays `MPI_Type_get_contents` returns them in.
/// Which array a value goes to depends on the C form (the `_c` constructors put counts and
/// displacements in `large`), so the caller fills this in.
#[derive(Clone, Debug)]
pub struct Contents {
    pub combiner: Combiner,
    pub ints: Vec<i64>,
    pub addrs: Vec<i64>,
    pub large: Vec<i64>,
    /// The constituent types. Holding them keeps them alive for `get_contents` after the
    /// application frees their handles.
    pub types: Vec<Arc<TypeMap>>,
}

impl Contents {
    pub fn named() -> Contents {
        Contents { combiner: Combiner::Named, ints: Vec::new(), addrs: Vec::new(), large: Vec::new(), types: Vec::new() }
    }
}

/// A datatype's complete description.
#[derive(Clone, Debug)]
pub struct TypeMap {
    size: usize,
    lb: i64,
    ub: i64,
    true_lb: i64,
    true_ub: i64,
    /// Largest alignment of the basic elements (pads the extent of structs).
    align: usize,
    /// An explicit lb/ub was set (create_resized somewhere inside): no struct padding.
    explicit_bounds: bool,
    segs: Vec<Seg>,
    /// Stream offset (in packed bytes) where each of `segs` starts within one element.
    seg_start: Vec<usize>,
    sig: Vec<(Basic, usize)>,
    /// For a predefined type, an identity the caller chooses (the `abi` crate stores the
    /// handle value) so that `get_contents` can return predefined constituents as themselves.
    pub named_id: Option<usize>,
    pub contents: Contents,
}

/// Bounds must stay comfortably inside what C's `MPI_Aint`/`MPI_Count` and our `isize` offsets
/// hold, so that no later arithmetic (element index times extent) is near overflow.
const LIMIT: i128 = 1 << 62;

fn fit(v: i128, what: &str) -> Result<i64> {
    if v.abs() < LIMIT {
        Ok(v as i64)
    } else {
        fail(ErrorClass::Count, format!("datatype {what} {v} is too large"))
    }
}

fn natural_align(kind: Kind) -> usize {
    match kind {
        Kind::ComplexF32 => 4,
        Kind::ComplexF64 => 8,
        Kind::ComplexLongDouble => 16,
        Kind::FloatInt | Kind::TwoInt | Kind::ShortInt => 4,
        Kind::DoubleInt | Kind::LongInt => 8,
        Kind::LongDoubleInt => 16,
        k => k.extent(),
    }
}

/// For a MAXLOC/MINLOC pair kind, its value's kind (the index is always an `int`).
fn pair_value_kind(kind: Kind) -> Option<Kind> {
    Some(match kind {
        Kind::FloatInt => Kind::F32,
        Kind::DoubleInt => Kind::F64,
        Kind::LongInt => Kind::I64,
        Kind::TwoInt => Kind::I32,
        Kind::ShortInt => Kind::I16,
        Kind::LongDoubleInt => Kind::LongDouble,
        _ => return None,
    })
}

/// Appends a segment run, merging it with the previous one where the result stays one run.
fn push_seg(segs: &mut Vec<Seg>, mut s: Seg) {
    if s.len == 0 || s.reps == 0 {
        return;
    }
    if s.reps > 1 && s.stride == s.len as isize {
        s = Seg { off: s.off, len: s.len * s.reps, reps: 1, stride: 0 };
    }
    if s.reps == 1 {
        s.stride = 0;
    }
    if let Some(last) = segs.last_mut() {
        if last.reps == 1 && s.reps == 1 && last.off + last.len as isize == s.off {
            last.len += s.len;
            return;
        }
        if last.reps == 1 && s.reps == 1 && last.len == s.len {
            *last = Seg { off: last.off, len: last.len, reps: 2, stride: s.off - last.off };
            return;
        }
        if last.reps > 1 && s.reps == 1 && last.len == s.len && s.off == last.off + last.stride * last.reps as isize {
            last.reps += 1;
            return;
        }
    }
    segs.push(s);
}

/// Builds a type map from placements of constituent types.
struct Builder {
    segs: Vec<Seg>,
    sig: Vec<(Basic, usize)>,
    size: usize,
    bounds: Option<(i128, i128)>,
    true_bounds: Option<(i128, i128)>,
    align: usize,
    explicit_bounds: bool,
}

impl Builder {
    fn new() -> Builder {
        Builder { segs: Vec::new(), sig: Vec::new(), size: 0, bounds: None, true_bounds: None, align: 1, explicit_bounds: false }
    }

    fn push_sig(&mut self, b: Basic, n: usize) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        match self.sig.last_mut() {
            Some((last, c)) if *last == b => {
                *c = c.checked_add(n).ok_or_else(|| crate::error::MpiError::new(ErrorClass::Count, "type signature too long"))?
            }
            _ => self.sig.push((b, n)),
        }
        Ok(())
    }

    /// Extends the bounds, size and alignment by `n` copies of `t` at `disp` (the first at
    /// `disp`, each next one an extent further), without adding segments or signature.
    fn extend(&mut self, t: &TypeMap, disp: i128, n: usize) -> Result<()> {
        self.align = self.align.max(t.align);
        self.explicit_bounds |= t.explicit_bounds;
        if n == 0 {
            return Ok(());
        }
        let ext = t.extent() as i128;
        let last = disp + ext * (n as i128 - 1);
        let (lo, hi) = (disp.min(last), disp.max(last));
        let b = (fit(lo + t.lb as i128, "lower bound")? as i128, fit(hi + t.ub as i128, "upper bound")? as i128);
        self.bounds = Some(match self.bounds {
            None => b,
            Some((l, u)) => (l.min(b.0), u.max(b.1)),
        });
        if t.size == 0 {
            return Ok(());
        }
        let tb = (lo + t.true_lb as i128, hi + t.true_ub as i128);
        self.true_bounds = Some(match self.true_bounds {
            None => tb,
            Some((l, u)) => (l.min(tb.0), u.max(tb.1)),
        });
        self.add_size(t.size, n)
    }

    fn add_size(&mut self, size: usize, n: usize) -> Result<()> {
        let added = size.checked_mul(n).filter(|&s| (s as i128) < LIMIT);
        self.size = match added.and_then(|a| self.size.checked_add(a)).filter(|&s| (s as i128) < LIMIT) {
            Some(s) => s,
            None => return fail(ErrorClass::Count, "datatype size overflows"),
        };
        Ok(())
    }

    /// Places `n` copies of `t`, the first at byte displacement `disp`, each next one an extent
    /// further (a block of `n` elements, as every constructor's blocks are).
    fn place(&mut self, t: &TypeMap, disp: i128, n: usize) -> Result<()> {
        self.extend(t, disp, n)?;
        if n == 0 || t.size == 0 {
            return Ok(());
        }
        // The signature: n repetitions of t's. A single-run signature multiplies; otherwise the
        // runs repeat (as many times as the segments below do).
        if t.sig.len() == 1 {
            self.push_sig(t.sig[0].0, t.sig[0].1 * n)?;
        } else {
            for _ in 0..n {
                for &(b, c) in &t.sig {
                    self.push_sig(b, c)?;
                }
            }
        }
        let disp = disp as isize;
        let ext = t.extent() as isize;
        if t.segs.len() == 1 && t.segs[0].reps == 1 {
            let s = t.segs[0];
            push_seg(&mut self.segs, Seg { off: disp + s.off, len: s.len, reps: n, stride: ext });
        } else {
            for i in 0..n {
                for s in &t.segs {
                    push_seg(&mut self.segs, Seg { off: disp + ext * i as isize + s.off, ..*s });
                }
            }
        }
        Ok(())
    }

    /// Places `count` blocks of `blocklen` copies of `t`, `stride` bytes apart, without looping
    /// over the blocks when one block is a single segment (a vector of any count is one run).
    fn place_strided(&mut self, t: &TypeMap, count: usize, blocklen: usize, stride: i128) -> Result<()> {
        let mut one = Builder::new();
        one.place(t, 0, blocklen)?;
        if count > 1 && one.segs.len() == 1 && one.segs[0].reps == 1 && one.sig.len() == 1 {
            // Bounds from the first and last blocks; size and signature count times one block's.
            let last = stride * (count as i128 - 1);
            fit(last, "displacement")?;
            self.extend(t, 0, blocklen)?;
            self.extend(t, last, blocklen)?;
            self.size -= 2 * one.size;
            self.add_size(one.size, count)?;
            let (b, c) = one.sig[0];
            self.push_sig(b, c.saturating_mul(count))?;
            let s = one.segs[0];
            push_seg(&mut self.segs, Seg { off: s.off, len: s.len, reps: count, stride: stride as isize });
            return Ok(());
        }
        self.extend(t, 0, 0)?;
        for i in 0..count {
            self.place(t, stride * i as i128, blocklen)?;
        }
        Ok(())
    }

    fn finish(self, combiner: Combiner) -> TypeMap {
        let (lb, ub) = self.bounds.unwrap_or((0, 0));
        let (true_lb, true_ub) = self.true_bounds.unwrap_or((0, 0));
        let mut t = TypeMap {
            size: self.size,
            lb: lb as i64,
            ub: ub as i64,
            true_lb: true_lb as i64,
            true_ub: true_ub as i64,
            align: self.align,
            explicit_bounds: self.explicit_bounds,
            segs: self.segs,
            seg_start: Vec::new(),
            sig: self.sig,
            named_id: None,
            contents: Contents { combiner, ..Contents::named() },
        };
        t.index();
        t
    }
}

fn nonneg(v: i64, what: &str) -> Result<usize> {
    match usize::try_from(v) {
        Ok(n) => Ok(n),
        Err(_) => fail(ErrorClass::Count, format!("negative {what} {v}")),
    }
}

fn blocklen(v: i64) -> Result<usize> {
    match usize::try_from(v) {
        Ok(n) => Ok(n),
        Err(_) => fail(ErrorClass::Count, format!("negative block length {v}")),
    }
}

/// A distribution of one `MPI_Type_create_darray` dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distrib {
    /// Blocks of the given size (`None`: `MPI_DISTRIBUTE_DFLT_DARG`, ceil(gsize / psize)).
    Block(Option<i64>),
    /// Cyclic blocks of the given size (`None`: 1).
    Cyclic(Option<i64>),
    None,
}

impl TypeMap {
    /// A predefined type of `kind`. `ext32` overrides the external32 size of the element (of
    /// the value, for a pair kind) where the standard's table differs from the memory size.
    pub fn predefined(kind: Kind, ext32: Option<u8>, named_id: usize) -> TypeMap {
        let mut b = Builder::new();
        b.align = natural_align(kind);
        let (sig, segs): (Vec<(Basic, usize)>, Vec<Seg>) = match (pair_value_kind(kind), kind.pair_value_size()) {
            (Some(vk), Some(vsize)) => {
                let v = Basic { kind: vk, ext32: ext32.unwrap_or(vk.extent() as u8) };
                let i = Basic::native(Kind::I32);
                let at = vsize.next_multiple_of(4);
                let mut segs = Vec::new();
                push_seg(&mut segs, Seg { off: 0, len: vsize, reps: 1, stride: 0 });
                push_seg(&mut segs, Seg { off: at as isize, len: 4, reps: 1, stride: 0 });
                let sig = if v == i { vec![(v, 2)] } else { vec![(v, 1), (i, 1)] };
                (sig, segs)
            }
            _ => {
                let basic = Basic { kind, ext32: ext32.unwrap_or(kind.extent() as u8) };
                (vec![(basic, 1)], vec![Seg { off: 0, len: kind.extent(), reps: 1, stride: 0 }])
            }
        };
        b.size = kind.size();
        b.bounds = Some((0, kind.extent() as i128));
        b.true_bounds = Some((0, kind.true_extent() as i128));
        b.segs = segs;
        b.sig = sig;
        let mut t = b.finish(Combiner::Named);
        t.named_id = Some(named_id);
        t
    }

    /// A predefined type this build does not support (size and extent 0).
    pub fn empty_named(named_id: usize) -> TypeMap {
        let mut t = Builder::new().finish(Combiner::Named);
        t.named_id = Some(named_id);
        t
    }

    pub fn contiguous(count: i64, old: &TypeMap) -> Result<TypeMap> {
        let n = nonneg(count, "count")?;
        let mut b = Builder::new();
        b.place(old, 0, n)?;
        Ok(b.finish(Combiner::Contiguous))
    }

    /// `MPI_Type_vector` (stride in elements of `old`) or `MPI_Type_create_hvector` (in bytes).
    pub fn vector(count: i64, blocklength: i64, stride: i64, stride_in_bytes: bool, old: &TypeMap) -> Result<TypeMap> {
        let n = nonneg(count, "count")?;
        let bl = blocklen(blocklength)?;
        let stride = if stride_in_bytes { stride as i128 } else { stride as i128 * old.extent() as i128 };
        let mut b = Builder::new();
        b.place_strided(old, n, bl, stride)?;
        Ok(b.finish(if stride_in_bytes { Combiner::Hvector } else { Combiner::Vector }))
    }

    /// `MPI_Type_indexed`/`create_hindexed` and the `_block` forms: one block per
    /// displacement (in elements of `old`, or in bytes), of the given length.
    pub fn indexed(blocklengths: &[i64], displacements: &[i64], in_bytes: bool, old: &TypeMap, combiner: Combiner) -> Result<TypeMap> {
        if blocklengths.len() != displacements.len() {
            return fail(ErrorClass::Arg, "block lengths and displacements differ in number");
        }
        let mut b = Builder::new();
        for (&bl, &d) in blocklengths.iter().zip(displacements) {
            let disp = if in_bytes { d as i128 } else { d as i128 * old.extent() as i128 };
            b.place(old, disp, blocklen(bl)?)?;
        }
        Ok(b.finish(combiner))
    }

    /// `MPI_Type_create_struct`: blocks of different types at byte displacements. Unless some
    /// constituent has explicit bounds, the extent is padded to the largest alignment of the
    /// basic elements, as C pads a struct.
    pub fn structure(blocklengths: &[i64], displacements: &[i64], types: &[&TypeMap]) -> Result<TypeMap> {
        if blocklengths.len() != displacements.len() || types.len() != displacements.len() {
            return fail(ErrorClass::Arg, "block lengths, displacements and types differ in number");
        }
        let mut b = Builder::new();
        for ((&bl, &d), t) in blocklengths.iter().zip(displacements).zip(types) {
            b.place(t, d as i128, blocklen(bl)?)?;
        }
        if !b.explicit_bounds {
            if let Some((lb, ub)) = b.bounds {
                let ext = ub - lb;
                let a = b.align as i128;
                let padded = (ext + a - 1).div_euclid(a) * a;
                b.bounds = Some((lb, lb + padded));
            }
        }
        Ok(b.finish(Combiner::Struct))
    }

    /// `MPI_Type_create_resized`: the same data with the given lower bound and extent.
    pub fn resized(old: &TypeMap, lb: i64, extent: i64) -> Result<TypeMap> {
        let ub = fit(lb as i128 + extent as i128, "upper bound")?;
        let mut t = old.clone();
        t.lb = lb;
        t.ub = ub;
        t.explicit_bounds = true;
        t.named_id = None;
        t.contents = Contents { combiner: Combiner::Resized, ..Contents::named() };
        Ok(t)
    }

    /// `MPI_Type_create_f90_*`: `old`'s type map (a predefined type), made by `combiner`
    /// with the arguments `ints` (precision and range, or range).
    pub fn f90(old: &TypeMap, combiner: Combiner, ints: Vec<i64>) -> TypeMap {
        let mut t = old.clone();
        t.named_id = None;
        t.contents = Contents { combiner, ints, ..Contents::named() };
        t
    }

    /// `MPI_Type_dup`: the same type map.
    pub fn dup(old: &TypeMap) -> TypeMap {
        let mut t = old.clone();
        t.named_id = None;
        t.contents = Contents { combiner: Combiner::Dup, ..Contents::named() };
        t
    }

    /// `MPI_Type_create_subarray`. `fortran_order`: the first dimension varies fastest.
    pub fn subarray(sizes: &[i64], subsizes: &[i64], starts: &[i64], fortran_order: bool, old: &TypeMap) -> Result<TypeMap> {
        let nd = sizes.len();
        if nd == 0 || subsizes.len() != nd || starts.len() != nd {
            return fail(ErrorClass::Arg, "subarray needs ndims >= 1 and arrays of ndims entries");
        }
        let mut ranges = Vec::with_capacity(nd);
        for d in 0..nd {
            let (size, sub, start) = (sizes[d], subsizes[d], starts[d]);
            if size < 1 {
                return fail(ErrorClass::Arg, format!("array_of_sizes[{d}] = {size} is not positive"));
            }
            if sub < 1 || sub > size {
                return fail(ErrorClass::Arg, format!("array_of_subsizes[{d}] = {sub} is not in 1..={size}"));
            }
            if start < 0 || start > size - sub {
                return fail(ErrorClass::Arg, format!("array_of_starts[{d}] = {start} is not in 0..={}", size - sub));
            }
            ranges.push(vec![(start, sub)]);
        }
        Self::grid(sizes, &ranges, fortran_order, old, Combiner::Subarray)
    }

    /// `MPI_Type_create_darray`: the part of a `gsizes` array that process `rank` of `size`
    /// owns, the processes forming a row-major grid of `psizes`.
    pub fn darray(size: i64, rank: i64, gsizes: &[i64], distribs: &[Distrib], psizes: &[i64], fortran_order: bool, old: &TypeMap) -> Result<TypeMap> {
        let nd = gsizes.len();
        if nd == 0 || distribs.len() != nd || psizes.len() != nd {
            return fail(ErrorClass::Arg, "darray needs ndims >= 1 and arrays of ndims entries");
        }
        if size < 1 || rank < 0 || rank >= size {
            return fail(ErrorClass::Arg, format!("darray rank {rank} is not in 0..{size}"));
        }
        let mut procs: i128 = 1;
        for (d, &p) in psizes.iter().enumerate() {
            if p < 1 {
                return fail(ErrorClass::Arg, format!("array_of_psizes[{d}] = {p} is not positive"));
            }
            procs *= p as i128;
            if procs > size as i128 {
                break;
            }
        }
        if procs != size as i128 {
            return fail(ErrorClass::Arg, format!("the process grid {psizes:?} does not have {size} processes"));
        }
        // Row-major coordinates of `rank` in the process grid.
        let mut coords = vec![0i64; nd];
        let mut r = rank;
        for d in (0..nd).rev() {
            coords[d] = r % psizes[d];
            r /= psizes[d];
        }
        let mut ranges = Vec::with_capacity(nd);
        for d in 0..nd {
            let (g, p, c) = (gsizes[d], psizes[d], coords[d]);
            if g < 1 {
                return fail(ErrorClass::Arg, format!("array_of_gsizes[{d}] = {g} is not positive"));
            }
            let mut rs = Vec::new();
            match distribs[d] {
                Distrib::None => {
                    if p != 1 {
                        return fail(ErrorClass::Arg, format!("dimension {d} is not distributed but has {p} processes"));
                    }
                    rs.push((0, g));
                }
                Distrib::Block(darg) => {
                    let b = match darg {
                        None => (g + p - 1) / p,
                        Some(k) if k >= 1 && k as i128 * p as i128 >= g as i128 => k,
                        Some(k) => return fail(ErrorClass::Arg, format!("block size {k} times {p} processes does not cover {g} elements in dimension {d}")),
                    };
                    let start = (c as i128 * b as i128).min(g as i128) as i64;
                    let len = b.min(g - start);
                    if len > 0 {
                        rs.push((start, len));
                    }
                }
                Distrib::Cyclic(darg) => {
                    let k = match darg {
                        None => 1,
                        Some(k) if k >= 1 => k,
                        Some(k) => return fail(ErrorClass::Arg, format!("cyclic block size {k} is not positive")),
                    };
                    let step = k as i128 * p as i128;
                    let mut start = c as i128 * k as i128;
                    while start < g as i128 {
                        rs.push((start as i64, (k as i128).min(g as i128 - start) as i64));
                        start += step;
                    }
                }
            }
            ranges.push(rs);
        }
        Self::grid(gsizes, &ranges, fortran_order, old, Combiner::Darray)
    }

    /// The elements of an array of `sizes` whose index in each dimension `d` lies in one of
    /// `ranges[d]` ((start, length) pairs), in memory order; lb 0, extent the whole array.
    fn grid(sizes: &[i64], ranges: &[Vec<(i64, i64)>], fortran_order: bool, old: &TypeMap, combiner: Combiner) -> Result<TypeMap> {
        let nd = sizes.len();
        // Dimensions from the fastest-varying outwards.
        let order: Vec<usize> = if fortran_order { (0..nd).collect() } else { (0..nd).rev().collect() };
        let mut inner = old.clone();
        let mut elem_extent = old.extent() as i128;
        for &d in &order {
            let mut b = Builder::new();
            for &(start, len) in &ranges[d] {
                b.place(&inner, start as i128 * elem_extent, len as usize)?;
            }
            let mut t = b.finish(combiner);
            let full = fit(elem_extent * sizes[d] as i128, "extent")?;
            t.lb = 0;
            t.ub = full;
            elem_extent = full as i128;
            inner = t;
        }
        inner.explicit_bounds = true;
        inner.named_id = None;
        inner.contents = Contents { combiner, ..Contents::named() };
        Ok(inner)
    }

    fn index(&mut self) {
        let mut at = 0usize;
        self.seg_start = self
            .segs
            .iter()
            .map(|s| {
                let start = at;
                at += s.len * s.reps;
                start
            })
            .collect();
    }

    pub fn size(&self) -> usize {
        self.size
    }
    pub fn lb(&self) -> i64 {
        self.lb
    }
    pub fn ub(&self) -> i64 {
        self.ub
    }
    pub fn extent(&self) -> i64 {
        self.ub - self.lb
    }
    pub fn true_lb(&self) -> i64 {
        self.true_lb
    }
    pub fn true_extent(&self) -> i64 {
        self.true_ub - self.true_lb
    }
    pub fn segs(&self) -> &[Seg] {
        &self.segs
    }
    /// Where the data of `count` elements lies: (offset of its first byte from the buffer
    /// address, bytes from there to its last byte), gaps included; `(0, 0)` without data.
    /// `Count` error when it does not fit `isize`.
    pub fn data_span(&self, count: usize) -> Result<(isize, usize)> {
        if count == 0 || self.size == 0 {
            return Ok((0, 0));
        }
        let reach = (count as i128 - 1) * i128::from(self.extent());
        let lo = i128::from(self.true_lb) + reach.min(0);
        let hi = i128::from(self.true_lb) + i128::from(self.true_extent()) + reach.max(0);
        let limit = isize::MAX as i128;
        if lo.abs() > limit || hi - lo > limit {
            return fail(ErrorClass::Count, format!("count {count} of a datatype of extent {} overflows", self.extent()));
        }
        Ok((lo as isize, (hi - lo) as usize))
    }
    /// The type signature of one element: runs of (basic element, repetitions).
    pub fn signature(&self) -> &[(Basic, usize)] {
        &self.sig
    }
    pub fn is_named(&self) -> bool {
        self.contents.combiner == Combiner::Named
    }

    /// Basic elements in one element of this type.
    pub fn basic_count(&self) -> usize {
        self.sig.iter().map(|&(_, n)| n).sum()
    }

    /// Bytes of one element in external32.
    pub fn ext32_size(&self) -> usize {
        self.sig.iter().map(|&(b, n)| b.ext32 as usize * n).sum()
    }

    /// Packed bytes of `count` elements, or an error when that overflows.
    pub fn packed_size(&self, count: usize) -> Result<usize> {
        match self.size.checked_mul(count) {
            Some(n) if n <= isize::MAX as usize => Ok(n),
            _ => fail(ErrorClass::Count, format!("{count} elements of {} bytes overflow", self.size)),
        }
    }

    /// External32 bytes of `count` elements.
    pub fn ext32_packed_size(&self, count: usize) -> Result<usize> {
        match self.ext32_size().checked_mul(count) {
            Some(n) if n <= isize::MAX as usize => Ok(n),
            _ => fail(ErrorClass::Count, format!("{count} elements overflow in external32")),
        }
    }

    /// True when one element is a single contiguous range from lb to ub (the whole extent).
    pub fn is_dense(&self) -> bool {
        self.segs.len() == 1 && self.segs[0].reps == 1 && self.segs[0].off as i64 == self.lb && self.segs[0].len as i64 == self.extent()
    }

    /// Basic elements in the first `bytes` packed bytes of a stream of this type
    /// (`MPI_Get_elements`), or `None` when the bytes end inside a basic element.
    pub fn elements_in(&self, bytes: usize) -> Option<usize> {
        if self.size == 0 {
            return if bytes == 0 { Some(0) } else { None };
        }
        let (whole, mut rest) = (bytes / self.size, bytes % self.size);
        let mut n = whole.checked_mul(self.basic_count())?;
        for &(b, c) in &self.sig {
            if rest == 0 {
                break;
            }
            let sz = b.size();
            let k = (rest / sz).min(c);
            n += k;
            rest -= k * sz;
            if k < c {
                break;
            }
        }
        (rest == 0).then_some(n)
    }

    /// The memory of `count` elements from packed-stream offset `skip` on, as (offset from the
    /// buffer address, length) ranges in type-map order; adjacent ranges are merged.
    pub fn segments(&self, count: usize, skip: usize) -> Walker<'_> {
        let total = self.size.saturating_mul(count);
        let mut w = Walker { map: self, count, elem: 0, seg: 0, rep: 0, within: 0, remaining: total.saturating_sub(skip), dense: self.is_dense() };
        if self.size == 0 || w.remaining == 0 {
            w.remaining = 0;
            return w;
        }
        if w.dense {
            w.within = skip;
            return w;
        }
        w.elem = skip / self.size;
        let rem = skip % self.size;
        let i = self.seg_start.partition_point(|&s| s <= rem) - 1;
        let s = &self.segs[i];
        let into = rem - self.seg_start[i];
        w.seg = i;
        w.rep = into / s.len;
        w.within = into % s.len;
        w
    }

    /// Copies packed bytes `skip..skip + out.len()` of `count` elements at `base` into `out`
    /// (fewer when the stream ends first); returns the bytes copied.
    ///
    /// # Safety
    /// `base` must be valid for reads of every byte the type map of `count` elements covers.
    pub unsafe fn pack(&self, base: *const u8, count: usize, skip: usize, out: &mut [u8]) -> usize {
        let mut at = 0;
        for (off, len) in self.segments(count, skip) {
            let n = len.min(out.len() - at);
            // SAFETY: the caller vouches for the source range; `out` has room for `n`.
            unsafe { std::ptr::copy_nonoverlapping(base.wrapping_offset(off), out.as_mut_ptr().add(at), n) };
            at += n;
            if at == out.len() {
                break;
            }
        }
        at
    }

    /// Copies `input` into packed bytes `skip..skip + input.len()` of `count` elements at
    /// `base`; returns the bytes copied.
    ///
    /// # Safety
    /// `base` must be valid for writes of every byte the type map of `count` elements covers,
    /// and not overlap `input`.
    pub unsafe fn unpack(&self, input: &[u8], base: *mut u8, count: usize, skip: usize) -> usize {
        let mut at = 0;
        for (off, len) in self.segments(count, skip) {
            let n = len.min(input.len() - at);
            // SAFETY: as above, in the other direction.
            unsafe { std::ptr::copy_nonoverlapping(input.as_ptr().add(at), base.wrapping_offset(off), n) };
            at += n;
            if at == input.len() {
                break;
            }
        }
        at
    }

    /// Converts `count` elements from a native packed stream to external32 (big-endian, the
    /// standard's sizes). `native` and `ext` must hold exactly `count` elements of each.
    pub fn native_to_ext32(&self, count: usize, native: &[u8], ext: &mut [u8]) -> Result<()> {
        self.convert(count, native.len(), ext.len(), |b, n_at, e_at| to_ext32(b, &native[n_at..n_at + b.size()], &mut ext[e_at..e_at + b.ext32 as usize]))
    }

    /// The reverse of [`native_to_ext32`](Self::native_to_ext32).
    pub fn ext32_to_native(&self, count: usize, ext: &[u8], native: &mut [u8]) -> Result<()> {
        self.convert(count, native.len(), ext.len(), |b, n_at, e_at| from_ext32(b, &ext[e_at..e_at + b.ext32 as usize], &mut native[n_at..n_at + b.size()]))
    }

    fn convert(&self, count: usize, native_len: usize, ext_len: usize, mut each: impl FnMut(Basic, usize, usize) -> Result<()>) -> Result<()> {
        if native_len != self.packed_size(count)? || ext_len != self.ext32_packed_size(count)? {
            return fail(ErrorClass::Intern, "external32 conversion buffers of the wrong size");
        }
        let (mut n_at, mut e_at) = (0, 0);
        for _ in 0..count {
            for &(b, c) in &self.sig {
                for _ in 0..c {
                    each(b, n_at, e_at)?;
                    n_at += b.size();
                    e_at += b.ext32 as usize;
                }
            }
        }
        Ok(())
    }
}

/// Converts one native basic element to its external32 form.
fn to_ext32(b: Basic, native: &[u8], ext: &mut [u8]) -> Result<()> {
    match b.kind {
        Kind::LongDouble => long_double_to_quad(native, ext),
        Kind::ComplexLongDouble => {
            long_double_to_quad(&native[..16], &mut ext[..16]);
            long_double_to_quad(&native[16..], &mut ext[16..]);
        }
        Kind::ComplexF32 | Kind::ComplexF64 => {
            let h = native.len() / 2;
            swap_into(&native[..h], &mut ext[..h]);
            swap_into(&native[h..], &mut ext[h..]);
        }
        _ if native.len() == ext.len() => swap_into(native, ext),
        kind => {
            // Narrowed integers: MPI_LONG / MPI_UNSIGNED_LONG (8 -> 4), MPI_WCHAR (4 -> 2).
            let signed = matches!(kind, Kind::I64 | Kind::I32 | Kind::I16);
            let v = read_native_int(native, signed);
            let bits = 8 * ext.len() as u32;
            let ok = if signed { v >= -(1i128 << (bits - 1)) && v < (1i128 << (bits - 1)) } else { v >= 0 && v < (1i128 << bits) };
            if !ok {
                return fail(ErrorClass::Conversion, format!("{v} does not fit the {}-byte external32 form", ext.len()));
            }
            let bytes = (v as i64).to_be_bytes();
            ext.copy_from_slice(&bytes[8 - ext.len()..]);
        }
    }
    Ok(())
}

/// Converts one external32 element to its native form.
fn from_ext32(b: Basic, ext: &[u8], native: &mut [u8]) -> Result<()> {
    match b.kind {
        Kind::LongDouble => quad_to_long_double(ext, native),
        Kind::ComplexLongDouble => {
            quad_to_long_double(&ext[..16], &mut native[..16]);
            quad_to_long_double(&ext[16..], &mut native[16..]);
        }
        Kind::ComplexF32 | Kind::ComplexF64 => {
            let h = native.len() / 2;
            swap_into(&ext[..h], &mut native[..h]);
            swap_into(&ext[h..], &mut native[h..]);
        }
        _ if native.len() == ext.len() => swap_into(ext, native),
        kind => {
            let signed = matches!(kind, Kind::I64 | Kind::I32 | Kind::I16);
            let mut v: i128 = 0;
            for &x in ext {
                v = (v << 8) | x as i128;
            }
            let bits = 8 * ext.len() as u32;
            if signed && v >= 1i128 << (bits - 1) {
                v -= 1i128 << bits;
            }
            let bytes = (v as i64).to_ne_bytes();
            #[cfg(target_endian = "little")]
            native.copy_from_slice(&bytes[..native.len()]);
            #[cfg(target_endian = "big")]
            native.copy_from_slice(&bytes[8 - native.len()..]);
        }
    }
    Ok(())
}

fn read_native_int(native: &[u8], signed: bool) -> i128 {
    let mut buf = [0u8; 16];
    let n = native.len();
    #[cfg(target_endian = "little")]
    {
        buf[..n].copy_from_slice(native);
        if signed && native[n - 1] & 0x80 != 0 {
            buf[n..].fill(0xff);
        }
        i128::from_le_bytes(buf)
    }
    #[cfg(target_endian = "big")]
    {
        buf[16 - n..].copy_from_slice(native);
        if signed && native[0] & 0x80 != 0 {
            buf[..16 - n].fill(0xff);
        }
        i128::from_be_bytes(buf)
    }
}

/// Copies a native-endian value into big-endian order (or back: the swap is its own inverse).
fn swap_into(from: &[u8], to: &mut [u8]) {
    to.copy_from_slice(from);
    #[cfg(target_endian = "little")]
    to.reverse();
}

/// x87 80-bit extended (in 16 bytes, little-endian) to IEEE binary128 big-endian: the sign and
/// 15-bit exponent are the same field with the same bias; the 64-bit significand's explicit
/// integer bit is dropped and its 63 fraction bits become the top of the 112-bit fraction.
#[cfg(target_arch = "x86_64")]
fn long_double_to_quad(native: &[u8], ext: &mut [u8]) {
    let mant = u64::from_le_bytes(native[..8].try_into().unwrap_or([0; 8]));
    let se = u16::from_le_bytes([native[8], native[9]]);
    let mut exp = se & 0x7fff;
    let sign = (se >> 15) as u128;
    let mut frac = ((mant & !(1u64 << 63)) as u128) << 49;
    // An unnormal (integer bit clear with a non-zero exponent) has no quad form: call it 0.
    if exp != 0 && exp != 0x7fff && mant >> 63 == 0 {
        exp = 0;
        frac = 0;
    }
    let q = (sign << 127) | ((exp as u128) << 112) | frac;
    ext.copy_from_slice(&q.to_be_bytes());
}

/// IEEE binary128 big-endian to x87 80-bit extended, rounding the fraction to nearest (ties
/// to even) from 112 to 63 bits.
#[cfg(target_arch = "x86_64")]
fn quad_to_long_double(ext: &[u8], native: &mut [u8]) {
    let q = u128::from_be_bytes(ext.try_into().unwrap_or([0; 16]));
    let sign = (q >> 127) as u16;
    let mut exp = ((q >> 112) & 0x7fff) as u16;
    let frac = q & ((1u128 << 112) - 1);
    let mut f = (frac >> 49) as u64;
    let rest = frac & ((1u128 << 49) - 1);
    let half = 1u128 << 48;
    if exp != 0x7fff && (rest > half || (rest == half && f & 1 == 1)) {
        f += 1;
        if f >> 63 == 1 {
            // The fraction overflowed into the integer bit: the next binade.
            f = 0;
            exp += 1;
        }
    }
    if exp == 0x7fff && frac != 0 && f == 0 {
        f = 1 << 62; // a NaN must stay a NaN
    }
    let int_bit = if exp == 0 { 0 } else { 1u64 << 63 };
    let mant = int_bit | f;
    native[..8].copy_from_slice(&mant.to_le_bytes());
    native[8..10].copy_from_slice(&((sign << 15) | exp).to_le_bytes());
    native[10..].fill(0);
}

/// Elsewhere `long double` is binary128 already (aarch64 Linux): only the byte order changes.
#[cfg(not(target_arch = "x86_64"))]
fn long_double_to_quad(native: &[u8], ext: &mut [u8]) {
    swap_into(native, ext);
}

#[cfg(not(target_arch = "x86_64"))]
fn quad_to_long_double(ext: &[u8], native: &mut [u8]) {
    swap_into(ext, native);
}

/// Walks the memory of `count` elements of a type as contiguous (offset, length) ranges; see
/// [`TypeMap::segments`].
pub struct Walker<'a> {
    map: &'a TypeMap,
    count: usize,
    elem: usize,
    seg: usize,
    rep: usize,
    within: usize,
    remaining: usize,
    dense: bool,
}

impl Walker<'_> {
    /// The next single range, before merging.
    fn step(&mut self) -> Option<(isize, usize)> {
        if self.remaining == 0 || self.elem >= self.count {
            return None;
        }
        let m = self.map;
        if self.dense {
            // One range for every element: the stream offset is the memory offset from lb.
            let n = self.remaining;
            self.remaining = 0;
            return Some((m.lb as isize + self.within as isize, n));
        }
        let s = &m.segs[self.seg];
        let off = (self.elem as isize).wrapping_mul(m.extent() as isize) + s.off + s.stride * self.rep as isize + self.within as isize;
        let n = (s.len - self.within).min(self.remaining);
        self.remaining -= n;
        self.within += n;
        if self.within == s.len {
            self.within = 0;
            self.rep += 1;
            if self.rep == s.reps {
                self.rep = 0;
                self.seg += 1;
                if self.seg == m.segs.len() {
                    self.seg = 0;
                    self.elem += 1;
                }
            }
        }
        Some((off, n))
    }
}

impl Iterator for Walker<'_> {
    type Item = (isize, usize);

    fn next(&mut self) -> Option<(isize, usize)> {
        let (off, mut len) = self.step()?;
        // Merge following ranges that continue this one in memory.
        loop {
            let save = (self.elem, self.seg, self.rep, self.within, self.remaining);
            match self.step() {
                Some((o, n)) if o == off + len as isize => len += n,
                Some(_) => {
                    (self.elem, self.seg, self.rep, self.within, self.remaining) = save;
                    return Some((off, len));
                }
                None => return Some((off, len)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int() -> TypeMap {
        TypeMap::predefined(Kind::I32, None, 1)
    }
    fn dbl() -> TypeMap {
        TypeMap::predefined(Kind::F64, None, 2)
    }
    fn chr() -> TypeMap {
        TypeMap::predefined(Kind::Char, None, 3)
    }

    /// The reference: an explicit list of (memory offset, basic element) for one element,
    /// built naively from the constructor's definition in the standard.
    type Naive = Vec<(i64, Basic)>;

    fn naive_basic(k: Kind) -> Naive {
        match pair_value_kind(k) {
            Some(v) => vec![(0, Basic::native(v)), (k.pair_value_size().unwrap().next_multiple_of(4) as i64, Basic::native(Kind::I32))],
            None => vec![(0, Basic::native(k))],
        }
    }

    fn shift(n: &Naive, by: i64) -> Naive {
        n.iter().map(|&(o, b)| (o + by, b)).collect()
    }

    /// The byte offsets of a naive map's data, in type-map order.
    fn bytes_of(n: &Naive) -> Vec<i64> {
        n.iter().flat_map(|&(o, b)| (0..b.size() as i64).map(move |i| o + i)).collect()
    }

    /// The byte offsets the walker produces for `count` elements, in stream order.
    fn walked(t: &TypeMap, count: usize, skip: usize) -> Vec<i64> {
        t.segments(count, skip).flat_map(|(o, l)| (0..l as i64).map(move |i| o as i64 + i)).collect()
    }

    fn check(t: &TypeMap, n: &Naive, extent: i64) {
        assert_eq!(t.extent(), extent, "extent");
        let one = bytes_of(n);
        assert_eq!(t.size(), one.len(), "size");
        for count in [0usize, 1, 3] {
            let want: Vec<i64> = (0..count as i64).flat_map(|e| one.iter().map(move |&b| b + e * extent)).collect();
            assert_eq!(walked(t, count, 0), want, "walk of {count}");
            for skip in 0..want.len() {
                assert_eq!(walked(t, count, skip), want[skip..], "walk of {count} from {skip}");
            }
        }
        // The signature, expanded, is the naive map's basic elements.
        let sig: Vec<Basic> = t.signature().iter().flat_map(|&(b, c)| std::iter::repeat_n(b, c)).collect();
        assert_eq!(sig, n.iter().map(|&(_, b)| b).collect::<Vec<_>>());
        if !n.is_empty() {
            let lo = n.iter().map(|&(o, _)| o).min().unwrap();
            let hi = n.iter().map(|&(o, b)| o + b.size() as i64).max().unwrap();
            assert_eq!((t.true_lb(), t.true_extent()), (lo, hi - lo), "true bounds");
        }
    }

    #[test]
    fn predefined_pairs() {
        let t = TypeMap::predefined(Kind::ShortInt, None, 0);
        check(&t, &naive_basic(Kind::ShortInt), 8);
        assert_eq!((t.size(), t.true_extent()), (6, 8));
        let t = TypeMap::predefined(Kind::LongDoubleInt, None, 0);
        check(&t, &naive_basic(Kind::LongDoubleInt), 32);
    }

    #[test]
    fn contiguous_and_vector() {
        let t = TypeMap::contiguous(5, &int()).unwrap();
        check(&t, &(0..5).map(|i| (4 * i, Basic::native(Kind::I32))).collect(), 20);
        assert!(t.is_dense());
        // vector(3, 2, 4) of int: blocks at 0, 16, 32; extent (2*4 + 2) * 4 = 40.
        let t = TypeMap::vector(3, 2, 4, false, &int()).unwrap();
        let n: Naive = (0..3).flat_map(|b| (0..2).map(move |j| (16 * b + 4 * j, Basic::native(Kind::I32)))).collect();
        check(&t, &n, 40);
        assert_eq!(t.segs().len(), 1);
        // Negative stride: blocks at 0, -12, -24 (bytes).
        let t = TypeMap::vector(3, 1, -12, true, &dbl()).unwrap();
        let n: Naive = (0..3).map(|b| (-12 * b, Basic::native(Kind::F64))).collect();
        check(&t, &n, 32);
        assert_eq!(t.lb(), -24);
        // A vector of a vector.
        let inner = TypeMap::vector(2, 1, 3, false, &int()).unwrap(); // ints at 0, 12; extent 16
        let t = TypeMap::vector(3, 2, 5, false, &inner).unwrap(); // blocks of 2 at 0, 80, 160
        let ni: Naive = vec![(0, Basic::native(Kind::I32)), (12, Basic::native(Kind::I32))];
        let n: Naive = (0..3).flat_map(|b| (0..2).flat_map(|j| shift(&ni, 80 * b + 16 * j)).collect::<Vec<_>>()).collect();
        check(&t, &n, 2 * 80 + 32);
    }

    #[test]
    fn huge_vector_is_one_run() {
        let t = TypeMap::vector(1 << 40, 1, 2, false, &dbl()).unwrap();
        assert_eq!(t.segs().len(), 1);
        assert_eq!(t.size(), 8 << 40);
        assert_eq!(t.signature(), &[(Basic::native(Kind::F64), 1usize << 40)][..]);
        let mut w = t.segments(1000, (8 << 40) * 500 + 16);
        assert_eq!(w.next(), Some((500 * t.extent() as isize + 32, 8)));
        assert!(TypeMap::vector(1 << 62, 1, 2, false, &dbl()).is_err());
        assert!(TypeMap::vector(-1, 1, 2, false, &dbl()).is_err());
    }

    #[test]
    fn indexed_struct_resized() {
        // indexed {2 at 5, 1 at 0, 3 at 2} of double: order kept, overlaps none.
        let t = TypeMap::indexed(&[2, 1, 3], &[5, 0, 2], false, &dbl(), Combiner::Indexed).unwrap();
        let n: Naive = [(5, 2), (0, 1), (2, 3)].iter().flat_map(|&(d, l)| (0..l).map(move |j| (8 * (d + j), Basic::native(Kind::F64)))).collect();
        check(&t, &n, 56);
        // struct {char at 0, double x2 at 8, int at 24}: extent 28 padded to 32.
        let (c, d, i) = (chr(), dbl(), int());
        let t = TypeMap::structure(&[1, 2, 1], &[0, 8, 24], &[&c, &d, &i]).unwrap();
        let n: Naive = vec![(0, Basic::native(Kind::Char)), (8, Basic::native(Kind::F64)), (16, Basic::native(Kind::F64)), (24, Basic::native(Kind::I32))];
        check(&t, &n, 32);
        // Resized to lb -4, extent 40: no padding on the struct built from it.
        let r = TypeMap::resized(&t, -4, 40).unwrap();
        check(&r, &n, 40);
        assert_eq!(r.lb(), -4);
        let s = TypeMap::structure(&[2], &[0], &[&r]).unwrap();
        check(&s, &[n.clone(), shift(&n, 40)].concat(), 80);
        // Get_elements: 2 whole structs and a char and a double.
        assert_eq!(t.elements_in(2 * 21 + 1 + 8), Some(2 * 4 + 2));
        assert_eq!(t.elements_in(3), None);
    }

    #[test]
    fn subarray_orders() {
        // A 4x5 array of ints, the 2x3 block at (1, 2).
        let t = TypeMap::subarray(&[4, 5], &[2, 3], &[1, 2], false, &int()).unwrap();
        let n: Naive = (1..3).flat_map(|r| (2..5).map(move |c| ((r * 5 + c) * 4, Basic::native(Kind::I32)))).collect();
        check(&t, &n, 80);
        assert_eq!(t.lb(), 0);
        // Fortran order: the first index varies fastest.
        let t = TypeMap::subarray(&[4, 5], &[2, 3], &[1, 2], true, &int()).unwrap();
        let n: Naive = (2..5).flat_map(|c| (1..3).map(move |r| ((c * 4 + r) * 4, Basic::native(Kind::I32)))).collect();
        check(&t, &n, 80);
        assert!(TypeMap::subarray(&[4], &[5], &[0], false, &int()).is_err());
        assert!(TypeMap::subarray(&[4], &[2], &[3], false, &int()).is_err());
    }

    /// The owner of each global index along one dimension, naively.
    fn owner(d: Distrib, g: i64, p: i64, i: i64) -> i64 {
        match d {
            Distrib::None => 0,
            Distrib::Block(b) => i / b.unwrap_or((g + p - 1) / p),
            Distrib::Cyclic(k) => (i / k.unwrap_or(1)) % p,
        }
    }

    #[test]
    fn darray_matches_ownership() {
        let g = [7i64, 10];
        let ps = [2i64, 3];
        let ds = [Distrib::Cyclic(Some(2)), Distrib::Block(None)];
        for fortran in [false, true] {
            let mut seen = vec![0; 70];
            for rank in 0..6 {
                let t = TypeMap::darray(6, rank, &g, &ds, &ps, fortran, &int()).unwrap();
                let coords = [rank / 3, rank % 3];
                // Memory order: the fastest dimension last (C) or first (Fortran).
                let mut n = Naive::new();
                let idx: Vec<(i64, i64)> = if fortran {
                    (0..g[1]).flat_map(|j| (0..g[0]).map(move |i| (i, j))).collect()
                } else {
                    (0..g[0]).flat_map(|i| (0..g[1]).map(move |j| (i, j))).collect()
                };
                for (i, j) in idx {
                    if owner(ds[0], g[0], ps[0], i) == coords[0] && owner(ds[1], g[1], ps[1], j) == coords[1] {
                        let lin = if fortran { j * g[0] + i } else { i * g[1] + j };
                        n.push((lin * 4, Basic::native(Kind::I32)));
                        seen[lin as usize] += 1;
                    }
                }
                check(&t, &n, 280);
            }
            assert!(seen.iter().all(|&s| s == 1));
        }
        assert!(TypeMap::darray(5, 0, &g, &ds, &ps, false, &int()).is_err());
        assert!(TypeMap::darray(6, 0, &g, &[Distrib::Block(Some(1)), Distrib::None], &ps, false, &int()).is_err());
    }

    #[test]
    fn pack_unpack_round_trip() {
        let (c, d, i) = (chr(), dbl(), int());
        let s = TypeMap::structure(&[3, 1, 2], &[1, 8, 20], &[&c, &d, &i]).unwrap();
        let t = TypeMap::vector(2, 2, 3, false, &s).unwrap();
        let count = 3;
        let span = (t.extent() as usize) * count;
        let src: Vec<u8> = (0..span).map(|x| (x * 7 + 3) as u8).collect();
        let want: Vec<u8> = walked(&t, count, 0).iter().map(|&o| src[o as usize]).collect();
        let mut packed = vec![0u8; t.packed_size(count).unwrap()];
        // Pack in odd-sized pieces from arbitrary stream offsets.
        let mut at = 0;
        while at < packed.len() {
            let end = (at + 13).min(packed.len());
            assert_eq!(unsafe { t.pack(src.as_ptr(), count, at, &mut packed[at..end]) }, end - at);
            at = end;
        }
        assert_eq!(packed, want);
        let mut dst = vec![0u8; span];
        assert_eq!(unsafe { t.unpack(&packed, dst.as_mut_ptr(), count, 0) }, packed.len());
        let covered: std::collections::HashSet<i64> = walked(&t, count, 0).into_iter().collect();
        for (x, (&a, &b)) in src.iter().zip(&dst).enumerate() {
            assert_eq!(b, if covered.contains(&(x as i64)) { a } else { 0 }, "byte {x}");
        }
    }

    #[test]
    fn external32() {
        let (d, i) = (dbl(), int());
        let long = TypeMap::predefined(Kind::I64, Some(4), 9);
        let t = TypeMap::structure(&[1, 1, 1], &[0, 8, 16], &[&d, &i, &long]).unwrap();
        assert_eq!(t.ext32_size(), 16);
        let mut native = Vec::new();
        native.extend(1.5f64.to_ne_bytes());
        native.extend((-2i32).to_ne_bytes());
        native.extend((-7i64).to_ne_bytes());
        let mut ext = vec![0u8; 16];
        t.native_to_ext32(1, &native, &mut ext).unwrap();
        let mut want = Vec::new();
        want.extend(1.5f64.to_be_bytes());
        want.extend((-2i32).to_be_bytes());
        want.extend((-7i32).to_be_bytes());
        assert_eq!(ext, want);
        let mut back = vec![0u8; native.len()];
        t.ext32_to_native(1, &ext, &mut back).unwrap();
        assert_eq!(back, native);
        native[12..20].copy_from_slice(&(1i64 << 40).to_ne_bytes());
        assert_eq!(t.native_to_ext32(1, &native, &mut ext).unwrap_err().class, ErrorClass::Conversion);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn long_double_quad() {
        // 1.5 in x87: exponent 0x3fff, significand 0xC000...; in binary128: 0x3fff8000...
        let mut x = [0u8; 16];
        x[..8].copy_from_slice(&0xC000_0000_0000_0000u64.to_le_bytes());
        x[8..10].copy_from_slice(&0xBFFFu16.to_le_bytes()); // -1.5
        let mut q = [0u8; 16];
        long_double_to_quad(&x, &mut q);
        assert_eq!(u128::from_be_bytes(q), (0xBFFF_8000u128) << 96);
        let mut back = [0xAAu8; 16];
        quad_to_long_double(&q, &mut back);
        assert_eq!(&back[..10], &x[..10]);
    }
}
