//! The predefined reduction operations (MPI-4.1 §6.9.2) on predefined element kinds, and
//! [`Op`]: a reduction as a call applies it, predefined or user-defined (`MPI_Op_create`),
//! through [`apply`].
//!
//! Reductions work on raw bytes as they lie in user buffers: slices may be unaligned, and
//! every element is read and written with unaligned loads and stores. The element loops are
//! plain counted loops over `read_unaligned`/`write_unaligned`, which LLVM vectorises for the
//! integer and float kinds (checked in the asm: `paddd`, `maxps`, `addpd`, ... on x86_64).
//!
//! Semantics chosen where the standard leaves room:
//! - integer SUM/PROD wrap modulo 2^bits (signed overflow is undefined in C; wrapping is what
//!   every C implementation does in practice);
//! - LAND/LOR/LXOR treat any non-zero value as true and produce 0 or 1 (also for `Bool`);
//! - float MAX/MIN compute `inout > in ? inout : in` (resp. `<`), the form MPICH and Open MPI
//!   use: when either operand is a NaN the result is the `in` operand;
//! - complex PROD is the textbook `(ar*br - ai*bi, ar*bi + ai*br)` without NaN recovery;
//! - MAXLOC/MINLOC take the pair with the larger (smaller) value; on equal values the value
//!   is kept and the index is the lower of the two (the standard's definition);
//! - padding bytes inside pair and `long double` elements keep the `inout` bytes.
//!
//! `long double` and its complex and pair forms are computed in C (`op/long_double.c`):
//! Rust has no 80-bit extended float type.

use crate::datatype::Kind;
use crate::error::{fail, ErrorClass, Result};

/// The predefined operations. `Replace` and `NoOp` exist for the accumulate family only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinOp {
    Max,
    Min,
    Sum,
    Prod,
    Land,
    Band,
    Lor,
    Bor,
    Lxor,
    Bxor,
    Maxloc,
    Minloc,
    Replace,
    NoOp,
}

impl BuiltinOp {
    /// Every predefined operation, in the order above.
    pub const ALL: [BuiltinOp; 14] = [
        BuiltinOp::Max,
        BuiltinOp::Min,
        BuiltinOp::Sum,
        BuiltinOp::Prod,
        BuiltinOp::Land,
        BuiltinOp::Band,
        BuiltinOp::Lor,
        BuiltinOp::Bor,
        BuiltinOp::Lxor,
        BuiltinOp::Bxor,
        BuiltinOp::Maxloc,
        BuiltinOp::Minloc,
        BuiltinOp::Replace,
        BuiltinOp::NoOp,
    ];

    /// The standard's name, for error messages.
    pub const fn name(self) -> &'static str {
        match self {
            BuiltinOp::Max => "MPI_MAX",
            BuiltinOp::Min => "MPI_MIN",
            BuiltinOp::Sum => "MPI_SUM",
            BuiltinOp::Prod => "MPI_PROD",
            BuiltinOp::Land => "MPI_LAND",
            BuiltinOp::Band => "MPI_BAND",
            BuiltinOp::Lor => "MPI_LOR",
            BuiltinOp::Bor => "MPI_BOR",
            BuiltinOp::Lxor => "MPI_LXOR",
            BuiltinOp::Bxor => "MPI_BXOR",
            BuiltinOp::Maxloc => "MPI_MAXLOC",
            BuiltinOp::Minloc => "MPI_MINLOC",
            BuiltinOp::Replace => "MPI_REPLACE",
            BuiltinOp::NoOp => "MPI_NO_OP",
        }
    }

    /// The reductions are commutative (and, up to float rounding, associative). `Replace`
    /// and `NoOp` are not: they keep one operand and drop the other (MPICH says the same).
    pub const fn is_commutative(self) -> bool {
        !matches!(self, BuiltinOp::Replace | BuiltinOp::NoOp)
    }
}

