//! The libfabric subset this crate uses, written by hand, and the only `unsafe` in the crate.
//!
//! Why by hand: the crates.io `ofi-libfabric-sys` needs libfabric 2.x headers (`fi_profile.h`),
//! and the hosts we build on have Debian's 1.17. The structs below mirror
//! `/usr/include/rdma/{fabric,fi_domain,fi_endpoint,fi_tagged,fi_cm,fi_eq,fi_errno}.h` of 1.17
//! field for field; `layout_check` (a unit test) compiles a C program with the system headers
//! and compares `sizeof`/`offsetof` of every mirrored struct and field with Rust's, so a wrong
//! field order fails `cargo test` loudly.
//!
//! Why Rust calls through the ops tables instead of a C shim: the static-inline functions
//! (`fi_tsend`, `fi_cq_read`, `fi_close`, ...) are one indirect call each
//! (`ep->tagged->send(ep, ...)`), with no logic we would duplicate, and the ops-table layouts are
//! checked by the same layout test. Doing it in Rust keeps the build free of a C compiler (only
//! the test needs one) and keeps every `unsafe` in this one file, each with its argument. The
//! ops tables are part of libfabric's stable ABI (they only grow at the end, guarded by their
//! `size` field), which is also what lets a binary built against 1.17 headers run with a 2.x
//! `libfabric.so.1`.
//!
//! Everything here is wrapped in safe types:
//! * [`getinfo`] / [`InfoList`] / [`Info`]: `fi_getinfo` with our hints, and owned copies.
//! * [`Net`]: fabric, domain, CQ, AV, endpoint and memory registrations of one endpoint, closed
//!   in dependency order on drop. `Send` but not `Sync`: the caller serialises it (a Mutex), so
//!   we can ask providers for `FI_THREAD_DOMAIN`.
//! * [`Region`] / [`Slot`]: page-aligned buffer memory cut into fixed slots, optionally
//!   registered. A `Slot` is a unique, non-`Clone` token for one slot: while the caller holds it,
//!   no operation is posted on that memory, so reading and writing its bytes is race free; posting
//!   an operation moves the `Slot` into `Net`, and the completion gives it back.
#![allow(non_camel_case_types, dead_code)]

use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub type size_t = usize;
pub type ssize_t = isize;
pub type fi_addr_t = u64;
/// A C function pointer we never call (kept for the table layout only).
pub type Unused = *const c_void;

// ---------------------------------------------------------------------------------------------
// Constants (fabric.h, fi_domain.h, fi_endpoint.h, fi_eq.h, fi_errno.h)
// ---------------------------------------------------------------------------------------------

pub const fn fi_version(major: u32, minor: u32) -> u32 {
    (major << 16) | minor
}

pub const FI_MSG: u64 = 1 << 1;
pub const FI_RMA: u64 = 1 << 2;
pub const FI_TAGGED: u64 = 1 << 3;
pub const FI_READ: u64 = 1 << 8;
pub const FI_WRITE: u64 = 1 << 9;
pub const FI_RECV: u64 = 1 << 10;
pub const FI_SEND: u64 = 1 << 11;
pub const FI_TRANSMIT: u64 = FI_SEND;
pub const FI_REMOTE_READ: u64 = 1 << 12;
pub const FI_REMOTE_WRITE: u64 = 1 << 13;
pub const FI_MULTI_RECV: u64 = 1 << 16;
pub const FI_REMOTE_CQ_DATA: u64 = 1 << 17;
pub const FI_COMPLETION: u64 = 1 << 24;
pub const FI_INJECT: u64 = 1 << 25;
pub const FI_SOURCE: u64 = 1 << 57;
pub const FI_DIRECTED_RECV: u64 = 1 << 59;

// Mode bits.
pub const FI_CONTEXT: u64 = 1 << 59;
pub const FI_MSG_PREFIX: u64 = 1 << 58;
pub const FI_ASYNC_IOV: u64 = 1 << 57;
pub const FI_RX_CQ_DATA: u64 = 1 << 56;
pub const FI_LOCAL_MR: u64 = 1 << 55;
pub const FI_CONTEXT2: u64 = 1 << 52;
pub const FI_BUFFERED_RECV: u64 = 1 << 51;

// mr_mode bits (int).
pub const FI_MR_BASIC: c_int = 1 << 0;
pub const FI_MR_SCALABLE: c_int = 1 << 1;
pub const FI_MR_LOCAL: c_int = 1 << 2;
pub const FI_MR_RAW: c_int = 1 << 3;
pub const FI_MR_VIRT_ADDR: c_int = 1 << 4;
pub const FI_MR_ALLOCATED: c_int = 1 << 5;
pub const FI_MR_PROV_KEY: c_int = 1 << 6;
pub const FI_MR_MMU_NOTIFY: c_int = 1 << 7;
pub const FI_MR_RMA_EVENT: c_int = 1 << 8;
pub const FI_MR_ENDPOINT: c_int = 1 << 9;
pub const FI_MR_HMEM: c_int = 1 << 10;

// enum fi_ep_type
pub const FI_EP_RDM: c_int = 3;
// enum fi_threading
pub const FI_THREAD_UNSPEC: c_int = 0;
pub const FI_THREAD_SAFE: c_int = 1;
pub const FI_THREAD_DOMAIN: c_int = 3;
// enum fi_av_type
pub const FI_AV_UNSPEC: c_int = 0;
pub const FI_AV_MAP: c_int = 1;
pub const FI_AV_TABLE: c_int = 2;
// enum fi_cq_format
pub const FI_CQ_FORMAT_TAGGED: c_int = 4;
// enum fi_wait_obj
pub const FI_WAIT_NONE: c_int = 0;
// control commands
pub const FI_ENABLE: c_int = 6;

pub const FI_ADDR_UNSPEC: fi_addr_t = u64::MAX;
// Address formats (fi_info.addr_format).
pub const FI_ADDR_STR: u32 = 9;

// Errors (positive; libfabric returns them negated).
pub const FI_EAGAIN: c_int = libc::EAGAIN;
pub const FI_ECANCELED: c_int = libc::ECANCELED;
pub const FI_EAVAIL: c_int = 259;
pub const FI_ETRUNC: c_int = 265;
pub const FI_ENODATA: c_int = libc::ENODATA;

// ---------------------------------------------------------------------------------------------
// Structs, exactly as the 1.17 headers declare them (checked by `layout_check`).
// ---------------------------------------------------------------------------------------------

#[repr(C)]
pub struct fi_tx_attr {
    pub caps: u64,
    pub mode: u64,
    pub op_flags: u64,
    pub msg_order: u64,
    pub comp_order: u64,
    pub inject_size: size_t,
    pub size: size_t,
    pub iov_limit: size_t,
    pub rma_iov_limit: size_t,
    pub tclass: u32,
}

#[repr(C)]
pub struct fi_rx_attr {
    pub caps: u64,
    pub mode: u64,
    pub op_flags: u64,
    pub msg_order: u64,
    pub comp_order: u64,
    pub total_buffered_recv: size_t,
    pub size: size_t,
    pub iov_limit: size_t,
}

