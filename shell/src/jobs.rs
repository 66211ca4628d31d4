//! The job table: every pipeline `sh` starts is a job with a number, the
//! tasks of its stages, and their statuses as they are reaped. Only the
//! interpreter (sh.rs) changes it; everything here is plain data, so a
//! subshell gets a copy.
//!
//! A job's life:
//!
//! ```text
//!   add ──▶ running ──(1) record(pid, status) for its last task──▶ done
//!                                                                   │
//!            (2) take_finished (the "Done" message) / remove ◀──────┘
//! ```
//!
//! Foreground jobs are in the table too (that is where `wait_any` files what
//! it reaps), but `jobs`, `%N` and the messages see background jobs only.
//!
//! A shell may have tens of thousands of jobs (`sleep 1 &` in a loop), and
//! it reaps them one pid at a time: filing a pid, asking whether any job
//! still runs and taking a finished job out are each O(log n) or better,
//! never a scan of the table.

#[cfg(test)]
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use syscalls::{ExitCode, Pid, Signal};

use crate::parse::Text;

/// One stage of a job: the task it runs in, or none when the spawn failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proc {
    /// The task, if the stage got one.
    pub pid: Option<Pid>,
    /// Its status, once reaped (or at once for a stage that never ran).
    pub status: Option<ExitCode>,
}

impl Proc {
    /// A stage whose task is running.
    pub fn running(pid: Pid) -> Proc {
        Proc {
            pid: Some(pid),
            status: None,
        }
    }

    /// A stage that never ran (`command not found`: 127).
    pub fn failed(status: ExitCode) -> Proc {
        Proc {
            pid: None,
            status: Some(status),
        }
    }
}

/// A pipeline started by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// `%N`; given by [`JobTable::add`].
    pub number: usize,
    /// The process group its tasks are in, when the shell made one.
    pub pgid: Option<Pid>,
    /// The source text, for messages (shared with the command tree).
    pub text: Text,
    /// One per stage, in pipeline order.
    procs: Vec<Proc>,
    /// How many of `procs` have no status yet.
    live: usize,
    /// Started with `&` (and not brought back with `fg`).
    pub background: bool,
}

impl Job {
    /// A job not yet in a table.
    pub fn new(text: Text, procs: Vec<Proc>, pgid: Option<Pid>, background: bool) -> Job {
        Job {
            number: 0,
            pgid,
            text,
            live: procs.iter().filter(|p| p.status.is_none()).count(),
            procs,
            background,
        }
    }

    /// One per stage, in pipeline order.
    pub fn procs(&self) -> &[Proc] {
        &self.procs
    }

    /// Every stage has a status.
    pub fn is_done(&self) -> bool {
        self.live == 0
    }

    /// The job's status, that of its last stage, once every stage is done.
    pub fn status(&self) -> Option<ExitCode> {
        if self.is_done() {
            self.procs.last().and_then(|p| p.status)
        } else {
            None
        }
    }

    /// The tasks of its stages, in order.
    pub fn pids(&self) -> Vec<Pid> {
        self.procs.iter().filter_map(|p| p.pid).collect()
    }

    /// The tasks not yet reaped.
    pub fn live_pids(&self) -> Vec<Pid> {
        self.procs
            .iter()
            .filter(|p| p.status.is_none())
            .filter_map(|p| p.pid)
            .collect()
    }

    /// Files the status of stage `stage`'s task; false if it has one.
    fn record_stage(&mut self, stage: usize, status: ExitCode) -> bool {
        match self.procs.get_mut(stage) {
            Some(proc) if proc.status.is_none() => {
                proc.status = Some(status);
                self.live -= 1;
                true
            }
            _ => false,
        }
    }

    /// Gives every stage not yet reaped `status`.
    fn abandon(&mut self, status: ExitCode) {
        for proc in &mut self.procs {
            proc.status.get_or_insert(status);
        }
        self.live = 0;
    }

    /// The status `pid` ended with, if it is this job's and was reaped.
    pub fn status_of(&self, pid: Pid) -> Option<ExitCode> {
        self.procs
            .iter()
            .find(|p| p.pid == Some(pid))
            .and_then(|p| p.status)
    }
}

/// Why a job spec names no job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpecError {
    /// Nothing matches.
    NoSuchJob,
    /// `%name` matches more than one job.
    Ambiguous,
}