/// A user-defined operation's function (`MPI_Op_create`), bound to the datatype of one call.
///
/// The engine knows no C types, so it never sees the C function or the datatype handle the
/// standard passes to it: the `abi` layer wraps both in an object of this trait for each call
/// (the handle is the one the application gave, derived or not, as the standard requires).
pub trait UserFunction: Send + Sync {
    /// `inout[i] = input[i] op inout[i]` for `count` elements of the bound datatype, `input`
    /// being the earlier operand (the standard's `invec`). The slices hold the elements in
    /// the datatype's memory layout (gaps included, not packed), both of the length
    /// [`UserFunction::span`] gives for `count`.
    fn call(&self, inout: &mut [u8], input: &[u8], count: usize) -> Result<()>;

    /// Bytes of memory `count` elements of the bound datatype span, from the first byte of data
    /// to the last: what an operand buffer holds. `Count` error when it does not fit `isize`.
    fn span(&self, count: usize) -> Result<usize>;
}

/// A reduction as one call applies it: a predefined operation on elements of one kind, or a
/// user function bound to the call's datatype.
///
/// Operands ([`apply`]):
/// - of a predefined operation: the packed stream of the call's data (what `Buf` carries),
///   `count` elements of the kind back to back ([`Op::operand_len`]); for the MAXLOC/MINLOC
///   pair kinds that is the value followed by its `int` index, without the padding of the
///   kind's memory layout, so a derived type made of pairs (`MPI_Type_contiguous(n,
///   MPI_DOUBLE_INT)`) and the pair type itself reduce alike;
/// - of a user operation: the datatype's memory span, gaps included, which the function
///   reads as the application's memory (the standard passes it the datatype handle). The
///   collectives stage such buffers as spans, never packed, and write a result back through
///   the type map, so the application's bytes in the gaps are left alone.
///
/// In the collectives (`schedule.rs`) a non-commutative op combines in rank order, the lower
/// ranks' operand always `input`, and a user function runs without the engine's lock held,
/// since it may call MPI: the schedule hands the step out ([`crate::schedule::UserStep`]) and
/// the thread that drives it runs it outside the lock. The schedule keeps its `Op` (an `Arc`)
/// alive past `MPI_Op_free`.
#[derive(Clone)]
pub enum Op {
    Builtin { op: BuiltinOp, kind: Kind },
    User { func: std::sync::Arc<dyn UserFunction>, commutative: bool },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Builtin { op, kind } => write!(f, "{}({kind:?})", op.name()),
            Op::User { commutative, .. } => write!(f, "user op (commutative: {commutative})"),
        }
    }
}

impl Op {
    /// A predefined operation on `kind`, checked (`Op` error when it is not defined there).
    pub fn builtin(op: BuiltinOp, kind: Kind) -> Result<Op> {
        check(op, kind)?;
        Ok(Op::Builtin { op, kind })
    }

    /// Whether operands may be combined in any order. When not, a reduction must combine
    /// them in rank order: `x0 op (x1 op (... op xn))` up to associativity, each lower-ranked
    /// operand as `invec` of the higher-ranked.
    pub fn commutative(&self) -> bool {
        match self {
            Op::Builtin { op, .. } => op.is_commutative(),
            Op::User { commutative, .. } => *commutative,
        }
    }

    /// Bytes one operand of `count` elements occupies: `count` packed elements of the kind
    /// for a predefined op, the datatype's memory span for a user op.
    pub fn operand_len(&self, count: usize) -> Result<usize> {
        match self {
            Op::Builtin { kind, .. } => match count.checked_mul(kind.size()) {
                Some(n) if n <= isize::MAX as usize => Ok(n),
                _ => fail(ErrorClass::Count, format!("count {count} of {kind:?} elements overflows")),
            },
            Op::User { func, .. } => func.span(count),
        }
    }
}

