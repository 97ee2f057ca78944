//! Process groups and context-id allocation: the pure parts of communicator management.
//!
//! A [`Group`] is an ordered list of world ranks; a process's rank in the group is its index.
//! The set operations keep the order the standard prescribes (MPI-5.0 §7.3.2). Every rank
//! argument is checked; bad input is an `Err` with the standard's class, never a panic.
//!
//! [`ContextIds`] is one process's bitmap of free context-id slots (see `comm.rs` for how
//! communicators agree on one).

use std::collections::{HashMap, HashSet};

use crate::engine::PROC_NULL;
use crate::error::{fail, ErrorClass, Result};

/// How two groups or communicators relate (`MPI_IDENT`, `MPI_CONGRUENT`, `MPI_SIMILAR`,
/// `MPI_UNEQUAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Ident,
    /// Communicators only: same members in the same order, different contexts.
    Congruent,
    Similar,
    Unequal,
}

/// An ordered set of processes, by world rank.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    members: Vec<usize>,
}

impl Group {
    /// A group of these world ranks, in this order; they must be distinct.
    pub fn new(members: Vec<usize>) -> Result<Group> {
        let mut seen = HashSet::with_capacity(members.len());
        if let Some(dup) = members.iter().find(|&&m| !seen.insert(m)) {
            return fail(ErrorClass::Group, format!("process {dup} appears twice in a group"));
        }
        Ok(Group { members })
    }

    pub fn members(&self) -> &[usize] {
        &self.members
    }

    pub fn size(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The group rank of world rank `world`, if it is a member.
    pub fn rank_of(&self, world: usize) -> Option<usize> {
        self.members.iter().position(|&m| m == world)
    }

    fn index(&self) -> HashMap<usize, usize> {
        self.members.iter().enumerate().map(|(i, &m)| (m, i)).collect()
    }

    fn check_rank(&self, r: i32) -> Result<usize> {
        if r < 0 || r as usize >= self.members.len() {
            return fail(ErrorClass::Rank, format!("rank {r} is not a rank of a group of size {}", self.members.len()));
        }
        Ok(r as usize)
    }

    /// `MPI_Group_translate_ranks`: the rank in `other` of each of `ranks` (ranks of `self`);
    /// `None` where the process is not in `other` (`MPI_UNDEFINED`). `MPI_PROC_NULL` maps to
    /// itself.
    pub fn translate(&self, ranks: &[i32], other: &Group) -> Result<Vec<Option<i32>>> {
        let index = other.index();
        ranks
            .iter()
            .map(|&r| {
                if r == PROC_NULL {
                    return Ok(Some(PROC_NULL));
                }
                let world = self.members[self.check_rank(r)?];
                Ok(index.get(&world).map(|&i| i as i32))
            })
            .collect()
    }

    /// `MPI_Group_compare`: `Ident` (same members, same order), `Similar` (same members) or
    /// `Unequal`.
    pub fn compare(&self, other: &Group) -> Comparison {
        if self.members == other.members {
            return Comparison::Ident;
        }
        if self.members.len() == other.members.len() {
            let index = other.index();
            if self.members.iter().all(|m| index.contains_key(m)) {
                return Comparison::Similar;
            }
        }
        Comparison::Unequal
    }

    /// `MPI_Group_union`: the members of `self`, then those of `other` not in `self`.
    pub fn union(&self, other: &Group) -> Group {
        let mine: HashSet<usize> = self.members.iter().copied().collect();
        let mut members = self.members.clone();
        members.extend(other.members.iter().filter(|m| !mine.contains(m)));
        Group { members }
    }

    /// `MPI_Group_intersection`: the members of `self` that are in `other`, in `self`'s order.
    pub fn intersection(&self, other: &Group) -> Group {
        let theirs = other.index();
        Group { members: self.members.iter().copied().filter(|m| theirs.contains_key(m)).collect() }
    }

    /// `MPI_Group_difference`: the members of `self` that are not in `other`, in `self`'s order.
    pub fn difference(&self, other: &Group) -> Group {
        let theirs = other.index();
        Group { members: self.members.iter().copied().filter(|m| !theirs.contains_key(m)).collect() }
    }

    /// `MPI_Group_incl`: the processes of `ranks`, in that order (distinct valid ranks).
    pub fn incl(&self, ranks: &[i32]) -> Result<Group> {
        let picked = self.distinct_ranks(ranks)?;
        Ok(Group { members: picked.iter().map(|&r| self.members[r]).collect() })
    }

    /// `MPI_Group_excl`: every process but those of `ranks` (distinct valid ranks), in order.
    pub fn excl(&self, ranks: &[i32]) -> Result<Group> {
        let dropped: HashSet<usize> = self.distinct_ranks(ranks)?.into_iter().collect();
        Ok(Group { members: (0..self.size()).filter(|r| !dropped.contains(r)).map(|r| self.members[r]).collect() })
    }

    /// `MPI_Group_range_incl`: the ranks of each `(first, last, stride)` triplet, in order.
    pub fn range_incl(&self, ranges: &[[i32; 3]]) -> Result<Group> {
        let ranks = self.expand_ranges(ranges)?;
        Ok(Group { members: ranks.iter().map(|&r| self.members[r]).collect() })
    }

    /// `MPI_Group_range_excl`: every process but those the triplets name, in order.
    pub fn range_excl(&self, ranges: &[[i32; 3]]) -> Result<Group> {
        let dropped: HashSet<usize> = self.expand_ranges(ranges)?.into_iter().collect();
        Ok(Group { members: (0..self.size()).filter(|r| !dropped.contains(r)).map(|r| self.members[r]).collect() })
    }

    fn distinct_ranks(&self, ranks: &[i32]) -> Result<Vec<usize>> {
        let mut seen = HashSet::with_capacity(ranks.len());
        ranks
            .iter()
            .map(|&r| {
                let r = self.check_rank(r)?;
                if !seen.insert(r) {
                    return fail(ErrorClass::Rank, format!("rank {r} is named twice"));
                }
                Ok(r)
            })
            .collect()
    }

    /// The ranks that range triplets name, checked: a zero stride or a stride that leads away
    /// from `last` is `MPI_ERR_ARG`, an endpoint outside the group or a rank named twice
    /// `MPI_ERR_RANK`. Expansion stops at the first repeat, so it never exceeds the group.
    fn expand_ranges(&self, ranges: &[[i32; 3]]) -> Result<Vec<usize>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for &[first, last, stride] in ranges {
            if stride == 0 {
                return fail(ErrorClass::Arg, format!("range ({first}, {last}, {stride}) has stride 0"));
            }
            self.check_rank(first)?;
            self.check_rank(last)?;
            if (last - first).signum() * stride.signum() < 0 {
                return fail(ErrorClass::Arg, format!("range ({first}, {last}, {stride}): the stride leads away from the last rank"));
            }
            let (mut r, last, stride) = (i64::from(first), i64::from(last), i64::from(stride));
            while (stride > 0 && r <= last) || (stride < 0 && r >= last) {
                if !seen.insert(r as usize) {
                    return fail(ErrorClass::Rank, format!("rank {r} is named twice by the ranges"));
                }
                out.push(r as usize);
                r += stride;
            }
        }
        Ok(out)
    }
}

