//! Layout check of the hand-written bindings: a C program compiled (with the `cc` crate's idea of
//! the C compiler) against the installed `<rdma/*.h>` prints `sizeof`, `_Alignof` and `offsetof`
//! of every struct and field mirrored in `sys.rs`; the test compares them with Rust's. The field
//! lists are written once, in the macro call below, and generate both sides.

use super::*;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

macro_rules! cname {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident $cf:ident) => {
        stringify!($cf)
    };
}

macro_rules! layout {
    ($($s:ident { $($f:ident $(as $cf:ident)?),* $(,)? })*) => {{
        let mut rust: Vec<String> = Vec::new();
        let mut c = String::new();
        $(
            rust.push(format!("{} size {} align {}", stringify!($s), size_of::<$s>(), align_of::<$s>()));
            c.push_str(&format!(
                "  printf(\"{0} size %zu align %zu\\n\", sizeof(struct {0}), _Alignof(struct {0}));\n",
                stringify!($s)
            ));
            $(
                rust.push(format!("{}.{} {}", stringify!($s), cname!($f $($cf)?), offset_of!($s, $f)));
                c.push_str(&format!(
                    "  printf(\"{0}.{1} %zu\\n\", offsetof(struct {0}, {1}));\n",
                    stringify!($s),
                    cname!($f $($cf)?)
                ));
            )*
        )*
        (rust, c)
    }};
}

