//! Host lists (`-H`, `--hostfile`), rank placement (`--map-by slot|node`, `-N`) and the
//! `PMI_process_mapping` value that describes the result.

use std::fmt;

/// One host of the job and how many ranks it should take before it is oversubscribed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSlots {
    pub name: String,
    pub slots: usize,
}

/// How ranks are spread over the hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MapBy {
    /// Fill each host's slots in order (rank 0..s0-1 on host 0, ...). Open MPI's default.
    #[default]
    Slot,
    /// Round-robin: rank r on host r mod H (hosts whose slots are full are skipped while
    /// others have room).
    Node,
}

impl std::str::FromStr for MapBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // Open MPI spells modifiers after a colon (`node:PE=2`); we take the policy only.
        match s.split(':').next().unwrap_or("").to_ascii_lowercase().as_str() {
            "slot" | "core" | "hwthread" => Ok(MapBy::Slot),
            "node" => Ok(MapBy::Node),
            _ => Err(format!("unknown mapping policy `{s}` (use `slot` or `node`)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Add `name` with `slots` to `list`, summing the slots of repeated names (first position kept).
fn add_host(list: &mut Vec<HostSlots>, name: &str, slots: usize) {
    match list.iter_mut().find(|h| h.name == name) {
        Some(h) => h.slots += slots,
        None => list.push(HostSlots { name: name.to_string(), slots }),
    }
}

fn check_name(name: &str) -> Result<(), HostError> {
    if name.is_empty() || name.starts_with('-') || name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\'' || c == '"') {
        return Err(HostError(format!("bad host name `{name}`")));
    }
    Ok(())
}

/// Parse `-H` values: `host[:slots],...` (each `-H` may hold several). A host without a count
/// has one slot; a repeated host adds its slots.
pub fn parse_host_list(values: &[String]) -> Result<Vec<HostSlots>, HostError> {
    let mut out = Vec::new();
    for v in values {
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, slots) = match item.rsplit_once(':') {
                Some((n, s)) if !n.contains(':') => {
                    let slots: usize = s.parse().map_err(|_| HostError(format!("bad slot count in `{item}` (host[:slots])")))?;
                    (n, slots)
                }
                _ => (item, 1),
            };
            check_name(name)?;
            add_host(&mut out, name, slots);
        }
    }
    Ok(out)
}

/// Parse a hostfile in Open MPI's format: one host per line, optionally `slots=N` (also
/// `count=`, `cpu=`); `max_slots=N` is accepted and ignored; `#` starts a comment.
pub fn parse_hostfile(text: &str) -> Result<Vec<HostSlots>, HostError> {
    let mut out = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or("");
        check_name(name).map_err(|e| HostError(format!("line {}: {e}", no + 1)))?;
        let mut slots = 1;
        for w in words {
            let (k, v) = w.split_once('=').ok_or_else(|| HostError(format!("line {}: expected key=value, found `{w}`", no + 1)))?;
            match k {
                "slots" | "count" | "cpu" | "cpus" => {
                    slots = v.parse().map_err(|_| HostError(format!("line {}: bad slot count `{v}`", no + 1)))?;
                }
                "max_slots" | "max-slots" => {}
                _ => return Err(HostError(format!("line {}: unknown attribute `{k}`", no + 1))),
            }
        }
        add_host(&mut out, name, slots);
    }
    Ok(out)
}

/// The ranks of one host, in the order they are started there (local rank = position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRanks {
    pub name: String,
    pub ranks: Vec<usize>,
}

/// Place `np` ranks on `hosts`. `ppn` overrides every host's slot count. Hosts that get no rank
/// are left out of the result; node ids are positions in the result.
pub fn place(hosts: &[HostSlots], np: usize, ppn: Option<usize>, map_by: MapBy) -> Vec<HostRanks> {
    let slots: Vec<usize> = hosts.iter().map(|h| ppn.unwrap_or(h.slots)).collect();
    let total: usize = slots.iter().sum();
    let n = hosts.len();
    let mut per_host: Vec<Vec<usize>> = vec![Vec::new(); n];
    if n == 0 {
        return Vec::new();
    }
    match map_by {
        MapBy::Slot => {
            // How many ranks each host takes: its slots, pass after pass (oversubscribing in
            // proportion once every slot is used); then consecutive ranks per host.
            let mut counts = vec![0usize; n];
            let mut left = np;
            while left > 0 {
                let before = left;
                for (c, &s) in counts.iter_mut().zip(&slots) {
                    let take = s.min(left);
                    *c += take;
                    left -= take;
                }
                if left == before {
                    // Every host has zero slots: one rank each in turn.
                    for c in counts.iter_mut() {
                        if left == 0 {
                            break;
                        }
                        *c += 1;
                        left -= 1;
                    }
                }
            }
            let mut r = 0;
            for (h, &c) in counts.iter().enumerate() {
                per_host[h].extend(r..r + c);
                r += c;
            }
        }
        MapBy::Node => {
            let mut h = 0;
            for r in 0..np {
                if r < total {
                    while per_host[h % n].len() >= slots[h % n] {
                        h += 1;
                    }
                }
                per_host[h % n].push(r);
                h += 1;
            }
        }
    }
    hosts.iter().zip(per_host).filter(|(_, r)| !r.is_empty()).map(|(h, ranks)| HostRanks { name: h.name.clone(), ranks }).collect()
}