#[repr(C)]
pub struct fi_ep_attr {
    pub type_: c_int, // enum fi_ep_type
    pub protocol: u32,
    pub protocol_version: u32,
    pub max_msg_size: size_t,
    pub msg_prefix_size: size_t,
    pub max_order_raw_size: size_t,
    pub max_order_war_size: size_t,
    pub max_order_waw_size: size_t,
    pub mem_tag_format: u64,
    pub tx_ctx_cnt: size_t,
    pub rx_ctx_cnt: size_t,
    pub auth_key_size: size_t,
    pub auth_key: *mut u8,
}

#[repr(C)]
pub struct fi_domain_attr {
    pub domain: *mut fid_domain,
    pub name: *mut c_char,
    pub threading: c_int,        // enum fi_threading
    pub control_progress: c_int, // enum fi_progress
    pub data_progress: c_int,    // enum fi_progress
    pub resource_mgmt: c_int,    // enum fi_resource_mgmt
    pub av_type: c_int,          // enum fi_av_type
    pub mr_mode: c_int,
    pub mr_key_size: size_t,
    pub cq_data_size: size_t,
    pub cq_cnt: size_t,
    pub ep_cnt: size_t,
    pub tx_ctx_cnt: size_t,
    pub rx_ctx_cnt: size_t,
    pub max_ep_tx_ctx: size_t,
    pub max_ep_rx_ctx: size_t,
    pub max_ep_stx_ctx: size_t,
    pub max_ep_srx_ctx: size_t,
    pub cntr_cnt: size_t,
    pub mr_iov_limit: size_t,
    pub caps: u64,
    pub mode: u64,
    pub auth_key: *mut u8,
    pub auth_key_size: size_t,
    pub max_err_data: size_t,
    pub mr_cnt: size_t,
    pub tclass: u32,
}

#[repr(C)]
pub struct fi_fabric_attr {
    pub fabric: *mut fid_fabric,
    pub name: *mut c_char,
    pub prov_name: *mut c_char,
    pub prov_version: u32,
    pub api_version: u32,
}

#[repr(C)]
pub struct fi_info {
    pub next: *mut fi_info,
    pub caps: u64,
    pub mode: u64,
    pub addr_format: u32,
    pub src_addrlen: size_t,
    pub dest_addrlen: size_t,
    pub src_addr: *mut c_void,
    pub dest_addr: *mut c_void,
    pub handle: *mut fid,
    pub tx_attr: *mut fi_tx_attr,
    pub rx_attr: *mut fi_rx_attr,
    pub ep_attr: *mut fi_ep_attr,
    pub domain_attr: *mut fi_domain_attr,
    pub fabric_attr: *mut fi_fabric_attr,
    pub nic: *mut c_void, // struct fid_nic *
}

#[repr(C)]
pub struct fi_ops {
    pub size: size_t,
    pub close: Option<unsafe extern "C" fn(fid: *mut fid) -> c_int>,
    pub bind: Option<unsafe extern "C" fn(fid: *mut fid, bfid: *mut fid, flags: u64) -> c_int>,
    pub control: Option<unsafe extern "C" fn(fid: *mut fid, command: c_int, arg: *mut c_void) -> c_int>,
    pub ops_open: Unused,
    pub tostr: Unused,
    pub ops_set: Unused,
}

#[repr(C)]
pub struct fid {
    pub fclass: size_t,
    pub context: *mut c_void,
    pub ops: *mut fi_ops,
}

