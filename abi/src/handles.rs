//! Translation between C handles and engine objects.
//!
//! Predefined handles are the standard ABI's small integers; they translate by arithmetic, so
//! sending a predefined datatype on `MPI_COMM_WORLD` takes no lock and no lookup. Handles the
//! library creates are engine tokens (generation in the high 32 bits, generation >= 1), so they
//! are never in 1..4095 and a stale one is detected rather than aliasing a newer object.

use std::sync::{Arc, LazyLock};

use mpi_core::datatype::Kind;
use mpi_core::engine::{CommId, Message, Request};
use mpi_core::error::{fail, ErrorClass, Result};
use mpi_core::op::BuiltinOp;
use mpi_core::typemap::TypeMap;

use crate::generated::consts::*;
use crate::generated::types::*;

pub fn comm(c: MPI_Comm) -> Result<CommId> {
    match c {
        MPI_COMM_WORLD => Ok(CommId::WORLD),
        MPI_COMM_SELF => Ok(CommId::SELF),
        MPI_COMM_NULL => fail(ErrorClass::Comm, "MPI_COMM_NULL is not a valid communicator here"),
        // A created communicator: the engine's token, checked (stale or not) when used.
        _ if c.0 >= 4096 => Ok(CommId(c.0 as u64)),
        _ => fail(ErrorClass::Comm, format!("invalid communicator handle {:#x}", c.0)),
    }
}

pub fn comm_handle(c: CommId) -> MPI_Comm {
    match c {
        CommId::WORLD => MPI_COMM_WORLD,
        CommId::SELF => MPI_COMM_SELF,
        _ => MPI_Comm(c.0 as usize),
    }
}

/// The element kind of a predefined datatype, by handle value, built at compile time.
/// `None`: not a datatype, or an optional type this build does not support (size 0).
static DATATYPES: [Option<Kind>; 256] = {
    let mut t: [Option<Kind>; 256] = [None; 256];
    macro_rules! set {
        ($($h:ident => $k:ident),* $(,)?) => { $( t[$h.0 - 0x200] = Some(Kind::$k); )* };
    }
    set! {
        MPI_AINT => I64, MPI_COUNT => I64, MPI_OFFSET => I64, MPI_PACKED => Packed,
        MPI_SHORT => I16, MPI_INT => I32, MPI_LONG => I64, MPI_LONG_LONG => I64,
        MPI_UNSIGNED_SHORT => U16, MPI_UNSIGNED => U32, MPI_UNSIGNED_LONG => U64, MPI_UNSIGNED_LONG_LONG => U64,
        MPI_FLOAT => F32, MPI_DOUBLE => F64, MPI_LONG_DOUBLE => LongDouble,
        MPI_C_FLOAT_COMPLEX => ComplexF32, MPI_CXX_FLOAT_COMPLEX => ComplexF32,
        MPI_C_DOUBLE_COMPLEX => ComplexF64, MPI_CXX_DOUBLE_COMPLEX => ComplexF64,
        MPI_C_LONG_DOUBLE_COMPLEX => ComplexLongDouble, MPI_CXX_LONG_DOUBLE_COMPLEX => ComplexLongDouble,
        MPI_FLOAT_INT => FloatInt, MPI_DOUBLE_INT => DoubleInt, MPI_LONG_INT => LongInt,
        MPI_2INT => TwoInt, MPI_SHORT_INT => ShortInt, MPI_LONG_DOUBLE_INT => LongDoubleInt,
        MPI_C_BOOL => Bool, MPI_CXX_BOOL => Bool, MPI_WCHAR => WChar,
        MPI_INT8_T => I8, MPI_UINT8_T => U8, MPI_CHAR => Char, MPI_SIGNED_CHAR => I8,
        MPI_UNSIGNED_CHAR => U8, MPI_BYTE => Byte,
        MPI_INT16_T => I16, MPI_UINT16_T => U16, MPI_INT32_T => I32, MPI_UINT32_T => U32,
        MPI_INT64_T => I64, MPI_UINT64_T => U64,
        // Fortran types whose size their name fixes. Default-kind Fortran types (MPI_INTEGER,
        // MPI_REAL, ...) depend on a Fortran compiler this library is not built with: size 0.
        MPI_INTEGER1 => I8, MPI_INTEGER2 => I16, MPI_INTEGER4 => I32, MPI_INTEGER8 => I64,
        MPI_REAL4 => F32, MPI_REAL8 => F64, MPI_COMPLEX8 => ComplexF32, MPI_COMPLEX16 => ComplexF64,
    }
    t
};

