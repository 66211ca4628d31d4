//! `coos bench`, end to end: the real binary runs every workload of
//! `shared/BENCHMARKS.md` at a small N, and the test checks the one result
//! line it prints and the `check=` value the work computed. Times are only
//! checked to be numbers: nothing here depends on how fast the machine is.
//! Every run is bounded: a workload that never ends fails its test.

mod support;

use std::process::Output;

/// The fields every result line starts with, in this order.
const COMMON: [&str; 6] = [
    "bench",
    "n",
    "elapsed_ms",
    "ns_per_op",
    "peak_rss_kb",
    "check",
];

/// Every workload.
const WORKLOADS: [&str; 8] = [
    "spawn", "yield", "pingpong", "ring", "skynet", "sleep", "pipe", "idle",
];

/// Runs `coos ARGS` to the end; fails if it does not end in time
/// (`support::child`).
#[track_caller]
fn coos(args: &[&str]) -> Output {
    support::child::run(args)
}

/// The result line's fields, in order, as `(key, value)`.
fn fields(line: &str) -> Vec<(&str, &str)> {
    line.split(' ')
        .map(|field| {
            field
                .split_once('=')
                .unwrap_or_else(|| panic!("field '{field}' is not KEY=VALUE in: {line}"))
        })
        .collect()
}

/// Runs `coos bench WORKLOAD --n N`, checks that it succeeded and printed
/// exactly one line of the BENCHMARKS.md form, and returns its fields after
/// the common ones (`cpus=` and the workload's extras) with `check=`'s value.
#[track_caller]
fn bench(workload: &str, n: u64) -> (u64, Vec<(String, String)>) {
    let out = coos(&["bench", workload, "--n", &n.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "coos bench {workload} --n {n}: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert_eq!(stderr, "", "coos bench {workload} --n {n} wrote to stderr");
    let lines: Vec<&str> = stdout.lines().collect();
    let [line] = lines.as_slice() else {
        panic!("coos bench {workload} --n {n}: expected one line, got: {stdout}");
    };
    let fields = fields(line);
    let keys: Vec<&str> = fields.iter().map(|&(k, _)| k).collect();
    assert_eq!(keys[..COMMON.len()], COMMON, "{line}");
    assert_eq!(fields[0].1, workload, "{line}");
    assert_eq!(fields[1].1, n.to_string(), "{line}");
    for &(key, value) in &fields[2..4] {
        let ms: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{key}={value} is not a number in: {line}"));
        assert!(ms.is_finite() && ms >= 0.0, "{line}");
    }
    let rss: u64 = fields[4].1.parse().expect("peak_rss_kb is a whole number");
    assert!(rss > 0, "{line}");
    let check = fields[5].1.parse().expect("check is a whole number");
    let extra = fields[COMMON.len()..]
        .iter()
        .map(|&(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (check, extra)
}

/// The keys of `extra`, in order.
fn keys(extra: &[(String, String)]) -> Vec<&str> {
    extra.iter().map(|(k, _)| k.as_str()).collect()
}

/// The whole-number value of `key` in `extra`.
#[track_caller]
fn whole(extra: &[(String, String)], key: &str) -> u64 {
    let (_, value) = extra
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key}= in {extra:?}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a whole number"))
}

#[test]
fn spawn_reaps_every_child() {
    let (check, extra) = bench("spawn", 1000);
    assert_eq!(check, 1000);
    assert_eq!(keys(&extra), ["cpus"]);
    assert_eq!(whole(&extra, "cpus"), 1);
}

#[test]
fn yield_counts_every_yield() {
    let (check, extra) = bench("yield", 10_000);
    assert_eq!(check, 10_000);
    assert_eq!(keys(&extra), ["cpus"]);
}

#[test]
fn pingpong_makes_every_round_trip() {
    let (check, extra) = bench("pingpong", 1000);
    assert_eq!(check, 1000);
    assert_eq!(keys(&extra), ["cpus"]);
}

#[test]
fn ring_token_makes_every_hop() {
    // Twice round the ring of 1,000 tasks.
    let (check, extra) = bench("ring", 2000);
    assert_eq!(check, 2000);
    assert_eq!(keys(&extra), ["cpus"]);
}

#[test]
fn skynet_sums_the_numbers_of_every_leaf() {
    // 0 + 1 + … + 999 = N(N-1)/2.
    let (check, extra) = bench("skynet", 1000);
    assert_eq!(check, 1000 * 999 / 2);
    assert_eq!(keys(&extra), ["cpus"]);
}

#[test]
fn sleep_reaps_every_sleeper_and_reports_lateness() {
    let (check, extra) = bench("sleep", 100);
    assert_eq!(check, 100);
    assert_eq!(keys(&extra), ["cpus", "late_p50_us", "late_p99_us"]);
    // Only that they are ordered: how late a wake-up is depends on the host.
    assert!(whole(&extra, "late_p50_us") <= whole(&extra, "late_p99_us"));
}

#[test]
fn pipe_counts_every_byte() {
    let (check, extra) = bench("pipe", 1 << 20);
    assert_eq!(check, 1 << 20);
    assert_eq!(keys(&extra), ["cpus", "gb_per_s"]);
    let rate: f64 = extra[1].1.parse().expect("gb_per_s is a number");
    assert!(rate.is_finite() && rate >= 0.0);
}

#[test]
fn idle_reaps_every_reader_and_reports_bytes_per_task() {
    let (check, extra) = bench("idle", 1000);
    assert_eq!(check, 1000);
    assert_eq!(keys(&extra), ["cpus", "bytes_per_task"]);
    whole(&extra, "bytes_per_task");
}

#[test]
fn n_may_group_its_digits_with_underscores() {
    let out = coos(&["bench", "spawn", "--n", "1_000"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("bench=spawn n=1000 "), "{stdout}");
    assert!(stdout.contains(" check=1000 "), "{stdout}");
}

#[test]
fn help_lists_every_workload() {
    let out = coos(&["bench", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for workload in WORKLOADS {
        let entry = format!("- {workload}:");
        assert!(help.contains(&entry), "{workload}: {help}");
    }
}

#[test]
fn help_lists_the_workloads_the_bench_program_has() {
    let out = coos(&["run", "bench", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    // The lines of its "Workloads:" paragraph: "  NAME   what it runs".
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Workloads:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, WORKLOADS, "{help}");
    let ours: Vec<&str> = coos::BENCH_WORKLOADS.iter().map(|&(w, _)| w).collect();
    assert_eq!(ours, WORKLOADS);
}

#[test]
fn an_unknown_workload_is_a_usage_error() {
    // Hostile: a workload bench does not have.
    let out = coos(&["bench", "fork-bomb"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'fork-bomb'"), "{stderr}");
    assert!(stderr.contains("spawn, yield, pingpong"), "{stderr}");
}

#[test]
fn a_zero_or_negative_n_is_a_usage_error() {
    for n in ["0", "-5", "many"] {
        let out = coos(&["bench", "spawn", "--n", n]);
        assert_eq!(out.status.code(), Some(2), "--n {n}");
        assert_eq!(out.stdout, b"", "--n {n}");
    }
}

#[test]
fn skynet_refuses_an_n_that_is_not_a_power_of_ten() {
    let out = coos(&["bench", "skynet", "--n", "20"]);
    assert!(!out.status.success());
    assert_eq!(out.stdout, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("power of 10"), "{stderr}");
}
