//! `primes [N]`: the concurrent prime sieve (McIlroy's, as Hoare's CSP and
//! Go's tutorial tell it), one task per prime.
//!
//! ```text
//!   generator ──2,3,4,5,…──▶ filter 2 ──3,5,7,9,…──▶ filter 3 ──5,7,11,…──▶ filter 5 ──▶ …
//!                             prints 2                prints 3                prints 5
//! ```
//!
//! The generator writes 2..=N into a pipe. A filter's first number is its
//! prime: it prints it, then passes on every later number its prime does
//! not divide, to a filter it spawns when the first such number comes. Every
//! task waits for the one it started, so all are reaped when `primes` ends.
//!
//! Numbers travel as 8-byte little-endian records, many per write: the cost
//! of a system call is spread over hundreds of numbers.

use syscalls::{Command, ExitCode, Fd, FdMap, Pid, Sys, SysResult};

use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "primes",
    "Usage: primes [N]\n\
     Print the primes up to N (default 100), one per line, with the\n\
     concurrent prime sieve: a generator task feeds 2..N into a pipeline of\n\
     filter tasks, one per prime found, connected by pipes.\n\
     \n\
     \x20     --help     display this help and exit\n",
    &[],
);

/// N when none is given.
const DEFAULT_LIMIT: u64 = 100;
/// Bytes per number on the pipes.
const RECORD: usize = 8;
/// Numbers per write: 512 records are 4 KiB.
const BATCH: usize = 512;

/// Runs the sieve; status 0, or 1 if a task could not be started (the
/// primes found up to then are printed), or a filter's failure status.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let limit = match SPEC
        .optional_number(&sys, &args.operands, DEFAULT_LIMIT)
        .await
    {
        Ok(n) => n,
        Err(status) => return status,
    };
    let (r, w) = match sys.pipe().await {
        Ok(ends) => ends,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "pipe", errno).await,
    };
    let generator = Command::from_fn(move |sys| generate(sys, limit))
        .name(SPEC.name)
        .arg("generator")
        .fds(
            FdMap::empty()
                .set(Fd::STDOUT, w)
                .set(Fd::STDERR, Fd::STDERR),
        )
        .spawn(&sys)
        .await;
    let first = match &generator {
        Ok(_) => Command::from_fn(filter_task)
            .name(SPEC.name)
            .arg("filter")
            .arg("2")
            .fds(FdMap::stdio().set(Fd::STDIN, r))
            .spawn(&sys)
            .await
            .map_err(|errno| ("cannot start a filter", errno)),
        Err(errno) => Err(("cannot start the generator", *errno)),
    };
    // The children hold the pipe now; with our ends closed, end-of-file and
    // EPIPE reach them when the other side goes.
    let _ = sys.close(r).await;
    let _ = sys.close(w).await;
    let mut status = 0;
    if let Err((what, errno)) = first {
        status = fail::call_failed(&sys, SPEC.name, what, errno).await;
    }
    for pid in [generator.ok(), first.ok()].into_iter().flatten() {
        match sys.wait(pid).await {
            Ok((_, 0)) => {}
            Ok((_, code)) => status = code,
            Err(errno) => status = fail::call_failed(&sys, SPEC.name, "wait", errno).await,
        }
    }
    status
}

/// The generator: writes 2..=limit to standard output. A reader that went
/// away ends it quietly.
async fn generate(sys: Sys, limit: u64) -> ExitCode {
    let mut batch = Vec::with_capacity(BATCH * RECORD);
    for n in 2..=limit {
        batch.extend_from_slice(&n.to_le_bytes());
        if batch.len() == BATCH * RECORD || n == limit {
            if let Err(errno) = sys.write_all(Fd::STDOUT, &batch).await {
                return fail::source_write_error(&sys, SPEC.name, errno).await;
            }
            batch.clear();
        }
    }
    0
}

/// `filter` as a task's entry point (a named future type, so that a filter
/// can start the next one).
fn filter_task(sys: Sys) -> syscalls::TaskFuture {
    Box::pin(filter(sys))
}

/// A filter: standard input brings numbers; the first is a prime, printed
/// on standard output; the rest that it does not divide go to the next
/// filter. Ends with its own failure, or else the next filter's status.
async fn filter(sys: Sys) -> ExitCode {
    let mut input = Records::new(&sys, Fd::STDIN);
    let prime = match input.next().await {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "read", errno).await,
    };
    if let Err(errno) = sys.print(&format!("{prime}\n")).await {
        return fail::source_write_error(&sys, SPEC.name, errno).await;
    }
    let mut next: Option<Next> = None;
    let mut status = 0;
    loop {
        let n = match input.next().await {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(errno) => {
                status = fail::call_failed(&sys, SPEC.name, "read", errno).await;
                break;
            }
        };
        if n % prime == 0 {
            continue;
        }
        let downstream = match next {
            Some(ref mut started) => started,
            None => match Next::start(&sys, n).await {
                Ok(started) => next.insert(started),
                Err(errno) => {
                    let what = format!("cannot start a filter for {n}");
                    status = fail::call_failed(&sys, SPEC.name, &what, errno).await;
                    break;
                }
            },
        };
        if let Err(errno) = downstream.send(n).await {
            // The rest of the pipeline is gone (its output's reader left):
            // stop quietly, as a source does.
            status = fail::source_write_error(&sys, SPEC.name, errno).await;
            break;
        }
    }
    match next {
        Some(downstream) => match downstream.finish().await {
            Ok(0) => status,
            Ok(code) => code,
            Err(errno) => fail::call_failed(&sys, SPEC.name, "wait", errno).await,
        },
        None => status,
    }
}