#[repr(C)]
pub struct fi_ops_fabric {
    pub size: size_t,
    pub domain: Option<
        unsafe extern "C" fn(
            fabric: *mut fid_fabric,
            info: *mut fi_info,
            dom: *mut *mut fid_domain,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub passive_ep: Unused,
    pub eq_open: Unused,
    pub wait_open: Unused,
    pub trywait: Unused,
    pub domain2: Unused,
}

#[repr(C)]
pub struct fid_fabric {
    pub fid: fid,
    pub ops: *mut fi_ops_fabric,
    pub api_version: u32,
}

#[repr(C)]
pub struct fi_av_attr {
    pub type_: c_int, // enum fi_av_type
    pub rx_ctx_bits: c_int,
    pub count: size_t,
    pub ep_per_node: size_t,
    pub name: *const c_char,
    pub map_addr: *mut c_void,
    pub flags: u64,
}

#[repr(C)]
pub struct fi_ops_av {
    pub size: size_t,
    pub insert: Option<
        unsafe extern "C" fn(
            av: *mut fid_av,
            addr: *const c_void,
            count: size_t,
            fi_addr: *mut fi_addr_t,
            flags: u64,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub insertsvc: Unused,
    pub insertsym: Unused,
    pub remove: Unused,
    pub lookup: Unused,
    pub straddr: Unused,
    pub av_set: Unused,
}

#[repr(C)]
pub struct fid_av {
    pub fid: fid,
    pub ops: *mut fi_ops_av,
}

#[repr(C)]
pub struct fid_mr {
    pub fid: fid,
    pub mem_desc: *mut c_void,
    pub key: u64,
}

#[repr(C)]
pub struct fi_ops_domain {
    pub size: size_t,
    pub av_open: Option<
        unsafe extern "C" fn(
            domain: *mut fid_domain,
            attr: *mut fi_av_attr,
            av: *mut *mut fid_av,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub cq_open: Option<
        unsafe extern "C" fn(
            domain: *mut fid_domain,
            attr: *mut fi_cq_attr,
            cq: *mut *mut fid_cq,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub endpoint: Option<
        unsafe extern "C" fn(
            domain: *mut fid_domain,
            info: *mut fi_info,
            ep: *mut *mut fid_ep,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub scalable_ep: Unused,
    pub cntr_open: Unused,
    pub poll_open: Unused,
    pub stx_ctx: Unused,
    pub srx_ctx: Unused,
    pub query_atomic: Unused,
    pub query_collective: Unused,
    pub endpoint2: Unused,
}

#[repr(C)]
pub struct fi_ops_mr {
    pub size: size_t,
    pub reg: Option<
        unsafe extern "C" fn(
            fid: *mut fid,
            buf: *const c_void,
            len: size_t,
            access: u64,
            offset: u64,
            requested_key: u64,
            flags: u64,
            mr: *mut *mut fid_mr,
            context: *mut c_void,
        ) -> c_int,
    >,
    pub regv: Unused,
    pub regattr: Unused,
}

#[repr(C)]
pub struct fid_domain {
    pub fid: fid,
    pub ops: *mut fi_ops_domain,
    pub mr: *mut fi_ops_mr,
}

#[repr(C)]
pub struct fi_cq_attr {
    pub size: size_t,
    pub flags: u64,
    pub format: c_int,   // enum fi_cq_format
    pub wait_obj: c_int, // enum fi_wait_obj
    pub signaling_vector: c_int,
    pub wait_cond: c_int, // enum fi_cq_wait_cond
    pub wait_set: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct fi_cq_tagged_entry {
    pub op_context: *mut c_void,
    pub flags: u64,
    pub len: size_t,
    pub buf: *mut c_void,
    pub data: u64,
    pub tag: u64,
}

#[repr(C)]
pub struct fi_cq_err_entry {
    pub op_context: *mut c_void,
    pub flags: u64,
    pub len: size_t,
    pub buf: *mut c_void,
    pub data: u64,
    pub tag: u64,
    pub olen: size_t,
    pub err: c_int,
    pub prov_errno: c_int,
    pub err_data: *mut c_void,
    pub err_data_size: size_t,
}

#[repr(C)]
pub struct fi_ops_cq {
    pub size: size_t,
    pub read: Option<unsafe extern "C" fn(cq: *mut fid_cq, buf: *mut c_void, count: size_t) -> ssize_t>,
    pub readfrom: Unused,
    pub readerr:
        Option<unsafe extern "C" fn(cq: *mut fid_cq, buf: *mut fi_cq_err_entry, flags: u64) -> ssize_t>,
    pub sread: Unused,
    pub sreadfrom: Unused,
    pub signal: Unused,
    pub strerror: Option<
        unsafe extern "C" fn(
            cq: *mut fid_cq,
            prov_errno: c_int,
            err_data: *const c_void,
            buf: *mut c_char,
            len: size_t,
        ) -> *const c_char,
    >,
}

#[repr(C)]
pub struct fid_cq {
    pub fid: fid,
    pub ops: *mut fi_ops_cq,
}

#[repr(C)]
pub struct fi_ops_cm {
    pub size: size_t,
    pub setname: Unused,
    pub getname: Option<unsafe extern "C" fn(fid: *mut fid, addr: *mut c_void, addrlen: *mut size_t) -> c_int>,
    pub getpeer: Unused,
    pub connect: Unused,
    pub listen: Unused,
    pub accept: Unused,
    pub reject: Unused,
    pub shutdown: Unused,
    pub join: Unused,
}

#[repr(C)]
pub struct fi_ops_ep {
    pub size: size_t,
    pub cancel: Unused,
    pub getopt: Unused,
    pub setopt: Unused,
    pub tx_ctx: Unused,
    pub rx_ctx: Unused,
    pub rx_size_left: Unused,
    pub tx_size_left: Unused,
}

#[repr(C)]
pub struct fi_ops_tagged {
    pub size: size_t,
    pub recv: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *mut c_void,
            len: size_t,
            desc: *mut c_void,
            src_addr: fi_addr_t,
            tag: u64,
            ignore: u64,
            context: *mut c_void,
        ) -> ssize_t,
    >,
    pub recvv: Unused,
    pub recvmsg: Unused,
    pub send: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *const c_void,
            len: size_t,
            desc: *mut c_void,
            dest_addr: fi_addr_t,
            tag: u64,
            context: *mut c_void,
        ) -> ssize_t,
    >,
    pub sendv: Unused,
    pub sendmsg: Unused,
    pub inject: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *const c_void,
            len: size_t,
            dest_addr: fi_addr_t,
            tag: u64,
        ) -> ssize_t,
    >,
    pub senddata: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *const c_void,
            len: size_t,
            desc: *mut c_void,
            data: u64,
            dest_addr: fi_addr_t,
            tag: u64,
            context: *mut c_void,
        ) -> ssize_t,
    >,
    pub injectdata: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *const c_void,
            len: size_t,
            data: u64,
            dest_addr: fi_addr_t,
            tag: u64,
        ) -> ssize_t,
    >,
}

#[repr(C)]
pub struct fi_ops_rma {
    pub size: size_t,
    pub read: Option<
        unsafe extern "C" fn(
            ep: *mut fid_ep,
            buf: *mut c_void,
            len: size_t,
            desc: *mut c_void,
            src_addr: fi_addr_t,
            addr: u64,
            key: u64,
            context: *mut c_void,
        ) -> ssize_t,
    >,
    pub readv: Unused,
    pub readmsg: Unused,
    pub write: Unused,
    pub writev: Unused,
    pub writemsg: Unused,
    pub inject: Unused,
    pub writedata: Unused,
    pub injectdata: Unused,
}

#[repr(C)]
pub struct fid_ep {
    pub fid: fid,
    pub ops: *mut fi_ops_ep,
    pub cm: *mut fi_ops_cm,
    pub msg: *mut c_void,    // struct fi_ops_msg *
    pub rma: *mut fi_ops_rma,
    pub tagged: *mut fi_ops_tagged,
    pub atomic: *mut c_void,     // struct fi_ops_atomic *
    pub collective: *mut c_void, // struct fi_ops_collective *
}

#[repr(C)]
pub struct fi_context {
    pub internal: [*mut c_void; 4],
}

#[repr(C)]
pub struct fi_context2 {
    pub internal: [*mut c_void; 8],
}

/// libfabric's exported entry points; everything else is reached through the ops tables of
/// the objects they return. The library is loaded on first use (`dlopen`), not linked: a job
/// that never leaves its host opens no endpoint, and Debian's libfabric pulls in the PSM
/// libraries, whose load-time constructors sleep about 0.2 s in every process that links it
/// (an `int main() { return 0; }` linked with `-lfabric`: 0.20 s against 0.00 s). Each symbol
/// is bound at the version a link against libfabric 1.17's headers records, so that a newer
/// run-time libfabric (2.x) keeps giving us the `struct fi_info` layout these bindings mirror.
struct Lib {
    getinfo: unsafe extern "C" fn(u32, *const c_char, *const c_char, u64, *const fi_info, *mut *mut fi_info) -> c_int,
    freeinfo: unsafe extern "C" fn(*mut fi_info),
    dupinfo: unsafe extern "C" fn(*const fi_info) -> *mut fi_info,
    fabric: unsafe extern "C" fn(*mut fi_fabric_attr, *mut *mut fid_fabric, *mut c_void) -> c_int,
    strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    version: unsafe extern "C" fn() -> u32,
}

/// The loaded library, or why it could not be loaded.
fn lib() -> io::Result<&'static Lib> {
    static LIB: std::sync::OnceLock<Result<Lib, String>> = std::sync::OnceLock::new();
    LIB.get_or_init(load).as_ref().map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.clone()))
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message owned by libc.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null, NUL-terminated.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn load() -> Result<Lib, String> {
    // SAFETY: a NUL-terminated name; the handle is never closed, so the library stays for the
    // life of the process, as a linked one would.
    let h = unsafe { libc::dlopen(c"libfabric.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if h.is_null() {
        return Err(format!("cannot load libfabric.so.1 (install libfabric1): {}", dl_error()));
    }
    let sym = |name: &CStr, version: &CStr| -> Result<*mut c_void, String> {
        // SAFETY: a live handle and NUL-terminated names.
        let p = unsafe { libc::dlvsym(h, name.as_ptr(), version.as_ptr()) };
        if p.is_null() {
            return Err(format!("libfabric.so.1 has no {}@{}: {}", name.to_string_lossy(), version.to_string_lossy(), dl_error()));
        }
        Ok(p)
    };
    // SAFETY (each transmute): the symbol is libfabric's function of that name and version,
    // whose C prototype (rdma/fabric.h, rdma/fi_errno.h) the field's type mirrors.
    unsafe {
        Ok(Lib {
            getinfo: std::mem::transmute::<*mut c_void, _>(sym(c"fi_getinfo", c"FABRIC_1.3")?),
            freeinfo: std::mem::transmute::<*mut c_void, _>(sym(c"fi_freeinfo", c"FABRIC_1.3")?),
            dupinfo: std::mem::transmute::<*mut c_void, _>(sym(c"fi_dupinfo", c"FABRIC_1.3")?),
            fabric: std::mem::transmute::<*mut c_void, _>(sym(c"fi_fabric", c"FABRIC_1.1")?),
            strerror: std::mem::transmute::<*mut c_void, _>(sym(c"fi_strerror", c"FABRIC_1.0")?),
            version: std::mem::transmute::<*mut c_void, _>(sym(c"fi_version", c"FABRIC_1.0")?),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Safe helpers
// ---------------------------------------------------------------------------------------------

/// libfabric's text for an error number (positive or negative).
pub fn strerror(errnum: isize) -> String {
    let e = errnum.unsigned_abs().min(c_int::MAX as usize) as c_int;
    let Ok(lib) = lib() else { return format!("libfabric error {e}") };
    // SAFETY: fi_strerror accepts any int and returns a pointer to a static NUL-terminated string
    // (or NULL, checked).
    let p = unsafe { (lib.strerror)(e) };
    if p.is_null() {
        return format!("libfabric error {e}");
    }
    // SAFETY: non-null, NUL-terminated, static.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// An `io::Error` for a (negative or positive) libfabric return code, with context.
pub fn fi_err(what: &str, ret: isize) -> io::Error {
    let e = ret.unsigned_abs() as i32;
    let kind = if e < 256 { io::Error::from_raw_os_error(e).kind() } else { io::ErrorKind::Other };
    io::Error::new(kind, format!("{what}: {} (libfabric error {e})", strerror(ret)))
}

/// The runtime library's version, `major << 16 | minor` (loading the library).
pub fn library_version() -> io::Result<u32> {
    // SAFETY: no arguments, returns a plain integer.
    Ok(unsafe { (lib()?.version)() })
}

fn cstr_opt(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: libfabric strings in fi_info are NUL-terminated and live as long as the info,
        // which the caller borrows.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// What we ask `fi_getinfo` for.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    pub caps: u64,
    pub mode: u64,
    pub mr_mode: c_int,
    pub threading: c_int,
    pub prov_name: Option<String>,
}

/// A copy of the attributes of one `fi_info` that the transport needs.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub prov_name: String,
    pub fabric_name: String,
    pub domain_name: String,
    pub caps: u64,
    pub mode: u64,
    pub addr_format: u32,
    pub mr_mode: c_int,
    pub threading: c_int,
    pub av_type: c_int,
    pub cq_data_size: usize,
    pub max_msg_size: usize,
    pub inject_size: usize,
    pub tx_size: usize,
    pub rx_size: usize,
    pub tx_iov_limit: usize,
    pub rx_iov_limit: usize,
    pub mem_tag_format: u64,
}

/// An owned `fi_info` list (freed with `fi_freeinfo`).
pub struct InfoList {
    head: *mut fi_info,
    entries: Vec<*mut fi_info>,
}

/// One owned `fi_info` (a `fi_dupinfo` of a list entry), used to open the objects.
pub struct Info {
    p: NonNull<fi_info>,
}

// SAFETY: an Info / InfoList is plain heap data owned by us; libfabric keeps no reference to it
// and it is only read (or freed) through &self / drop.
unsafe impl Send for Info {}
// SAFETY: as above.
unsafe impl Send for InfoList {}

impl Drop for InfoList {
    fn drop(&mut self) {
        if !self.head.is_null() {
            // SAFETY: head came from fi_getinfo (so the library is loaded) and is freed once.
            if let Ok(lib) = lib() {
                unsafe { (lib.freeinfo)(self.head) };
            }
        }
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        // SAFETY: p came from fi_dupinfo (so the library is loaded) and is freed once.
        if let Ok(lib) = lib() {
            unsafe { (lib.freeinfo)(self.p.as_ptr()) };
        }
    }
}

/// `fi_getinfo(version, NULL, NULL, 0, hints)` for `FI_EP_RDM`.
pub fn getinfo(version: u32, h: &Hints) -> io::Result<InfoList> {
    let lib = lib()?;
    // SAFETY: fi_dupinfo(NULL) allocates a zeroed fi_info with all attribute structs allocated.
    let hints = unsafe { (lib.dupinfo)(ptr::null()) };
    if hints.is_null() {
        return Err(io::Error::new(io::ErrorKind::OutOfMemory, "fi_allocinfo failed"));
    }
    let hints = Info { p: NonNull::new(hints).expect("checked") };
    let prov = match &h.prov_name {
        Some(p) => Some(
            CString::new(p.as_str())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "provider name contains NUL"))?,
        ),
        None => None,
    };
    // SAFETY: hints.p and its attribute pointers were allocated by fi_dupinfo (non-null for an
    // allocinfo); we write plain fields. prov_name must be malloc'd since fi_freeinfo frees it:
    // strdup does that.
    unsafe {
        let i = &mut *hints.p.as_ptr();
        i.caps = h.caps;
        i.mode = h.mode;
        (*i.ep_attr).type_ = FI_EP_RDM;
        (*i.domain_attr).mr_mode = h.mr_mode;
        (*i.domain_attr).threading = h.threading;
        if let Some(p) = &prov {
            (*i.fabric_attr).prov_name = libc::strdup(p.as_ptr());
        }
    }
    let mut out: *mut fi_info = ptr::null_mut();
    // SAFETY: hints is a valid fi_info; out receives a list we own (freed by InfoList).
    let ret = unsafe { (lib.getinfo)(version, ptr::null(), ptr::null(), 0, hints.p.as_ptr(), &mut out) };
    if ret != 0 {
        return Err(fi_err("fi_getinfo", ret as isize));
    }
    let mut entries = Vec::new();
    let mut p = out;
    while !p.is_null() {
        entries.push(p);
        // SAFETY: p is an entry of the list fi_getinfo returned.
        p = unsafe { (*p).next };
    }
    Ok(InfoList { head: out, entries })
}

fn attrs_of(p: *const fi_info) -> Attrs {
    // SAFETY: p is a live fi_info from fi_getinfo / fi_dupinfo; its attribute pointers are either
    // null (checked) or valid for the life of the info.
    unsafe {
        let i = &*p;
        let mut a = Attrs { caps: i.caps, mode: i.mode, addr_format: i.addr_format, ..Attrs::default() };
        if let Some(f) = i.fabric_attr.as_ref() {
            a.prov_name = cstr_opt(f.prov_name);
            a.fabric_name = cstr_opt(f.name);
        }
        if let Some(d) = i.domain_attr.as_ref() {
            a.domain_name = cstr_opt(d.name);
            a.mr_mode = d.mr_mode;
            a.threading = d.threading;
            a.av_type = d.av_type;
            a.cq_data_size = d.cq_data_size;
        }
        if let Some(e) = i.ep_attr.as_ref() {
            a.max_msg_size = e.max_msg_size;
            a.mem_tag_format = e.mem_tag_format;
        }
        if let Some(t) = i.tx_attr.as_ref() {
            a.inject_size = t.inject_size;
            a.tx_size = t.size;
            a.tx_iov_limit = t.iov_limit;
        }
        if let Some(r) = i.rx_attr.as_ref() {
            a.rx_size = r.size;
            a.rx_iov_limit = r.iov_limit;
        }
        a
    }
}

impl InfoList {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn attrs(&self, i: usize) -> Attrs {
        attrs_of(self.entries[i])
    }
    /// An owned copy of entry `i`.
    pub fn select(&self, i: usize) -> io::Result<Info> {
        // SAFETY: entries[i] is a live entry (so the library is loaded); fi_dupinfo copies it
        // (not the rest of the list).
        let p = unsafe { (lib()?.dupinfo)(self.entries[i]) };
        NonNull::new(p)
            .map(|p| Info { p })
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "fi_dupinfo failed"))
    }
}

impl Info {
    pub fn attrs(&self) -> Attrs {
        attrs_of(self.p.as_ptr())
    }
}

// ---------------------------------------------------------------------------------------------
// Buffer memory
// ---------------------------------------------------------------------------------------------

static NEXT_REGION_ID: AtomicU32 = AtomicU32::new(1);

/// Page-aligned memory cut into `count` slots of `slot_bytes`, plus one `fi_context2` per slot
/// (the context of the one operation a slot can have posted). Memory descriptor of its
/// registration, if any, is set by [`Net::register`].
pub struct Region {
    id: u32,
    mem: NonNull<u8>,
    layout: Layout,
    slot_bytes: usize,
    count: usize,
    ctx: Box<[UnsafeCell<fi_context2>]>,
    desc: *mut c_void,
}

// SAFETY: the memory is only touched (a) by the provider while an operation on a slot is posted,
// when no `Slot` token for it exists outside `Net`, and (b) through `bytes`/`bytes_mut`, which
// require the slot's unique token (&Slot / &mut Slot), so no two threads race on one slot. The
// contexts are only handed to the provider (never read by Rust). `desc` is an opaque provider
// value, written once before the Region is shared.
unsafe impl Send for Region {}
// SAFETY: see Send.
unsafe impl Sync for Region {}

/// Ownership token of one slot of a [`Region`]: unique, not `Clone`.
#[derive(Debug)]
pub struct Slot {
    region: u32,
    idx: u32,
}

impl Slot {
    pub fn index(&self) -> usize {
        self.idx as usize
    }
}

impl Region {
    /// Allocate `count` zeroed slots of `slot_bytes` (rounded up to 64) and return their tokens.
    pub fn new(count: usize, slot_bytes: usize) -> io::Result<(Region, Vec<Slot>)> {
        let slot_bytes = slot_bytes.max(64).next_multiple_of(64);
        let total = count.checked_mul(slot_bytes).filter(|&t| t > 0).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "buffer region size overflows or is zero")
        })?;
        let layout = Layout::from_size_align(total, 4096)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        // SAFETY: layout has non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let mem = NonNull::new(p).ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "buffer alloc"))?;
        // Touch every page: a large zeroed allocation is fresh mmap memory that is not backed
        // until written, and FI_MR_ALLOCATED requires backed pages at registration.
        for off in (0..total).step_by(4096) {
            // SAFETY: off < total, inside the allocation we own exclusively here.
            unsafe { ptr::write_volatile(mem.as_ptr().add(off), 0) };
        }
        let ctx = (0..count)
            .map(|_| UnsafeCell::new(fi_context2 { internal: [ptr::null_mut(); 8] }))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let id = NEXT_REGION_ID.fetch_add(1, Ordering::Relaxed);
        let slots = (0..count as u32).map(|idx| Slot { region: id, idx }).collect();
        Ok((Region { id, mem, layout, slot_bytes, count, ctx, desc: ptr::null_mut() }, slots))
    }

    pub fn slot_bytes(&self) -> usize {
        self.slot_bytes
    }

    fn check(&self, s: &Slot) -> usize {
        assert!(s.region == self.id && (s.idx as usize) < self.count, "slot of another region");
        s.idx as usize
    }

    fn slot_ptr(&self, idx: usize) -> *mut u8 {
        // SAFETY: idx < count, so the offset is inside the allocation.
        unsafe { self.mem.as_ptr().add(idx * self.slot_bytes) }
    }

    /// The bytes of a slot we hold (no operation is posted on it).
    /// The result borrows the token too, so the slot cannot be posted (moved) or written
    /// (borrowed mutably) while the bytes are in use.
    pub fn bytes<'a>(&'a self, s: &'a Slot) -> &'a [u8] {
        let i = self.check(s);
        // SAFETY: in bounds (check); the token is unique and held by the caller, so the provider
        // is not writing this slot and no &mut to it exists (that would need &mut Slot).
        unsafe { std::slice::from_raw_parts(self.slot_ptr(i), self.slot_bytes) }
    }

    /// The bytes of a slot we hold, writable.
    /// The result borrows the token mutably: one live `&mut` per slot.
    pub fn bytes_mut<'a>(&'a self, s: &'a mut Slot) -> &'a mut [u8] {
        let i = self.check(s);
        // SAFETY: as `bytes`; &mut Slot proves no other reference to this slot's bytes exists.
        unsafe { std::slice::from_raw_parts_mut(self.slot_ptr(i), self.slot_bytes) }
    }

    fn ctx_ptr(&self, idx: usize) -> *mut c_void {
        self.ctx[idx].get() as *mut c_void
    }

    /// The slot index whose context is `p`, if `p` is one of ours.
    fn ctx_index(&self, p: *mut c_void) -> Option<usize> {
        let base = self.ctx.as_ptr() as usize;
        let sz = std::mem::size_of::<UnsafeCell<fi_context2>>();
        let a = p as usize;
        if a < base || a >= base + sz * self.count || (a - base) % sz != 0 {
            return None;
        }
        Some((a - base) / sz)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; Net (which closes the endpoint and the
        // registrations first) holds an Arc, so no operation can still use the memory here.
        unsafe { std::alloc::dealloc(self.mem.as_ptr(), self.layout) };
    }
}