/// `inout = input op inout` over `count` elements (see [`Op::operand_len`] for what the
/// slices hold); `input` is the earlier operand. Errors: `Op` for a predefined op not defined
/// on its kind, `Buffer` when a slice's length is not the operand length, and whatever the
/// user function reports.
pub fn apply(op: &Op, inout: &mut [u8], input: &[u8], count: usize) -> Result<()> {
    let len = op.operand_len(count)?;
    if inout.len() != len || input.len() != len {
        return fail(
            ErrorClass::Buffer,
            format!(
                "reduction operands of {} and {} bytes for {count} elements of {len} bytes in all",
                inout.len(),
                input.len()
            ),
        );
    }
    match op {
        Op::Builtin { op, kind } => reduce_packed(*op, *kind, inout, input),
        // A user function is not called for no elements (nor is it by MPICH or Open MPI).
        Op::User { .. } if count == 0 => Ok(()),
        Op::User { func, .. } => func.call(inout, input, count),
    }
}

/// The groups of MPI-4.1 §6.9.2 that a kind belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Integer,
    Float,
    Complex,
    Logical,
    Byte,
    Pair,
    None,
}

fn group(kind: Kind) -> Group {
    use Kind::*;
    match kind {
        I8 | I16 | I32 | I64 | U8 | U16 | U32 | U64 => Group::Integer,
        F32 | F64 | LongDouble => Group::Float,
        ComplexF32 | ComplexF64 | ComplexLongDouble => Group::Complex,
        Bool => Group::Logical,
        Byte => Group::Byte,
        FloatInt | DoubleInt | LongInt | TwoInt | ShortInt | LongDoubleInt => Group::Pair,
        Char | WChar | Packed => Group::None,
    }
}

/// Whether `op` is defined on `kind` as a reduction (MPI-4.1 §6.9.2); `Err` with class `Op`
/// when not. `Replace` and `NoOp` are never valid reductions.
pub fn check(op: BuiltinOp, kind: Kind) -> Result<()> {
    use BuiltinOp::*;
    let g = group(kind);
    let ok = match op {
        Max | Min => matches!(g, Group::Integer | Group::Float),
        Sum | Prod => matches!(g, Group::Integer | Group::Float | Group::Complex),
        Land | Lor | Lxor => matches!(g, Group::Integer | Group::Logical),
        Band | Bor | Bxor => matches!(g, Group::Integer | Group::Byte),
        Maxloc | Minloc => g == Group::Pair,
        Replace | NoOp => {
            return fail(
                ErrorClass::Op,
                format!("{} is only valid in accumulate operations", op.name()),
            )
        }
    };
    if ok {
        Ok(())
    } else {
        fail(
            ErrorClass::Op,
            format!("{} is not defined on datatype {:?}", op.name(), kind),
        )
    }
}

/// `inout[i] = input[i] op inout[i]` for every element of `kind` in the two buffers.
///
/// `input` is the operand from the earlier rank (the standard's `invec`), `inout` the later
/// one (`inoutvec`). Errors: `Op` when `check(op, kind)` fails; `Buffer` when the two slices
/// differ in length; `Count` when the length is not a whole number of elements.
pub fn reduce_into(op: BuiltinOp, kind: Kind, inout: &mut [u8], input: &[u8]) -> Result<()> {
    check(op, kind)?;
    if inout.len() != input.len() {
        return fail(
            ErrorClass::Buffer,
            format!(
                "reduction buffers differ in length ({} and {} bytes)",
                inout.len(),
                input.len()
            ),
        );
    }
    if inout.len() / kind.extent() * kind.extent() != inout.len() {
        return fail(
            ErrorClass::Count,
            format!(
                "{} bytes is not a whole number of {:?} elements",
                inout.len(),
                kind
            ),
        );
    }
    use Kind::*;
    match kind {
        I8 => int_op::<i8>(op, inout, input),
        I16 => int_op::<i16>(op, inout, input),
        I32 => int_op::<i32>(op, inout, input),
        I64 => int_op::<i64>(op, inout, input),
        U8 => int_op::<u8>(op, inout, input),
        U16 => int_op::<u16>(op, inout, input),
        U32 => int_op::<u32>(op, inout, input),
        U64 => int_op::<u64>(op, inout, input),
        // `Byte` only takes the bitwise ops and `Bool` only the logical ones; as one-byte
        // unsigned integers both give exactly the defined results.
        Bool | Byte => int_op::<u8>(op, inout, input),
        F32 => float_op::<f32>(op, inout, input),
        F64 => float_op::<f64>(op, inout, input),
        ComplexF32 => complex_op::<f32>(op, inout, input),
        ComplexF64 => complex_op::<f64>(op, inout, input),
        // Memory layout: the index at the value's size rounded up to the `int` alignment.
        FloatInt => loc_op::<f32>(op, inout, input, kind.extent(), 4),
        DoubleInt => loc_op::<f64>(op, inout, input, kind.extent(), 8),
        LongInt => loc_op::<i64>(op, inout, input, kind.extent(), 8),
        TwoInt => loc_op::<i32>(op, inout, input, kind.extent(), 4),
        ShortInt => loc_op::<i16>(op, inout, input, kind.extent(), 4),
        LongDouble | ComplexLongDouble | LongDoubleInt => long_double_op(op, kind, inout, input),
        Char | WChar | Packed => unreachable_checked(op, kind),
    }
}