/// The next filter, and the batch of numbers on their way to it.
struct Next {
    sys: Sys,
    pid: Pid,
    pipe: Fd,
    batch: Vec<u8>,
}

impl Next {
    /// Starts the filter whose prime is `prime` (the first number it gets).
    async fn start(sys: &Sys, prime: u64) -> SysResult<Next> {
        let (r, w) = sys.pipe().await?;
        let spawned = Command::from_fn(filter_task)
            .name(SPEC.name)
            .arg("filter")
            .arg(prime.to_string())
            .fds(FdMap::stdio().set(Fd::STDIN, r))
            .spawn(sys)
            .await;
        let _ = sys.close(r).await;
        match spawned {
            Ok(pid) => Ok(Next {
                sys: sys.clone(),
                pid,
                pipe: w,
                batch: Vec::with_capacity(BATCH * RECORD),
            }),
            Err(errno) => {
                let _ = sys.close(w).await;
                Err(errno)
            }
        }
    }

    /// Queues `n`, writing the batch when it is full.
    async fn send(&mut self, n: u64) -> SysResult<()> {
        self.batch.extend_from_slice(&n.to_le_bytes());
        if self.batch.len() == BATCH * RECORD {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> SysResult<()> {
        let result = self.sys.write_all(self.pipe, &self.batch).await;
        self.batch.clear();
        result
    }

    /// Sends what is left, closes the pipe (end-of-file for the next
    /// filter) and reaps it: its status.
    async fn finish(mut self) -> SysResult<ExitCode> {
        // A failed flush means the next filter is gone: it still gets reaped.
        let _ = self.flush().await;
        let _ = self.sys.close(self.pipe).await;
        let (_, status) = self.sys.wait(self.pid).await?;
        Ok(status)
    }
}

/// 8-byte records from a descriptor, read many at a time. A record split
/// across two reads is put back together (only one task reads a sieve pipe).
struct Records {
    sys: Sys,
    fd: Fd,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Records {
    fn new(sys: &Sys, fd: Fd) -> Records {
        Records {
            sys: sys.clone(),
            fd,
            buf: vec![0; BATCH * RECORD * 2],
            start: 0,
            end: 0,
        }
    }

    /// The next number; `None` at end-of-file (a partial last record, which
    /// no writer here makes, is dropped).
    async fn next(&mut self) -> SysResult<Option<u64>> {
        while self.end - self.start < RECORD {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let n = self.sys.read(self.fd, &mut self.buf[self.end..]).await?;
            if n == 0 {
                return Ok(None);
            }
            self.end += n;
        }
        let mut record = [0u8; RECORD];
        record.copy_from_slice(&self.buf[self.start..self.start + RECORD]);
        self.start += RECORD;
        Ok(Some(u64::from_le_bytes(record)))
    }
}

#[cfg(test)]
mod tests {
    use crate::run;
    use kernel::testing::Harness;

    /// The primes up to `n`, by trial division: what the sieve must print.
    fn expected(n: u64) -> String {
        (2..=n)
            .filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0))
            .map(|p| format!("{p}\n"))
            .collect()
    }

    #[test]
    fn the_reference_list_is_right() {
        assert_eq!(expected(30), "2\n3\n5\n7\n11\n13\n17\n19\n23\n29\n");
    }

    #[test]
    fn primes_prints_the_primes_up_to_100_by_default() {
        let out = run(&["primes"], "");
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        assert_eq!(out.stdout, expected(100));
        assert_eq!(out.stdout.lines().count(), 25);
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), [], "every task is reaped");
    }

    #[test]
    fn primes_takes_a_limit() {
        assert_eq!(run(&["primes", "1000"], "").stdout, expected(1000));
        assert_eq!(run(&["primes", "2"], "").stdout, "2\n");
        let out = run(&["primes", "1"], "");
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), ""));
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), []);
    }

    #[test]
    fn primes_stops_quietly_when_its_reader_goes_away() {
        let out =
            Harness::new(crate::registry()).pipeline(&[&["primes", "5000"], &["head", "-n", "3"]]);
        assert_eq!(out.stdout, "2\n3\n5\n");
        assert_eq!(out.statuses, [0, 0]);
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), []);
    }

    #[test]
    fn primes_reports_a_full_task_table_and_reaps_what_it_started() {
        // Room for init, primes, the generator and a few filters only (the
        // kernel counts every task, zombies too).
        let out = Harness::new(crate::registry())
            .max_tasks(6)
            .run(&["primes", "30"]);
        assert_eq!(out.status, Some(1));
        let all = expected(30);
        assert!(all.starts_with(&out.stdout) && out.stdout.len() < all.len());
        // The filter for the first prime not printed could not start.
        let missing = all[out.stdout.len()..].lines().next().unwrap();
        assert_eq!(
            out.stderr,
            format!(
                "primes: cannot start a filter for {missing}: resource temporarily unavailable\n"
            )
        );
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), []);
    }

    #[test]
    fn primes_rejects_bad_operands() {
        let out = run(&["primes", "x"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "primes: invalid number: 'x'\nTry 'primes --help' for more information.\n"
        );
        let out = run(&["primes", "1", "2"], "");
        assert_eq!(out.stderr.lines().next(), Some("primes: extra operand '2'"));
    }
}
