//! User memory the engine reads from and writes into.
//!
//! MPI hands the engine raw buffers whose lifetime the standard ties to a request: the user
//! promises not to touch (or free) a send buffer until the send completes, nor a receive buffer
//! until the receive completes. `UserBuf` carries that promise from the `abi` layer into the
//! engine. Its constructor is the one `unsafe` step; every access afterwards is bounds-checked.

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::typemap::TypeMap;

/// A byte range of user memory, valid for as long as the request holding it is active.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UserBuf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `UserBuf` is only a promise about memory the application owns; the engine accesses
// it under its own lock, and MPI forbids the application from touching it concurrently.
unsafe impl Send for UserBuf {}
// SAFETY: as above; shared references never access the memory without the engine lock.
unsafe impl Sync for UserBuf {}

impl UserBuf {
    /// The empty buffer (count 0); never dereferenced.
    pub const EMPTY: UserBuf = UserBuf { ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(), len: 0 };

    /// # Safety
    /// `ptr..ptr+len` must stay valid for reads (and for writes, if the engine is asked to write
    /// into it) until the request that holds this buffer completes, and nothing else may write it
    /// meanwhile. `len == 0` accepts any pointer.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> UserBuf {
        if len == 0 {
            UserBuf::EMPTY
        } else {
            UserBuf { ptr, len }
        }
    }

    /// A buffer over memory the engine owns (tests, internal staging).
    pub fn from_slice(s: &mut [u8]) -> UserBuf {
        // SAFETY: the caller keeps `s` alive and unaliased while the buffer is in use; this is
        // the same contract as `new`, checked by the borrow at the call site for its duration.
        unsafe { UserBuf::new(s.as_mut_ptr(), s.len()) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Address of the first byte, for single-copy reads by a peer process.
    pub fn addr(&self) -> usize {
        self.ptr as usize
    }

    /// The sub-range `offset..offset+len`, clamped to the buffer.
    pub fn slice(&self, offset: usize, len: usize) -> UserBuf {
        let start = offset.min(self.len);
        let len = len.min(self.len - start);
        // SAFETY: a sub-range of a valid buffer is valid under the same contract.
        unsafe { UserBuf::new(self.ptr.add(start), len) }
    }

    /// Borrow the bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `new`'s contract: valid for reads while the owning request is active.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Borrow the bytes for writing.
    #[allow(clippy::mut_from_ref)]
    pub fn bytes_mut(&self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: `new`'s contract: valid for writes and not aliased while the request is active;
        // the engine lock serialises every access through this buffer.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Copy `src` in at `offset`; bytes that would fall past the end are dropped. Returns the
    /// number of bytes written.
    pub fn write_at(&self, offset: usize, src: &[u8]) -> usize {
        let dst = self.slice(offset, src.len());
        dst.bytes_mut().copy_from_slice(&src[..dst.len]);
        dst.len
    }
}

impl fmt::Debug for UserBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserBuf({:p}, {})", self.ptr, self.len)
    }
}

/// `count` elements of a datatype whose memory is not one contiguous range, at `base`: the
/// protocol sees the packed stream of their bytes (`len` of them), read and written piecewise
/// by the type map's segment walker, so no whole packed copy is ever made.
#[derive(Clone)]
pub struct TypedBuf {
    base: *mut u8,
    count: usize,
    map: Arc<TypeMap>,
    len: usize,
}

// SAFETY: as for `UserBuf`: a promise about application memory, touched only under the engine
// lock while the request holding it is active.
unsafe impl Send for TypedBuf {}
// SAFETY: as above.
unsafe impl Sync for TypedBuf {}

