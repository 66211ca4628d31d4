//! `bench WORKLOAD [--n N]`: the workloads of `shared/BENCHMARKS.md`, run as
//! ordinary coos tasks (system calls and nothing else), each printing one
//! result line:
//!
//! `bench=W n=N elapsed_ms=F ns_per_op=F peak_rss_kb=K check=C cpus=1 [extra…]`
//!
//! `check` is computed by the work itself (children reaped, bytes counted,
//! hops made), so a run that skipped work shows it. Tasks of one workload
//! share counters through `Rc<Cell<_>>`, as threads of one program share
//! memory; every switch, message and wait still goes through the kernel.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, ExitCode, Fd, FdMap, Sys, SysResult, TaskFuture};

use crate::fail;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "bench",
    "Usage: bench WORKLOAD [--n N]
Run one benchmark workload of shared/BENCHMARKS.md and print its result line.

Workloads:
  spawn      one parent spawns N children that exit at once, then waits for all
  yield      1,000 tasks each yield N/1,000 times
  pingpong   two tasks bounce a 1-byte message over two pipes, N round trips
  ring       1,000 tasks in a ring of pipes pass an 8-byte token N hops
  skynet     a 10-ary tree of tasks with N leaves sums their numbers over pipes
  sleep      N tasks sleep 0..100 ms each; reports lateness percentiles
  pipe       N bytes through a pipe in 64 KiB writes
  idle       N tasks blocked reading one pipe; reports bytes per task

  -n, --n N  the size of the run (each workload has its own default)
      --help display this help and exit
",
    &[Opt::value('n', "n")],
);

/// The workloads, with their default N.
const WORKLOADS: &[(&str, u64)] = &[
    ("spawn", 1_000_000),
    ("yield", 10_000_000),
    ("pingpong", 1_000_000),
    ("ring", 1_000_000),
    ("skynet", 1_000_000),
    ("sleep", 100_000),
    ("pipe", 4 << 30),
    ("idle", 1_000_000),
];

/// The most result slots a workload reserves before it runs.
const MAX_ROOM: u64 = 1 << 20;

/// What a workload measured, before it is printed.
struct Outcome {
    /// How many operations the time is divided by.
    ops: u64,
    elapsed: Duration,
    check: u64,
    extra: String,
}

pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let [workload] = args.operands.as_slice() else {
        return SPEC.fail(&sys, "expected one WORKLOAD").await;
    };
    let Some(&(name, default_n)) = WORKLOADS.iter().find(|(w, _)| w == workload) else {
        return SPEC
            .fail(&sys, format_args!("unknown workload '{workload}'"))
            .await;
    };
    let mut n = default_n;
    for (_, value) in &args.opts {
        match value.replace('_', "").parse::<u64>() {
            Ok(v) if v > 0 => n = v,
            _ => return SPEC.fail(&sys, format_args!("invalid N: '{value}'")).await,
        }
    }
    let result = match name {
        "spawn" => spawn(&sys, n).await,
        "yield" => yields(&sys, n).await,
        "pingpong" => pingpong(&sys, n).await,
        "ring" => ring(&sys, n).await,
        "skynet" => match skynet_tasks(n) {
            Some(_) => skynet(&sys, n).await,
            None => return SPEC.fail(&sys, "skynet needs N a power of 10").await,
        },
        "sleep" => sleep(&sys, n).await,
        "pipe" => pipe(&sys, n).await,
        _ => idle(&sys, n).await,
    };
    match result {
        Ok(outcome) => {
            let usage = sys.usage().await;
            let ms = outcome.elapsed.as_secs_f64() * 1e3;
            let line = format!(
                "bench={name} n={n} elapsed_ms={ms:.3} ns_per_op={:.2} peak_rss_kb={} check={} cpus=1{}\n",
                outcome.elapsed.as_nanos() as f64 / outcome.ops.max(1) as f64,
                usage.peak_rss_kb,
                outcome.check,
                outcome.extra,
            );
            match sys.print(&line).await {
                Ok(()) => 0,
                Err(e) => fail::write_error(&sys, "bench", e).await,
            }
        }
        Err(e) => {
            fail::error(&sys, "bench", format_args!("{name}: {e}")).await;
            fail::FAILURE
        }
    }
}