/// `PMI_process_mapping` for a placement: `(vector,(node,nodes,ppn),...)` as MPICH parses it
/// (ranks in order; each block gives `ppn` consecutive ranks to each of `nodes` nodes starting
/// at `node`). Written out in full, so it never relies on MPICH's repetition of the vector.
pub fn process_mapping(placement: &[HostRanks]) -> String {
    let size: usize = placement.iter().map(|h| h.ranks.len()).sum();
    let mut node_of = vec![0usize; size];
    for (node, h) in placement.iter().enumerate() {
        for &r in &h.ranks {
            node_of[r] = node;
        }
    }
    // Runs of consecutive ranks on one node.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &node in &node_of {
        match runs.last_mut() {
            Some((n, c)) if *n == node => *c += 1,
            _ => runs.push((node, 1)),
        }
    }
    // Blocks: consecutive runs on consecutive nodes with equal counts.
    let mut blocks: Vec<(usize, usize, usize)> = Vec::new();
    for (node, count) in runs {
        match blocks.last_mut() {
            Some((start, nodes, ppn)) if *ppn == count && *start + *nodes == node => *nodes += 1,
            _ => blocks.push((node, 1, count)),
        }
    }
    let mut s = String::from("(vector");
    for (a, b, c) in blocks {
        s.push_str(&format!(",({a},{b},{c})"));
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(list: &[(&str, usize)]) -> Vec<HostSlots> {
        list.iter().map(|(n, s)| HostSlots { name: n.to_string(), slots: *s }).collect()
    }

    #[test]
    fn host_lists() {
        let h = parse_host_list(&["a:2,b".into(), "c:3".into(), "a".into()]).unwrap();
        assert_eq!(h, hs(&[("a", 3), ("b", 1), ("c", 3)]));
        assert!(parse_host_list(&["a:x".into()]).is_err());
        let f = "# comment\n\nnode1 slots=4\nnode2   slots=2 max_slots=8 # two\nnode3\n";
        assert_eq!(parse_hostfile(f).unwrap(), hs(&[("node1", 4), ("node2", 2), ("node3", 1)]));
        assert!(parse_hostfile("n1 slot=3\n").is_err());
        assert!(parse_hostfile("n1 slots=x\n").is_err());
    }

    fn ranks(p: &[HostRanks]) -> Vec<Vec<usize>> {
        p.iter().map(|h| h.ranks.clone()).collect()
    }

    #[test]
    fn placement_and_mapping() {
        let h = hs(&[("a", 2), ("b", 2)]);
        let p = place(&h, 4, None, MapBy::Slot);
        assert_eq!(ranks(&p), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(process_mapping(&p), "(vector,(0,2,2))");
        let p = place(&h, 4, None, MapBy::Node);
        assert_eq!(ranks(&p), vec![vec![0, 2], vec![1, 3]]);
        assert_eq!(process_mapping(&p), "(vector,(0,2,1),(0,2,1))");
        let p = place(&h, 3, None, MapBy::Slot);
        assert_eq!(ranks(&p), vec![vec![0, 1], vec![2]]);
        assert_eq!(process_mapping(&p), "(vector,(0,1,2),(1,1,1))");
        // Fewer ranks than slots: the second host is not used.
        let p = place(&h, 2, None, MapBy::Slot);
        assert_eq!(p.len(), 1);
        assert_eq!(process_mapping(&p), "(vector,(0,1,2))");
        // Oversubscription.
        let p = place(&hs(&[("a", 1), ("b", 1)]), 4, None, MapBy::Slot);
        assert_eq!(ranks(&p), vec![vec![0, 1], vec![2, 3]]);
        let p = place(&hs(&[("a", 1), ("b", 1)]), 3, None, MapBy::Node);
        assert_eq!(ranks(&p), vec![vec![0, 2], vec![1]]);
        // Unequal slots, round-robin skips full hosts.
        let p = place(&hs(&[("a", 3), ("b", 1)]), 4, None, MapBy::Node);
        assert_eq!(ranks(&p), vec![vec![0, 2, 3], vec![1]]);
        assert_eq!(process_mapping(&p), "(vector,(0,2,1),(0,1,2))");
        // -N overrides slots.
        let p = place(&hs(&[("a", 8), ("b", 1), ("c", 1)]), 6, Some(2), MapBy::Slot);
        assert_eq!(ranks(&p), vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
        assert_eq!(process_mapping(&p), "(vector,(0,3,2))");
    }
}