/// `inout[i] = input[i] op inout[i]` over packed streams of `kind` elements (see [`Op`]): the
/// memory layout for every kind but the pairs, whose packed element is the value followed by
/// the `int` index. Errors as [`reduce_into`].
pub fn reduce_packed(op: BuiltinOp, kind: Kind, inout: &mut [u8], input: &[u8]) -> Result<()> {
    let Some(value) = kind.pair_value_size() else {
        return reduce_into(op, kind, inout, input);
    };
    check(op, kind)?;
    let size = kind.size();
    if inout.len() != input.len() || !inout.len().is_multiple_of(size) {
        return fail(
            ErrorClass::Count,
            format!("reduction operands of {} and {} bytes are not whole {kind:?} pairs", inout.len(), input.len()),
        );
    }
    match kind {
        Kind::FloatInt => loc_op::<f32>(op, inout, input, size, value),
        Kind::DoubleInt => loc_op::<f64>(op, inout, input, size, value),
        Kind::LongInt => loc_op::<i64>(op, inout, input, size, value),
        Kind::TwoInt => loc_op::<i32>(op, inout, input, size, value),
        Kind::ShortInt => loc_op::<i16>(op, inout, input, size, value),
        _ => {
            // `long double` pairs are computed in C on the memory layout: one pair at a time
            // through padded copies.
            let (mut a, mut b) = (vec![0u8; kind.extent()], vec![0u8; kind.extent()]);
            let at = value.next_multiple_of(4);
            for (o, i) in inout.chunks_exact_mut(size).zip(input.chunks_exact(size)) {
                a[..value].copy_from_slice(&i[..value]);
                a[at..at + 4].copy_from_slice(&i[value..]);
                b[..value].copy_from_slice(&o[..value]);
                b[at..at + 4].copy_from_slice(&o[value..]);
                long_double_op(op, kind, &mut b, &a)?;
                o[..value].copy_from_slice(&b[..value]);
                o[value..].copy_from_slice(&b[at..at + 4]);
            }
            Ok(())
        }
    }
}

/// For arms that `check` has already rejected: an error rather than a panic all the same.
fn unreachable_checked(op: BuiltinOp, kind: Kind) -> Result<()> {
    fail(
        ErrorClass::Intern,
        format!("{} reached reduce_into for {:?}", op.name(), kind),
    )
}

/// Plain-old-data element types: any bit pattern is a valid value.
trait Pod: Copy {}
impl Pod for i8 {}
impl Pod for i16 {}
impl Pod for i32 {}
impl Pod for i64 {}
impl Pod for u8 {}
impl Pod for u16 {}
impl Pod for u32 {}
impl Pod for u64 {}
impl Pod for f32 {}
impl Pod for f64 {}

/// The loop every element-wise op runs: `inout[k] = f(input[k], inout[k])` over elements of `T`
/// laid out back to back. Callers guarantee equal lengths.
#[inline(always)]
fn zip_with<T: Pod>(inout: &mut [u8], input: &[u8], f: impl Fn(T, T) -> T) {
    let n = inout.len().min(input.len()) / std::mem::size_of::<T>();
    let po = inout.as_mut_ptr() as *mut T;
    let pi = input.as_ptr() as *const T;
    for k in 0..n {
        // SAFETY: k < n, so both elements lie inside their slices; unaligned access is what
        // read_unaligned/write_unaligned are for, and T is valid for any bit pattern. The two
        // slices cannot overlap (one is borrowed mutably).
        unsafe {
            let a = pi.add(k).read_unaligned();
            let b = po.add(k).read_unaligned();
            po.add(k).write_unaligned(f(a, b));
        }
    }
}

