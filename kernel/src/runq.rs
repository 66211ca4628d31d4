//! The ready queue, in two parts: tasks the running task made ready run
//! next, everything else waits its turn at the back.
//!
//! A task that spawns a child, writes to a pipe a reader waits on, or ends
//! while its parent waits for it hands work to that task; what the work
//! needs (the child's record, the bytes, the parent's state) is in the
//! cache now and will not be for long. So such a task goes to `next`, and
//! runs before the tasks at the back: Linux's child-runs-first, Go's
//! `runnext`, L4's direct handoff. The tasks one turn readied keep their
//! order among themselves, and go in front of the ones readied before:
//! a tree of tasks runs depth first, a subtree done and reaped before the
//! next is started, so a million-task tree lives in a few dozen tasks at
//! a time instead of all of them at once.
//!
//! Two bounds keep it fair:
//! - after `CHAIN` turns in a row from `next`, the oldest task at the back
//!   gets a turn (a pair of tasks handing work to each other does not shut
//!   out the rest);
//! - every `AGE` turns, the task longest in `next` runs ahead of the newer
//!   ones (a task handing work down a chain for ever does not shut out its
//!   siblings).
//!
//! Tasks made ready by anything else (a timer, the host's I/O, a message
//! from another thread), and a task that yields or spent its quantum, go to
//! the back.

use std::collections::VecDeque;

use syscalls::Pid;

/// Turns in a row from `next` before the oldest task at the back runs.
const CHAIN: u32 = 64;

/// Every this many turns, the task longest in `next` runs.
const AGE: u32 = 4096;

#[derive(Default)]
pub(crate) struct RunQueue {
    /// Readied by running tasks: the newest turn's tasks first.
    next: VecDeque<Pid>,
    /// How many tasks the turn under way has made ready: the first went
    /// in front of `next` at once, the others wait in `more`.
    batch: usize,
    /// The turn's tasks after its first, in order: they go behind it when
    /// the turn ends (one move each, where inserting them one by one
    /// behind the first shifted the others).
    more: Vec<Pid>,
    /// Everything else, oldest first.
    back: VecDeque<Pid>,
    /// Is a task's turn under way?
    in_turn: bool,
    /// Turns taken, wrapping.
    turns: u32,
    /// Turns in a row taken from `next`.
    chain: u32,
}

impl RunQueue {
    /// Makes `pid` ready: next, if the running task did it (after what it
    /// readied before), else at the back.
    #[inline]
    pub(crate) fn ready(&mut self, pid: Pid) {
        if self.in_turn && self.batch == 0 {
            // The common case (a write woke one reader): kept inline.
            self.next.push_front(pid);
            self.batch = 1;
        } else {
            self.ready_slow(pid);
        }
    }

    #[cold]
    fn ready_slow(&mut self, pid: Pid) {
        if !self.in_turn {
            self.back.push_back(pid);
        } else {
            self.more.push(pid);
            self.batch += 1;
        }
    }

    /// Puts `pid` at the back, behind every task ready now (it yielded, or
    /// spent its quantum).
    #[inline]
    pub(crate) fn push_back(&mut self, pid: Pid) {
        self.back.push_back(pid);
    }

    /// The task whose turn is next, its turn begun; `None` if none is ready.
    #[inline]
    pub(crate) fn start_turn(&mut self) -> Option<Pid> {
        let pid = self.pick()?;
        self.in_turn = true;
        Some(pid)
    }

    #[inline]
    fn pick(&mut self) -> Option<Pid> {
        self.turns = self.turns.wrapping_add(1);
        if self.chain < CHAIN || self.back.is_empty() {
            let pid = if self.turns.is_multiple_of(AGE) {
                self.next.pop_back()
            } else {
                self.next.pop_front()
            };
            if pid.is_some() {
                self.chain += 1;
                return pid;
            }
        }
        self.chain = 0;
        self.back.pop_front().or_else(|| self.next.pop_front())
    }

    /// Ends the turn under way.
    #[inline]
    pub(crate) fn end_turn(&mut self) {
        self.in_turn = false;
        self.batch = 0;
        if !self.more.is_empty() {
            let first = self.next.pop_front();
            for pid in self.more.drain(..).rev() {
                self.next.push_front(pid);
            }
            if let Some(first) = first {
                self.next.push_front(first);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.next.is_empty() && self.back.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs turns until the queue is empty; `readies(pid)` says what the
    /// task's turn makes ready. Returns the order the tasks ran in.
    fn run(q: &mut RunQueue, limit: usize, mut readies: impl FnMut(Pid) -> Vec<Pid>) -> Vec<u32> {
        let mut order = Vec::new();
        while let Some(pid) = q.start_turn() {
            order.push(pid.0);
            for p in readies(pid) {
                q.ready(p);
            }
            q.end_turn();
            if order.len() == limit {
                break;
            }
        }
        order
    }

    #[test]
    fn what_a_turn_readies_runs_next_in_the_order_readied() {
        let mut q = RunQueue::default();
        q.ready(Pid(100)); // From outside a turn: the back.
        q.ready(Pid(1));
        let order = run(&mut q, 100, |pid| match pid.0 {
            1 => vec![Pid(10), Pid(20)],
            10 => vec![Pid(11), Pid(12)],
            _ => vec![],
        });
        // Depth first, children in the order spawned, the back last.
        assert_eq!(order, [100, 1, 10, 11, 12, 20]);
    }

    #[test]
    fn a_chain_of_handoffs_lets_the_back_run_every_chain_turns() {
        let mut q = RunQueue::default();
        q.ready(Pid(1));
        for p in 100..103 {
            q.ready(Pid(p));
        }
        // 1 and 2 hand work to each other for ever; 100..103 wait behind.
        let order = run(&mut q, 1 + 3 * (CHAIN as usize + 1), |pid| match pid.0 {
            1 => vec![Pid(2)],
            2 => vec![Pid(1)],
            _ => vec![],
        });
        let at = |p: u32| order.iter().position(|&x| x == p).unwrap();
        assert_eq!(at(100), 1 + CHAIN as usize);
        assert_eq!(at(101) - at(100), CHAIN as usize + 1);
        assert_eq!(at(102) - at(101), CHAIN as usize + 1);
    }

    #[test]
    fn a_task_left_in_next_runs_once_it_is_old() {
        let mut q = RunQueue::default();
        q.ready(Pid(1));
        // 1 readies 2 and 3; 2 starts an endless chain of new tasks, each
        // readying the next: 3 would wait for ever behind them.
        let mut fresh = 1000;
        let order = run(&mut q, AGE as usize + 10, |pid| match pid.0 {
            1 => vec![Pid(2), Pid(3)],
            _ => {
                fresh += 1;
                vec![Pid(fresh)]
            }
        });
        let at = order.iter().position(|&x| x == 3).expect("3 ran");
        assert!(at <= AGE as usize + 2, "3 ran at turn {at}");
    }
}
