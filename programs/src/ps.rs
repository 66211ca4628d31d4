//! `ps`: a snapshot of every task, one row each, as a table:
//! `PID PPID STATE SCHED SYSCALLS CPU COMMAND`.

use std::time::Duration;

use syscalls::{ExitCode, Sys, TaskInfo};

use crate::fail;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "ps",
    "Usage: ps [-m]\n\
     Report a snapshot of every task.\n\
     \n\
     Columns:\n\
     \x20 PID       the task's id\n\
     \x20 PPID      its parent's id\n\
     \x20 STATE     what it is doing (ready, running, reading fd 0, zombie (0), ...);\n\
     \x20           [hogged 2.5s] after it: the task once ran 2.5 s without a\n\
     \x20           system call, past the watchdog's limit (coos --watchdog), and\n\
     \x20           meanwhile coos could do nothing else\n\
     \x20 SCHED     how many times the scheduler ran it\n\
     \x20 SYSCALLS  how many system calls it made\n\
     \x20 CPU       host CPU time spent running it, as M:SS.mmm\n\
     \x20 COMMAND   its arguments\n\
     \n\
     \x20 -m, --memory   then a line on coos's memory: resident now and at its\n\
     \x20                peak, and what the kernel's own tables hold (task slots,\n\
     \x20                pid index, pipes, sockets), given back once most of it\n\
     \x20                is free\n\
     \x20     --help     display this help and exit\n",
    &[Opt::flag('m', "memory")],
);

/// Prints the table; status 1 on an operand or a failed write.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    if let Err(status) = SPEC.at_most(&sys, &args.operands, 0).await {
        return status;
    }
    let tasks = sys.tasks().await;
    let mut out = table(&tasks);
    if args.opts.iter().any(|(o, _)| *o == 'm') {
        out.push_str(&memory(&sys.usage().await));
    }
    match sys.print(&out).await {
        Ok(()) => 0,
        Err(errno) => fail::write_error(&sys, SPEC.name, errno).await,
    }
}

