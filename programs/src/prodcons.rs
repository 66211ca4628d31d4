//! `prodcons [-p P] [-c C] [-n N] [-b B]`: P producer tasks and C consumer
//! tasks share ONE pipe; the producers put the items 1..=N into it, the
//! consumers take them out, and the check is that every item was consumed
//! exactly once.
//!
//! ```text
//!   producer 1 ─┐                     ┌─▶ consumer 1 ─┐
//!   producer 2 ─┼──▶ the shared pipe ─┼─▶ consumer 2 ─┼──▶ results pipe ──▶ prodcons
//!   producer P ─┘                     └─▶ consumer C ─┘
//! ```
//!
//! # Why records stay whole
//!
//! Items are 8-byte little-endian records. With several readers, a read
//! that returned part of a record would hand the rest to another consumer,
//! so the design leans on the Unix `PIPE_BUF` rule, which the coos kernel
//! keeps: a write of at most [`PIPE_BUF`] bytes to a pipe is never split
//! (it waits for room for all of it), and a read returns whatever is
//! buffered, up to its length. Producers write whole batches of records of
//! at most `PIPE_BUF` bytes in one `write`, so the pipe only ever holds
//! whole records; consumers read into buffers whose size is a multiple of
//! 8, so every read returns whole records.
//!
//! The program does not take the rule on faith: a producer counts writes
//! the kernel split, a consumer counts reads that ended inside a record
//! (and completes the record, which may then be another consumer's bytes),
//! and both are reported. The end check — count, sum, and an
//! order-independent hash of the items — fails if a record was torn, lost
//! or duplicated.
//!
//! Consumers report their counts, sums and hashes over a second pipe, one
//! 48-byte record each (whole by the same rule).

use syscalls::{Command, ExitCode, Fd, FdMap, Sys, SysResult};

use crate::fail;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "prodcons",
    "Usage: prodcons [-p P] [-c C] [-n N] [-b B]\n\
     Run P producer tasks and C consumer tasks sharing one pipe: the producers\n\
     write the items 1..N, the consumers read them, and the program checks\n\
     that every item was consumed exactly once.\n\
     \n\
     \x20 -p, --producers=P   producer tasks (default 2)\n\
     \x20 -c, --consumers=C   consumer tasks (default 2)\n\
     \x20 -n, --items=N       items in all (default 10000)\n\
     \x20 -b, --batch=B       items per write, 1 to 512 (default 64)\n\
     \x20     --help          display this help and exit\n\
     \n\
     Exit status is 0 if the check passes, 1 otherwise.\n",
    &[
        Opt::value('p', "producers"),
        Opt::value('c', "consumers"),
        Opt::value('n', "items"),
        Opt::value('b', "batch"),
    ],
);

/// Bytes per item.
const RECORD: usize = 8;
/// The largest write a pipe never splits (the Unix `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;
/// Most tasks of one kind: a sanity bound, far above what is useful.
const MAX_TASKS: u64 = 1000;
/// Where a consumer writes its report.
const RESULTS: Fd = Fd(3);
/// A consumer's report: index, count, sum, hash, torn reads, and the
/// number of reads that brought items.
const REPORT: usize = 6 * 8;

/// The run's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Config {
    producers: u64,
    consumers: u64,
    items: u64,
    batch: usize,
}

impl Config {
    /// From the options; `Err` is the usage error's message.
    fn new(opts: &[(char, String)]) -> Result<Config, String> {
        let mut config = Config {
            producers: 2,
            consumers: 2,
            items: 10_000,
            batch: 64,
        };
        for (opt, value) in opts {
            let (what, low, high) = match opt {
                'p' => ("number of producers", 1, MAX_TASKS),
                'c' => ("number of consumers", 1, MAX_TASKS),
                'n' => ("number of items", 0, u64::MAX),
                _ => ("batch size", 1, (PIPE_BUF / RECORD) as u64),
            };
            let n = value
                .parse::<u64>()
                .ok()
                .filter(|n| (low..=high).contains(n))
                .ok_or_else(|| format!("invalid {what}: '{value}'"))?;
            match opt {
                'p' => config.producers = n,
                'c' => config.consumers = n,
                'n' => config.items = n,
                _ => config.batch = n as usize,
            }
        }
        Ok(config)
    }

    /// How many items producer `k` (0-based) makes: `k+1, k+1+P, …` up to N.
    fn share(&self, k: u64) -> u64 {
        if self.items > k {
            (self.items - k - 1) / self.producers + 1
        } else {
            0
        }
    }
}

