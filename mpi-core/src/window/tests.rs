use super::*;

fn call(disp: i64, count: usize, map: TypeMap) -> RmaCall {
    RmaCall { kind: OpKind::Put, target: 0, disp, target_count: count, target_map: Arc::new(map), data: Vec::new(), result: None, op: BuiltinOp::NoOp, elem: Kind::Byte }
}

fn int() -> TypeMap {
    TypeMap::predefined(Kind::I32, None, 0)
}

const PEER: Exposure = Exposure { base: 0x1000, size: 64, disp_unit: 4 };

#[test]
fn displacements_scale_by_the_target_unit() {
    let (addr, ranges) = target_ranges(PEER, false, &call(3, 2, int())).unwrap();
    assert_eq!((addr, ranges), (0x1000 + 12, vec![(0, 8)]));
}

#[test]
fn the_whole_type_map_must_fit_the_window() {
    assert!(target_ranges(PEER, false, &call(14, 2, int())).is_ok());
    assert_eq!(target_ranges(PEER, false, &call(15, 2, int())).unwrap_err().class, ErrorClass::RmaRange);
    // A vector of 2 blocks of 1 int, 3 ints apart: 16 bytes from the first to the last byte.
    let vec = TypeMap::vector(2, 1, 3, false, &int()).unwrap();
    let (_, ranges) = target_ranges(PEER, false, &call(12, 1, vec.clone())).unwrap();
    assert_eq!(ranges, vec![(0, 4), (12, 4)]);
    assert_eq!(target_ranges(PEER, false, &call(13, 1, vec)).unwrap_err().class, ErrorClass::RmaRange);
    assert_eq!(target_ranges(PEER, false, &call(-1, 1, int())).unwrap_err().class, ErrorClass::Disp);
}

#[test]
fn dynamic_windows_take_absolute_addresses() {
    let (addr, ranges) = target_ranges(PEER, true, &call(0x7000, 1, int())).unwrap();
    assert_eq!((addr, ranges), (0x7000, vec![(0, 4)]));
}
