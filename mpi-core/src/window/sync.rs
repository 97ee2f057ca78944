//! Window synchronisation (a child module of `window`): fence, passive-target locks and
//! flushes, and post-start-complete-wait. Every one of them waits for the answers to our
//! operations (`win_wait_ops`) before it ends an epoch.

use crate::error::{fail, ErrorClass, Result};
use crate::rma::{LockType, OpKind, RmaRequest};

use super::{win_id, Engine, Expect, Held, State, WinId};

impl Engine {
    /// Makes progress until no operation of ours that `which` selects is waiting for its
    /// reply; returns the first error among the finished ones.
    pub(super) fn win_wait_ops(&self, win: WinId, which: impl Fn(&usize) -> bool) -> Result<()> {
        self.wait_until(|st| {
            let w = st.window(win)?;
            Ok((!w.pending.iter().any(|p| which(&p.target))).then_some(()))
        })?;
        self.lock().window(win)?.take_error()
    }

    /// `MPI_Win_fence`: completes the epoch that ends; `open` starts the next one.
    pub fn win_fence(&self, win: WinId, open: bool) -> Result<()> {
        let comm = {
            let mut st = self.lock();
            let w = st.window(win)?;
            if !w.held.is_empty() || w.lock_all.is_some() {
                return fail(ErrorClass::RmaSync, "MPI_Win_fence inside a passive-target epoch");
            }
            w.comm
        };
        self.win_wait_ops(win, |_| true)?;
        self.barrier(comm)?;
        self.lock().window(win)?.fence_epoch = open;
        Ok(())
    }

    /// Sends a lock or unlock request and waits for its answer.
    fn win_lock_request(&self, win: WinId, targets: &[usize], kind: OpKind, lock: LockType) -> Result<()> {
        let ids: Vec<u64> = {
            let mut st = self.lock();
            let State { wins, proto, .. } = &mut *st;
            let Some(w) = wins.get_mut(win_id(win)) else { return fail(ErrorClass::Win, "invalid window handle") };
            let ids = targets.iter().map(|&t| w.send_request(proto, t, RmaRequest::control(kind, lock, 0), &[], Expect::ACK)).collect();
            self.progress(&mut st)?;
            ids
        };
        self.wait_until(|st| {
            let w = st.window(win)?;
            Ok((!w.pending.iter().any(|p| ids.contains(&p.id))).then_some(()))
        })?;
        self.lock().window(win)?.take_error()
    }

    /// `MPI_Win_lock`. With `nocheck` (`MPI_MODE_NOCHECK`) no lock is taken at the target.
    pub fn win_lock(&self, win: WinId, lock: LockType, rank: i32, nocheck: bool) -> Result<()> {
        let target = {
            let mut st = self.lock();
            let w = st.window(win)?;
            let t = w.rank_of(rank)?;
            if w.held.contains_key(&t) || w.lock_all.is_some() {
                return fail(ErrorClass::RmaSync, format!("rank {rank} is already locked"));
            }
            if w.fence_epoch && !w.pending.is_empty() {
                return fail(ErrorClass::RmaSync, "MPI_Win_lock inside an active fence epoch");
            }
            t
        };
        if !nocheck {
            self.win_lock_request(win, &[target], OpKind::Lock, lock)?;
        }
        let mut st = self.lock();
        let w = st.window(win)?;
        w.held.insert(target, Held { lock, real: !nocheck });
        w.fence_epoch = false;
        Ok(())
    }

    /// `MPI_Win_unlock`: completes our operations to `rank`, then releases the lock.
    pub fn win_unlock(&self, win: WinId, rank: i32) -> Result<()> {
        let (target, held) = {
            let mut st = self.lock();
            let w = st.window(win)?;
            let t = w.rank_of(rank)?;
            match w.held.get(&t) {
                Some(&h) => (t, h),
                None => return fail(ErrorClass::RmaSync, format!("rank {rank} is not locked")),
            }
        };
        let done = self.win_wait_ops(win, |&t| t == target);
        if held.real {
            self.win_lock_request(win, &[target], OpKind::Unlock, held.lock)?;
        }
        self.lock().window(win)?.held.remove(&target);
        done
    }

    /// `MPI_Win_lock_all`: a shared lock on every process.
    pub fn win_lock_all(&self, win: WinId, nocheck: bool) -> Result<()> {
        let n = {
            let mut st = self.lock();
            let w = st.window(win)?;
            if !w.held.is_empty() || w.lock_all.is_some() {
                return fail(ErrorClass::RmaSync, "MPI_Win_lock_all inside a passive-target epoch");
            }
            w.members.len()
        };
        if !nocheck {
            self.win_lock_request(win, &(0..n).collect::<Vec<_>>(), OpKind::Lock, LockType::Shared)?;
        }
        let mut st = self.lock();
        let w = st.window(win)?;
        w.lock_all = Some(!nocheck);
        w.fence_epoch = false;
        Ok(())
    }