impl SpecError {
    /// As bash says it.
    pub fn message(self) -> &'static str {
        match self {
            SpecError::NoSuchJob => "no such job",
            SpecError::Ambiguous => "ambiguous job spec",
        }
    }
}

/// The shell's jobs, by number.
#[derive(Debug, Clone, Default)]
pub(crate) struct JobTable {
    jobs: BTreeMap<usize, Job>,
    /// The task of every stage of every job in the table: pid -> (job
    /// number, stage), so that a reaped pid is filed without a search.
    tasks: HashMap<Pid, (usize, usize)>,
    /// The background jobs' numbers. A new job's number is above every
    /// job's in the table, so the last is the most recent: the current job
    /// (`+`, `%%`), the one before it the previous (`-`).
    background: BTreeSet<usize>,
    /// The background jobs that are done.
    finished: BTreeSet<usize>,
    /// How many times a job of the table was looked at, which the tests
    /// bound.
    #[cfg(test)]
    visits: Cell<usize>,
}

impl JobTable {
    /// Adds `job` with the lowest number above every job in the table (as
    /// bash numbers them) and returns that number.
    pub fn add(&mut self, mut job: Job) -> usize {
        let number = self.jobs.last_key_value().map_or(1, |(n, _)| n + 1);
        job.number = number;
        self.insert(job);
        number
    }

    /// Puts `job` in the table under its own number.
    fn insert(&mut self, job: Job) {
        let number = job.number;
        for (stage, proc) in job.procs.iter().enumerate() {
            if let Some(pid) = proc.pid {
                self.tasks.insert(pid, (number, stage));
            }
        }
        if job.background {
            self.background.insert(number);
            if job.is_done() {
                self.finished.insert(number);
            }
        }
        self.jobs.insert(number, job);
    }

    /// Job `number`.
    pub fn get(&self, number: usize) -> Option<&Job> {
        self.visit();
        self.jobs.get(&number)
    }

    /// Takes job `number` out of the table.
    pub fn remove(&mut self, number: usize) -> Option<Job> {
        self.visit();
        let job = self.jobs.remove(&number)?;
        for (stage, proc) in job.procs.iter().enumerate() {
            // A pid the kernel gave again to a later job's task is that
            // job's now.
            if let Some(pid) = proc.pid {
                if self.tasks.get(&pid) == Some(&(number, stage)) {
                    self.tasks.remove(&pid);
                }
            }
        }
        self.background.remove(&number);
        self.finished.remove(&number);
        Some(job)
    }

    /// Makes background job `number` a foreground one (`fg`).
    pub fn make_foreground(&mut self, number: usize) {
        self.visit();
        self.background.remove(&number);
        self.finished.remove(&number);
        if let Some(job) = self.jobs.get_mut(&number) {
            job.background = false;
        }
    }

    /// Files a reaped task's status into its job; false if no job has it.
    pub fn record(&mut self, pid: Pid, status: ExitCode) -> bool {
        self.visit();
        let Some(&(number, stage)) = self.tasks.get(&pid) else {
            return false;
        };
        let Some(job) = self.jobs.get_mut(&number) else {
            return false;
        };
        if !job.record_stage(stage, status) {
            return false;
        }
        if job.background && job.is_done() {
            self.finished.insert(number);
        }
        true
    }

    /// Gives every task not yet reaped status 127: the kernel said the shell
    /// has no children left (`ECHILD`), so no one will ever report them.
    pub fn abandon(&mut self) {
        self.count_visits(self.jobs.len());
        for job in self.jobs.values_mut() {
            job.abandon(127);
        }
        self.finished.clone_from(&self.background);
    }

    /// The background jobs, by number.
    pub fn background(&self) -> impl Iterator<Item = &Job> {
        self.background
            .iter()
            .filter_map(|number| self.get(*number))
    }

    /// Is any background job still running?
    pub fn any_running(&self) -> bool {
        self.background.len() > self.finished.len()
    }

    /// The background job that has task `pid`.
    pub fn by_pid(&self, pid: Pid) -> Option<usize> {
        self.tasks
            .get(&pid)
            .map(|&(number, _)| number)
            .filter(|number| self.background.contains(number))
    }

    /// `+` for the current job, `-` for the previous one, else a space.
    pub fn mark(&self, number: usize) -> char {
        let mut recent = self.background.iter().rev();
        if recent.next() == Some(&number) {
            '+'
        } else if recent.next() == Some(&number) {
            '-'
        } else {
            ' '
        }
    }

