use super::*;

/// Window memory at a made-up address, for requests without processes.
struct Mem {
    regions: Vec<(usize, usize)>,
    bytes: Vec<u8>,
}

const BASE: usize = 0x1000;

impl Mem {
    fn new(len: usize) -> Mem {
        Mem { regions: vec![(BASE, len)], bytes: (0..len as u8).collect() }
    }
}

impl TargetMemory for Mem {
    fn regions(&self) -> &[(usize, usize)] {
        &self.regions
    }
    fn read(&self, addr: usize, out: &mut [u8]) {
        out.copy_from_slice(&self.bytes[addr - BASE..addr - BASE + out.len()]);
    }
    fn write(&mut self, addr: usize, data: &[u8]) {
        self.bytes[addr - BASE..addr - BASE + data.len()].copy_from_slice(data);
    }
}

fn req(kind: OpKind, op: BuiltinOp, elem: Kind, addr: usize, ranges: &[(i64, u64)]) -> RmaRequest {
    RmaRequest { kind, op, elem, lock: LockType::Shared, reply_tag: 7, addr: addr as u64, ranges: ranges.to_vec() }
}

#[test]
fn requests_round_trip() {
    let r = req(OpKind::GetAcc, BuiltinOp::Maxloc, Kind::DoubleInt, 0xdead_beef, &[(0, 12), (-24, 12)]);
    let msg = r.encode(&[1, 2, 3]);
    let (back, payload) = RmaRequest::decode(&msg).unwrap();
    assert_eq!(back, r);
    assert_eq!(payload, &[1, 2, 3]);
    assert_eq!(RmaRequest::decode(&msg[..30]).unwrap_err().class, ErrorClass::Intern);
}

#[test]
fn replies_carry_data_or_class() {
    assert_eq!(decode_reply(&encode_reply(&Ok(vec![9, 8]))).unwrap(), &[9, 8]);
    let e = encode_reply(&fail(ErrorClass::RmaRange, "x"));
    assert_eq!(decode_reply(&e).unwrap_err().class, ErrorClass::RmaRange);
}

#[test]
fn put_and_get_follow_the_ranges() {
    let mut m = Mem::new(16);
    // Two 2-byte blocks 4 bytes apart, from offset 2.
    let put = req(OpKind::Put, BuiltinOp::NoOp, Kind::Byte, BASE + 2, &[(0, 2), (4, 2)]);
    apply(&put, &[0xa0, 0xa1, 0xa2, 0xa3], &mut m).unwrap();
    assert_eq!(&m.bytes[..8], &[0, 1, 0xa0, 0xa1, 4, 5, 0xa2, 0xa3]);
    let get = req(OpKind::Get, BuiltinOp::NoOp, Kind::Byte, BASE + 5, &[(0, 3)]);
    assert_eq!(apply(&get, &[], &mut m).unwrap(), vec![5, 0xa2, 0xa3]);
}

#[test]
fn out_of_window_is_a_range_error_and_touches_nothing() {
    let mut m = Mem::new(16);
    let before = m.bytes.clone();
    let put = req(OpKind::Put, BuiltinOp::NoOp, Kind::Byte, BASE + 12, &[(0, 2), (4, 2)]);
    assert_eq!(apply(&put, &[1, 2, 3, 4], &mut m).unwrap_err().class, ErrorClass::RmaRange);
    assert_eq!(m.bytes, before);
    let below = req(OpKind::Get, BuiltinOp::NoOp, Kind::Byte, BASE, &[(-1, 1)]);
    assert_eq!(apply(&below, &[], &mut m).unwrap_err().class, ErrorClass::RmaRange);
}