// ---------------------------------------------------------------------------------------------
// The objects of one endpoint
// ---------------------------------------------------------------------------------------------

/// One completion read from the CQ.
pub struct Completion {
    /// The slot the operation used (None for a read or an unknown context).
    pub slot: Option<Slot>,
    /// The read operation (index given to [`Net::read`]) this completes, if it is one.
    pub read: Option<usize>,
    /// Which region it belongs to (index in `Net`'s region list).
    pub region: usize,
    pub flags: u64,
    pub len: usize,
    pub data: u64,
    pub tag: u64,
}

/// One error completion (`fi_cq_readerr`).
pub struct CqError {
    pub slot: Option<Slot>,
    pub read: Option<usize>,
    pub region: usize,
    pub flags: u64,
    pub err: i32,
    pub prov_errno: i32,
    pub message: String,
}

/// Fabric, domain, CQ, AV, endpoint and registrations. Closed in reverse order on drop.
pub struct Net {
    fabric: *mut fid_fabric,
    domain: *mut fid_domain,
    cq: *mut fid_cq,
    av: *mut fid_av,
    ep: *mut fid_ep,
    mrs: Vec<*mut fid_mr>,
    regions: Vec<Arc<Region>>,
    /// Per region, per slot: the token while an operation is posted on it.
    posted: Vec<Vec<Option<Slot>>>,
    /// One context per RMA read that may be in flight ([`Net::read`]'s `op` index).
    read_ctx: Box<[UnsafeCell<fi_context2>]>,
    /// Registrations of memory we do not own ([`Net::mr_reg`]) not closed yet; Drop closes
    /// them after the endpoint.
    user_mrs: Vec<*mut fid_mr>,
}

