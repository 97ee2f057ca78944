//! The engine's wire format: one header, then (for `Eager` and `Data`) payload bytes.
//!
//! Every packet starts with a 24-byte prefix; the control kinds append 40 more bytes.
//! Integers are little-endian so that the same format can cross hosts later.
//!
//! ```text
//! offset  size  field
//!  0       1    kind        PacketKind
//!  1       1    flags       bit 0: `key` is present (Rts of memory exposed for RDMA reads);
//!                           bit 1: `stream` (Rts of data that is not one memory range: the
//!                           receiver must ask for `Data` packets, it cannot read or write it)
//!  2       2    (zero)
//!  4       4    ctx         context id of the communicator (matching)
//!  8       4    src         sender's rank in that communicator (matching)
//! 12       4    tag         MPI tag (matching)
//! 16       4    seq         per (sender, receiver) sequence of matchable packets (Eager, Rts)
//! 20       4    (zero)
//! -- every kind but Eager --
//! 24       8    sreq        sender's request token
//! 32       8    rreq        receiver's request token
//! 40       8    len         Rts: message length; Cts: end of the range to stream;
//!                           Write: bytes the sender is to write; Written: bytes written
//! 48       8    addr        Rts: sender's buffer address (single copy), or where the peer
//!                           finds it under `key`; Cts: start of the range to stream; Write:
//!                           receiver's buffer address; Data: offset
//! 56       8    key         Rts: the key the receiver RDMA-reads the buffer under (if flagged)
//! ```

use crate::error::{fail, ErrorClass, Result};

pub const PREFIX_LEN: usize = 24;
pub const CONTROL_LEN: usize = 64;
const FLAG_KEY: u8 = 1;
const FLAG_STREAM: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketKind {
    /// A whole small message; payload follows.
    Eager = 1,
    /// Ready to send a large (or synchronous) message of `len` bytes held at `addr`.
    Rts = 2,
    /// Receiver matched an Rts and asks for bytes `addr..len` as `Data` packets.
    Cts = 3,
    /// A chunk of a rendezvous message at offset `addr`; payload follows.
    Data = 4,
    /// Receiver has every byte of a rendezvous and no longer touches the sender's buffer: the
    /// send is complete.
    Fin = 5,
    /// Receiver matched an Rts and asks the sender to write the first `len` bytes straight into
    /// its buffer at `addr`, while it reads the rest itself (both ends copy, each byte once).
    Write = 6,
    /// Sender wrote the `len` bytes a `Write` asked for.
    Written = 7,
    /// The sender has finished its last barrier and is leaving (see `Engine::finalize`).
    Bye = 8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    pub kind_raw: u8,
    pub ctx: u32,
    pub src: u32,
    pub tag: i32,
    pub seq: u32,
    pub sreq: u64,
    pub rreq: u64,
    pub len: u64,
    pub addr: u64,
    pub key: Option<u64>,
    /// Rts: the sender's data can only be streamed (see the flags above).
    pub stream: bool,
}

impl Header {
    pub fn new(kind: PacketKind) -> Header {
        Header { kind_raw: kind as u8, ..Header::default() }
    }

    pub fn kind(&self) -> PacketKind {
        match self.kind_raw {
            1 => PacketKind::Eager,
            2 => PacketKind::Rts,
            3 => PacketKind::Cts,
            4 => PacketKind::Data,
            5 => PacketKind::Fin,
            6 => PacketKind::Write,
            7 => PacketKind::Written,
            _ => PacketKind::Bye,
        }
    }

    pub fn encoded_len(&self) -> usize {
        if self.kind() == PacketKind::Eager {
            PREFIX_LEN
        } else {
            CONTROL_LEN
        }
    }

    /// Writes the header into `out` (which must hold `CONTROL_LEN` bytes) and returns its length.
    pub fn encode(&self, out: &mut [u8; CONTROL_LEN]) -> usize {
        out[0] = self.kind_raw;
        out[1] = if self.key.is_some() { FLAG_KEY } else { 0 } | if self.stream { FLAG_STREAM } else { 0 };
        out[2..4].fill(0);
        out[4..8].copy_from_slice(&self.ctx.to_le_bytes());
        out[8..12].copy_from_slice(&self.src.to_le_bytes());
        out[12..16].copy_from_slice(&self.tag.to_le_bytes());
        out[16..20].copy_from_slice(&self.seq.to_le_bytes());
        out[20..24].fill(0);
        if self.kind() == PacketKind::Eager {
            return PREFIX_LEN;
        }
        out[24..32].copy_from_slice(&self.sreq.to_le_bytes());
        out[32..40].copy_from_slice(&self.rreq.to_le_bytes());
        out[40..48].copy_from_slice(&self.len.to_le_bytes());
        out[48..56].copy_from_slice(&self.addr.to_le_bytes());
        out[56..64].copy_from_slice(&self.key.unwrap_or(0).to_le_bytes());
        CONTROL_LEN
    }

    /// Splits a received record into its header and payload.
    pub fn decode(rec: &[u8]) -> Result<(Header, &[u8])> {
        if rec.len() < PREFIX_LEN || !(1..=8).contains(&rec[0]) {
            return fail(ErrorClass::Intern, format!("malformed packet of {} bytes", rec.len()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(rec[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(rec[o..o + 8].try_into().unwrap());
        let mut h = Header {
            kind_raw: rec[0],
            ctx: u32_at(4),
            src: u32_at(8),
            tag: u32_at(12) as i32,
            seq: u32_at(16),
            ..Header::default()
        };
        if h.kind() == PacketKind::Eager {
            return Ok((h, &rec[PREFIX_LEN..]));
        }
        if rec.len() < CONTROL_LEN {
            return fail(ErrorClass::Intern, "truncated control packet");
        }
        h.sreq = u64_at(24);
        h.rreq = u64_at(32);
        h.len = u64_at(40);
        h.addr = u64_at(48);
        h.key = (rec[1] & FLAG_KEY != 0).then(|| u64_at(56));
        h.stream = rec[1] & FLAG_STREAM != 0;
        Ok((h, &rec[CONTROL_LEN..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for kind in [
            PacketKind::Eager,
            PacketKind::Rts,
            PacketKind::Cts,
            PacketKind::Data,
            PacketKind::Fin,
            PacketKind::Write,
            PacketKind::Written,
            PacketKind::Bye,
        ] {
            let h = Header {
                kind_raw: kind as u8,
                ctx: 7,
                src: 3,
                tag: -5,
                seq: 99,
                sreq: if kind == PacketKind::Eager { 0 } else { 1 << 40 },
                rreq: if kind == PacketKind::Eager { 0 } else { 12 },
                len: if kind == PacketKind::Eager { 0 } else { 1 << 33 },
                addr: if kind == PacketKind::Eager { 0 } else { 0xdead_beef },
                key: (kind == PacketKind::Rts).then_some(u64::MAX - 1),
                stream: kind == PacketKind::Rts,
            };
            let mut buf = [0u8; CONTROL_LEN];
            let n = h.encode(&mut buf);
            let mut rec = buf[..n].to_vec();
            rec.extend_from_slice(b"xyz");
            let (d, payload) = Header::decode(&rec).unwrap();
            assert_eq!(d, h);
            assert_eq!(payload, b"xyz");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(Header::decode(&[0u8; 10]).is_err());
        assert!(Header::decode(&[9u8; 64]).is_err());
        let mut short = [0u8; 30];
        short[0] = PacketKind::Rts as u8;
        assert!(Header::decode(&short).is_err());
    }
}