impl TypedBuf {
    /// # Safety
    /// Every byte the type map of `count` elements covers, relative to `base` (which may be
    /// null for absolute addresses, `MPI_BOTTOM`), must stay valid for reads (and for writes,
    /// if the engine is asked to write) until the request that holds this buffer completes, and
    /// nothing else may write those bytes meanwhile.
    pub unsafe fn new(base: *mut u8, count: usize, map: Arc<TypeMap>) -> Result<TypedBuf> {
        let len = map.packed_size(count)?;
        Ok(TypedBuf { base, count, map, len })
    }

    /// The memory span of the data, gaps included (`TypeMap::data_span`): what a user-defined
    /// reduction reads and writes. The caller must not write the gaps of the application's
    /// memory (they are not the application's promise to the engine).
    pub fn span(&self) -> Result<UserBuf> {
        let (lo, len) = self.map.data_span(self.count)?;
        // SAFETY: `new`'s contract covers every byte of data; the span adds the gaps between
        // them, which lie inside the same application object.
        Ok(unsafe { UserBuf::new(self.base.wrapping_offset(lo), len) })
    }

    /// The same elements laid out over `span` instead (memory holding `span()`'s bytes, such
    /// as a schedule's copy of them): its packed stream is the data in `span`.
    pub fn over(&self, span: UserBuf) -> Result<TypedBuf> {
        let (lo, len) = self.map.data_span(self.count)?;
        if span.len() != len {
            return crate::error::fail(crate::error::ErrorClass::Intern, format!("a span of {} bytes for data spanning {len}", span.len()));
        }
        let base = (span.addr() as *mut u8).wrapping_offset(-lo);
        Ok(TypedBuf { base, count: self.count, map: self.map.clone(), len: self.len })
    }
}

impl fmt::Debug for TypedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedBuf({:p}, {} x {} bytes)", self.base, self.count, self.map.size())
    }
}

/// A communication buffer as the protocol sees it: a stream of `len()` bytes, stored in one
/// contiguous range or scattered by a type map.
#[derive(Clone, Debug)]
pub enum Buf {
    Contig(UserBuf),
    Typed(TypedBuf),
}

impl From<UserBuf> for Buf {
    fn from(b: UserBuf) -> Buf {
        Buf::Contig(b)
    }
}

impl Buf {
    /// Bytes in the stream.
    pub fn len(&self) -> usize {
        match self {
            Buf::Contig(b) => b.len(),
            Buf::Typed(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The memory as one range, when it is one (what single-copy and RDMA transfers need).
    pub fn contiguous(&self) -> Option<UserBuf> {
        match self {
            Buf::Contig(b) => Some(*b),
            Buf::Typed(_) => None,
        }
    }

    /// Copies `src` into stream bytes `offset..`; bytes past the end are dropped. Returns the
    /// number written.
    pub fn write_at(&self, offset: usize, src: &[u8]) -> usize {
        match self {
            Buf::Contig(b) => b.write_at(offset, src),
            Buf::Typed(t) => {
                let n = src.len().min(t.len.saturating_sub(offset));
                if n == 0 {
                    return 0;
                }
                // SAFETY: `TypedBuf::new`'s contract; the walker stays inside the map of
                // `count` elements, and `src` is engine memory, not the user's buffer.
                unsafe { t.map.unpack(&src[..n], t.base, t.count, offset) }
            }
        }
    }

    /// Copies stream bytes `offset..` into `dst` (fewer when the stream ends first). Returns
    /// the number copied.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> usize {
        match self {
            Buf::Contig(b) => {
                let src = b.slice(offset, dst.len());
                dst[..src.len()].copy_from_slice(src.bytes());
                src.len()
            }
            Buf::Typed(t) => {
                let n = dst.len().min(t.len.saturating_sub(offset));
                if n == 0 {
                    return 0;
                }
                // SAFETY: `TypedBuf::new`'s contract, as in `write_at`.
                unsafe { t.map.pack(t.base, t.count, offset, &mut dst[..n]) }
            }
        }
    }

    /// The whole stream, copied (buffered sends, small typed sends).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.len()];
        self.read_at(0, &mut v);
        v
    }
}