/// A registration of memory the transport does not own (user buffers for RMA), made by
/// [`Net::mr_reg`] and closed by [`Net::mr_close`].
#[derive(Debug)]
pub struct MemReg {
    mr: *mut fid_mr,
    /// `fi_mr_desc`: passed with local operations on this memory (FI_MR_LOCAL).
    pub desc: *mut c_void,
    /// `fi_mr_key`: what a peer names this memory by.
    pub key: u64,
}

// SAFETY: a MemReg is an opaque handle used only through the Net that made it, under the same
// mutex; libfabric allows using a registration from any thread.
unsafe impl Send for MemReg {}

// SAFETY: the handles are used only through &mut self / &self of a Net the caller does not share
// (Net is not Sync; the transport keeps it in a Mutex), so calls into one Net never run
// concurrently, which every threading level (we ask for FI_THREAD_DOMAIN) allows. Moving it to
// another thread is allowed by libfabric.
unsafe impl Send for Net {}

fn close_fid(f: *mut fid) -> c_int {
    if f.is_null() {
        return 0;
    }
    // SAFETY: f is a live fid we opened and close once (callers null their pointer afterwards);
    // every fid has an ops table with `close`.
    unsafe {
        match (*(*f).ops).close {
            Some(close) => close(f),
            None => -libc::ENOSYS,
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Endpoint first (it cancels posted operations and stops using our buffers), then the
        // registrations, the AV and CQ it was bound to, the domain and the fabric.
        close_fid(self.ep as *mut fid);
        self.ep = ptr::null_mut();
        for mr in self.mrs.drain(..).chain(self.user_mrs.drain(..)) {
            close_fid(mr as *mut fid);
        }
        close_fid(self.av as *mut fid);
        close_fid(self.cq as *mut fid);
        close_fid(self.domain as *mut fid);
        close_fid(self.fabric as *mut fid);
        // The slots still posted are dropped with `posted`; the regions with the last Arc.
    }
}

fn ck(what: &str, ret: c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(fi_err(what, ret as isize))
    }
}