/// Whether `d` is in the predefined datatype range (valid or not).
pub fn is_predefined(d: MPI_Datatype) -> bool {
    d.0 < 4096
}

/// A datatype handle collectives can move: a predefined type (`Some(kind)`) or an
/// unsupported optional predefined type (`None`, size 0). Derived types are refused here with
/// `MPI_ERR_TYPE`: collectives move contiguous predefined data only for now. Point-to-point
/// takes any committed type (`p2p::comm_buf`); [`type_map`] is what the datatype functions use.
pub fn datatype(d: MPI_Datatype) -> Result<Option<Kind>> {
    if d == MPI_DATATYPE_NULL {
        return fail(ErrorClass::Type, "MPI_DATATYPE_NULL is not a valid datatype here");
    }
    if (0x201..0x300).contains(&d.0) {
        return Ok(DATATYPES[d.0 - 0x200]);
    }
    if !is_predefined(d) {
        match crate::typector::lookup(d) {
            Some((_, false)) => return fail(ErrorClass::Type, format!("datatype {:#x} is not committed", d.0)),
            Some((_, true)) => {
                return fail(
                    ErrorClass::Type,
                    format!("datatype {:#x} is a derived datatype: collective operations do not take derived datatypes yet; pack the data with MPI_Pack and use MPI_PACKED", d.0),
                )
            }
            None => {}
        }
    }
    fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0))
}

/// The type maps of the predefined datatypes, by handle value. External32 sizes follow the
/// standard's table where it differs from the memory size (`long` is 4 bytes, `wchar_t` 2).
static PREDEFINED_MAPS: LazyLock<Vec<Arc<TypeMap>>> = LazyLock::new(|| {
    (0x200..0x300)
        .map(|h| {
            let ext32 = match MPI_Datatype(h) {
                MPI_LONG | MPI_UNSIGNED_LONG | MPI_LONG_INT => Some(4),
                MPI_WCHAR => Some(2),
                _ => None,
            };
            Arc::new(match DATATYPES[h - 0x200] {
                Some(kind) => TypeMap::predefined(kind, ext32, h),
                None => TypeMap::empty_named(h),
            })
        })
        .collect()
});

/// The type map of any valid datatype handle, predefined or created (committed or not).
pub fn type_map(d: MPI_Datatype) -> Result<Arc<TypeMap>> {
    if d == MPI_DATATYPE_NULL {
        return fail(ErrorClass::Type, "MPI_DATATYPE_NULL is not a valid datatype here");
    }
    if (0x201..0x300).contains(&d.0) {
        return Ok(PREDEFINED_MAPS[d.0 - 0x200].clone());
    }
    if !is_predefined(d) {
        if let Some((map, _)) = crate::typector::lookup(d) {
            return Ok(map);
        }
    }
    fail(ErrorClass::Type, format!("invalid datatype handle {:#x}", d.0))
}

/// The standard name of a predefined datatype (`MPI_Type_get_name`).
pub fn datatype_name(d: MPI_Datatype) -> &'static str {
    macro_rules! names {
        ($($h:ident),* $(,)?) => { match d { $( $h => stringify!($h), )* _ => "" } };
    }
    names! {
        MPI_AINT, MPI_COUNT, MPI_OFFSET, MPI_PACKED, MPI_SHORT, MPI_INT, MPI_LONG, MPI_LONG_LONG,
        MPI_UNSIGNED_SHORT, MPI_UNSIGNED, MPI_UNSIGNED_LONG, MPI_UNSIGNED_LONG_LONG, MPI_FLOAT,
        MPI_C_FLOAT_COMPLEX, MPI_CXX_FLOAT_COMPLEX, MPI_DOUBLE, MPI_C_DOUBLE_COMPLEX,
        MPI_CXX_DOUBLE_COMPLEX, MPI_LOGICAL, MPI_INTEGER, MPI_REAL, MPI_COMPLEX,
        MPI_DOUBLE_PRECISION, MPI_DOUBLE_COMPLEX, MPI_CHARACTER, MPI_LONG_DOUBLE,
        MPI_C_LONG_DOUBLE_COMPLEX, MPI_CXX_LONG_DOUBLE_COMPLEX, MPI_FLOAT_INT, MPI_DOUBLE_INT,
        MPI_LONG_INT, MPI_2INT, MPI_SHORT_INT, MPI_LONG_DOUBLE_INT, MPI_2REAL,
        MPI_2DOUBLE_PRECISION, MPI_2INTEGER, MPI_C_BOOL, MPI_CXX_BOOL, MPI_WCHAR, MPI_INT8_T,
        MPI_UINT8_T, MPI_CHAR, MPI_SIGNED_CHAR, MPI_UNSIGNED_CHAR, MPI_BYTE, MPI_INT16_T,
        MPI_UINT16_T, MPI_INT32_T, MPI_UINT32_T, MPI_INT64_T, MPI_UINT64_T, MPI_LOGICAL1,
        MPI_INTEGER1, MPI_LOGICAL2, MPI_INTEGER2, MPI_REAL2, MPI_LOGICAL4, MPI_INTEGER4, MPI_REAL4,
        MPI_COMPLEX4, MPI_LOGICAL8, MPI_INTEGER8, MPI_REAL8, MPI_COMPLEX8, MPI_LOGICAL16,
        MPI_INTEGER16, MPI_REAL16, MPI_COMPLEX16, MPI_COMPLEX32,
    }
}

