//! The ready queue, in two parts: tasks the running task made ready run
//! next, everything else waits its turn at the back.
//!
//! A task that spawns a child, writes to a pipe a reader waits on, or ends
//! while its parent waits for it hands work to that task; what the work
//! needs (the child's record, the bytes, the parent's state) is in the
//! cache now and will not be for long. So such a task goes to `next`, and
//! runs before the tasks at the back: Linux's child-runs-first, Go's
//! `runnext`, L4's direct handoff.
//!
//! Where in `next`:
//! - The children one turn spawned (a batch) keep their order among
//!   themselves and go in front of everything readied before: a tree of
//!   tasks runs depth first, a subtree done and reaped before the next is
//!   started, so a million-task tree lives in a few dozen tasks at a time
//!   instead of all of them at once.
//! - A task woken by the running one (a reader, a waiting parent) goes
//!   right behind the running task's batch-mates still waiting: ten
//!   children each writing their result to their parent wake it once, and
//!   it reads all ten when the last has run, where it would otherwise run
//!   between every two of them. With no batch-mates waiting (a pair passing
//!   a message back and forth) it is simply next.
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

/// The batch of a woken task: matches no spawning turn (turns skip it),
/// so a woken task is nobody's batch-mate.
const WOKEN: u32 = 0;

#[derive(Default)]
pub(crate) struct RunQueue {
    /// Readied by running tasks, each with its batch: the number of the
    /// turn that spawned it, or `WOKEN`.
    next: VecDeque<(Pid, u32)>,
    /// The children the turn under way spawned, in order: they go in front
    /// of `next` when the turn ends.
    spawned: Vec<Pid>,
    /// The tasks the turn under way woke, in order: they go behind its
    /// batch-mates when the turn ends (all at once: one by one, each
    /// would look past the ones before, and a close that wakes 100,000
    /// readers would take quadratic time).
    woken: Vec<Pid>,
    /// Everything else, oldest first.
    back: VecDeque<Pid>,
    /// Is a task's turn under way?
    in_turn: bool,
    /// The batch of the task whose turn it is.
    batch: u32,
    /// Turns taken, wrapping: the batch of what a turn spawns.
    turns: u32,
    /// Turns in a row taken from `next`.
    chain: u32,
}

impl RunQueue {
    /// Makes the child `pid` the running task spawned ready: in front of
    /// `next` with its siblings of this turn when the turn ends. Outside a
    /// turn (init, a task started from another thread): the back.
    #[inline]
    pub(crate) fn spawned(&mut self, pid: Pid) {
        if self.in_turn {
            self.spawned.push(pid);
        } else {
            self.back.push_back(pid);
        }
    }

