//! Every (op, kind) pair: rejected with `Op`, or checked element by element against a
//! reference written here independently of the implementation (integers through i128, f32
//! through f64, `long double` through a software x87 encoder).

use super::*;
use std::cmp::Ordering;

// The reference reads and writes fields little-endian.
const _: () = assert!(cfg!(target_endian = "little"));

const ALL_KINDS: [Kind; 25] = [
    Kind::I8,
    Kind::I16,
    Kind::I32,
    Kind::I64,
    Kind::U8,
    Kind::U16,
    Kind::U32,
    Kind::U64,
    Kind::F32,
    Kind::F64,
    Kind::LongDouble,
    Kind::ComplexF32,
    Kind::ComplexF64,
    Kind::ComplexLongDouble,
    Kind::Bool,
    Kind::Byte,
    Kind::Char,
    Kind::WChar,
    Kind::Packed,
    Kind::FloatInt,
    Kind::DoubleInt,
    Kind::LongInt,
    Kind::TwoInt,
    Kind::ShortInt,
    Kind::LongDoubleInt,
];

/// The table of MPI-4.1 §6.9.2, written out kind by kind.
fn defined(op: BuiltinOp, kind: Kind) -> bool {
    use BuiltinOp as O;
    use Kind as K;
    let ints = [K::I8, K::I16, K::I32, K::I64, K::U8, K::U16, K::U32, K::U64];
    let floats = [K::F32, K::F64, K::LongDouble];
    let complex = [K::ComplexF32, K::ComplexF64, K::ComplexLongDouble];
    let pairs = [
        K::FloatInt,
        K::DoubleInt,
        K::LongInt,
        K::TwoInt,
        K::ShortInt,
        K::LongDoubleInt,
    ];
    match op {
        O::Max | O::Min => ints.contains(&kind) || floats.contains(&kind),
        O::Sum | O::Prod => {
            ints.contains(&kind) || floats.contains(&kind) || complex.contains(&kind)
        }
        O::Land | O::Lor | O::Lxor => ints.contains(&kind) || kind == K::Bool,
        O::Band | O::Bor | O::Bxor => ints.contains(&kind) || kind == K::Byte,
        O::Maxloc | O::Minloc => pairs.contains(&kind),
        O::Replace | O::NoOp => false,
    }
}

// ---- random data -------------------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A field inside one element, for generating and comparing values.
#[derive(Clone, Copy, Debug)]
enum Field {
    Int { size: usize, signed: bool },
    F32,
    F64,
    F80,
}

/// (offset, field) list of an element; bytes not covered are padding.
fn layout(kind: Kind) -> Vec<(usize, Field)> {
    use Field::*;
    let int = |size, signed| Int { size, signed };
    match kind {
        Kind::I8 => vec![(0, int(1, true))],
        Kind::I16 => vec![(0, int(2, true))],
        Kind::I32 => vec![(0, int(4, true))],
        Kind::I64 => vec![(0, int(8, true))],
        Kind::U8 | Kind::Bool | Kind::Byte | Kind::Char | Kind::Packed => vec![(0, int(1, false))],
        Kind::U16 => vec![(0, int(2, false))],
        Kind::U32 | Kind::WChar => vec![(0, int(4, false))],
        Kind::U64 => vec![(0, int(8, false))],
        Kind::F32 => vec![(0, F32)],
        Kind::F64 => vec![(0, F64)],
        Kind::LongDouble => vec![(0, F80)],
        Kind::ComplexF32 => vec![(0, F32), (4, F32)],
        Kind::ComplexF64 => vec![(0, F64), (8, F64)],
        Kind::ComplexLongDouble => vec![(0, F80), (16, F80)],
        Kind::FloatInt => vec![(0, F32), (4, int(4, true))],
        Kind::DoubleInt => vec![(0, F64), (8, int(4, true))],
        Kind::LongInt => vec![(0, int(8, true)), (8, int(4, true))],
        Kind::TwoInt => vec![(0, int(4, true)), (4, int(4, true))],
        Kind::ShortInt => vec![(0, int(2, true)), (4, int(4, true))],
        Kind::LongDoubleInt => vec![(0, F80), (16, int(4, true))],
    }
}