impl Net {
    /// Open fabric, domain, CQ (`cq_size` entries, tagged format, no wait object), AV and
    /// endpoint for `info`; bind and enable the endpoint. `read_ops`: how many RMA reads may be
    /// in flight at once.
    pub fn open(info: &Info, cq_size: usize, av_count: usize, read_ops: usize) -> io::Result<Net> {
        let mut net = Net {
            fabric: ptr::null_mut(),
            domain: ptr::null_mut(),
            cq: ptr::null_mut(),
            av: ptr::null_mut(),
            ep: ptr::null_mut(),
            mrs: Vec::new(),
            regions: Vec::new(),
            posted: Vec::new(),
            user_mrs: Vec::new(),
            read_ctx: (0..read_ops)
                .map(|_| UnsafeCell::new(fi_context2 { internal: [ptr::null_mut(); 8] }))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        };
        let ip = info.p.as_ptr();
        // SAFETY (whole block): ip is a live fi_info from fi_dupinfo with its attributes; each
        // object is created by its parent's ops table (fi_fabric, fi_domain, fi_cq_open,
        // fi_av_open, fi_endpoint, fi_ep_bind, fi_enable are these exact calls in the headers);
        // out-pointers are our fields, written only on success; on error `net` is dropped and
        // closes what was opened. The attr structs live on our stack across the calls.
        unsafe {
            ck("fi_fabric", (lib()?.fabric)((*ip).fabric_attr, &mut net.fabric, ptr::null_mut()))?;
            let fops = &*(*net.fabric).ops;
            let domain = fops.domain.ok_or_else(|| fi_err("fi_domain", -(libc::ENOSYS as isize)))?;
            ck("fi_domain", domain(net.fabric, ip, &mut net.domain, ptr::null_mut()))?;
            let dops = &*(*net.domain).ops;
            let mut cq_attr = fi_cq_attr {
                size: cq_size,
                flags: 0,
                format: FI_CQ_FORMAT_TAGGED,
                wait_obj: FI_WAIT_NONE,
                signaling_vector: 0,
                wait_cond: 0,
                wait_set: ptr::null_mut(),
            };
            let cq_open = dops.cq_open.ok_or_else(|| fi_err("fi_cq_open", -(libc::ENOSYS as isize)))?;
            ck("fi_cq_open", cq_open(net.domain, &mut cq_attr, &mut net.cq, ptr::null_mut()))?;
            let av_type = (*(*ip).domain_attr).av_type;
            let mut av_attr = fi_av_attr {
                type_: if av_type == FI_AV_UNSPEC { FI_AV_TABLE } else { av_type },
                rx_ctx_bits: 0,
                count: av_count,
                ep_per_node: 0,
                name: ptr::null(),
                map_addr: ptr::null_mut(),
                flags: 0,
            };
            let av_open = dops.av_open.ok_or_else(|| fi_err("fi_av_open", -(libc::ENOSYS as isize)))?;
            ck("fi_av_open", av_open(net.domain, &mut av_attr, &mut net.av, ptr::null_mut()))?;
            let endpoint = dops.endpoint.ok_or_else(|| fi_err("fi_endpoint", -(libc::ENOSYS as isize)))?;
            ck("fi_endpoint", endpoint(net.domain, ip, &mut net.ep, ptr::null_mut()))?;
            let eops = &*(*net.ep).fid.ops;
            let bind = eops.bind.ok_or_else(|| fi_err("fi_ep_bind", -(libc::ENOSYS as isize)))?;
            ck("fi_ep_bind(cq)", bind(net.ep as *mut fid, net.cq as *mut fid, FI_TRANSMIT | FI_RECV))?;
            ck("fi_ep_bind(av)", bind(net.ep as *mut fid, net.av as *mut fid, 0))?;
            let control = eops.control.ok_or_else(|| fi_err("fi_enable", -(libc::ENOSYS as isize)))?;
            ck("fi_enable", control(net.ep as *mut fid, FI_ENABLE, ptr::null_mut()))?;
        }
        Ok(net)
    }