/// Context-id slots per process. Slot `s` is the pair of context ids `2s` (point-to-point) and
/// `2s + 1` (collectives); slots 0 and 1 are `MPI_COMM_WORLD`'s and `MPI_COMM_SELF`'s.
pub const CONTEXT_SLOTS: usize = 2048;
/// 64-bit words of a context-id bitmap.
pub const CONTEXT_WORDS: usize = CONTEXT_SLOTS / 64;

/// One process's context-id slots: a set bit is a slot in use by a communicator this process
/// belongs to. Communicators agree on a slot by OR-ing their members' used bitmaps (an
/// allreduce over the parent) and taking the lowest slot free everywhere.
#[derive(Clone, Debug)]
pub struct ContextIds {
    used: [u64; CONTEXT_WORDS],
}

impl Default for ContextIds {
    fn default() -> Self {
        let mut used = [0; CONTEXT_WORDS];
        used[0] = 0b11;
        ContextIds { used }
    }
}

impl ContextIds {
    pub fn used(&self) -> &[u64; CONTEXT_WORDS] {
        &self.used
    }

    /// The lowest slot clear in a combined (OR-ed) bitmap.
    pub fn lowest_free(combined: &[u64]) -> Option<u32> {
        combined.iter().enumerate().find(|(_, &w)| w != u64::MAX).map(|(i, &w)| (i * 64) as u32 + (!w).trailing_zeros())
    }

    /// Marks `slot` in use; false if it already was.
    pub fn take(&mut self, slot: u32) -> bool {
        let (w, b) = (slot as usize / 64, slot % 64);
        if w >= CONTEXT_WORDS || self.used[w] & (1 << b) != 0 {
            return false;
        }
        self.used[w] |= 1 << b;
        true
    }