fn get_int(b: &[u8], size: usize, signed: bool) -> i128 {
    let mut x = [0u8; 16];
    x[..size].copy_from_slice(&b[..size]);
    let u = u128::from_le_bytes(x);
    if signed {
        // sign-extend from `size` bytes
        let shift = 128 - 8 * size as u32;
        ((u << shift) as i128) >> shift
    } else {
        u as i128
    }
}

fn put_int(b: &mut [u8], size: usize, v: i128) {
    b[..size].copy_from_slice(&v.to_le_bytes()[..size]);
}

fn get_f32(b: &[u8]) -> f32 {
    f32::from_le_bytes(b[..4].try_into().unwrap())
}
fn get_f64(b: &[u8]) -> f64 {
    f64::from_le_bytes(b[..8].try_into().unwrap())
}

/// Software x87 extended encoding of an f64 (exact: f80 has more range and precision).
fn f80_encode(b: &mut [u8], v: f64) {
    let bits = v.to_bits();
    let sign = (bits >> 63) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (e80, m80): (u16, u64) = if exp == 0x7ff {
        (0x7fff, (1 << 63) | (frac << 11)) // inf or NaN
    } else if exp == 0 && frac == 0 {
        (0, 0)
    } else if exp == 0 {
        // subnormal f64: normalise
        let lz = frac.leading_zeros() as i32; // >= 12
        let m = frac << lz;
        ((-1022 - (lz - 11) + 16383) as u16, m)
    } else {
        ((exp - 1023 + 16383) as u16, (1 << 63) | (frac << 11))
    };
    b[..8].copy_from_slice(&m80.to_le_bytes());
    b[8..10].copy_from_slice(&((sign << 15) | e80).to_le_bytes());
}