    /// Makes `pid` ready: if the running task woke it, behind the running
    /// task's batch-mates still waiting (when its turn ends); else at the
    /// back.
    #[inline]
    pub(crate) fn ready(&mut self, pid: Pid) {
        if self.in_turn {
            self.woken.push(pid);
        } else {
            self.back.push_back(pid);
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
        self.turns = self.turns.wrapping_add(1).max(WOKEN + 1);
        let (pid, batch) = self.pick()?;
        self.batch = batch;
        self.in_turn = true;
        Some(pid)
    }

    #[inline]
    fn pick(&mut self) -> Option<(Pid, u32)> {
        if self.chain < CHAIN || self.back.is_empty() {
            let entry = if self.turns.is_multiple_of(AGE) {
                self.next.pop_back()
            } else {
                self.next.pop_front()
            };
            if entry.is_some() {
                self.chain += 1;
                return entry;
            }
        }
        self.chain = 0;
        match self.back.pop_front() {
            // From the back: no batch-mates.
            Some(pid) => Some((pid, WOKEN)),
            None => self.next.pop_front(),
        }
    }

    /// Ends the turn under way, if one is, and begins the next (as
    /// `end_turn` then `start_turn`). In the common case of a task
    /// handing work to one other (it woke one task, spawned none, and
    /// has no batch-mates) that task's turn begins at once, without
    /// going through `next`.
    #[inline]
    pub(crate) fn next_turn(&mut self) -> Option<Pid> {
        if self.in_turn {
            let turns = self.turns.wrapping_add(1).max(WOKEN + 1);
            if self.woken.len() == 1
                && self.spawned.is_empty()
                && self.batch == WOKEN
                && (self.chain < CHAIN || self.back.is_empty())
                && !turns.is_multiple_of(AGE)
            {
                // Where `end_turn` would put it (the front of `next`, with
                // no batch-mates before it) and what `pick` would take.
                self.turns = turns;
                self.chain += 1;
                return self.woken.pop();
            }
            self.end_turn();
        }
        self.start_turn()
    }

    /// Ends the turn under way: what it woke goes behind its batch-mates
    /// still waiting, the children it spawned in front of all.
    #[inline]
    pub(crate) fn end_turn(&mut self) {
        self.in_turn = false;
        if !self.woken.is_empty() {
            self.place_woken();
        }
        if !self.spawned.is_empty() {
            let batch = self.turns;
            for pid in self.spawned.drain(..).rev() {
                self.next.push_front((pid, batch));
            }
        }
    }

    fn place_woken(&mut self) {
        // The batch-mates: a turn's spawns, at most a quantum of them, so
        // each insert behind them shifts at most that many entries (and
        // allocates nothing, where moving the mates aside did).
        let mates = match self.batch {
            WOKEN => 0,
            batch => self.next.iter().take_while(|&&(_, b)| b == batch).count(),
        };
        // (A pair passing messages does not come here: `next_turn` hands
        // over to the one task woken.)
        for pid in self.woken.drain(..).rev() {
            if mates == 0 {
                self.next.push_front((pid, WOKEN));
            } else {
                self.next.insert(mates, (pid, WOKEN));
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

    /// Runs turns until the queue is empty or `limit` turns; `turn(pid)`
    /// says what the task's turn spawns and what it wakes. Returns the
    /// order the tasks ran in.
    fn run(
        q: &mut RunQueue,
        limit: usize,
        mut turn: impl FnMut(Pid) -> (Vec<u32>, Vec<u32>),
    ) -> Vec<u32> {
        let mut order = Vec::new();
        while let Some(pid) = q.start_turn() {
            order.push(pid.0);
            let (spawns, wakes) = turn(pid);
            for p in spawns {
                q.spawned(Pid(p));
            }
            for p in wakes {
                q.ready(Pid(p));
            }
            q.end_turn();
            if order.len() == limit {
                break;
            }
        }
        order
    }

    #[test]
    fn next_turn_runs_tasks_in_the_order_end_turn_then_start_turn_does() {
        // Two queues given the same turns, one through `next_turn`, one
        // through `end_turn` and `start_turn`: each turn hands work to a
        // waiting task, spawns, yields, wakes two, or ends, as a
        // pseudo-random sequence says, for long enough to cross `AGE`
        // and `CHAIN` many times.
        let (mut fused, mut parts) = (RunQueue::default(), RunQueue::default());
        for q in [&mut fused, &mut parts] {
            q.ready(Pid(1));
            q.ready(Pid(2));
            q.ready(Pid(3));
        }
        let mut waiting: Vec<u32> = (4..40).collect();
        let (mut fresh, mut rng) = (1000, 0x9e37_79b9_7f4a_7c15_u64);
        let mut handoffs = 0;
        let (mut a, mut b) = (fused.next_turn(), parts.start_turn());
        for turn in 0..40_000 {
            assert_eq!(a, b, "turn {turn}");
            let Some(pid) = a else {
                break;
            };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut wake = |n: usize, qs: [&mut RunQueue; 2]| {
                let woken: Vec<u32> = (0..n.min(waiting.len()))
                    .map(|i| waiting.swap_remove((rng >> (8 * i)) as usize % waiting.len()))
                    .collect();
                for q in qs {
                    for &p in &woken {
                        q.ready(Pid(p));
                    }
                }
            };
            match rng % 16 {
                // Hands work to one waiting task, then waits itself.
                0..=9 => {
                    handoffs += 1;
                    wake(1, [&mut fused, &mut parts]);
                    waiting.push(pid.0);
                }
                // Spawns children, then waits.
                10 | 11 => {
                    for _ in 0..1 + rng % 3 {
                        fresh += 1;
                        fused.spawned(Pid(fresh));
                        parts.spawned(Pid(fresh));
                    }
                    waiting.push(pid.0);
                }
                12 | 13 => {
                    fused.push_back(pid);
                    parts.push_back(pid);
                }
                14 => {
                    wake(2, [&mut fused, &mut parts]);
                    waiting.push(pid.0);
                }
                // Ends, waking a waiting task if it has to.
                _ if fused.is_empty() => wake(1, [&mut fused, &mut parts]),
                _ => {}
            }
            a = fused.next_turn();
            parts.end_turn();
            b = parts.start_turn();
        }
        assert!(handoffs > 20_000, "{handoffs} handoffs");
    }

    #[test]
    fn children_run_next_depth_first_in_the_order_spawned() {
        let mut q = RunQueue::default();
        q.ready(Pid(100)); // From outside a turn: the back.
        q.ready(Pid(1));
        let order = run(&mut q, 100, |pid| match pid.0 {
            1 => (vec![10, 20], vec![]),
            10 => (vec![11, 12], vec![]),
            _ => (vec![], vec![]),
        });
        // Depth first, children in the order spawned, the back last.
        assert_eq!(order, [100, 1, 10, 11, 12, 20]);
    }

    #[test]
    fn a_parent_woken_by_its_first_child_runs_after_the_last() {
        let mut q = RunQueue::default();
        q.ready(Pid(1));
        let (mut first_turn, mut parent_ready) = (true, false);
        let order = run(&mut q, 100, |pid| match pid.0 {
            1 if first_turn => {
                first_turn = false;
                (vec![10, 11, 12], vec![])
            }
            // Each child writes to the parent; the first write wakes it.
            10..=12 if !parent_ready => {
                parent_ready = true;
                (vec![], vec![1])
            }
            _ => (vec![], vec![]),
        });
        assert_eq!(order, [1, 10, 11, 12, 1]);
    }

    #[test]
    fn a_task_woken_with_no_batch_mates_waiting_is_next() {
        let mut q = RunQueue::default();
        q.ready(Pid(1));
        q.ready(Pid(2));
        // 1 spawns 10, whose turn wakes 3: with 10's batch-mates gone, 3
        // runs before 2 at the back.
        let order = run(&mut q, 100, |pid| match pid.0 {
            1 => (vec![10], vec![]),
            10 => (vec![], vec![3]),
            _ => (vec![], vec![]),
        });
        assert_eq!(order, [1, 10, 3, 2]);
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
            1 => (vec![], vec![2]),
            2 => (vec![], vec![1]),
            _ => (vec![], vec![]),
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
        // 1 spawns 2 and 3; 2 starts an endless chain of new tasks, each
        // spawning the next: 3 would wait for ever behind them.
        let mut fresh = 1000;
        let order = run(&mut q, AGE as usize + 10, |pid| match pid.0 {
            1 => (vec![2, 3], vec![]),
            _ => {
                fresh += 1;
                (vec![fresh], vec![])
            }
        });
        let at = order.iter().position(|&x| x == 3).expect("3 ran");
        assert!(at <= AGE as usize + 2, "3 ran at turn {at}");
    }
}