/// One parent spawns N children that exit at once, then reaps every one.
async fn spawn(sys: &Sys, n: u64) -> SysResult<Outcome> {
    let start = sys.now().await;
    for _ in 0..n {
        sys.spawn_fn(|_sys| async { 0 }).await?;
    }
    let mut reaped = 0;
    while reaped < n {
        sys.wait_any().await?;
        reaped += 1;
    }
    Ok(Outcome {
        ops: n,
        elapsed: sys.now().await - start,
        check: reaped,
        extra: String::new(),
    })
}

/// 1,000 tasks each yield N/1,000 times.
async fn yields(sys: &Sys, n: u64) -> SysResult<Outcome> {
    const TASKS: u64 = 1000;
    let per = n / TASKS;
    let total = Rc::new(Cell::new(0u64));
    let start = sys.now().await;
    for _ in 0..TASKS {
        let total = total.clone();
        sys.spawn_fn(move |sys| async move {
            for _ in 0..per {
                sys.yield_now().await;
                total.set(total.get() + 1);
            }
            0
        })
        .await?;
    }
    reap_all(sys).await?;
    Ok(Outcome {
        ops: per * TASKS,
        elapsed: sys.now().await - start,
        check: total.get(),
        extra: String::new(),
    })
}

/// Two tasks joined by two pipes pass one byte back and forth N times.
async fn pingpong(sys: &Sys, n: u64) -> SysResult<Outcome> {
    let (ping_r, ping_w) = sys.pipe().await?;
    let (pong_r, pong_w) = sys.pipe().await?;
    let start = sys.now().await;
    // The echoer: stdin is the ping pipe, stdout the pong pipe.
    let echo = Command::from_fn(|sys| async move {
        let mut byte = [0u8; 1];
        while let Ok(1) = sys.read(Fd::STDIN, &mut byte).await {
            if sys.write(Fd::STDOUT, &byte).await.is_err() {
                return 1;
            }
        }
        0
    })
    .fds(
        FdMap::empty()
            .set(Fd::STDIN, ping_r)
            .set(Fd::STDOUT, pong_w),
    )
    .spawn(sys)
    .await?;
    sys.close(ping_r).await?;
    sys.close(pong_w).await?;
    let mut byte = [1u8; 1];
    let mut trips = 0;
    for _ in 0..n {
        sys.write(ping_w, &[1]).await?;
        if sys.read(pong_r, &mut byte).await? == 1 {
            trips += u64::from(byte[0]);
        }
    }
    sys.close(ping_w).await?;
    sys.wait(echo).await?;
    sys.close(pong_r).await?;
    Ok(Outcome {
        ops: n,
        elapsed: sys.now().await - start,
        check: trips,
        extra: String::new(),
    })
}

/// 1,000 tasks in a ring of pipes; an 8-byte token makes N hops. Task i
/// reads the pipe of task i-1 and writes its own; each write is a hop, and
/// the task that makes hop N stops, which ends the ring by end-of-file.
async fn ring(sys: &Sys, n: u64) -> SysResult<Outcome> {
    const TASKS: usize = 1000;
    let hops = Rc::new(Cell::new(0u64));
    let start = sys.now().await;
    // The pipe task TASKS-1 writes and task 0 reads closes the ring.
    let (last_r, last_w) = sys.pipe().await?;
    let mut input = last_r;
    for i in 0..TASKS {
        let (output, next_input) = if i + 1 == TASKS {
            (last_w, None)
        } else {
            let (r, w) = sys.pipe().await?;
            (w, Some(r))
        };
        let hops = hops.clone();
        Command::from_fn(move |sys| async move {
            let mut token = [0u8; 8];
            if i == 0 {
                // Hop 1.
                if sys.write(Fd::STDOUT, &1u64.to_le_bytes()).await.is_err() {
                    return 1;
                }
            }
            loop {
                match read_exact(&sys, Fd::STDIN, &mut token).await {
                    Ok(true) => {}
                    _ => return 0,
                }
                let seen = u64::from_le_bytes(token);
                if seen >= n {
                    hops.set(seen);
                    return 0;
                }
                if sys
                    .write(Fd::STDOUT, &(seen + 1).to_le_bytes())
                    .await
                    .is_err()
                {
                    return 1;
                }
            }
        })
        .fds(FdMap::empty().set(Fd::STDIN, input).set(Fd::STDOUT, output))
        .spawn(sys)
        .await?;
        sys.close(input).await?;
        sys.close(output).await?;
        if let Some(r) = next_input {
            input = r;
        }
    }
    reap_all(sys).await?;
    Ok(Outcome {
        ops: n,
        elapsed: sys.now().await - start,
        check: hops.get(),
        extra: String::new(),
    })
}

