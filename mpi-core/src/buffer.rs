//! User memory the engine reads from and writes into.
//!
//! MPI hands the engine raw buffers whose lifetime the standard ties to a request: the user
//! promises not to touch (or free) a send buffer until the send completes, nor a receive buffer
//! until the receive completes. `UserBuf` carries that promise from the `abi` layer into the
//! engine. Its constructor is the one `unsafe` step; every access afterwards is bounds-checked.

use std::fmt;

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