#[test]
fn accumulate_sums_and_get_accumulate_returns_the_old_value() {
    let mut m = Mem::new(16);
    m.bytes[..8].copy_from_slice(&[5i32.to_le_bytes(), (-3i32).to_le_bytes()].concat());
    let acc = req(OpKind::GetAcc, BuiltinOp::Sum, Kind::I32, BASE, &[(0, 8)]);
    let old = apply(&acc, &[10i32.to_le_bytes(), 10i32.to_le_bytes()].concat(), &mut m).unwrap();
    assert_eq!(old, [5i32.to_le_bytes(), (-3i32).to_le_bytes()].concat());
    assert_eq!(&m.bytes[..8], &[15i32.to_le_bytes(), 7i32.to_le_bytes()].concat()[..]);
    let noop = req(OpKind::GetAcc, BuiltinOp::NoOp, Kind::I32, BASE, &[(0, 4)]);
    assert_eq!(apply(&noop, &[0; 4], &mut m).unwrap(), 15i32.to_le_bytes());
    let replace = req(OpKind::Acc, BuiltinOp::Replace, Kind::I32, BASE, &[(0, 4)]);
    apply(&replace, &99i32.to_le_bytes(), &mut m).unwrap();
    assert_eq!(&m.bytes[..4], &99i32.to_le_bytes());
    let bad = req(OpKind::Acc, BuiltinOp::Maxloc, Kind::I32, BASE, &[(0, 4)]);
    assert_eq!(apply(&bad, &[0; 4], &mut m).unwrap_err().class, ErrorClass::Op);
}

#[test]
fn maxloc_works_on_packed_pairs() {
    // MPI_SHORT_INT packs to 6 bytes (value, index) but reduces with the index at offset 4.
    let pair = |v: i16, i: i32| [&v.to_le_bytes()[..], &i.to_le_bytes()[..]].concat();
    let old = [pair(3, 1), pair(7, 0)].concat();
    let origin = [pair(5, 2), pair(7, 4)].concat();
    assert_eq!(combine(BuiltinOp::Maxloc, Kind::ShortInt, &old, &origin).unwrap(), [pair(5, 2), pair(7, 0)].concat());
}

#[test]
fn compare_and_swap_swaps_only_on_equal() {
    let mut m = Mem::new(16);
    m.bytes[..4].copy_from_slice(&1i32.to_le_bytes());
    let cas = req(OpKind::CompareSwap, BuiltinOp::NoOp, Kind::I32, BASE, &[(0, 4)]);
    let miss = apply(&cas, &[2i32.to_le_bytes(), 9i32.to_le_bytes()].concat(), &mut m).unwrap();
    assert_eq!((miss, &m.bytes[..4]), (1i32.to_le_bytes().to_vec(), &1i32.to_le_bytes()[..]));
    let hit = apply(&cas, &[1i32.to_le_bytes(), 9i32.to_le_bytes()].concat(), &mut m).unwrap();
    assert_eq!((hit, &m.bytes[..4]), (1i32.to_le_bytes().to_vec(), &9i32.to_le_bytes()[..]));
}

#[test]
fn locks_grant_in_order_shared_together() {
    let mut t = LockTable::default();
    assert_eq!(t.request(0, LockType::Shared, 10), vec![(0, 10)]);
    assert_eq!(t.request(1, LockType::Shared, 11), vec![(1, 11)]);
    assert_eq!(t.request(2, LockType::Exclusive, 12), vec![]);
    // A shared request behind a waiting exclusive one waits too.
    assert_eq!(t.request(3, LockType::Shared, 13), vec![]);
    assert_eq!(t.release(0, LockType::Shared).unwrap(), vec![]);
    assert_eq!(t.release(1, LockType::Shared).unwrap(), vec![(2, 12)]);
    assert_eq!(t.release(2, LockType::Exclusive).unwrap(), vec![(3, 13)]);
    assert_eq!(t.release(2, LockType::Exclusive).unwrap_err().class, ErrorClass::RmaSync);
}

#[test]
fn no_element_combines_with_any_op() {
    // MPI_SUM on MPI_BYTE is no valid reduction, but with no element there is nothing to
    // combine (mpi4py's testGetAccumulate sends 0 MPI_BYTEs with MPI_SUM).
    assert_eq!(combine(BuiltinOp::Sum, Kind::Byte, &[], &[]).unwrap(), Vec::<u8>::new());
    assert!(combine(BuiltinOp::Sum, Kind::Byte, &[1], &[2]).is_err());
}