/// Tasks in a 10-ary tree with `leaves` leaves, or `None` if `leaves` is
/// not a power of 10.
fn skynet_tasks(leaves: u64) -> Option<u64> {
    let mut size = 1;
    let mut tasks = 0;
    while size < leaves {
        tasks += leaves / size;
        size *= 10;
    }
    (size == leaves).then_some(tasks + 1)
}

/// A 10-ary tree of tasks: each leaf writes its number as 8 bytes to the
/// pipe its parent gave it as stdout; each inner node reads its ten
/// children's numbers, writes their sum upward and waits for them.
async fn skynet(sys: &Sys, n: u64) -> SysResult<Outcome> {
    let start = sys.now().await;
    let (r, w) = sys.pipe().await?;
    let root = Command::from_future(skynet_node(sys.clone(), 0, n))
        .fds(FdMap::empty().set(Fd::STDOUT, w))
        .spawn(sys)
        .await?;
    sys.close(w).await?;
    let mut sum = [0u8; 8];
    let summed = read_exact(sys, r, &mut sum).await?;
    let (_, status) = sys.wait(root).await?;
    sys.close(r).await?;
    if !summed || status != 0 {
        // A node could not spawn its children (the task table is full at
        // the default limit for N = 1,000,000: `coos bench` raises it).
        return Err(syscalls::Errno::EAGAIN);
    }
    Ok(Outcome {
        ops: skynet_tasks(n).unwrap_or(1),
        elapsed: sys.now().await - start,
        check: u64::from_le_bytes(sum),
        extra: String::new(),
    })
}

fn skynet_node(sys: Sys, number: u64, size: u64) -> TaskFuture {
    Box::pin(async move {
        if size == 1 {
            return match sys.write(Fd::STDOUT, &number.to_le_bytes()).await {
                Ok(8) => 0,
                _ => 1,
            };
        }
        let Ok((r, w)) = sys.pipe().await else {
            return 1;
        };
        let child = size / 10;
        for i in 0..10 {
            let spawned = Command::from_future(skynet_node(sys.clone(), number + i * child, child))
                .fds(FdMap::empty().set(Fd::STDOUT, w))
                .spawn(&sys)
                .await;
            if spawned.is_err() {
                return 1;
            }
        }
        let _ = sys.close(w).await;
        // The ten numbers, 80 bytes, read as they come (a read returns
        // what the pipe holds, one number or several).
        let mut values = [0u8; 80];
        if !matches!(read_exact(&sys, r, &mut values).await, Ok(true)) {
            return 1;
        }
        let sum: u64 = values
            .chunks_exact(8)
            .map(|v| u64::from_le_bytes(v.try_into().expect("8 bytes")))
            .sum();
        if sys.write(Fd::STDOUT, &sum.to_le_bytes()).await.is_err() {
            return 1;
        }
        // Its ten children, as the peers wait for their ten handles.
        for _ in 0..10 {
            match sys.wait_any().await {
                Ok((_, 0)) => {}
                _ => return 1,
            }
        }
        0
    })
}

/// N tasks each sleep a duration drawn uniformly from 0..100 ms (a fixed
/// seed), then exit; reports the median and 99th percentile lateness.
async fn sleep(sys: &Sys, n: u64) -> SysResult<Outcome> {
    // Room for N up front keeps the tasks' pushes off the measured path;
    // the cap keeps a huge N (the kernel refuses that many tasks anyway)
    // from asking for more memory than there is, which aborts coos.
    let room = n.min(MAX_ROOM) as usize;
    let lateness = Rc::new(RefCell::new(Vec::with_capacity(room)));
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let start = sys.now().await;
    for _ in 0..n {
        // xorshift64, as the peers draw their durations.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let nap = Duration::from_micros(seed % 100_000);
        let lateness = lateness.clone();
        sys.spawn_fn(move |sys| async move {
            let deadline = sys.now().await + nap;
            if sys.sleep(nap).await.is_err() {
                return 1;
            }
            let late = sys.now().await.saturating_sub(deadline);
            lateness.borrow_mut().push(late.as_micros() as u64);
            0
        })
        .await?;
    }
    let reaped = reap_all(sys).await?;
    let elapsed = sys.now().await - start;
    let mut late = lateness.take();
    late.sort_unstable();
    let at = |q: usize| late.get(late.len() * q / 100).copied().unwrap_or(0);
    Ok(Outcome {
        ops: n,
        elapsed,
        check: reaped,
        extra: format!(" late_p50_us={} late_p99_us={}", at(50), at(99)),
    })
}