    /// The background job `spec` names: `%N`, `%%`, `%+`, `%` (current),
    /// `%-` (previous), `%?text` (whose command contains text) or `%text`
    /// (whose command starts with text).
    pub fn resolve(&self, spec: &str) -> Result<usize, SpecError> {
        let Some(rest) = spec.strip_prefix('%') else {
            return Err(SpecError::NoSuchJob);
        };
        let from_end = |skip: usize| {
            self.background
                .iter()
                .rev()
                .nth(skip)
                .copied()
                .ok_or(SpecError::NoSuchJob)
        };
        match rest {
            "" | "%" | "+" => from_end(0),
            "-" => from_end(1),
            _ if rest.bytes().all(|b| b.is_ascii_digit()) => {
                let number = rest.parse().map_err(|_| SpecError::NoSuchJob)?;
                if self.background.contains(&number) {
                    Ok(number)
                } else {
                    Err(SpecError::NoSuchJob)
                }
            }
            _ => {
                let matches: Vec<usize> = match rest.strip_prefix('?') {
                    Some(needle) => self
                        .background()
                        .filter(|j| j.text.contains(needle))
                        .map(|j| j.number)
                        .collect(),
                    None => self
                        .background()
                        .filter(|j| j.text.starts_with(rest))
                        .map(|j| j.number)
                        .collect(),
                };
                match matches.as_slice() {
                    [] => Err(SpecError::NoSuchJob),
                    [number] => Ok(*number),
                    _ => Err(SpecError::Ambiguous),
                }
            }
        }
    }

    /// The `jobs` line of background job `number`.
    pub fn line(&self, number: usize) -> Option<String> {
        self.get(number).map(|job| job_line(job, self.mark(number)))
    }

    /// Takes the background jobs that are done out of the table and returns
    /// their messages (`[1]+  Done                    seq 3 | wc -l`).
    pub fn take_finished(&mut self) -> Vec<String> {
        let done: Vec<usize> = self.finished.iter().copied().collect();
        // Marks are those of the table before anything leaves it, as bash
        // shows them.
        let lines = done.iter().filter_map(|&n| self.line(n)).collect();
        for n in done {
            self.remove(n);
        }
        lines
    }

    /// A copy with the background jobs only, for a subshell: it may list
    /// them and `kill %N` them, but they are not its children.
    pub fn background_snapshot(&self) -> JobTable {
        let mut snapshot = JobTable::default();
        for job in self.background() {
            snapshot.insert(job.clone());
        }
        snapshot
    }

    /// Counts a look at a job, for the tests.
    fn visit(&self) {
        self.count_visits(1);
    }

    #[cfg(test)]
    fn count_visits(&self, n: usize) {
        self.visits.set(self.visits.get() + n);
    }

    #[cfg(not(test))]
    fn count_visits(&self, _n: usize) {}
}

/// What a job's status says, in bash's words: `Running`, `Done`, `Exit 1`,
/// `Killed`…
pub(crate) fn describe(status: Option<ExitCode>) -> String {
    match status {
        None => "Running".to_string(),
        Some(0) => "Done".to_string(),
        Some(code) => match Signal::from_exit_code(code) {
            Some(signal) => signal_word(signal).to_string(),
            None => format!("Exit {code}"),
        },
    }
}

/// How bash names the end a signal brought.
pub(crate) fn signal_word(signal: Signal) -> &'static str {
    match signal {
        Signal::Hup => "Hangup",
        Signal::Int => "Interrupt",
        Signal::Quit => "Quit",
        Signal::Kill => "Killed",
        Signal::Term => "Terminated",
    }
}

/// One line of `jobs` or of a job notice, in bash's layout: a running job's
/// text ends in ` &`.
pub(crate) fn job_line(job: &Job, mark: char) -> String {
    let status = job.status();
    let ampersand = if status.is_none() { " &" } else { "" };
    format!(
        "[{}]{}  {:<24}{}{}",
        job.number,
        mark,
        describe(status),
        job.text,
        ampersand
    )
}