    /// Returns `slot` (a freed communicator's); the predefined slots are never released.
    pub fn release(&mut self, slot: u32) {
        let (w, b) = (slot as usize / 64, slot % 64);
        if slot >= 2 && w < CONTEXT_WORDS {
            self.used[w] &= !(1 << b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(m: &[usize]) -> Group {
        Group::new(m.to_vec()).unwrap()
    }

    #[test]
    fn set_operations_keep_the_standard_order() {
        let a = g(&[5, 1, 3, 7]);
        let b = g(&[3, 2, 5, 9]);
        assert_eq!(a.union(&b).members(), &[5, 1, 3, 7, 2, 9]);
        assert_eq!(a.intersection(&b).members(), &[5, 3]);
        assert_eq!(b.intersection(&a).members(), &[3, 5]);
        assert_eq!(a.difference(&b).members(), &[1, 7]);
        assert!(a.difference(&a).is_empty());
        assert_eq!(a.union(&Group::default()), a);
    }

    #[test]
    fn incl_excl_and_their_errors() {
        let a = g(&[10, 11, 12, 13, 14]);
        assert_eq!(a.incl(&[4, 0, 2]).unwrap().members(), &[14, 10, 12]);
        assert_eq!(a.excl(&[4, 0, 2]).unwrap().members(), &[11, 13]);
        assert!(a.incl(&[]).unwrap().is_empty());
        assert_eq!(a.incl(&[1, 1]).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(a.incl(&[5]).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(a.excl(&[-1]).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(Group::new(vec![1, 1]).unwrap_err().class, ErrorClass::Group);
    }

    #[test]
    fn ranges() {
        let a = g(&(100..110).collect::<Vec<_>>());
        assert_eq!(a.range_incl(&[[0, 9, 3]]).unwrap().members(), &[100, 103, 106, 109]);
        assert_eq!(a.range_incl(&[[8, 2, -3], [1, 1, 1]]).unwrap().members(), &[108, 105, 102, 101]);
        assert_eq!(a.range_incl(&[[0, 8, 4]]).unwrap().members(), &[100, 104, 108]);
        assert_eq!(a.range_excl(&[[0, 9, 2]]).unwrap().members(), &[101, 103, 105, 107, 109]);
        assert_eq!(a.range_incl(&[[0, 9, 0]]).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(a.range_incl(&[[5, 2, 1]]).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(a.range_incl(&[[0, 10, 1]]).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(a.range_incl(&[[0, 4, 2], [4, 6, 1]]).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(a.range_excl(&[[i32::MIN, 0, 1]]).unwrap_err().class, ErrorClass::Rank);
    }

    #[test]
    fn translate_and_compare() {
        let a = g(&[4, 2, 0]);
        let b = g(&[0, 4]);
        assert_eq!(a.translate(&[0, 1, 2, PROC_NULL], &b).unwrap(), vec![Some(1), None, Some(0), Some(PROC_NULL)]);
        assert_eq!(a.translate(&[3], &b).unwrap_err().class, ErrorClass::Rank);
        assert_eq!(a.compare(&a.clone()), Comparison::Ident);
        assert_eq!(a.compare(&g(&[0, 2, 4])), Comparison::Similar);
        assert_eq!(a.compare(&b), Comparison::Unequal);
        assert_eq!(a.compare(&g(&[4, 2, 1])), Comparison::Unequal);
        assert_eq!(a.rank_of(0), Some(2));
        assert_eq!(a.rank_of(1), None);
    }

    #[test]
    fn context_bitmap() {
        let mut mine = ContextIds::default();
        let mut theirs = ContextIds::default();
        assert!(!mine.take(0) && !mine.take(1), "WORLD and SELF are taken from the start");
        assert!(mine.take(2) && theirs.take(3));
        let combined: Vec<u64> = mine.used().iter().zip(theirs.used()).map(|(a, b)| a | b).collect();
        assert_eq!(ContextIds::lowest_free(&combined), Some(4));
        mine.release(2);
        mine.release(0);
        assert_eq!(ContextIds::lowest_free(mine.used()), Some(2));
        assert!(!mine.take(0));
        let full = [u64::MAX; CONTEXT_WORDS];
        assert_eq!(ContextIds::lowest_free(&full), None);
        let mut last = full;
        last[CONTEXT_WORDS - 1] &= !(1 << 63);
        assert_eq!(ContextIds::lowest_free(&last), Some(CONTEXT_SLOTS as u32 - 1));
        assert!(!mine.take(CONTEXT_SLOTS as u32));
    }
}