    /// Take ownership of a region (kept alive until the endpoint is closed); with `register`,
    /// register it (`fi_mr_reg`, access `access`) and remember its descriptor for every
    /// operation on its slots (FI_MR_LOCAL). `key` is the requested key, used by providers without
    /// FI_MR_PROV_KEY. Returns the region's index and a shared handle for reading slots.
    pub fn add_region(&mut self, mut region: Region, register: bool, access: u64, key: u64) -> io::Result<(usize, Arc<Region>)> {
        if register {
            let mut mr: *mut fid_mr = ptr::null_mut();
            // SAFETY: fi_mr_reg is domain->mr->reg(&domain->fid, ...); the buffer is our live
            // allocation of layout.size() bytes, which outlives the registration (closed in
            // Drop before the region can be freed).
            let ret = unsafe {
                let mops = &*(*self.domain).mr;
                match mops.reg {
                    Some(reg) => reg(
                        self.domain as *mut fid,
                        region.mem.as_ptr() as *const c_void,
                        region.layout.size(),
                        access,
                        0,
                        key,
                        0,
                        &mut mr,
                        ptr::null_mut(),
                    ),
                    None => -libc::ENOSYS,
                }
            };
            ck("fi_mr_reg", ret)?;
            self.mrs.push(mr);
            // SAFETY: fi_mr_desc(mr) is mr->mem_desc; mr is live.
            region.desc = unsafe { (*mr).mem_desc };
        }
        let n = region.count;
        let r = Arc::new(region);
        self.regions.push(r.clone());
        self.posted.push((0..n).map(|_| None).collect());
        Ok((self.regions.len() - 1, r))
    }

