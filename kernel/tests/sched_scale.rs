//! Scale: a hundred thousand tasks blocked on one pipe, woken at once by
//! end-of-file, all reaped.

mod support;

use std::collections::HashSet;

use kernel::Config;
use syscalls::{Command, Fd, FdMap, Pid};

const READERS: usize = 100_000;

#[test]
fn a_hundred_thousand_readers_of_one_pipe_all_see_eof_and_are_reaped() {
    let config = Config {
        trace: false,
        ..support::config()
    };
    // A hundred thousand tasks take about 4,700 batches (300,000 steps,
    // three times the default budget, which fits runs of a few thousand
    // tasks): the bound is ten times that.
    let budget = kernel::testing::Budget::steps(3_000_000);
    let run = support::run_within(b"", config, Vec::new(), budget, |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let mut spawned = HashSet::with_capacity(READERS);
        for _ in 0..READERS {
            let pid = Command::from_fn(|sys| async move {
                match sys.read(Fd(0), &mut [0u8; 1]).await {
                    Ok(0) => 7,
                    _ => 1,
                }
            })
            .fds(FdMap::empty().set(Fd(0), r))
            .spawn(&sys)
            .await
            .unwrap();
            spawned.insert(pid);
        }
        sys.close(r).await.unwrap();
        // Let every reader run once and block.
        sys.yield_now().await;
        let rows = sys.tasks().await;
        let reading = rows
            .iter()
            .filter(|t| t.state == syscalls::TaskState::Reading(Fd(0)))
            .count();
        assert_eq!(reading, READERS, "every reader blocked on the pipe");

        sys.close(w).await.unwrap();
        let mut reaped = HashSet::with_capacity(READERS);
        while let Ok((pid, status)) = sys.wait_any().await {
            assert_eq!(status, 7, "pid {pid} saw end-of-file");
            assert!(reaped.insert(pid), "pid {pid} reaped twice");
        }
        assert_eq!(reaped.len(), READERS);
        assert!(reaped == spawned, "the reaped pids are the spawned ones");
        let left: Vec<Pid> = sys.tasks().await.iter().map(|t| t.pid).collect();
        assert_eq!(left, vec![Pid::INIT, Pid(2)], "only init and main");
        0
    });
    run.expect_clean();
    assert_eq!(run.kernel.task_count(), 1);
}
