//! The memory of a shared window (`MPI_Win_allocate_shared`): one POSIX shared-memory object
//! per window, created by the first process of the window, mapped by every process of the
//! host, and unlinked as soon as all have mapped it (so a killed job leaves nothing behind).

use std::ffi::CString;

/// A mapping of a window's segment, unmapped when dropped (by `MPI_Win_free`).
pub(super) struct SharedMap {
    addr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is plain memory; the engine touches it only under its lock, and the
// application under MPI's rules for window memory.
unsafe impl Send for SharedMap {}

fn c_name(name: &str) -> Result<CString, String> {
    CString::new(name).map_err(|_| format!("bad segment name {name}"))
}

impl SharedMap {
    pub(super) fn addr(&self) -> usize {
        self.addr as usize
    }

    /// Creates the segment `name` of `len` bytes (at least one page is mapped) and maps it.
    pub(super) fn create(name: &str, len: usize) -> Result<SharedMap, String> {
        Self::map(name, len, true)
    }

    /// Maps the segment another process created.
    pub(super) fn open(name: &str, len: usize) -> Result<SharedMap, String> {
        Self::map(name, len, false)
    }

    pub(super) fn unlink(name: &str) {
        if let Ok(n) = c_name(name) {
            // SAFETY: a valid C string; failure (already gone) does not matter.
            unsafe { libc::shm_unlink(n.as_ptr()) };
        }
    }

    fn map(name: &str, len: usize, create: bool) -> Result<SharedMap, String> {
        let n = c_name(name)?;
        let len = len.max(1);
        let flags = if create { libc::O_CREAT | libc::O_EXCL | libc::O_RDWR } else { libc::O_RDWR };
        // SAFETY: a valid C string and flags; the descriptor is closed below on every path.
        let fd = unsafe { libc::shm_open(n.as_ptr(), flags, 0o600) };
        if fd < 0 {
            return Err(format!("shm_open {name}: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is ours; ftruncate and mmap only read their arguments.
        let addr = unsafe {
            if create && libc::ftruncate(fd, len as libc::off_t) != 0 {
                libc::close(fd);
                return Err(format!("ftruncate {name}: {}", std::io::Error::last_os_error()));
            }
            let addr = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
            libc::close(fd);
            addr
        };
        if addr == libc::MAP_FAILED {
            return Err(format!("mmap {name}: {}", std::io::Error::last_os_error()));
        }
        Ok(SharedMap { addr, len })
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}
