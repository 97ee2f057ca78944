//! Datatypes as the engine sees them.
//!
//! Issue 2 moves contiguous buffers of predefined types only; derived types (issue 4) will
//! add a type map beside `Primitive`. The engine never sees C handle values: the `abi` crate
//! maps each predefined `MPI_Datatype` to a `Primitive`.

/// The machine representation of one predefined element, which is all a reduction needs.
///
/// C types that share a representation on this platform share a kind (`MPI_LONG` and
/// `MPI_INT64_T` are both `I64` on LP64), but `Char`/`WChar` stay apart from the integers
/// because the standard defines no reduction on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    /// C `long double`: x87 80-bit extended precision stored in 16 bytes on x86_64.
    LongDouble,
    ComplexF32,
    ComplexF64,
    ComplexLongDouble,
    /// C `_Bool` / `bool`, one byte.
    Bool,
    /// `MPI_BYTE`: raw bytes; only the bitwise reductions apply.
    Byte,
    /// `MPI_CHAR`: printable characters; no reduction applies.
    Char,
    /// `MPI_WCHAR` (`wchar_t`, 4 bytes): no reduction applies.
    WChar,
    /// `MPI_PACKED`: bytes produced by `MPI_Pack`.
    Packed,
    /// The value-index pairs that MAXLOC/MINLOC work on.
    FloatInt,
    DoubleInt,
    LongInt,
    TwoInt,
    ShortInt,
    LongDoubleInt,
}

impl Kind {
    /// Bytes one element occupies in memory (`sizeof`, the extent): the stride of a buffer.
    pub const fn extent(self) -> usize {
        match self {
            Kind::I8 | Kind::U8 | Kind::Bool | Kind::Byte | Kind::Char | Kind::Packed => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 | Kind::WChar => 4,
            Kind::I64 | Kind::U64 | Kind::F64 | Kind::ComplexF32 => 8,
            Kind::FloatInt | Kind::TwoInt | Kind::ShortInt => 8,
            Kind::LongDouble | Kind::ComplexF64 | Kind::DoubleInt | Kind::LongInt => 16,
            Kind::ComplexLongDouble | Kind::LongDoubleInt => 32,
        }
    }

    /// Bytes of data in one element (`MPI_Type_size`): the extent less the padding that the
    /// pair kinds carry between or after their two fields.
    pub const fn size(self) -> usize {
        match self.pair_value_size() {
            Some(value) => value + 4,
            None => self.extent(),
        }
    }

    /// Bytes from the first to the last byte of data (`MPI_Type_get_true_extent`): the extent
    /// less trailing padding. A pair's `int` index sits at the value's size rounded up to the
    /// `int` alignment (`MPI_SHORT_INT`: at 4, so its true extent is 8 though its size is 6).
    pub const fn true_extent(self) -> usize {
        match self.pair_value_size() {
            Some(value) => value.next_multiple_of(4) + 4,
            None => self.extent(),
        }
    }

    /// For the MAXLOC/MINLOC pair kinds, the size of the value that precedes the `int` index.
    /// A pair counts as two basic elements for `MPI_Get_elements`.
    pub const fn pair_value_size(self) -> Option<usize> {
        match self {
            Kind::FloatInt | Kind::TwoInt => Some(4),
            Kind::ShortInt => Some(2),
            Kind::DoubleInt | Kind::LongInt => Some(8),
            Kind::LongDoubleInt => Some(16),
            _ => None,
        }
    }

    /// Basic elements in `bytes` bytes of memory layout of this kind (`MPI_Get_elements`), or
    /// `None` when the bytes end inside an element.
    pub fn elements_in(self, bytes: usize) -> Option<usize> {
        let extent = self.extent();
        let (whole, rest) = (bytes / extent, bytes % extent);
        match self.pair_value_size() {
            None if rest == 0 => Some(whole),
            None => None,
            Some(_) if rest == 0 => Some(2 * whole),
            Some(value) if rest == value => Some(2 * whole + 1),
            Some(_) => None,
        }
    }
}