/// Decodes an x87 extended value that the tests only ever produce exactly representable in
/// f64 (or NaN/inf); panics otherwise.
fn f80_decode(b: &[u8]) -> f64 {
    let m = u64::from_le_bytes(b[..8].try_into().unwrap());
    let se = u16::from_le_bytes(b[8..10].try_into().unwrap());
    let neg = se >> 15 == 1;
    let e = (se & 0x7fff) as i32;
    let sign = if neg { -1.0 } else { 1.0 };
    if e == 0x7fff {
        return if m << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    if m == 0 {
        return sign * 0.0;
    }
    assert!(m & 0x7ff == 0, "f80 value {m:#x} e {e} not exact in f64");
    let v = (m >> 11) as f64 * 2f64.powi(e - 16383 - 52);
    sign * v
}

fn gen_value(rng: &mut Rng, kind: Kind, b: &mut [u8], field: Field) {
    match field {
        Field::Int { size, .. } => {
            if kind == Kind::Bool {
                b[0] = [0u8, 1, 1, 0, 2][rng.below(5) as usize];
                return;
            }
            let v: i128 = match rng.below(4) {
                0 => 0,
                1 => rng.below(7) as i128 - 3,
                _ => {
                    b[..size].copy_from_slice(&rng.bytes(size));
                    return;
                }
            };
            put_int(b, size, v);
        }
        Field::F32 => {
            let pick = [
                0.0f32,
                -0.0,
                1.0,
                -1.5,
                3.25,
                1e30,
                -1e-30,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
            ];
            let v = if rng.below(3) == 0 {
                f32::from_bits(rng.next() as u32 & 0xbf7f_ffff) // finite
            } else {
                pick[rng.below(pick.len() as u64) as usize]
            };
            b[..4].copy_from_slice(&v.to_le_bytes());
        }
        Field::F64 => {
            let pick = [
                0.0f64,
                -0.0,
                1.0,
                -1.5,
                3.25,
                1e300,
                -1e-300,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
            ];
            let v = if rng.below(3) == 0 {
                f64::from_bits(rng.next() & 0xbfef_ffff_ffff_ffff)
            } else {
                pick[rng.below(pick.len() as u64) as usize]
            };
            b[..8].copy_from_slice(&v.to_le_bytes());
        }
        Field::F80 => {
            // Small binary fractions: sums and products stay exact in f64, so the reference can
            // be computed in f64.
            let v = match rng.below(12) {
                0 => f64::INFINITY,
                1 => f64::NAN,
                2 => -0.0,
                _ => (rng.below(41) as f64 - 20.0) * 0.25,
            };
            f80_encode(b, v);
        }
    }
}

fn gen_buffer(rng: &mut Rng, kind: Kind, n: usize) -> Vec<u8> {
    let size = kind.extent();
    let mut buf = rng.bytes(n * size); // padding stays random
    for e in buf.chunks_exact_mut(size) {
        for (off, field) in layout(kind) {
            gen_value(rng, kind, &mut e[off..], field);
        }
    }
    buf
}

// ---- the reference ---------------------------------------------------------------------

fn int_ref(op: BuiltinOp, size: usize, signed: bool, a: i128, b: i128) -> i128 {
    let t = |x: bool| x as i128;
    let r = match op {
        BuiltinOp::Max => a.max(b),
        BuiltinOp::Min => a.min(b),
        BuiltinOp::Sum => a.wrapping_add(b),
        BuiltinOp::Prod => a.wrapping_mul(b),
        BuiltinOp::Land => t(a != 0 && b != 0),
        BuiltinOp::Lor => t(a != 0 || b != 0),
        BuiltinOp::Lxor => t((a != 0) != (b != 0)),
        BuiltinOp::Band => a & b,
        BuiltinOp::Bor => a | b,
        BuiltinOp::Bxor => a ^ b,
        _ => unreachable!(),
    };
    // truncate to the width (put_int takes the low bytes anyway; normalise for clarity)
    let mut x = [0u8; 16];
    put_int(&mut x, size, r);
    get_int(&x, size, signed)
}

/// Float MAX/MIN as documented: `inout > in ? inout : in` (resp. `<`). `a` = in, `b` = inout.
fn fmaxmin<T: PartialOrd + Copy>(max: bool, a: T, b: T) -> T {
    let want = if max {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    if b.partial_cmp(&a) == Some(want) {
        b
    } else {
        a
    }
}

fn f32_ref(op: BuiltinOp, a: f32, b: f32) -> f32 {
    let (x, y) = (a as f64, b as f64);
    match op {
        BuiltinOp::Max => fmaxmin(true, a, b),
        BuiltinOp::Min => fmaxmin(false, a, b),
        // f64 holds f32 sums and products exactly enough: rounding once to f32 is correct.
        BuiltinOp::Sum => (x + y) as f32,
        BuiltinOp::Prod => (x * y) as f32,
        _ => unreachable!(),
    }
}

fn f64_ref(op: BuiltinOp, a: f64, b: f64) -> f64 {
    match op {
        BuiltinOp::Max => fmaxmin(true, a, b),
        BuiltinOp::Min => fmaxmin(false, a, b),
        BuiltinOp::Sum => a + b,
        BuiltinOp::Prod => a * b,
        _ => unreachable!(),
    }
}

fn put_f32(b: &mut [u8], v: f32) {
    b[..4].copy_from_slice(&v.to_le_bytes());
}
fn put_f64(b: &mut [u8], v: f64) {
    b[..8].copy_from_slice(&v.to_le_bytes());
}

/// Reference for one element: `a` from `in`, `b` from `inout`; returns the new `inout` element.
fn elem_ref(op: BuiltinOp, kind: Kind, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    match kind {
        Kind::FloatInt
        | Kind::DoubleInt
        | Kind::LongInt
        | Kind::TwoInt
        | Kind::ShortInt
        | Kind::LongDoubleInt => {
            let lay = layout(kind);
            let val = |e: &[u8]| -> f64 {
                match lay[0].1 {
                    Field::F32 => get_f32(e) as f64,
                    Field::F64 => get_f64(e),
                    Field::F80 => f80_decode(e),
                    Field::Int { size, signed } => get_int(e, size, signed) as f64,
                }
            };
            // i64 values do not fit f64 exactly: compare those as integers.
            let ord = match lay[0].1 {
                Field::Int { size, signed } => {
                    Some(get_int(a, size, signed).cmp(&get_int(b, size, signed)))
                }
                _ => val(a).partial_cmp(&val(b)),
            };
            let (io, isz) = (lay[1].0, 4);
            let ai = get_int(&a[io..], isz, true);
            let bi = get_int(&b[io..], isz, true);
            let want = if op == BuiltinOp::Maxloc {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            let value_bytes = match lay[0].1 {
                Field::F32 => 4,
                Field::F64 => 8,
                Field::F80 => 10,
                Field::Int { size, .. } => size,
            };
            if ord == Some(want) {
                out[..value_bytes].copy_from_slice(&a[..value_bytes]);
                put_int(&mut out[io..], 4, ai);
            } else if ord == Some(Ordering::Equal) {
                put_int(&mut out[io..], 4, ai.min(bi));
            }
        }
        Kind::ComplexF32 if op == BuiltinOp::Prod => {
            let (ar, ai, br, bi) = (get_f32(a), get_f32(&a[4..]), get_f32(b), get_f32(&b[4..]));
            let r = (ar * br) - (ai * bi);
            let i = (ar * bi) + (ai * br);
            put_f32(&mut out, r);
            put_f32(&mut out[4..], i);
        }
        Kind::ComplexF64 if op == BuiltinOp::Prod => {
            let (ar, ai, br, bi) = (get_f64(a), get_f64(&a[8..]), get_f64(b), get_f64(&b[8..]));
            put_f64(&mut out, ar * br - ai * bi);
            put_f64(&mut out[8..], ar * bi + ai * br);
        }
        Kind::ComplexLongDouble if op == BuiltinOp::Prod => {
            let (ar, ai, br, bi) = (
                f80_decode(a),
                f80_decode(&a[16..]),
                f80_decode(b),
                f80_decode(&b[16..]),
            );
            f80_encode(&mut out, ar * br - ai * bi);
            f80_encode(&mut out[16..], ar * bi + ai * br);
        }
        _ => {
            for (off, field) in layout(kind) {
                match field {
                    Field::Int { size, signed } => {
                        let r = int_ref(
                            op,
                            size,
                            signed,
                            get_int(&a[off..], size, signed),
                            get_int(&b[off..], size, signed),
                        );
                        put_int(&mut out[off..], size, r);
                    }
                    Field::F32 => put_f32(
                        &mut out[off..],
                        f32_ref(op, get_f32(&a[off..]), get_f32(&b[off..])),
                    ),
                    Field::F64 => put_f64(
                        &mut out[off..],
                        f64_ref(op, get_f64(&a[off..]), get_f64(&b[off..])),
                    ),
                    Field::F80 => f80_encode(
                        &mut out[off..],
                        f64_ref(op, f80_decode(&a[off..]), f80_decode(&b[off..])),
                    ),
                }
            }
        }
    }
    out
}

/// Element equality: float fields compare NaN-to-any-NaN, everything else byte for byte.
fn same(kind: Kind, x: &[u8], y: &[u8]) -> bool {
    let mut covered = vec![false; x.len()];
    for (off, field) in layout(kind) {
        let ok = match field {
            Field::Int { size, .. } => {
                covered[off..off + size].iter_mut().for_each(|c| *c = true);
                x[off..off + size] == y[off..off + size]
            }
            Field::F32 => {
                covered[off..off + 4].iter_mut().for_each(|c| *c = true);
                let (p, q) = (get_f32(&x[off..]), get_f32(&y[off..]));
                (p.is_nan() && q.is_nan()) || p.to_bits() == q.to_bits()
            }
            Field::F64 => {
                covered[off..off + 8].iter_mut().for_each(|c| *c = true);
                let (p, q) = (get_f64(&x[off..]), get_f64(&y[off..]));
                (p.is_nan() && q.is_nan()) || p.to_bits() == q.to_bits()
            }
            Field::F80 => {
                covered[off..off + 10].iter_mut().for_each(|c| *c = true);
                let (p, q) = (f80_decode(&x[off..]), f80_decode(&y[off..]));
                (p.is_nan() && q.is_nan()) || p.to_bits() == q.to_bits()
            }
        };
        if !ok {
            return false;
        }
    }
    // padding must keep the inout bytes
    x.iter()
        .zip(y)
        .zip(&covered)
        .all(|((p, q), c)| *c || p == q)
}

fn uses_long_double(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::LongDouble | Kind::ComplexLongDouble | Kind::LongDoubleInt
    )
}

#[test]
fn every_op_on_every_kind() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for op in BuiltinOp::ALL {
        for kind in ALL_KINDS {
            let size = kind.extent();
            if !defined(op, kind) {
                assert_eq!(
                    check(op, kind).unwrap_err().class,
                    ErrorClass::Op,
                    "{op:?} {kind:?}"
                );
                let mut io = vec![0u8; 2 * size];
                let e = reduce_into(op, kind, &mut io, &[0u8; 64][..2 * size]).unwrap_err();
                assert_eq!(e.class, ErrorClass::Op, "{op:?} {kind:?}");
                continue;
            }
            check(op, kind).unwrap();
            if uses_long_double(kind) && !cfg!(target_arch = "x86_64") {
                // Only the x87 format has a reference encoder here; check it runs.
                let mut io = vec![0u8; 3 * size];
                reduce_into(op, kind, &mut io, &vec![0u8; 3 * size]).unwrap();
                continue;
            }
            for n in [0usize, 1, 2, 3, 7, 16, 33, 100] {
                for misalign in [0usize, 1, 3] {
                    let input = gen_buffer(&mut rng, kind, n);
                    let inout = gen_buffer(&mut rng, kind, n);
                    // place both at odd offsets to exercise unaligned access
                    let mut in_store = vec![0u8; misalign];
                    in_store.extend_from_slice(&input);
                    let mut io_store = vec![0u8; misalign + 1];
                    io_store.extend_from_slice(&inout);
                    let io_off = misalign + 1;
                    reduce_into(op, kind, &mut io_store[io_off..], &in_store[misalign..]).unwrap();
                    let got = &io_store[io_off..];
                    for k in 0..n {
                        let r = k * size..(k + 1) * size;
                        let want = elem_ref(op, kind, &input[r.clone()], &inout[r.clone()]);
                        assert!(
                            same(kind, &got[r.clone()], &want),
                            "{op:?} {kind:?} element {k}: in {:?} inout {:?} got {:?} want {:?}",
                            &input[r.clone()],
                            &inout[r.clone()],
                            &got[r.clone()],
                            want
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

#[test]
fn the_table_has_the_expected_size() {
    // 8 ints * 10 + 3 floats * 4 + 3 complex * 2 + bool * 3 + byte * 3 + 6 pairs * 2
    let n = BuiltinOp::ALL
        .iter()
        .flat_map(|&op| ALL_KINDS.iter().map(move |&k| (op, k)))
        .filter(|&(op, k)| check(op, k).is_ok())
        .count();
    assert_eq!(n, 80 + 12 + 6 + 3 + 3 + 12);
}

#[test]
fn replace_and_no_op_are_not_reductions() {
    for kind in ALL_KINDS {
        for op in [BuiltinOp::Replace, BuiltinOp::NoOp] {
            assert_eq!(check(op, kind).unwrap_err().class, ErrorClass::Op);
        }
    }
}

#[test]
fn bad_lengths() {
    let mut io = [0u8; 8];
    let e = reduce_into(BuiltinOp::Sum, Kind::I32, &mut io, &[0u8; 4]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Buffer);
    let mut io = [0u8; 6];
    let e = reduce_into(BuiltinOp::Sum, Kind::I32, &mut io, &[0u8; 6]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Count);
    let mut io = [0u8; 0];
    reduce_into(BuiltinOp::Sum, Kind::ComplexLongDouble, &mut io, &[]).unwrap();
}

#[test]
fn hand_picked_values() {
    let mut io = 7i32.to_ne_bytes();
    reduce_into(BuiltinOp::Sum, Kind::I32, &mut io, &(-10i32).to_ne_bytes()).unwrap();
    assert_eq!(i32::from_ne_bytes(io), -3);
    let mut io = i32::MAX.to_ne_bytes();
    reduce_into(BuiltinOp::Sum, Kind::I32, &mut io, &1i32.to_ne_bytes()).unwrap();
    assert_eq!(i32::from_ne_bytes(io), i32::MIN);
    let mut io = 200u8.to_ne_bytes();
    reduce_into(BuiltinOp::Max, Kind::U8, &mut io, &100u8.to_ne_bytes()).unwrap();
    assert_eq!(io[0], 200);
    let mut io = [5u8];
    reduce_into(BuiltinOp::Land, Kind::Bool, &mut io, &[3u8]).unwrap();
    assert_eq!(io[0], 1);
    // complex (1+2i)(3+4i) = -5+10i
    let mut io = [3f64.to_ne_bytes(), 4f64.to_ne_bytes()].concat();
    let input = [1f64.to_ne_bytes(), 2f64.to_ne_bytes()].concat();
    reduce_into(BuiltinOp::Prod, Kind::ComplexF64, &mut io, &input).unwrap();
    assert_eq!(get_f64(&io), -5.0);
    assert_eq!(get_f64(&io[8..]), 10.0);
    // MAXLOC tie -> lower index; MINLOC picks the smaller value
    let pair = |v: i32, i: i32| [v.to_ne_bytes(), i.to_ne_bytes()].concat();
    let mut io = pair(9, 4);
    reduce_into(BuiltinOp::Maxloc, Kind::TwoInt, &mut io, &pair(9, 2)).unwrap();
    assert_eq!(io, pair(9, 2));
    let mut io = pair(9, 1);
    reduce_into(BuiltinOp::Maxloc, Kind::TwoInt, &mut io, &pair(9, 2)).unwrap();
    assert_eq!(io, pair(9, 1));
    let mut io = pair(9, 1);
    reduce_into(BuiltinOp::Minloc, Kind::TwoInt, &mut io, &pair(-9, 7)).unwrap();
    assert_eq!(io, pair(-9, 7));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn long_double_keeps_extended_precision() {
    // 1 + 2^-60 is not an f64 but is exact in the x87 format's 64-bit significand.
    let mut io = [0xAAu8; 16];
    let mut input = [0x55u8; 16];
    f80_encode(&mut io, 1.0);
    f80_encode(&mut input, 2f64.powi(-60));
    reduce_into(BuiltinOp::Sum, Kind::LongDouble, &mut io, &input).unwrap();
    let m = u64::from_le_bytes(io[..8].try_into().unwrap());
    let se = u16::from_le_bytes(io[8..10].try_into().unwrap());
    assert_eq!(se, 16383);
    assert_eq!(m, (1 << 63) | (1 << 3));
    assert_eq!(&io[10..], &[0xAA; 6], "padding must be left alone");
}

/// A non-commutative user function on `u8` strings of two bytes per element: `inout = in ++
/// inout` keeping the first two bytes, so the order of the operands shows in the result.
struct Concat;

impl UserFunction for Concat {
    fn call(&self, inout: &mut [u8], input: &[u8], count: usize) -> Result<()> {
        for k in 0..count {
            let joined = [input[2 * k], input[2 * k + 1], inout[2 * k], inout[2 * k + 1]];
            inout[2 * k..2 * k + 2].copy_from_slice(&joined[..2]);
        }
        Ok(())
    }

    fn span(&self, count: usize) -> Result<usize> {
        Ok(2 * count)
    }
}

#[test]
fn apply_builtin_and_user() {
    let sum = Op::builtin(BuiltinOp::Sum, Kind::I32).unwrap();
    assert!(sum.commutative());
    let mut io = [1i32.to_ne_bytes(), 2i32.to_ne_bytes()].concat();
    let input = [10i32.to_ne_bytes(), 20i32.to_ne_bytes()].concat();
    apply(&sum, &mut io, &input, 2).unwrap();
    assert_eq!(io, [11i32.to_ne_bytes(), 22i32.to_ne_bytes()].concat());
    // Operand lengths must match the count.
    assert_eq!(apply(&sum, &mut io, &input, 1).unwrap_err().class, ErrorClass::Buffer);
    assert_eq!(Op::builtin(BuiltinOp::Band, Kind::F64).unwrap_err().class, ErrorClass::Op);
    assert_eq!(
        apply(&Op::Builtin { op: BuiltinOp::Maxloc, kind: Kind::I32 }, &mut [], &[], 0).unwrap_err().class,
        ErrorClass::Op
    );

    let cat = Op::User { func: std::sync::Arc::new(Concat), commutative: false };
    assert!(!cat.commutative());
    let mut io = *b"cdgh";
    apply(&cat, &mut io, b"abef", 2).unwrap();
    assert_eq!(&io, b"abef", "the input operand comes first");
    assert_eq!(apply(&cat, &mut io, b"ab", 2).unwrap_err().class, ErrorClass::Buffer);
    apply(&cat, &mut [], &[], 0).unwrap();
}

/// Pair kinds on packed streams (value then index, no padding), as the collectives and
/// `MPI_Reduce_local` hand them: each kind, `long double` through its padded C path.
#[test]
fn packed_pairs() {
    fn packed(value: &[u8], index: i32) -> Vec<u8> {
        [value, &index.to_ne_bytes()[..]].concat()
    }
    // (kind, smaller value, larger value) as value bytes.
    let ld = |x: f64| {
        // An x87 80-bit long double of a small integer x > 0: mantissa with the explicit bit, biased exponent.
        let e = 63 - (x as u64).leading_zeros() as u16;
        let mut b = vec![0u8; 16];
        b[..8].copy_from_slice(&((x as u64) << (63 - e)).to_ne_bytes());
        b[8..10].copy_from_slice(&(16383 + e).to_ne_bytes());
        b
    };
    let mut cases: Vec<(Kind, Vec<u8>, Vec<u8>)> = vec![
        (Kind::TwoInt, 3i32.to_ne_bytes().to_vec(), 8i32.to_ne_bytes().to_vec()),
        (Kind::FloatInt, 3f32.to_ne_bytes().to_vec(), 8f32.to_ne_bytes().to_vec()),
        (Kind::DoubleInt, 3f64.to_ne_bytes().to_vec(), 8f64.to_ne_bytes().to_vec()),
        (Kind::LongInt, 3i64.to_ne_bytes().to_vec(), 8i64.to_ne_bytes().to_vec()),
        (Kind::ShortInt, 3i16.to_ne_bytes().to_vec(), 8i16.to_ne_bytes().to_vec()),
    ];
    if cfg!(target_arch = "x86_64") {
        cases.push((Kind::LongDoubleInt, ld(3.0), ld(8.0)));
    }
    for (kind, small, large) in cases {
        assert_eq!(packed(&small, 0).len(), kind.size());
        // Two pairs: (small, 5) vs (large, 1) and (large, 2) vs (large, 7).
        let input = [packed(&small, 5), packed(&large, 2)].concat();
        let mut io = [packed(&large, 1), packed(&large, 7)].concat();
        reduce_packed(BuiltinOp::Maxloc, kind, &mut io, &input).unwrap();
        assert_eq!(io, [packed(&large, 1), packed(&large, 2)].concat(), "{kind:?} maxloc");
        let mut io = [packed(&large, 1), packed(&large, 7)].concat();
        reduce_packed(BuiltinOp::Minloc, kind, &mut io, &input).unwrap();
        assert_eq!(io, [packed(&small, 5), packed(&large, 2)].concat(), "{kind:?} minloc");
        let mut short = vec![0u8; kind.size() + 1];
        assert_eq!(reduce_packed(BuiltinOp::Maxloc, kind, &mut short, &vec![0; kind.size() + 1]).unwrap_err().class, ErrorClass::Count);
    }
    // Other kinds: the memory layout, as reduce_into.
    let mut io = 5i32.to_ne_bytes().to_vec();
    reduce_packed(BuiltinOp::Sum, Kind::I32, &mut io, &2i32.to_ne_bytes()).unwrap();
    assert_eq!(io, 7i32.to_ne_bytes());
}
