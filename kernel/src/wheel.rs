//! Timers: a hierarchical timing wheel (Varghese and Lauck, as in the
//! Linux kernel and tokio), so that adding a timer and taking a due one
//! cost the same at ten timers or a million.
//!
//! Time is counted in ticks of 1,024 ns. Level 0 has 64 slots of one tick;
//! each level above has 64 slots, each as long as the whole level below;
//! nine levels reach past any 64-bit nanosecond deadline. A timer goes in
//! the lowest level whose span, counted from the wheel's time (`elapsed`),
//! reaches its deadline: its slot is the deadline's 6 bits at that level.
//! When the wheel's time comes to a slot of a higher level, the timers in
//! it move down (a few moves each, at most one per level, each a push
//! onto a vector); a level-0 slot holds the timers of one tick, handed out
//! when the clock has passed their deadline to the nanosecond — a timer
//! never fires early, and never later than the kernel looks.
//!
//! Entries are (deadline, pid). A task woken otherwise or killed leaves its
//! entry behind; the kernel skips it when it comes out (`Kernel::timer_live`).
//! The earlier binary heap did the same; with 100,000 sleepers, its pops
//! (17 levels of cache misses each) were a tenth of the kernel's time.

use std::time::Duration;

use syscalls::Pid;

/// A level-0 slot: 2^10 ns.
const TICK_SHIFT: u32 = 10;
/// 64 slots a level.
const LEVEL_BITS: u32 = 6;
const SLOTS: usize = 1 << LEVEL_BITS;
/// Enough levels for every tick of a 64-bit nanosecond deadline.
const LEVELS: usize = (64 - TICK_SHIFT).div_ceil(LEVEL_BITS) as usize;
/// A drained slot keeps its memory up to this many entries.
const KEEP: usize = 64;

/// A timer: its deadline in nanoseconds since boot, and its task.
type Entry = (u64, Pid);

pub(crate) struct Timers {
    /// `LEVELS * SLOTS` slots, level by level.
    slots: Vec<Vec<Entry>>,
    /// Bit `s` of `occupied[l]`: slot `s` of level `l` holds entries.
    occupied: [u64; LEVELS],
    /// The wheel's time, in ticks: every slot before it has been emptied.
    elapsed: u64,
    /// Due entries of one tick, latest first (handed out from the end).
    due: Vec<Entry>,
    /// Entries in the wheel, stale ones included.
    len: usize,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            elapsed: 0,
            due: Vec::new(),
            len: 0,
        }
    }
}

/// A deadline in nanoseconds (the far future, past 584 years, saturates).
fn nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
}

/// The level a deadline at tick `when` goes in, seen from tick `elapsed`:
/// the level of the highest bit in which they differ.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / LEVEL_BITS) as usize
}

impl Timers {
    pub(crate) fn add(&mut self, deadline: Duration, pid: Pid) {
        self.insert((nanos(deadline), pid));
        self.len += 1;
    }

    fn insert(&mut self, entry: Entry) {
        // A deadline already behind the wheel goes in the current tick.
        let when = (entry.0 >> TICK_SHIFT).max(self.elapsed);
        let level = level_for(self.elapsed, when);
        let slot = ((when >> (level as u32 * LEVEL_BITS)) as usize) & (SLOTS - 1);
        self.slots[level * SLOTS + slot].push(entry);
        self.occupied[level] |= 1 << slot;
    }