#[test]
fn layout_matches_c_headers() {
    let (rust, body) = layout! {
        fi_tx_attr { caps, mode, op_flags, msg_order, comp_order, inject_size, size, iov_limit, rma_iov_limit, tclass }
        fi_rx_attr { caps, mode, op_flags, msg_order, comp_order, total_buffered_recv, size, iov_limit }
        fi_ep_attr { type_ as type, protocol, protocol_version, max_msg_size, msg_prefix_size, max_order_raw_size,
                     max_order_war_size, max_order_waw_size, mem_tag_format, tx_ctx_cnt, rx_ctx_cnt, auth_key_size, auth_key }
        fi_domain_attr { domain, name, threading, control_progress, data_progress, resource_mgmt, av_type, mr_mode,
                         mr_key_size, cq_data_size, cq_cnt, ep_cnt, tx_ctx_cnt, rx_ctx_cnt, max_ep_tx_ctx, max_ep_rx_ctx,
                         max_ep_stx_ctx, max_ep_srx_ctx, cntr_cnt, mr_iov_limit, caps, mode, auth_key, auth_key_size,
                         max_err_data, mr_cnt, tclass }
        fi_fabric_attr { fabric, name, prov_name, prov_version, api_version }
        fi_info { next, caps, mode, addr_format, src_addrlen, dest_addrlen, src_addr, dest_addr, handle, tx_attr, rx_attr,
                  ep_attr, domain_attr, fabric_attr, nic }
        fi_ops { size, close, bind, control, ops_open, tostr, ops_set }
        fid { fclass, context, ops }
        fi_ops_fabric { size, domain, passive_ep, eq_open, wait_open, trywait, domain2 }
        fid_fabric { fid, ops, api_version }
        fi_av_attr { type_ as type, rx_ctx_bits, count, ep_per_node, name, map_addr, flags }
        fi_ops_av { size, insert, insertsvc, insertsym, remove, lookup, straddr, av_set }
        fid_av { fid, ops }
        fid_mr { fid, mem_desc, key }
        fi_ops_domain { size, av_open, cq_open, endpoint, scalable_ep, cntr_open, poll_open, stx_ctx, srx_ctx,
                        query_atomic, query_collective, endpoint2 }
        fi_ops_mr { size, reg, regv, regattr }
        fid_domain { fid, ops, mr }
        fi_cq_attr { size, flags, format, wait_obj, signaling_vector, wait_cond, wait_set }
        fi_cq_tagged_entry { op_context, flags, len, buf, data, tag }
        fi_cq_err_entry { op_context, flags, len, buf, data, tag, olen, err, prov_errno, err_data, err_data_size }
        fi_ops_cq { size, read, readfrom, readerr, sread, sreadfrom, signal, strerror }
        fid_cq { fid, ops }
        fi_ops_cm { size, setname, getname, getpeer, connect, listen, accept, reject, shutdown, join }
        fi_ops_ep { size, cancel, getopt, setopt, tx_ctx, rx_ctx, rx_size_left, tx_size_left }
        fi_ops_tagged { size, recv, recvv, recvmsg, send, sendv, sendmsg, inject, senddata, injectdata }
        fi_ops_rma { size, read, readv, readmsg, write, writev, writemsg, inject, writedata, injectdata }
        fid_ep { fid, ops, cm, msg, rma, tagged, atomic, collective }
        fi_context { internal }
        fi_context2 { internal }
    };
    // Constants, checked the same way.
    let consts: &[(&str, u64)] = &[
        ("FI_MSG", FI_MSG),
        ("FI_RMA", FI_RMA),
        ("FI_TAGGED", FI_TAGGED),
        ("FI_RECV", FI_RECV),
        ("FI_SEND", FI_SEND),
        ("FI_TRANSMIT", FI_TRANSMIT),
        ("FI_READ", FI_READ),
        ("FI_WRITE", FI_WRITE),
        ("FI_REMOTE_READ", FI_REMOTE_READ),
        ("FI_REMOTE_WRITE", FI_REMOTE_WRITE),
        ("FI_MULTI_RECV", FI_MULTI_RECV),
        ("FI_REMOTE_CQ_DATA", FI_REMOTE_CQ_DATA),
        ("FI_COMPLETION", FI_COMPLETION),
        ("FI_INJECT", FI_INJECT),
        ("FI_SOURCE", FI_SOURCE),
        ("FI_DIRECTED_RECV", FI_DIRECTED_RECV),
        ("FI_CONTEXT", FI_CONTEXT),
        ("FI_CONTEXT2", FI_CONTEXT2),
        ("FI_MSG_PREFIX", FI_MSG_PREFIX),
        ("FI_ASYNC_IOV", FI_ASYNC_IOV),
        ("FI_RX_CQ_DATA", FI_RX_CQ_DATA),
        ("FI_LOCAL_MR", FI_LOCAL_MR),
        ("FI_BUFFERED_RECV", FI_BUFFERED_RECV),
        ("FI_MR_BASIC", FI_MR_BASIC as u64),
        ("FI_MR_SCALABLE", FI_MR_SCALABLE as u64),
        ("FI_MR_LOCAL", FI_MR_LOCAL as u64),
        ("FI_MR_RAW", FI_MR_RAW as u64),
        ("FI_MR_VIRT_ADDR", FI_MR_VIRT_ADDR as u64),
        ("FI_MR_ALLOCATED", FI_MR_ALLOCATED as u64),
        ("FI_MR_PROV_KEY", FI_MR_PROV_KEY as u64),
        ("FI_MR_MMU_NOTIFY", FI_MR_MMU_NOTIFY as u64),
        ("FI_MR_RMA_EVENT", FI_MR_RMA_EVENT as u64),
        ("FI_MR_ENDPOINT", FI_MR_ENDPOINT as u64),
        ("FI_MR_HMEM", FI_MR_HMEM as u64),
        ("FI_EP_RDM", FI_EP_RDM as u64),
        ("FI_THREAD_UNSPEC", FI_THREAD_UNSPEC as u64),
        ("FI_THREAD_SAFE", FI_THREAD_SAFE as u64),
        ("FI_THREAD_DOMAIN", FI_THREAD_DOMAIN as u64),
        ("FI_AV_UNSPEC", FI_AV_UNSPEC as u64),
        ("FI_AV_MAP", FI_AV_MAP as u64),
        ("FI_AV_TABLE", FI_AV_TABLE as u64),
        ("FI_CQ_FORMAT_TAGGED", FI_CQ_FORMAT_TAGGED as u64),
        ("FI_WAIT_NONE", FI_WAIT_NONE as u64),
        ("FI_ENABLE", FI_ENABLE as u64),
        ("FI_ADDR_UNSPEC", FI_ADDR_UNSPEC),
        ("FI_ADDR_STR", FI_ADDR_STR as u64),
        ("FI_EAGAIN", FI_EAGAIN as u64),
        ("FI_ECANCELED", FI_ECANCELED as u64),
        ("FI_EAVAIL", FI_EAVAIL as u64),
        ("FI_ETRUNC", FI_ETRUNC as u64),
        ("FI_ETOOSMALL", FI_ETOOSMALL as u64),
        ("FI_ENODATA", FI_ENODATA as u64),
        ("FI_MAJOR_VERSION << 16 | FI_MINOR_VERSION", fi_version(1, 17) as u64),
    ];
    let mut rust = rust;
    let mut body = body;
    for (name, v) in consts {
        rust.push(format!("const {name} {v}"));
        body.push_str(&format!("  printf(\"const {name} %llu\\n\", (unsigned long long)({name}));\n"));
    }

    let dir = std::env::temp_dir().join(format!("ferrompi-efa-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\n#include <stddef.h>\n#include <rdma/fabric.h>\n#include <rdma/fi_domain.h>\n\
             #include <rdma/fi_endpoint.h>\n#include <rdma/fi_tagged.h>\n#include <rdma/fi_rma.h>\n#include <rdma/fi_cm.h>\n\
             #include <rdma/fi_eq.h>\n#include <rdma/fi_errno.h>\nint main(void) {{\n{body}  return 0;\n}}\n"
        ),
    )
    .unwrap();
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .opt_level(0)
        .target(&target)
        .host(&target)
        .get_compiler();
    let out = compiler
        .to_command()
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "compiling the layout probe failed (are libfabric-dev headers installed?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().expect("run the layout probe");
    assert!(out.status.success());
    let c_lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(rust.len(), c_lines.len());
    let mismatches: Vec<String> = rust
        .iter()
        .zip(&c_lines)
        .filter(|(r, c)| r != c)
        .map(|(r, c)| format!("rust: {r:<50} C: {c}"))
        .collect();
    assert!(mismatches.is_empty(), "layout differs from the C headers:\n{}", mismatches.join("\n"));
    eprintln!("layout check: {} sizes, offsets and constants match the C headers", rust.len());
}