trait Int: Pod + Ord + Eq {
    const ZERO: Self;
    const ONE: Self;
    fn wadd(self, o: Self) -> Self;
    fn wmul(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)] fn wadd(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn wmul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn and(self, o: Self) -> Self { self & o }
            #[inline(always)] fn or(self, o: Self) -> Self { self | o }
            #[inline(always)] fn xor(self, o: Self) -> Self { self ^ o }
        }
    )*};
}
impl_int!(i8, i16, i32, i64, u8, u16, u32, u64);

#[inline(always)]
fn truth<T: Int>(b: bool) -> T {
    if b {
        T::ONE
    } else {
        T::ZERO
    }
}

fn int_op<T: Int>(op: BuiltinOp, inout: &mut [u8], input: &[u8]) -> Result<()> {
    use BuiltinOp::*;
    match op {
        Max => zip_with::<T>(inout, input, |a, b| if b > a { b } else { a }),
        Min => zip_with::<T>(inout, input, |a, b| if b < a { b } else { a }),
        Sum => zip_with::<T>(inout, input, |a, b| a.wadd(b)),
        Prod => zip_with::<T>(inout, input, |a, b| a.wmul(b)),
        Land => zip_with::<T>(inout, input, |a, b| truth((a != T::ZERO) & (b != T::ZERO))),
        Lor => zip_with::<T>(inout, input, |a, b| truth((a != T::ZERO) | (b != T::ZERO))),
        Lxor => zip_with::<T>(inout, input, |a, b| truth((a != T::ZERO) ^ (b != T::ZERO))),
        Band => zip_with::<T>(inout, input, |a, b| a.and(b)),
        Bor => zip_with::<T>(inout, input, |a, b| a.or(b)),
        Bxor => zip_with::<T>(inout, input, |a, b| a.xor(b)),
        Maxloc | Minloc | Replace | NoOp => return unreachable_checked(op, Kind::I32),
    }
    Ok(())
}

trait Float:
    Pod
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
{
}
impl Float for f32 {}
impl Float for f64 {}

fn float_op<T: Float>(op: BuiltinOp, inout: &mut [u8], input: &[u8]) -> Result<()> {
    use BuiltinOp::*;
    match op {
        // `b > a ? b : a` with b = inout: maps to maxps/maxpd directly.
        Max => zip_with::<T>(inout, input, |a, b| if b > a { b } else { a }),
        Min => zip_with::<T>(inout, input, |a, b| if b < a { b } else { a }),
        Sum => zip_with::<T>(inout, input, |a, b| a + b),
        Prod => zip_with::<T>(inout, input, |a, b| a * b),
        _ => return unreachable_checked(op, Kind::F64),
    }
    Ok(())
}

fn complex_op<T: Float>(op: BuiltinOp, inout: &mut [u8], input: &[u8]) -> Result<()> {
    match op {
        // Component-wise: the same loop as the real kind over twice the elements.
        BuiltinOp::Sum => zip_with::<T>(inout, input, |a, b| a + b),
        BuiltinOp::Prod => {
            let n = inout.len().min(input.len()) / (2 * std::mem::size_of::<T>());
            let po = inout.as_mut_ptr() as *mut T;
            let pi = input.as_ptr() as *const T;
            for k in 0..n {
                // SAFETY: elements 2k and 2k+1 lie inside both slices (see zip_with).
                unsafe {
                    let (ar, ai) = (
                        pi.add(2 * k).read_unaligned(),
                        pi.add(2 * k + 1).read_unaligned(),
                    );
                    let (br, bi) = (
                        po.add(2 * k).read_unaligned(),
                        po.add(2 * k + 1).read_unaligned(),
                    );
                    po.add(2 * k).write_unaligned(ar * br - ai * bi);
                    po.add(2 * k + 1).write_unaligned(ar * bi + ai * br);
                }
            }
        }
        _ => return unreachable_checked(op, Kind::ComplexF64),
    }
    Ok(())
}

