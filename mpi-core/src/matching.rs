//! MPI message matching: the posted-receive queue and the unexpected-message queue.
//!
//! A message matches a receive when the context ids are equal and the receive's source and tag
//! are equal to the message's or are wildcards. Both queues are searched in order, which is
//! what gives MPI its non-overtaking rule: messages from one sender on one communicator arrive
//! here in send order (the protocol restores it from sequence numbers), and a receive takes the
//! oldest message that matches, a message the oldest receive that matches.

use std::collections::VecDeque;

/// What a message carries for matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub ctx: u32,
    /// Sender's rank in the communicator.
    pub src: u32,
    pub tag: i32,
}

/// What a receive asks for. `None` is a wildcard (`MPI_ANY_SOURCE`, `MPI_ANY_TAG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selector {
    pub ctx: u32,
    pub src: Option<u32>,
    pub tag: Option<i32>,
}

impl Selector {
    pub fn matches(&self, env: &Envelope) -> bool {
        self.ctx == env.ctx
            && self.src.is_none_or(|s| s == env.src)
            && self.tag.is_none_or(|t| t == env.tag)
    }
}

/// Receives waiting for a message, oldest first.
pub struct PostedQueue<R> {
    entries: VecDeque<(Selector, R)>,
}

impl<R: Copy + PartialEq> Default for PostedQueue<R> {
    fn default() -> Self {
        PostedQueue { entries: VecDeque::new() }
    }
}

impl<R: Copy + PartialEq> PostedQueue<R> {
    pub fn push(&mut self, sel: Selector, req: R) {
        self.entries.push_back((sel, req));
    }

    /// Removes and returns the oldest receive that `env` matches.
    pub fn take_match(&mut self, env: &Envelope) -> Option<R> {
        // The oldest receive matches most often (messages arrive in the order they are
        // awaited): take it without the general search.
        if self.entries.front()?.0.matches(env) {
            return self.entries.pop_front().map(|(_, r)| r);
        }
        let pos = self.entries.iter().position(|(sel, _)| sel.matches(env))?;
        self.entries.remove(pos).map(|(_, r)| r)
    }

    /// Removes a receive (cancel). Returns whether it was still posted.
    pub fn remove(&mut self, req: R) -> bool {
        match self.entries.iter().position(|(_, r)| *r == req) {
            Some(pos) => {
                self.entries.remove(pos);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Messages that arrived before a matching receive was posted, in arrival order.
pub struct UnexpectedQueue<M> {
    entries: VecDeque<(Envelope, M)>,
}

impl<M> Default for UnexpectedQueue<M> {
    fn default() -> Self {
        UnexpectedQueue { entries: VecDeque::new() }
    }
}

impl<M> UnexpectedQueue<M> {
    pub fn push(&mut self, env: Envelope, msg: M) {
        self.entries.push_back((env, msg));
    }

    /// The oldest message `sel` matches, left in place (probe).
    pub fn peek_match(&self, sel: &Selector) -> Option<&(Envelope, M)> {
        self.entries.iter().find(|(env, _)| sel.matches(env))
    }

    /// Removes and returns the oldest message `sel` matches.
    pub fn take_match(&mut self, sel: &Selector) -> Option<(Envelope, M)> {
        if sel.matches(&self.entries.front()?.0) {
            return self.entries.pop_front();
        }
        let pos = self.entries.iter().position(|(env, _)| sel.matches(env))?;
        self.entries.remove(pos)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(src: u32, tag: i32) -> Envelope {
        Envelope { ctx: 0, src, tag }
    }

    #[test]
    fn wildcards_and_order() {
        let mut posted = PostedQueue::default();
        posted.push(Selector { ctx: 0, src: None, tag: Some(5) }, 1);
        posted.push(Selector { ctx: 0, src: Some(2), tag: None }, 2);
        posted.push(Selector { ctx: 0, src: None, tag: None }, 3);
        assert_eq!(posted.take_match(&env(2, 9)), Some(2));
        assert_eq!(posted.take_match(&env(2, 5)), Some(1));
        assert_eq!(posted.take_match(&env(7, 7)), Some(3));
        assert_eq!(posted.take_match(&env(7, 7)), None);
    }

    #[test]
    fn contexts_never_mix() {
        let mut posted = PostedQueue::default();
        posted.push(Selector { ctx: 1, src: None, tag: None }, 1);
        assert_eq!(posted.take_match(&env(0, 0)), None);
        assert!(posted.remove(1));
        assert!(!posted.remove(1));
    }

    #[test]
    fn unexpected_oldest_first() {
        let mut q = UnexpectedQueue::default();
        q.push(env(1, 1), "a");
        q.push(env(1, 2), "b");
        q.push(env(1, 1), "c");
        let any = Selector { ctx: 0, src: Some(1), tag: None };
        assert_eq!(q.peek_match(&any).unwrap().1, "a");
        let tag1 = Selector { ctx: 0, src: None, tag: Some(1) };
        assert_eq!(q.take_match(&tag1).unwrap().1, "a");
        assert_eq!(q.take_match(&tag1).unwrap().1, "c");
        assert_eq!(q.take_match(&any).unwrap().1, "b");
        assert!(q.is_empty());
    }
}