/// CPU time as `ps` shows it: minutes, seconds and milliseconds.
fn cpu(time: Duration) -> String {
    let ms = time.as_millis();
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

/// The memory line of `ps -m`.
fn memory(usage: &syscalls::Usage) -> String {
    let mb = |kb: u64| kb as f64 / 1024.0;
    format!(
        "memory: {:.1} MB resident (peak {:.1} MB); kernel tables {:.1} MB, {} task slots\n",
        mb(usage.rss_kb),
        mb(usage.peak_rss_kb),
        mb(usage.kernel_kb),
        usage.task_slots
    )
}

/// STATE: what the task does, and whether it ever hogged the kernel.
fn state(task: &TaskInfo) -> String {
    match task.hogged {
        Some(time) => format!("{} [hogged {:.1}s]", task.state, time.as_secs_f64()),
        None => task.state.to_string(),
    }
}

/// The table: numbers right-aligned, STATE left-aligned, COMMAND last and
/// unpadded; each column as wide as its widest cell.
fn table(tasks: &[TaskInfo]) -> String {
    const HEADER: [&str; 7] = [
        "PID", "PPID", "STATE", "SCHED", "SYSCALLS", "CPU", "COMMAND",
    ];
    let rows: Vec<[String; 7]> = tasks
        .iter()
        .map(|t| {
            let command = if t.args.is_empty() {
                "?".to_string()
            } else {
                t.args.join(" ")
            };
            [
                t.pid.to_string(),
                t.ppid.to_string(),
                state(t),
                t.scheduled.to_string(),
                t.syscalls.to_string(),
                cpu(t.cpu),
                command,
            ]
        })
        .collect();
    // PID and PPID at least 5 wide, as in procps.
    let mut widths = [5, 5, 0, 0, 0, 0, 0];
    for (i, w) in widths.iter_mut().enumerate() {
        *w = rows
            .iter()
            .map(|r| r[i].len())
            .chain([HEADER[i].len(), *w])
            .max()
            .unwrap_or(0);
    }
    let mut out = String::new();
    let header = HEADER.map(String::from);
    for row in std::iter::once(&header).chain(&rows) {
        let [pid, ppid, state, sched, calls, cpu, command] = row;
        out.push_str(&format!(
            "{pid:>0$} {ppid:>1$} {state:<2$} {sched:>3$} {calls:>4$} {cpu:>5$} {command}\n",
            widths[0], widths[1], widths[2], widths[3], widths[4], widths[5],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;
    use syscalls::{Command, Fd, FdMap, Pid, TaskState};

    #[test]
    fn cpu_time_reads_minutes_seconds_milliseconds() {
        assert_eq!(cpu(Duration::ZERO), "0:00.000");
        assert_eq!(cpu(Duration::from_micros(1_234_567)), "0:01.234");
        assert_eq!(cpu(Duration::from_secs(125)), "2:05.000");
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let task = |pid, ppid, state, args: &[&str]| TaskInfo {
            pid: Pid(pid),
            ppid: Pid(ppid),
            pgid: Pid(pid),
            args: args.iter().map(|s| s.to_string()).collect(),
            state,
            scheduled: 12,
            syscalls: 345,
            cpu: Duration::from_millis(7),
            hogged: None,
        };
        let table = table(&[
            task(1, 0, TaskState::Waiting(None), &["init"]),
            task(12, 1, TaskState::Reading(Fd(0)), &["grep", "-v", "x"]),
        ]);
        assert_eq!(
            table,
            "  PID  PPID STATE               SCHED SYSCALLS      CPU COMMAND\n\
             \x20   1     0 waiting for a child    12      345 0:00.007 init\n\
             \x20  12     1 reading fd 0           12      345 0:00.007 grep -v x\n"
        );
    }

    #[test]
    fn a_task_that_hogged_the_kernel_is_marked_in_state() {
        let task = TaskInfo {
            pid: Pid(31),
            ppid: Pid(1),
            pgid: Pid(31),
            args: vec!["busy".to_string(), "3".to_string()],
            state: TaskState::Ready,
            scheduled: 2,
            syscalls: 1,
            cpu: Duration::from_millis(2_512),
            hogged: Some(Duration::from_millis(2_504)),
        };
        let table = table(&[task]);
        assert!(
            table.contains("   31     1 ready [hogged 2.5s] "),
            "{table}"
        );
    }

    #[test]
    fn ps_shows_itself_running_and_its_siblings() {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let sleeper = sys
                .spawn("sleep", ["5"], FdMap::stdio())
                .await
                .expect("spawn");
            let ps = sys
                .spawn("ps", Vec::<String>::new(), FdMap::stdio())
                .await
                .expect("spawn");
            let (_, status) = sys.wait(ps).await.expect("wait");
            sys.wait(sleeper).await.expect("wait");
            status
        });
        assert_eq!(out.status, Some(0));
        let lines: Vec<&str> = out.stdout.lines().collect();
        // init (pid 1), the test (2), sleep (3) and ps (4).
        assert_eq!(lines.len(), 5, "{}", out.stdout);
        assert!(lines[0].starts_with("  PID  PPID STATE"));
        assert!(lines[1].starts_with("    1     0 ") && lines[1].ends_with(" init"));
        assert!(lines[2].contains(" waiting for pid 4 ") && lines[2].ends_with(" test"));
        assert!(lines[3].contains(" sleeping until 5.000s ") && lines[3].ends_with(" sleep 5"));
        assert!(lines[4].contains(" running ") && lines[4].ends_with(" ps"));
    }

    /// The SCHED, SYSCALLS and CPU cells of `name`'s row in `table`.
    fn counters(table: &str, name: &str) -> (u64, u64, String) {
        let row = table
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        let [.., sched, calls, cpu, _] = cells.as_slice() else {
            panic!("a short row: {row}");
        };
        let number = |cell: &str| cell.parse().unwrap_or_else(|_| panic!("{cell} in {row}"));
        (number(sched), number(calls), cpu.to_string())
    }

    #[test]
    fn ps_counts_the_turns_calls_and_cpu_time_of_a_task() {
        // A worker yields ten times (eleven turns, ten calls at least),
        // computes for 20 ms of host time in one turn, tells the test by a
        // pipe, and sleeps; then ps looks at it. CPU time is real (the
        // host's clock) even on the virtual clock: it is only checked to
        // be there, never how much, which depends on the machine.
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let (r, w) = sys.pipe().await.expect("pipe");
            let worker = Command::from_fn(|sys| async move {
                for _ in 0..10 {
                    sys.yield_now().await;
                }
                let start = std::time::Instant::now();
                let mut sum = 0u64;
                while start.elapsed() < Duration::from_millis(20) {
                    sum = std::hint::black_box(sum.wrapping_add(1));
                }
                let _ = sys.write(Fd::STDOUT, b"x").await;
                let _ = sys.sleep(Duration::from_secs(1000)).await;
                0
            })
            .name("worker")
            .fds(FdMap::stdio().set(Fd::STDOUT, w))
            .spawn(&sys)
            .await
            .expect("spawn");
            sys.close(w).await.expect("close");
            assert_eq!(sys.read(r, &mut [0u8; 1]).await, Ok(1));
            let ps = sys
                .spawn("ps", Vec::<String>::new(), FdMap::stdio())
                .await
                .expect("spawn");
            let (_, status) = sys.wait(ps).await.expect("wait");
            sys.kill(worker, syscalls::Signal::Kill)
                .await
                .expect("kill");
            sys.wait(worker).await.expect("wait");
            status
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let (sched, calls, cpu) = counters(&out.stdout, "worker");
        assert!(sched >= 11, "SCHED {sched}:\n{}", out.stdout);
        assert!(calls >= 12, "SYSCALLS {calls}:\n{}", out.stdout);
        assert_ne!(cpu, "0:00.000", "CPU:\n{}", out.stdout);
    }

    #[test]
    fn ps_m_adds_a_line_on_memory() {
        let usage = syscalls::Usage {
            rss_kb: 10 * 1024,
            peak_rss_kb: 1_000 * 1024,
            kernel_kb: 512,
            task_slots: 16,
        };
        assert_eq!(
            memory(&usage),
            "memory: 10.0 MB resident (peak 1000.0 MB); kernel tables 0.5 MB, 16 task slots\n"
        );
        let out = run(&["ps", "-m"], "");
        assert_eq!(out.status, Some(0));
        assert!(
            out.stdout.lines().last().unwrap().starts_with("memory: "),
            "{}",
            out.stdout
        );
    }

    #[test]
    fn ps_takes_no_operands() {
        let out = run(&["ps", "x"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "ps: extra operand 'x'\nTry 'ps --help' for more information.\n"
        );
    }
}