/// One task writes N bytes in 64 KiB writes into a pipe; another reads and
/// counts them.
async fn pipe(sys: &Sys, n: u64) -> SysResult<Outcome> {
    const CHUNK: usize = 64 * 1024;
    let (r, w) = sys.pipe().await?;
    let start = sys.now().await;
    let writer = Command::from_fn(move |sys| async move {
        let chunk = vec![7u8; CHUNK];
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK as u64) as usize;
            if sys.write_all(Fd::STDOUT, &chunk[..k]).await.is_err() {
                return 1;
            }
            left -= k as u64;
        }
        0
    })
    .fds(FdMap::empty().set(Fd::STDOUT, w))
    .spawn(sys)
    .await?;
    sys.close(w).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let k = sys.read(r, &mut buf).await?;
        if k == 0 {
            break;
        }
        total += k as u64;
    }
    sys.wait(writer).await?;
    sys.close(r).await?;
    let elapsed = sys.now().await - start;
    Ok(Outcome {
        ops: n,
        elapsed,
        check: total,
        extra: format!(" gb_per_s={:.3}", n as f64 / elapsed.as_secs_f64() / 1e9),
    })
}

/// N tasks block reading one shared empty pipe; the memory they add is
/// reported per task; then end-of-file releases them all.
async fn idle(sys: &Sys, n: u64) -> SysResult<Outcome> {
    let (r, w) = sys.pipe().await?;
    let baseline = sys.usage().await.rss_kb;
    let start = sys.now().await;
    for _ in 0..n {
        Command::from_fn(|sys| async move {
            let mut byte = [0u8; 1];
            match sys.read(Fd::STDIN, &mut byte).await {
                Ok(0) => 0,
                _ => 1,
            }
        })
        .fds(FdMap::empty().set(Fd::STDIN, r))
        .spawn(sys)
        .await?;
    }
    // Yield until every reader has run and blocked: a yield goes behind
    // every ready task, so once the tasks are all parked one yield is a
    // full round.
    sys.yield_now().await;
    sys.yield_now().await;
    let usage = sys.usage().await;
    let per_task = (usage.peak_rss_kb.max(usage.rss_kb).saturating_sub(baseline)) * 1024 / n;
    sys.close(w).await?;
    sys.close(r).await?;
    let reaped = reap_all(sys).await?;
    Ok(Outcome {
        ops: n,
        elapsed: sys.now().await - start,
        check: reaped,
        extra: format!(" bytes_per_task={per_task}"),
    })
}

/// Reads exactly `buf.len()` bytes: `Ok(false)` at end-of-file first.
async fn read_exact(sys: &Sys, fd: Fd, buf: &mut [u8]) -> SysResult<bool> {
    let mut got = 0;
    while got < buf.len() {
        let k = sys.read(fd, &mut buf[got..]).await?;
        if k == 0 {
            return Ok(false);
        }
        got += k;
    }
    Ok(true)
}

/// Waits for every child; returns how many were reaped, and fails if one
/// of them failed.
async fn reap_all(sys: &Sys) -> SysResult<u64> {
    let mut reaped = 0;
    loop {
        match sys.wait_any().await {
            Ok((_, 0)) => reaped += 1,
            Ok((pid, status)) => {
                let _ = sys
                    .eprint(&format!("bench: task {pid} failed with status {status}\n"))
                    .await;
                return Err(syscalls::Errno::EIO);
            }
            Err(syscalls::Errno::ECHILD) => return Ok(reaped),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skynet_counts_every_task_of_the_tree() {
        assert_eq!(skynet_tasks(1), Some(1));
        assert_eq!(skynet_tasks(10), Some(11));
        assert_eq!(skynet_tasks(1_000_000), Some(1_111_111));
        assert_eq!(skynet_tasks(20), None);
    }

    #[test]
    fn bench_sleep_with_a_huge_n_fails_without_taking_coos_down() {
        // Hostile: an N whose results would need petabytes.
        let out = kernel::testing::Harness::new(crate::registry())
            .max_tasks(20)
            .run(&["bench", "sleep", "-n", "1000000000000000"]);
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "bench: sleep: resource temporarily unavailable\n"
        );
    }
}