/// MAXLOC/MINLOC on pairs of `size` bytes, each a `V` value at byte 0 and an `int` index at
/// byte `idx` (the memory layout of `struct { V value; int index; }`, or the packed one).
fn loc_op<V: Pod + PartialOrd>(op: BuiltinOp, inout: &mut [u8], input: &[u8], size: usize, idx: usize) -> Result<()> {
    let max = match op {
        BuiltinOp::Maxloc => true,
        BuiltinOp::Minloc => false,
        _ => return unreachable_checked(op, Kind::TwoInt),
    };
    if size < idx + 4 || idx < std::mem::size_of::<V>() {
        return fail(ErrorClass::Intern, format!("pair of {size} bytes with its index at {idx}"));
    }
    for (b, a) in inout.chunks_exact_mut(size).zip(input.chunks_exact(size)) {
        // SAFETY: each chunk holds `size` >= idx + 4 bytes, and V fits before idx (checked).
        let (av, ai, bv, bi) = unsafe {
            (
                (a.as_ptr() as *const V).read_unaligned(),
                (a.as_ptr().add(idx) as *const i32).read_unaligned(),
                (b.as_ptr() as *const V).read_unaligned(),
                (b.as_ptr().add(idx) as *const i32).read_unaligned(),
            )
        };
        let in_wins = if max { av > bv } else { av < bv };
        let (v, i) = if in_wins {
            (av, ai)
        } else if av == bv {
            (bv, ai.min(bi))
        } else {
            continue;
        };
        // SAFETY: as above.
        unsafe {
            (b.as_mut_ptr() as *mut V).write_unaligned(v);
            (b.as_mut_ptr().add(idx) as *mut i32).write_unaligned(i);
        }
    }
    Ok(())
}

extern "C" {
    /// In `op/long_double.c`. Returns 0, or -1 for an unknown op code.
    fn ferrompi_long_double_reduce(op: i32, inout: *mut u8, input: *const u8, n: usize) -> i32;
}

/// Op codes of `long_double.c`.
#[repr(i32)]
#[derive(Clone, Copy)]
enum LdOp {
    Max = 0,
    Min = 1,
    Sum = 2,
    Prod = 3,
    ComplexSum = 4,
    ComplexProd = 5,
    Maxloc = 6,
    Minloc = 7,
}

fn long_double_op(op: BuiltinOp, kind: Kind, inout: &mut [u8], input: &[u8]) -> Result<()> {
    let code = match (kind, op) {
        (Kind::LongDouble, BuiltinOp::Max) => LdOp::Max,
        (Kind::LongDouble, BuiltinOp::Min) => LdOp::Min,
        (Kind::LongDouble, BuiltinOp::Sum) => LdOp::Sum,
        (Kind::LongDouble, BuiltinOp::Prod) => LdOp::Prod,
        (Kind::ComplexLongDouble, BuiltinOp::Sum) => LdOp::ComplexSum,
        (Kind::ComplexLongDouble, BuiltinOp::Prod) => LdOp::ComplexProd,
        (Kind::LongDoubleInt, BuiltinOp::Maxloc) => LdOp::Maxloc,
        (Kind::LongDoubleInt, BuiltinOp::Minloc) => LdOp::Minloc,
        _ => return unreachable_checked(op, kind),
    };
    let n = inout.len().min(input.len()) / kind.extent();
    // SAFETY: both buffers hold n elements of kind.extent() bytes (checked by reduce_into); the
    // C code reads and writes them with memcpy only and keeps no pointer.
    let rc =
        unsafe { ferrompi_long_double_reduce(code as i32, inout.as_mut_ptr(), input.as_ptr(), n) };
    if rc != 0 {
        return fail(
            ErrorClass::Intern,
            format!("long double reduction rejected op code {}", code as i32),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