/// The argv of `kill` with each job spec (`%1`, `%%`…) replaced by what
/// bash's `kill` builtin signals: the job's process group (`-PGID`, after a
/// `--` so that `kill` does not read it as a signal), or, for a job without
/// a group of its own (no job control), its tasks. A job whose tasks have
/// all been reaped gives all its pids: `kill` then says they are gone.
///
/// # Errors
/// `kill: %N: no such job` (the message without `sh: `).
pub(crate) fn expand_jobspecs(argv: &[String], jobs: &JobTable) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(argv.len());
    // A `--` or an operand is out: `kill` reads what follows as operands.
    let mut operands = false;
    for (i, arg) in argv.iter().enumerate() {
        if i == 0 || !arg.starts_with('%') {
            operands |= i > 0 && (arg == "--" || !arg.starts_with('-'));
            out.push(arg.clone());
            continue;
        }
        let number = jobs
            .resolve(arg)
            .map_err(|e| format!("kill: {arg}: {}", e.message()))?;
        let job = jobs
            .get(number)
            .ok_or_else(|| format!("kill: {arg}: no such job"))?;
        if let Some(pgid) = job.pgid {
            if !operands {
                out.push("--".to_string());
            }
            out.push(format!("-{pgid}"));
        } else {
            let mut pids = job.live_pids();
            if pids.is_empty() {
                pids = job.pids();
            }
            out.extend(pids.iter().map(Pid::to_string));
        }
        operands = true;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(text: &str, pids: &[u32], background: bool) -> Job {
        let procs = pids.iter().map(|&p| Proc::running(Pid(p))).collect();
        Job::new(
            text.into(),
            procs,
            pids.first().map(|&p| Pid(p)),
            background,
        )
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn jobs_are_numbered_above_the_highest_and_renumber_from_one() {
        let mut t = JobTable::default();
        assert_eq!(t.add(job("a", &[10], true)), 1);
        assert_eq!(t.add(job("b", &[11], true)), 2);
        t.remove(1);
        assert_eq!(t.add(job("c", &[12], true)), 3);
        t.remove(2);
        t.remove(3);
        assert_eq!(t.add(job("d", &[13], true)), 1);
    }

    #[test]
    fn a_job_is_done_when_every_stage_is_and_its_status_is_the_last_stages() {
        let mut t = JobTable::default();
        let n = t.add(job("seq 3 | wc -l", &[5, 6], true));
        assert!(!t.get(n).unwrap().is_done());
        assert!(t.record(Pid(6), 0));
        assert!(!t.get(n).unwrap().is_done());
        assert_eq!(t.get(n).unwrap().live_pids(), vec![Pid(5)]);
        assert!(t.record(Pid(5), 141));
        assert!(!t.record(Pid(5), 1), "a pid is filed once");
        assert!(!t.record(Pid(7), 1));
        assert_eq!(t.get(n).unwrap().status(), Some(0));
        assert_eq!(t.get(n).unwrap().status_of(Pid(5)), Some(141));
        let n = t.add(Job::new(
            "nosuch | cat".into(),
            vec![Proc::running(Pid(8)), Proc::failed(127)],
            None,
            true,
        ));
        assert_eq!(t.get(n).unwrap().status(), None);
        t.record(Pid(8), 0);
        assert_eq!(t.get(n).unwrap().status(), Some(127));
    }

    #[test]
    fn the_table_files_a_reaped_pid_into_its_job() {
        let mut t = JobTable::default();
        let a = t.add(job("a | b", &[10, 11], true));
        let b = t.add(job("c", &[12], false));
        assert!(t.record(Pid(12), 3));
        assert!(!t.record(Pid(99), 0));
        assert_eq!(t.get(b).unwrap().status(), Some(3));
        assert_eq!(t.get(a).unwrap().status(), None);
        t.abandon();
        assert_eq!(t.get(a).unwrap().status(), Some(127));
    }

    #[test]
    fn statuses_are_described_as_bash_does() {
        assert_eq!(describe(None), "Running");
        assert_eq!(describe(Some(0)), "Done");
        assert_eq!(describe(Some(1)), "Exit 1");
        assert_eq!(describe(Some(127)), "Exit 127");
        assert_eq!(describe(Some(137)), "Killed");
        assert_eq!(describe(Some(143)), "Terminated");
        assert_eq!(describe(Some(130)), "Interrupt");
        assert_eq!(describe(Some(129)), "Hangup");
        assert_eq!(describe(Some(131)), "Quit");
        assert_eq!(describe(Some(140)), "Exit 140");
    }

    #[test]
    fn job_lines_use_bashs_layout() {
        let mut t = JobTable::default();
        let n = t.add(job("pingpong 1000000", &[42], true));
        assert_eq!(
            t.line(n).unwrap(),
            "[1]+  Running                 pingpong 1000000 &"
        );
        let n = t.add(job("seq 3 | wc -l", &[43, 44], true));
        t.record(Pid(43), 0);
        t.record(Pid(44), 0);
        assert_eq!(
            t.line(n).unwrap(),
            "[2]+  Done                    seq 3 | wc -l"
        );
        assert_eq!(
            t.line(1).unwrap(),
            "[1]-  Running                 pingpong 1000000 &"
        );
        let mut j = job("false", &[45], true);
        j.number = 7;
        j.record_stage(0, 1);
        assert_eq!(job_line(&j, ' '), "[7]   Exit 1                  false");
    }

    #[test]
    fn marks_follow_the_most_recent_background_jobs() {
        let mut t = JobTable::default();
        let a = t.add(job("a", &[1], true));
        assert_eq!(t.mark(a), '+');
        let fg = t.add(job("fg", &[2], false));
        assert_eq!(t.mark(a), '+', "a foreground job is never current");
        assert_eq!(t.mark(fg), ' ');
        let b = t.add(job("b", &[3], true));
        let c = t.add(job("c", &[4], true));
        assert_eq!((t.mark(a), t.mark(b), t.mark(c)), (' ', '-', '+'));
        t.remove(c);
        assert_eq!((t.mark(a), t.mark(b)), ('-', '+'));
        t.make_foreground(b);
        assert_eq!(t.mark(a), '+');
        assert_eq!(t.resolve("%%"), Ok(a));
    }

    #[test]
    fn job_specs_name_background_jobs() {
        let mut t = JobTable::default();
        let sleep = t.add(job("sleep 100", &[1], true));
        let fg = t.add(job("cat", &[2], false));
        let seq = t.add(job("seq 3 | wc -l", &[3, 4], true));
        assert_eq!(t.resolve("%1"), Ok(sleep));
        assert_eq!(t.resolve(&format!("%{seq}")), Ok(seq));
        assert_eq!(t.resolve(&format!("%{fg}")), Err(SpecError::NoSuchJob));
        assert_eq!(t.resolve("%9"), Err(SpecError::NoSuchJob));
        assert_eq!(
            t.resolve("%99999999999999999999999"),
            Err(SpecError::NoSuchJob)
        );
        assert_eq!(t.resolve("%%"), Ok(seq));
        assert_eq!(t.resolve("%+"), Ok(seq));
        assert_eq!(t.resolve("%"), Ok(seq));
        assert_eq!(t.resolve("%-"), Ok(sleep));
        assert_eq!(t.resolve("%sle"), Ok(sleep));
        assert_eq!(t.resolve("%?wc"), Ok(seq));
        assert_eq!(t.resolve("%?e"), Err(SpecError::Ambiguous));
        assert_eq!(t.resolve("%cat"), Err(SpecError::NoSuchJob));
        assert_eq!(t.resolve("1"), Err(SpecError::NoSuchJob));
        assert_eq!(t.by_pid(Pid(4)), Some(seq));
        assert_eq!(t.by_pid(Pid(2)), None);
        assert_eq!(JobTable::default().resolve("%%"), Err(SpecError::NoSuchJob));
    }

    #[test]
    fn take_finished_reports_done_background_jobs_once() {
        let mut t = JobTable::default();
        let a = t.add(job("seq 3 | wc -l", &[1, 2], true));
        let b = t.add(job("sleep 1", &[3], true));
        let fg = t.add(job("echo", &[4], false));
        t.record(Pid(1), 0);
        t.record(Pid(4), 0);
        assert!(t.take_finished().is_empty());
        t.record(Pid(2), 0);
        assert_eq!(
            t.take_finished(),
            vec!["[1]-  Done                    seq 3 | wc -l".to_string()]
        );
        assert!(t.get(a).is_none());
        assert!(t.get(fg).is_some(), "foreground jobs are the waiter's");
        t.record(Pid(3), 143);
        assert_eq!(
            t.take_finished(),
            vec!["[2]+  Terminated              sleep 1".to_string()]
        );
        assert!(t.get(b).is_none());
        assert!(t.take_finished().is_empty());
    }

    /// A job without a group of its own, as a shell without job control
    /// starts them.
    fn groupless(text: &str, pids: &[u32]) -> Job {
        Job {
            pgid: None,
            ..job(text, pids, true)
        }
    }

    #[test]
    fn kill_job_specs_become_the_jobs_group() {
        let mut t = JobTable::default();
        t.add(job("pingpong 1000000", &[42], true));
        t.add(job("seq 9 | wc -l", &[43, 44], true));
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "%1"]), &t),
            Ok(strings(&["kill", "--", "-42"]))
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "-9", "%2", "%1"]), &t),
            Ok(strings(&["kill", "-9", "--", "-43", "-42"]))
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "-s", "KILL", "%1"]), &t),
            Ok(strings(&["kill", "-s", "KILL", "-42"])),
            "after an operand-like word kill reads -N as an operand"
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "7", "%1"]), &t),
            Ok(strings(&["kill", "7", "-42"]))
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "--", "%1"]), &t),
            Ok(strings(&["kill", "--", "-42"]))
        );
    }

    #[test]
    fn kill_job_specs_without_a_group_become_the_jobs_live_pids() {
        let mut t = JobTable::default();
        t.add(groupless("pingpong 1000000", &[42]));
        t.add(groupless("seq 9 | wc -l", &[43, 44]));
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "%1"]), &t),
            Ok(strings(&["kill", "42"]))
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "-9", "%2", "7", "%%"]), &t),
            Ok(strings(&["kill", "-9", "43", "44", "7", "43", "44"]))
        );
        t.record(Pid(43), 0);
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "%2"]), &t),
            Ok(strings(&["kill", "44"]))
        );
        t.record(Pid(44), 0);
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "%2"]), &t),
            Ok(strings(&["kill", "43", "44"])),
            "a finished job's pids: kill reports them gone"
        );
        assert_eq!(
            expand_jobspecs(&strings(&["kill", "%3"]), &t),
            Err("kill: %3: no such job".to_string())
        );
    }

    #[test]
    fn a_subshell_snapshot_keeps_background_jobs_only() {
        let mut t = JobTable::default();
        t.add(job("bg", &[1], true));
        t.add(job("fg", &[2], false));
        let snap = t.background_snapshot();
        assert_eq!(snap.background().count(), 1);
        assert!(snap.get(2).is_none());
        assert_eq!(snap.resolve("%%"), Ok(1));
    }

    /// `n` background jobs of one task each, pids from 10 up.
    fn many(n: u32) -> JobTable {
        let mut t = JobTable::default();
        for pid in 10..10 + n {
            t.add(job("sleep 1", &[pid], true));
        }
        t
    }

    #[test]
    fn waiting_for_many_background_jobs_looks_at_each_a_few_times() {
        // Issue 11: `wait` after 64,000 `sleep 1 &` took 20.8 s: each pid
        // reaped was looked for from the start of the table, and then the
        // table was searched for a job still running.
        let n = 10_000;
        let mut t = many(n);
        t.visits.set(0);
        // What `wait` does: reap until no background job runs (the kernel
        // gives the pids oldest first), then forget the finished jobs.
        let mut pids = 10..10 + n;
        while t.any_running() {
            let pid = pids.next().expect("a running job has a task to reap");
            assert!(t.record(Pid(pid), 0));
        }
        let done: Vec<usize> = t.background().map(|j| j.number).collect();
        for number in done {
            if t.get(number).is_some_and(Job::is_done) {
                t.remove(number);
            }
        }
        assert_eq!(t.background().count(), 0);
        let visits = t.visits.get();
        assert!(visits <= 10 * n as usize, "{visits} visits for {n} jobs");
    }

    #[test]
    fn one_job_ending_among_many_is_filed_and_reported_without_a_search() {
        let n = 10_000;
        let mut t = many(n);
        t.visits.set(0);
        assert!(t.record(Pid(10 + n / 2), 0));
        assert!(t.any_running());
        assert_eq!(
            t.take_finished(),
            vec![format!("[{}]   Done                    sleep 1", n / 2 + 1)]
        );
        assert_eq!(t.by_pid(Pid(10 + n / 2)), None);
        assert_eq!(t.by_pid(Pid(10)), Some(1));
        let visits = t.visits.get();
        assert!(visits <= 10, "{visits} visits among {n} jobs");
    }

    #[test]
    fn a_pid_given_again_belongs_to_its_new_job() {
        let mut t = JobTable::default();
        let old = t.add(job("a", &[7], true));
        t.record(Pid(7), 0);
        let new = t.add(job("b", &[7], true));
        t.remove(old);
        assert_eq!(t.by_pid(Pid(7)), Some(new));
        assert!(t.record(Pid(7), 1));
        assert_eq!(t.get(new).unwrap().status(), Some(1));
    }
}