/// Mixes an item for the hash: a sum of mixed items differs whenever the
/// multiset of items does, almost surely (splitmix64's finalizer).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a consumer took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    count: u64,
    sum: u64,
    hash: u64,
    /// Reads that ended inside a record.
    torn: u64,
    /// Reads that brought items.
    reads: u64,
}

impl Tally {
    /// Counts whole records.
    fn take(&mut self, records: &[u8]) {
        for record in records.chunks_exact(RECORD) {
            let mut bytes = [0u8; RECORD];
            bytes.copy_from_slice(record);
            let item = u64::from_le_bytes(bytes);
            self.count += 1;
            self.sum = self.sum.wrapping_add(item);
            self.hash = self.hash.wrapping_add(mix(item));
        }
    }

    fn add(&mut self, other: &Tally) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.hash = self.hash.wrapping_add(other.hash);
        self.torn += other.torn;
        self.reads += other.reads;
    }

    /// The tally of items 1..=n, taken once each.
    fn expected(n: u64) -> Tally {
        let mut t = Tally {
            count: n,
            ..Tally::default()
        };
        for item in 1..=n {
            t.sum = t.sum.wrapping_add(item);
            t.hash = t.hash.wrapping_add(mix(item));
        }
        t
    }
}

/// Runs the producers and consumers and checks what they moved.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    if let Err(status) = SPEC.at_most(&sys, &args.operands, 0).await {
        return status;
    }
    let config = match Config::new(&args.opts) {
        Ok(config) => config,
        Err(message) => return SPEC.fail(&sys, message).await,
    };
    let (data_r, data_w) = match sys.pipe().await {
        Ok(ends) => ends,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "pipe", errno).await,
    };
    let (results_r, results_w) = match sys.pipe().await {
        Ok(ends) => ends,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "pipe", errno).await,
    };

    // Consumers first, so producers never write to a pipe without readers.
    let mut status = 0;
    let mut consumers = Vec::new();
    for index in 0..config.consumers {
        let started = Command::from_fn(move |sys| consume(sys, index))
            .name(SPEC.name)
            .args(["consumer".to_string(), (index + 1).to_string()])
            .fds(
                FdMap::empty()
                    .set(Fd::STDIN, data_r)
                    .set(Fd::STDERR, Fd::STDERR)
                    .set(RESULTS, results_w),
            )
            .spawn(&sys)
            .await;
        match started {
            Ok(pid) => consumers.push(pid),
            Err(errno) => {
                status = fail::call_failed(&sys, SPEC.name, "cannot start a consumer", errno).await;
                break;
            }
        }
    }
    let mut producers = Vec::new();
    for k in 0..config.producers {
        if status != 0 {
            break;
        }
        let started = Command::from_fn(move |sys| produce(sys, config, k))
            .name(SPEC.name)
            .args(["producer".to_string(), (k + 1).to_string()])
            .fds(
                FdMap::empty()
                    .set(Fd::STDOUT, data_w)
                    .set(Fd::STDERR, Fd::STDERR),
            )
            .spawn(&sys)
            .await;
        match started {
            Ok(pid) => producers.push((pid, config.share(k))),
            Err(errno) => {
                status = fail::call_failed(&sys, SPEC.name, "cannot start a producer", errno).await
            }
        }
    }
    // The children hold the pipes now: with our ends closed, consumers see
    // end-of-file when the last producer ends, and we when the last consumer
    // does.
    for fd in [data_r, data_w, results_w] {
        let _ = sys.close(fd).await;
    }

    let reports = match read_reports(&sys, results_r, config.consumers).await {
        Ok(reports) => reports,
        Err(errno) => {
            status = fail::call_failed(&sys, SPEC.name, "read", errno).await;
            Vec::new()
        }
    };
    let _ = sys.close(results_r).await;
    let mut produced = 0;
    for (pid, share) in &producers {
        match sys.wait(*pid).await {
            Ok((_, 0)) => produced += share,
            Ok(_) => status = fail::FAILURE,
            Err(errno) => status = fail::call_failed(&sys, SPEC.name, "wait", errno).await,
        }
    }
    for pid in &consumers {
        match sys.wait(*pid).await {
            Ok((_, 0)) => {}
            Ok(_) => status = fail::FAILURE,
            Err(errno) => status = fail::call_failed(&sys, SPEC.name, "wait", errno).await,
        }
    }

    let (text, ok) = summary(&config, produced, &reports);
    if let Err(errno) = sys.print(&text).await {
        return fail::write_error(&sys, SPEC.name, errno).await;
    }
    let torn: u64 = reports.iter().flatten().map(|t| t.torn).sum();
    if torn > 0 {
        let message =
            format!("{torn} reads ended inside a record: the kernel broke the PIPE_BUF rule");
        fail::error(&sys, SPEC.name, message).await;
    }
    if ok {
        status
    } else {
        fail::FAILURE
    }
}