    /// `fi_getname`: our endpoint address.
    pub fn getname(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 256];
        loop {
            let mut len = buf.len();
            // SAFETY: fi_getname(fid, addr, &len) is ep->cm->getname(fid, ...); buf has len bytes.
            let ret = unsafe {
                match (*(*self.ep).cm).getname {
                    Some(g) => g(self.ep as *mut fid, buf.as_mut_ptr() as *mut c_void, &mut len),
                    None => -libc::ENOSYS,
                }
            };
            if ret == -FI_ETOOSMALL && len > buf.len() {
                buf.resize(len, 0);
                continue;
            }
            ck("fi_getname", ret)?;
            buf.truncate(len);
            return Ok(buf);
        }
    }

    /// `fi_av_insert` of one address; returns its fi_addr.
    pub fn av_insert(&mut self, addr: &[u8]) -> io::Result<fi_addr_t> {
        let mut out: fi_addr_t = FI_ADDR_UNSPEC;
        // SAFETY: fi_av_insert is av->ops->insert; addr is one address in the provider's format
        // (what a peer's fi_getname returned; providers read the length their format implies:
        // the caller checked binary formats against our own name's length and NUL-terminated
        // FI_ADDR_STR ones), out receives one fi_addr.
        let ret = unsafe {
            match (*(*self.av).ops).insert {
                Some(ins) => ins(self.av, addr.as_ptr() as *const c_void, 1, &mut out, 0, ptr::null_mut()),
                None => -libc::ENOSYS,
            }
        };
        if ret != 1 {
            return Err(if ret < 0 {
                fi_err("fi_av_insert", ret as isize)
            } else {
                io::Error::new(io::ErrorKind::InvalidInput, "fi_av_insert: address not accepted")
            });
        }
        Ok(out)
    }

    fn post_check(&self, r: usize, s: &Slot) -> usize {
        let region = &self.regions[r];
        region.check(s)
    }

    /// `fi_tsend` / `fi_tsenddata` of the first `len` bytes of `slot`. On success the slot is
    /// held until its completion; on failure it comes back with the (negative) return code.
    pub fn tsend(&mut self, r: usize, slot: Slot, len: usize, dest: fi_addr_t, tag: u64, data: Option<u64>) -> Result<(), (Slot, isize)> {
        let i = self.post_check(r, &slot);
        let region = &self.regions[r];
        assert!(len <= region.slot_bytes);
        let buf = region.slot_ptr(i) as *const c_void;
        let ctx = region.ctx_ptr(i);
        // SAFETY: fi_tsend / fi_tsenddata are ep->tagged->send / senddata. buf..buf+len is inside
        // our slot, which stays allocated and untouched by Rust until the completion returns the
        // token (we keep it in `posted`); desc is its registration's descriptor (or null when
        // not registered); ctx is the slot's own fi_context2 (FI_CONTEXT / FI_CONTEXT2 mode),
        // used by at most this one operation.
        let ret = unsafe {
            let t = &*(*self.ep).tagged;
            match data {
                Some(d) => match t.senddata {
                    Some(f) => f(self.ep, buf, len, region.desc, d, dest, tag, ctx),
                    None => -(libc::ENOSYS as isize),
                },
                None => match t.send {
                    Some(f) => f(self.ep, buf, len, region.desc, dest, tag, ctx),
                    None => -(libc::ENOSYS as isize),
                },
            }
        };
        if ret != 0 {
            return Err((slot, ret));
        }
        self.posted[r][i] = Some(slot);
        Ok(())
    }

    /// `fi_tinject` / `fi_tinjectdata`: the provider copies `buf` before returning; no completion.
    pub fn tinject(&mut self, buf: &[u8], dest: fi_addr_t, tag: u64, data: Option<u64>) -> Result<(), isize> {
        // SAFETY: fi_tinject / fi_tinjectdata are ep->tagged->inject / injectdata; buf is valid
        // for its length for the duration of the call, after which the provider has copied it.
        let ret = unsafe {
            let t = &*(*self.ep).tagged;
            let p = buf.as_ptr() as *const c_void;
            match data {
                Some(d) => match t.injectdata {
                    Some(f) => f(self.ep, p, buf.len(), d, dest, tag),
                    None => -(libc::ENOSYS as isize),
                },
                None => match t.inject {
                    Some(f) => f(self.ep, p, buf.len(), dest, tag),
                    None => -(libc::ENOSYS as isize),
                },
            }
        };
        if ret != 0 {
            Err(ret)
        } else {
            Ok(())
        }
    }

    /// `fi_trecv` into the whole of `slot`, matching `tag` under `ignore`, from `src`.
    pub fn trecv(&mut self, r: usize, slot: Slot, src: fi_addr_t, tag: u64, ignore: u64) -> Result<(), (Slot, isize)> {
        let i = self.post_check(r, &slot);
        let region = &self.regions[r];
        let buf = region.slot_ptr(i) as *mut c_void;
        let ctx = region.ctx_ptr(i);
        // SAFETY: fi_trecv is ep->tagged->recv. The provider may write buf..buf+slot_bytes until
        // the completion; we keep the token in `posted` meanwhile, so Rust does not read or write
        // the slot, and the memory outlives the endpoint (closed first in Drop). desc / ctx as in
        // tsend.
        let ret = unsafe {
            match (*(*self.ep).tagged).recv {
                Some(f) => f(self.ep, buf, region.slot_bytes, region.desc, src, tag, ignore, ctx),
                None => -(libc::ENOSYS as isize),
            }
        };
        if ret != 0 {
            return Err((slot, ret));
        }
        self.posted[r][i] = Some(slot);
        Ok(())
    }

    /// `fi_mr_reg` of memory we do not own, with `access` (`FI_REMOTE_READ` for memory a peer
    /// reads, `FI_READ` for the destination of our reads). `key` is the requested key, used by
    /// providers without FI_MR_PROV_KEY.
    ///
    /// # Safety
    /// `buf..buf+len` must stay mapped until the registration is closed with [`Net::mr_close`],
    /// and the caller must not close it while an operation using it is in flight.
    pub unsafe fn mr_reg(&mut self, buf: *const u8, len: usize, access: u64, key: u64) -> io::Result<MemReg> {
        let mut mr: *mut fid_mr = ptr::null_mut();
        // SAFETY: fi_mr_reg is domain->mr->reg(&domain->fid, ...); the caller keeps the memory
        // mapped for the registration's life.
        let ret = unsafe {
            let mops = &*(*self.domain).mr;
            match mops.reg {
                Some(reg) => reg(self.domain as *mut fid, buf as *const c_void, len, access, 0, key, 0, &mut mr, ptr::null_mut()),
                None => -libc::ENOSYS,
            }
        };
        ck("fi_mr_reg", ret)?;
        self.user_mrs.push(mr);
        // SAFETY: fi_mr_desc(mr) is mr->mem_desc and fi_mr_key(mr) is mr->key; mr is live.
        let (desc, key) = unsafe { ((*mr).mem_desc, (*mr).key) };
        Ok(MemReg { mr, desc, key })
    }

    /// Closes a registration made by [`Net::mr_reg`].
    pub fn mr_close(&mut self, reg: MemReg) -> io::Result<()> {
        let Some(i) = self.user_mrs.iter().position(|&m| m == reg.mr) else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "fi_close(mr): not a registration of this endpoint"));
        };
        self.user_mrs.swap_remove(i);
        ck("fi_close(mr)", close_fid(reg.mr as *mut fid))
    }

    /// `fi_read` of `len` bytes at `addr` under `key` in peer `src` into `buf`, with read
    /// context `op` (which must not be in flight). Its completion carries `read: Some(op)`.
    ///
    /// # Safety
    /// `buf..buf+len` must stay valid for writes, and untouched, until that completion; `desc`
    /// must be the descriptor of a live registration covering it (or null where the provider
    /// does not ask for FI_MR_LOCAL).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn read(&mut self, op: usize, buf: *mut u8, len: usize, desc: *mut c_void, src: fi_addr_t, addr: u64, key: u64) -> Result<(), isize> {
        let ctx = self.read_ctx[op].get() as *mut c_void;
        // SAFETY: fi_read is ep->rma->read; the caller keeps buf valid until the completion and
        // ctx is read context `op`'s own fi_context2, used by this one operation.
        unsafe {
            let rma = (*self.ep).rma;
            match rma.as_ref().and_then(|r| r.read) {
                Some(f) => match f(self.ep, buf as *mut c_void, len, desc, src, addr, key, ctx) {
                    0 => Ok(()),
                    e => Err(e),
                },
                None => Err(-(libc::ENOSYS as isize)),
            }
        }
    }

    /// The read operation whose context is `p`, if it is one.
    fn read_index(&self, p: *mut c_void) -> Option<usize> {
        let base = self.read_ctx.as_ptr() as usize;
        let sz = std::mem::size_of::<UnsafeCell<fi_context2>>();
        let a = p as usize;
        (a >= base && a < base + sz * self.read_ctx.len() && (a - base) % sz == 0).then(|| (a - base) / sz)
    }

    fn take_posted(&mut self, ctx: *mut c_void) -> (Option<Slot>, usize) {
        for (r, region) in self.regions.iter().enumerate() {
            if let Some(i) = region.ctx_index(ctx) {
                return (self.posted[r][i].take(), r);
            }
        }
        (None, usize::MAX)
    }

    /// `fi_cq_read` of up to `max` entries (at most 64) appended to `out`. Ok(n) with n = 0 when
    /// the queue is empty; Err(-FI_EAVAIL) when an error entry waits (read it with
    /// [`Net::cq_readerr`]); other negative codes are failures.
    pub fn cq_read(&mut self, max: usize, out: &mut Vec<Completion>) -> Result<usize, isize> {
        const N: usize = 64;
        let mut ents = [fi_cq_tagged_entry {
            op_context: ptr::null_mut(),
            flags: 0,
            len: 0,
            buf: ptr::null_mut(),
            data: 0,
            tag: 0,
        }; N];
        let max = max.clamp(1, N);
        // SAFETY: fi_cq_read is cq->ops->read; the CQ format is FI_CQ_FORMAT_TAGGED, so each entry
        // is a fi_cq_tagged_entry and the provider writes at most `max` of them into `ents`.
        let ret = unsafe {
            match (*(*self.cq).ops).read {
                Some(f) => f(self.cq, ents.as_mut_ptr() as *mut c_void, max),
                None => -(libc::ENOSYS as isize),
            }
        };
        if ret == -(FI_EAGAIN as isize) {
            return Ok(0);
        }
        if ret < 0 {
            return Err(ret);
        }
        let n = (ret as usize).min(max);
        for e in &ents[..n] {
            let read = self.read_index(e.op_context);
            let (slot, region) = if read.is_some() { (None, usize::MAX) } else { self.take_posted(e.op_context) };
            out.push(Completion { slot, read, region, flags: e.flags, len: e.len, data: e.data, tag: e.tag });
        }
        Ok(n)
    }

    /// `fi_cq_readerr`: one error entry, with the provider's text for it.
    pub fn cq_readerr(&mut self) -> Option<CqError> {
        let mut e = fi_cq_err_entry {
            op_context: ptr::null_mut(),
            flags: 0,
            len: 0,
            buf: ptr::null_mut(),
            data: 0,
            tag: 0,
            olen: 0,
            err: 0,
            prov_errno: 0,
            err_data: ptr::null_mut(),
            err_data_size: 0, // API >= 1.5: the provider points err_data at its own buffer
        };
        // SAFETY: fi_cq_readerr is cq->ops->readerr; e is a zeroed entry it fills.
        let ret = unsafe {
            match (*(*self.cq).ops).readerr {
                Some(f) => f(self.cq, &mut e, 0),
                None => -(libc::ENOSYS as isize),
            }
        };
        if ret != 1 {
            return None;
        }
        let mut text = vec![0 as c_char; 256];
        // SAFETY: fi_cq_strerror is cq->ops->strerror; err_data is valid until the next CQ read;
        // the returned pointer is a NUL-terminated string (ours or the provider's) or null.
        let msg = unsafe {
            match (*(*self.cq).ops).strerror {
                Some(f) => {
                    let p = f(self.cq, e.prov_errno, e.err_data, text.as_mut_ptr(), text.len());
                    if p.is_null() {
                        String::new()
                    } else {
                        CStr::from_ptr(p).to_string_lossy().into_owned()
                    }
                }
                None => String::new(),
            }
        };
        let read = self.read_index(e.op_context);
        let (slot, region) = if read.is_some() { (None, usize::MAX) } else { self.take_posted(e.op_context) };
        let message = format!("{} (err {}, provider errno {}{}{})", strerror(e.err as isize), e.err, e.prov_errno,
            if msg.is_empty() { "" } else { ": " }, msg);
        Some(CqError { slot, read, region, flags: e.flags, err: e.err, prov_errno: e.prov_errno, message })
    }

    /// How many operations on region `r` are posted.
    pub fn posted_count(&self, r: usize) -> usize {
        self.posted[r].iter().filter(|s| s.is_some()).count()
    }
}

pub const FI_ETOOSMALL: c_int = 257;

#[cfg(test)]
#[path = "layout_check.rs"]
mod layout_check;