    /// `MPI_Win_unlock_all`.
    pub fn win_unlock_all(&self, win: WinId) -> Result<()> {
        let (n, real) = {
            let mut st = self.lock();
            let w = st.window(win)?;
            match w.lock_all {
                Some(real) => (w.members.len(), real),
                None => return fail(ErrorClass::RmaSync, "MPI_Win_unlock_all without MPI_Win_lock_all"),
            }
        };
        let done = self.win_wait_ops(win, |_| true);
        if real {
            self.win_lock_request(win, &(0..n).collect::<Vec<_>>(), OpKind::Unlock, LockType::Shared)?;
        }
        self.lock().window(win)?.lock_all = None;
        done
    }

    /// `MPI_Win_flush` and `MPI_Win_flush_local` (`Some(rank)`), their `_all` forms (`None`):
    /// both complete the operations at the target, which is more than the local forms need.
    pub fn win_flush(&self, win: WinId, rank: Option<i32>) -> Result<()> {
        let target = {
            let mut st = self.lock();
            let w = st.window(win)?;
            let t = rank.map(|r| w.rank_of(r)).transpose()?;
            let locked = match t {
                Some(t) => w.held.contains_key(&t) || w.lock_all.is_some(),
                None => !w.held.is_empty() || w.lock_all.is_some(),
            };
            if !locked {
                return fail(ErrorClass::RmaSync, "MPI_Win_flush outside a passive-target epoch");
            }
            t
        };
        self.win_wait_ops(win, |&t| target.is_none_or(|x| x == t))
    }

    /// `MPI_Win_sync`: our loads and stores and the window's memory agree (a full fence;
    /// operations of others are applied by our progress engine, which this call also runs).
    pub fn win_sync(&self, win: WinId) -> Result<()> {
        self.with_state(|st| st.window(win).map(|_| ()))?;
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// `MPI_Win_post`: exposes our memory to the processes of `group` (world ranks).
    pub fn win_post(&self, win: WinId, group: &[usize]) -> Result<()> {
        let mut st = self.lock();
        let State { wins, proto, .. } = &mut *st;
        let Some(w) = wins.get_mut(win_id(win)) else { return fail(ErrorClass::Win, "invalid window handle") };
        if w.exposure.is_some() {
            return fail(ErrorClass::RmaSync, "MPI_Win_post inside an exposure epoch");
        }
        let origins = w.ranks_of(group)?;
        for &o in &origins {
            w.notify(proto, o, OpKind::Post);
        }
        w.exposure = Some(origins);
        w.fence_epoch = false;
        self.progress(&mut st)
    }

    /// `MPI_Win_start`: waits until every process of `group` has posted, then accesses them.
    pub fn win_start(&self, win: WinId, group: &[usize]) -> Result<()> {
        let targets = {
            let mut st = self.lock();
            let w = st.window(win)?;
            if w.access.is_some() || !w.held.is_empty() || w.lock_all.is_some() {
                return fail(ErrorClass::RmaSync, "MPI_Win_start inside an access epoch");
            }
            w.ranks_of(group)?
        };
        self.wait_until(|st| {
            let w = st.window(win)?;
            if !targets.iter().all(|&t| w.posts[t] > 0) {
                return Ok(None);
            }
            for &t in &targets {
                w.posts[t] -= 1;
            }
            w.access = Some(targets.clone());
            w.fence_epoch = false;
            Ok(Some(()))
        })
    }

    /// `MPI_Win_complete`: completes our operations to the targets and tells them.
    pub fn win_complete(&self, win: WinId) -> Result<()> {
        let targets = match self.lock().window(win)?.access.clone() {
            Some(t) => t,
            None => return fail(ErrorClass::RmaSync, "MPI_Win_complete without MPI_Win_start"),
        };
        let done = self.win_wait_ops(win, |t| targets.contains(t));
        let mut st = self.lock();
        let State { wins, proto, .. } = &mut *st;
        if let Some(w) = wins.get_mut(win_id(win)) {
            for &t in &targets {
                w.notify(proto, t, OpKind::Complete);
            }
            w.access = None;
        }
        self.progress(&mut st)?;
        done
    }

    /// `MPI_Win_wait` (`block`) and `MPI_Win_test`: whether every origin of our exposure
    /// epoch has completed; the epoch ends when they have.
    pub fn win_wait(&self, win: WinId, block: bool) -> Result<bool> {
        let ended = |st: &mut State| -> Result<Option<bool>> {
            let w = st.window(win)?;
            let Some(origins) = w.exposure.clone() else {
                return fail(ErrorClass::RmaSync, "MPI_Win_wait without MPI_Win_post");
            };
            if !origins.iter().all(|&o| w.completes[o] > 0) {
                return Ok(None);
            }
            for &o in &origins {
                w.completes[o] -= 1;
            }
            w.exposure = None;
            Ok(Some(true))
        };
        if block {
            self.wait_until(ended)
        } else {
            Ok(self.with_state(ended)?.unwrap_or(false))
        }
    }
}