/// The per-consumer lines and the summary line, and whether the check
/// passed. `reports[i]` is consumer i's tally, `None` if it sent none.
fn summary(config: &Config, produced: u64, reports: &[Option<Tally>]) -> (String, bool) {
    let mut text = String::new();
    let mut total = Tally::default();
    for (i, report) in reports.iter().enumerate() {
        match report {
            Some(t) => {
                text.push_str(&format!(
                    "consumer {}: {} items in {} reads\n",
                    i + 1,
                    t.count,
                    t.reads
                ));
                total.add(t);
            }
            None => text.push_str(&format!("consumer {}: no report\n", i + 1)),
        }
    }
    let expected = Tally::expected(config.items);
    let ok = produced == config.items
        && reports.iter().all(Option::is_some)
        && total.count == expected.count
        && total.sum == expected.sum
        && total.hash == expected.hash;
    text.push_str(&format!(
        "prodcons: {produced} items produced, {} consumed, sum {}\n",
        total.count,
        if ok { "OK" } else { "MISMATCH" }
    ));
    (text, ok)
}

/// Reads the consumers' reports until end-of-file: one slot per consumer.
async fn read_reports(sys: &Sys, fd: Fd, consumers: u64) -> SysResult<Vec<Option<Tally>>> {
    let mut reports = vec![None; consumers as usize];
    let mut bytes = Vec::new();
    sys.read_to_end(fd, &mut bytes).await?;
    for report in bytes.chunks_exact(REPORT) {
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&report[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        if let Some(slot) = reports.get_mut(field(0) as usize) {
            *slot = Some(Tally {
                count: field(1),
                sum: field(2),
                hash: field(3),
                torn: field(4),
                reads: field(5),
            });
        }
    }
    Ok(reports)
}

/// Producer `k`: writes its share of the items to standard output, `batch`
/// records per write. Status 1 if the consumers are gone.
async fn produce(sys: Sys, config: Config, k: u64) -> ExitCode {
    let mut batch = Vec::with_capacity(config.batch * RECORD);
    let mut split = 0u64;
    let mut item = k + 1;
    let mut left = config.share(k);
    while left > 0 {
        batch.clear();
        while left > 0 && batch.len() < config.batch * RECORD {
            batch.extend_from_slice(&item.to_le_bytes());
            item = item.wrapping_add(config.producers);
            left -= 1;
        }
        // One write per batch: at most PIPE_BUF bytes, so never split.
        let mut rest = &batch[..];
        while !rest.is_empty() {
            match sys.write(Fd::STDOUT, rest).await {
                Ok(n) if n < rest.len() => {
                    split += 1;
                    rest = &rest[n..];
                }
                Ok(_) => rest = &[],
                Err(errno) => {
                    return fail::call_failed(
                        &sys,
                        SPEC.name,
                        &format!("producer {}", k + 1),
                        errno,
                    )
                    .await
                }
            }
        }
    }
    if split > 0 {
        let message = format!(
            "producer {}: {split} writes were split by the kernel",
            k + 1
        );
        fail::error(&sys, SPEC.name, message).await;
    }
    0
}

/// Consumer `index` (0-based): takes records from standard input until
/// end-of-file, then sends its tally to [`RESULTS`].
async fn consume(sys: Sys, index: u64) -> ExitCode {
    let what = format!("consumer {}", index + 1);
    let mut tally = Tally::default();
    // A multiple of the record size, so whole records are all a read brings.
    let mut buf = vec![0u8; PIPE_BUF];
    loop {
        let n = match sys.read(Fd::STDIN, &mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(errno) => return fail::call_failed(&sys, SPEC.name, &what, errno).await,
        };
        tally.reads += 1;
        let mut end = n;
        if n % RECORD != 0 {
            // The kernel split a record: fetch the rest of it, as honestly
            // as one can. The end check will tell whether it was ours.
            tally.torn += 1;
            end = n + RECORD - n % RECORD;
            match read_exact(&sys, Fd::STDIN, &mut buf[n..end]).await {
                Ok(true) => {}
                Ok(false) => end = n - n % RECORD,
                Err(errno) => return fail::call_failed(&sys, SPEC.name, &what, errno).await,
            }
        }
        tally.take(&buf[..end]);
    }
    let mut report = Vec::with_capacity(REPORT);
    for field in [
        index,
        tally.count,
        tally.sum,
        tally.hash,
        tally.torn,
        tally.reads,
    ] {
        report.extend_from_slice(&field.to_le_bytes());
    }
    match sys.write_all(RESULTS, &report).await {
        Ok(()) => 0,
        Err(errno) => fail::call_failed(&sys, SPEC.name, &what, errno).await,
    }
}

/// Fills `buf` from `fd`: `Ok(false)` if end-of-file came first.
async fn read_exact(sys: &Sys, fd: Fd, buf: &mut [u8]) -> SysResult<bool> {
    let mut got = 0;
    while got < buf.len() {
        let n = sys.read(fd, &mut buf[got..]).await?;
        if n == 0 {
            return Ok(false);
        }
        got += n;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;

    fn opts(list: &[(char, &str)]) -> Vec<(char, String)> {
        list.iter().map(|&(c, v)| (c, v.to_string())).collect()
    }

    #[test]
    fn options_have_defaults_and_bounds() {
        let c = Config::new(&[]).unwrap();
        assert_eq!(
            (c.producers, c.consumers, c.items, c.batch),
            (2, 2, 10_000, 64)
        );
        let c = Config::new(&opts(&[('p', "3"), ('c', "4"), ('n', "0"), ('b', "512")])).unwrap();
        assert_eq!((c.producers, c.consumers, c.items, c.batch), (3, 4, 0, 512));
        assert_eq!(
            Config::new(&opts(&[('p', "0")])),
            Err("invalid number of producers: '0'".into())
        );
        assert_eq!(
            Config::new(&opts(&[('b', "513")])),
            Err("invalid batch size: '513'".into())
        );
        assert_eq!(
            Config::new(&opts(&[('n', "x")])),
            Err("invalid number of items: 'x'".into())
        );
    }

    #[test]
    fn shares_add_up_to_every_item_once() {
        for (p, n) in [(1, 10), (3, 10), (4, 2), (5, 0), (7, 1000)] {
            let config = Config {
                producers: p,
                consumers: 1,
                items: n,
                batch: 1,
            };
            let total: u64 = (0..p).map(|k| config.share(k)).sum();
            assert_eq!(total, n, "p={p} n={n}");
        }
    }

    #[test]
    fn the_check_catches_a_duplicate_that_keeps_the_sum() {
        let config = Config::new(&opts(&[('n', "4"), ('c', "1")])).unwrap();
        let mut good = Tally::default();
        good.take(&[1u64, 2, 3, 4].map(u64::to_le_bytes).concat());
        let (text, ok) = summary(&config, 4, &[Some(good)]);
        assert!(ok);
        assert!(text.ends_with("prodcons: 4 items produced, 4 consumed, sum OK\n"));
        // 1+4 == 2+3: the sum and the count agree, the hash does not.
        let mut bad = Tally::default();
        bad.take(&[2u64, 2, 3, 3].map(u64::to_le_bytes).concat());
        let (text, ok) = summary(&config, 4, &[Some(bad)]);
        assert!(!ok);
        assert!(text.ends_with("sum MISMATCH\n"));
    }

    #[test]
    fn prodcons_moves_every_item_exactly_once() {
        let out = run(
            &["prodcons", "-p", "3", "-c", "4", "-n", "20000", "-b", "7"],
            "",
        );
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0), "{}", out.stdout);
        assert!(out
            .stdout
            .ends_with("prodcons: 20000 items produced, 20000 consumed, sum OK\n"));
        assert_eq!(
            out.stdout
                .lines()
                .filter(|l| l.starts_with("consumer "))
                .count(),
            4
        );
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), []);
    }

    #[test]
    fn prodcons_works_with_no_items_and_with_big_batches() {
        let out = run(&["prodcons", "-n", "0"], "");
        assert_eq!(out.status, Some(0));
        assert!(out
            .stdout
            .ends_with("prodcons: 0 items produced, 0 consumed, sum OK\n"));
        let out = run(&["prodcons", "-b", "512", "-n", "100000"], "");
        assert_eq!(out.status, Some(0), "{}{}", out.stdout, out.stderr);
    }

    #[test]
    fn prodcons_rejects_bad_options() {
        let out = run(&["prodcons", "-c", "x"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "prodcons: invalid number of consumers: 'x'\nTry 'prodcons --help' for more information.\n"
        );
    }
}