/// Bytes of memory that `count` elements of `d` span, with the count and type checks MPI asks
/// for. Contiguous messages travel as this memory image, padding of pair types included.
pub fn extent_bytes(count: MPI_Count, d: MPI_Datatype) -> Result<usize> {
    if count < 0 {
        return fail(ErrorClass::Count, format!("negative count {count}"));
    }
    let size = datatype(d)?.map_or(0, Kind::extent);
    match (count as usize).checked_mul(size) {
        Some(n) if n <= isize::MAX as usize => Ok(n),
        _ => fail(ErrorClass::Count, format!("count {count} of {size}-byte elements overflows")),
    }
}

pub fn op(o: MPI_Op) -> Result<BuiltinOp> {
    Ok(match o {
        MPI_MAX => BuiltinOp::Max,
        MPI_MIN => BuiltinOp::Min,
        MPI_SUM => BuiltinOp::Sum,
        MPI_PROD => BuiltinOp::Prod,
        MPI_LAND => BuiltinOp::Land,
        MPI_BAND => BuiltinOp::Band,
        MPI_LOR => BuiltinOp::Lor,
        MPI_BOR => BuiltinOp::Bor,
        MPI_LXOR => BuiltinOp::Lxor,
        MPI_BXOR => BuiltinOp::Bxor,
        MPI_MAXLOC => BuiltinOp::Maxloc,
        MPI_MINLOC => BuiltinOp::Minloc,
        MPI_REPLACE => BuiltinOp::Replace,
        MPI_NO_OP => BuiltinOp::NoOp,
        _ if crate::op::is_user_op(o) => {
            return fail(
                ErrorClass::UnsupportedOperation,
                "user-defined operations are not supported in this collective yet (MPI_Reduce_local takes them)",
            )
        }
        _ => return fail(ErrorClass::Op, format!("invalid operation handle {:#x}", o.0)),
    })
}

/// `None` for `MPI_REQUEST_NULL`.
pub fn request(r: MPI_Request) -> Result<Option<Request>> {
    if r == MPI_REQUEST_NULL {
        return Ok(None);
    }
    if r.0 < 4096 {
        return fail(ErrorClass::Request, format!("invalid request handle {:#x}", r.0));
    }
    Ok(Some(Request::from_token(r.0 as u64)))
}

pub fn request_handle(r: Request) -> MPI_Request {
    MPI_Request(r.token() as usize)
}

pub fn message(m: MPI_Message) -> Result<Message> {
    match m {
        MPI_MESSAGE_NO_PROC => Ok(Message::NoProc),
        MPI_MESSAGE_NULL => fail(ErrorClass::Request, "MPI_MESSAGE_NULL is not a message"),
        _ if m.0 < 4096 => fail(ErrorClass::Request, format!("invalid message handle {:#x}", m.0)),
        _ => Ok(Message::Real(mpi_core::slab::Id::from_token(m.0 as u64))),
    }
}

pub fn message_handle(m: Message) -> MPI_Message {
    match m {
        Message::NoProc => MPI_MESSAGE_NO_PROC,
        Message::Real(id) => MPI_Message(id.token() as usize),
    }
}