    /// The earliest slot holding entries: (level, slot, its first tick).
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let shift = level as u32 * LEVEL_BITS;
            let current = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
            // Slots before the current one at a level are empty: the wheel
            // has passed them.
            let ahead = self.occupied[level] & (u64::MAX << current);
            if ahead != 0 {
                let slot = ahead.trailing_zeros() as usize;
                // Ticks have 54 bits: the span of the top level is too.
                let base = self.elapsed & !((1u64 << (shift + LEVEL_BITS)) - 1);
                return Some((level, slot, base + ((slot as u64) << shift)));
            }
        }
        None
    }

    /// Empties a slot, keeping its memory if it is small.
    fn take_slot(&mut self, level: usize, slot: usize) -> Vec<Entry> {
        self.occupied[level] &= !(1 << slot);
        let entries = &mut self.slots[level * SLOTS + slot];
        if entries.capacity() > KEEP {
            std::mem::take(entries)
        } else {
            let mut out = Vec::with_capacity(entries.len());
            out.append(entries);
            out
        }
    }

    /// Removes and returns one entry due at `now`: earliest tick first,
    /// and by (deadline, pid) within a tick.
    pub(crate) fn pop_due(&mut self, now: Duration) -> Option<(Duration, Pid)> {
        let now = nanos(now);
        loop {
            if let Some((at, pid)) = self.due.pop() {
                self.len -= 1;
                return Some((Duration::from_nanos(at), pid));
            }
            let (level, slot, start) = self.next_slot()?;
            if start > now >> TICK_SHIFT {
                return None;
            }
            self.elapsed = start;
            let entries = self.take_slot(level, slot);
            if level > 0 {
                // Down a level or more, now the wheel's time is the slot's.
                for entry in entries {
                    self.insert(entry);
                }
                continue;
            }
            // One tick's entries: those past their deadline are due; in the
            // tick `now` is in, the rest wait where they were.
            for entry in entries {
                if entry.0 <= now {
                    self.due.push(entry);
                } else {
                    self.slots[slot].push(entry);
                    self.occupied[0] |= 1 << slot;
                }
            }
            if self.due.is_empty() {
                return None;
            }
            self.due.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    /// The earliest deadline of a live entry (entries `live` rejects are
    /// dropped on the way, so a wheel left with stale entries says `None`).
    /// Reads every entry of the earliest slot: for a virtual clock, which
    /// jumps to exactly that time.
    pub(crate) fn next_deadline(
        &mut self,
        live: impl FnMut(Duration, Pid) -> bool,
    ) -> Option<Duration> {
        self.next(live, true)
    }

    /// A time to look at the timers again, no later than the earliest live
    /// deadline: for a higher slot, the time its entries must move down,
    /// which one live entry in it is enough to say. For the host's clock,
    /// where waking early costs a look, and reading a slot of 100,000
    /// sleepers at every idle moment would cost more.
    pub(crate) fn next_look(
        &mut self,
        live: impl FnMut(Duration, Pid) -> bool,
    ) -> Option<Duration> {
        self.next(live, false)
    }

    fn next(
        &mut self,
        mut live: impl FnMut(Duration, Pid) -> bool,
        exact: bool,
    ) -> Option<Duration> {
        if let Some(&(at, _)) = self.due.last() {
            return Some(Duration::from_nanos(at));
        }
        loop {
            let (level, slot, start) = self.next_slot()?;
            let entries = &mut self.slots[level * SLOTS + slot];
            let before = entries.len();
            let next = if level == 0 || exact {
                entries.retain(|&(at, pid)| live(Duration::from_nanos(at), pid));
                entries.iter().map(|&(at, _)| at).min()
            } else {
                while let Some(&(at, pid)) = entries.first() {
                    if live(Duration::from_nanos(at), pid) {
                        break;
                    }
                    entries.swap_remove(0);
                }
                entries.first().map(|_| start << TICK_SHIFT)
            };
            self.len -= before - entries.len();
            match next {
                Some(at) => return Some(Duration::from_nanos(at)),
                None => self.occupied[level] &= !(1 << slot),
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    /// Every entry due by `now`, in the order the wheel hands them out.
    fn drain(t: &mut Timers, now: Duration) -> Vec<(Duration, Pid)> {
        std::iter::from_fn(|| t.pop_due(now)).collect()
    }

    #[test]
    fn timers_come_out_earliest_first_and_only_when_due() {
        let mut t = Timers::default();
        let ms = Duration::from_millis;
        t.add(ms(30), Pid(3));
        t.add(ms(10), Pid(1));
        t.add(ms(20), Pid(2));
        assert!(t.next_deadline(|_, _| true).is_some_and(|at| at <= ms(10)));
        assert_eq!(t.pop_due(ms(5)), None);
        assert_eq!(t.pop_due(ms(25)), Some((ms(10), Pid(1))));
        assert_eq!(t.pop_due(ms(25)), Some((ms(20), Pid(2))));
        assert_eq!(t.pop_due(ms(25)), None);
        assert_eq!(t.len(), 1);
        assert_eq!(drain(&mut t, ms(30)), [(ms(30), Pid(3))]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_timer_never_fires_before_its_deadline_to_the_nanosecond() {
        let mut t = Timers::default();
        // Two deadlines in the same 1,024 ns tick.
        t.add(ns(5_000_100), Pid(1));
        t.add(ns(5_000_900), Pid(2));
        assert_eq!(t.pop_due(ns(5_000_099)), None);
        assert_eq!(t.pop_due(ns(5_000_100)), Some((ns(5_000_100), Pid(1))));
        assert_eq!(t.pop_due(ns(5_000_899)), None);
        assert_eq!(t.next_deadline(|_, _| true), Some(ns(5_000_900)));
        assert_eq!(t.pop_due(ns(5_000_900)), Some((ns(5_000_900), Pid(2))));
    }

    #[test]
    fn next_deadline_is_never_after_the_earliest_timer() {
        let mut t = Timers::default();
        let deadlines = [
            3u64,
            70_000,
            4_000_000,
            300_000_000,
            20_000_000_000,
            7_000_000,
        ];
        for (i, &d) in deadlines.iter().enumerate() {
            t.add(ns(d), Pid(i as u32 + 1));
        }
        let mut sorted = deadlines.to_vec();
        sorted.sort_unstable();
        let mut now = ns(0);
        for &d in &sorted {
            // Looking at the timers when told, the kernel meets each
            // deadline, neither early nor late.
            loop {
                let next = t.next_look(|_, _| true).expect("timers left");
                assert!(next <= ns(d), "told {next:?} for a deadline at {d} ns");
                now = now.max(next);
                if let Some((at, _)) = t.pop_due(now) {
                    assert_eq!(at, ns(d));
                    break;
                }
            }
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.next_look(|_, _| true), None);
    }

    #[test]
    fn next_deadline_is_the_earliest_live_deadline_exactly() {
        let mut t = Timers::default();
        t.add(Duration::from_secs(7), Pid(1));
        t.add(Duration::from_secs(5), Pid(2));
        t.add(Duration::from_secs(6), Pid(3));
        assert_eq!(t.next_deadline(|_, _| true), Some(Duration::from_secs(5)));
        assert_eq!(
            t.next_deadline(|_, p| p != Pid(2)),
            Some(Duration::from_secs(6))
        );
        assert!(t
            .next_look(|_, _| true)
            .is_some_and(|at| at <= Duration::from_secs(6)));
    }

    #[test]
    fn a_million_random_timers_come_out_in_order() {
        let mut t = Timers::default();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut want = Vec::new();
        for pid in 0..1_000_000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = seed % 10_000_000_000; // within 10 s
            t.add(ns(at), Pid(pid));
            want.push((ns(at), Pid(pid)));
        }
        want.sort_unstable();
        // Looked at every 250 µs, as a busy kernel would.
        let mut got = Vec::with_capacity(want.len());
        let mut now = 0;
        while got.len() < want.len() {
            now += 250_000;
            got.extend(drain(&mut t, ns(now)));
        }
        assert_eq!(got, want);
    }

    #[test]
    fn stale_entries_are_dropped_by_next_deadline() {
        let mut t = Timers::default();
        t.add(ns(1_000), Pid(1));
        t.add(ns(2_000), Pid(2));
        t.add(Duration::from_secs(3600), Pid(3));
        assert_eq!(t.next_deadline(|_, pid| pid != Pid(1)), Some(ns(2_000)));
        assert_eq!(t.len(), 2);
        // Only stale entries left, one of them far off: nothing to wait for.
        assert_eq!(t.next_look(|_, _| false), None);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn deadlines_far_away_and_already_past_are_kept() {
        let mut t = Timers::default();
        t.add(Duration::MAX, Pid(1));
        t.add(ns(20_000_000), Pid(2));
        assert_eq!(drain(&mut t, ns(20_000_000)), [(ns(20_000_000), Pid(2))]);
        // The wheel's time is 20 ms now: a deadline before it is due at once.
        t.add(ns(5), Pid(3));
        assert_eq!(drain(&mut t, ns(20_000_000)), [(ns(5), Pid(3))]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.pop_due(ns(u64::MAX - 1)), None);
        assert_eq!(t.pop_due(Duration::MAX).map(|(_, p)| p), Some(Pid(1)));
    }
}
