//! The kernel gives back what its tables no longer need: after thousands
//! of tasks and pipes have come and gone, their slots and buffers are
//! returned to the host (issue: a 10,000-stage pipeline left coos at
//! 1.23 GB resident).

mod support;

use syscalls::{Command, Fd, FdMap};

/// Tasks alive at once, each with a pipe of its own that fills up.
const MANY: usize = 6_000;

#[test]
fn tables_shrink_once_thousands_of_tasks_and_full_pipes_are_gone() {
    let config = kernel::Config {
        max_fds: 4 * MANY,
        trace: false,
        ..support::config()
    };
    let run = support::run_with(b"", config, |sys| async move {
        let mut children = Vec::new();
        for _ in 0..MANY {
            let (r, w) = sys.pipe_with_capacity(16 * 1024).await.unwrap();
            // The child fills its pipe, then waits for a reader that never
            // comes until the parent closes the read end.
            let child = Command::from_fn(|sys| async move {
                let _ = sys.write_all(Fd::STDOUT, &[7u8; 16 * 1024]).await;
                let _ = sys.write(Fd::STDOUT, b"x").await;
                0
            })
            .fds(FdMap::stdio().set(Fd::STDOUT, w))
            .spawn(&sys)
            .await
            .unwrap();
            sys.close(w).await.unwrap();
            children.push((child, r));
        }
        let usage = sys.usage().await;
        let _ = sys
            .print(&format!("full {} {}\n", usage.kernel_kb, usage.task_slots))
            .await;
        for (child, r) in children {
            sys.close(r).await.unwrap();
            sys.wait(child).await.unwrap();
        }
        // The kernel looks at its tables between batches of tasks: here,
        // while this task sleeps.
        sys.sleep(std::time::Duration::from_millis(1))
            .await
            .unwrap();
        let usage = sys.usage().await;
        let _ = sys
            .print(&format!("after {} {}\n", usage.kernel_kb, usage.task_slots))
            .await;
        0
    });
    run.expect_clean();
    let numbers = |tag: &str| -> (u64, u64) {
        let line = run.stdout.lines().find(|l| l.starts_with(tag)).unwrap();
        let mut words = line.split(' ').skip(1).map(|w| w.parse().unwrap());
        (words.next().unwrap(), words.next().unwrap())
    };
    let (full_kb, full_slots) = numbers("full");
    let (after_kb, after_slots) = numbers("after");
    // 6,000 rings of 16 KiB held: about 94 MiB.
    assert!(
        full_kb > 90 * 1024,
        "the pipes' buffers count: {full_kb} KiB"
    );
    assert!(full_slots as usize > MANY);
    // What two tasks and the pid index of 6,000 pids need: well under
    // 1 MiB (the tables alone held 2.5 MiB when they never shrank).
    assert!(
        after_kb < 1024,
        "given back: {after_kb} KiB of {full_kb} KiB still held"
    );
    assert!(
        after_slots < full_slots / 2,
        "{after_slots} task slots of {full_slots}"
    );
}
