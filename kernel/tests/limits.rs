//! Limits answer with an errno, never an abort: EAGAIN for a full task
//! table, EMFILE for a full descriptor table, EINVAL for an oversized pipe.

mod support;

use std::time::Duration;

use kernel::Config;
use syscalls::{Errno, Fd, FdMap, Program, Sys, TaskFuture};

fn max_tasks(n: usize) -> Config {
    Config {
        max_tasks: n,
        ..support::config()
    }
}

fn nap(sys: Sys, _args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        sys.sleep(Duration::from_secs(1)).await.unwrap();
        0
    })
}

#[test]
fn spawn_fails_with_eagain_when_the_task_table_is_full() {
    // init + main + 3 children = 5.
    let programs = vec![Program {
        name: "nap",
        about: "sleep a second",
        main: nap,
    }];
    let run = support::run_programs(b"", max_tasks(5), programs, |sys| async move {
        let mut kids = Vec::new();
        for _ in 0..3 {
            kids.push(
                sys.spawn("nap", Vec::<String>::new(), FdMap::stdio())
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            sys.spawn("nap", Vec::<String>::new(), FdMap::stdio()).await,
            Err(Errno::EAGAIN)
        );
        assert_eq!(sys.spawn_fn(|_| async { 0 }).await, Err(Errno::EAGAIN));
        assert_eq!(sys.tasks().await.len(), 5);
        // Room comes back once a child is reaped.
        let (pid, _) = sys.wait_any().await.unwrap();
        assert!(kids.contains(&pid));
        let again = sys.spawn_fn(|_| async { 3 }).await.unwrap();
        assert_eq!(sys.wait(again).await, Ok((again, 3)));
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
}

#[test]
fn zombies_count_against_the_task_limit_until_they_are_reaped() {
    let run = support::run_with(b"", max_tasks(3), |sys| async move {
        let child = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        sys.yield_now().await;
        // The child has ended but is not reaped: the table is still full.
        assert_eq!(sys.spawn_fn(|_| async { 0 }).await, Err(Errno::EAGAIN));
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        let next = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        assert_eq!(sys.wait(next).await, Ok((next, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_child_may_not_spawn_past_the_limit_either() {
    let run = support::run_with(b"", max_tasks(4), |sys| async move {
        let child = sys
            .spawn_fn(|sys| async move {
                let grandchild = sys.spawn_fn(|_| async { 0 }).await.unwrap();
                let refused = sys.spawn_fn(|_| async { 0 }).await;
                sys.wait(grandchild).await.unwrap();
                match refused {
                    Err(Errno::EAGAIN) => 0,
                    _ => 1,
                }
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn many_pipes_up_to_the_descriptor_limit_all_work() {
    let config = Config {
        max_fds: 203,
        ..support::config()
    };
    let run = support::run_with(b"", config, |sys| async move {
        let mut pipes = Vec::new();
        loop {
            match sys.pipe_with_capacity(8).await {
                Ok(p) => pipes.push(p),
                Err(e) => {
                    assert_eq!(e, Errno::EMFILE);
                    break;
                }
            }
        }
        assert_eq!(pipes.len(), 100, "fds 3..203 make 100 pipes");
        for (i, &(_, w)) in pipes.iter().enumerate() {
            sys.write_all(w, &[i as u8]).await.unwrap();
        }
        for (i, &(r, _)) in pipes.iter().enumerate() {
            let mut b = [0u8; 1];
            assert_eq!(sys.read(r, &mut b).await, Ok(1));
            assert_eq!(b[0], i as u8, "pipe {i} kept its own byte");
        }
        assert_eq!(pipes.last().unwrap().1, Fd(202));
        0
    });
    run.expect_clean();
}
