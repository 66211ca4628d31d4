//! Blocking work (`Sys::run_blocking`, asyncio's `run_in_executor`), host
//! name resolution through it, and `KernelHandle` starting tasks from
//! another thread. Orders are forced with the jobs' own condition
//! variable, never with timing.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use kernel::{ConsoleSpec, Kernel, Message};
use syscalls::{Command, Errno};

const LIMIT: Duration = Duration::from_secs(20);

/// A counter jobs wait on: job `k` runs when the stage is `k`.
#[derive(Clone, Default)]
struct Stages(Arc<(Mutex<u32>, Condvar)>);

impl Stages {
    fn wait_for(&self, stage: u32) {
        let (count, changed) = &*self.0;
        let mut now = count.lock().unwrap();
        while *now != stage {
            now = changed.wait(now).unwrap();
        }
    }

    fn advance(&self) {
        let (count, changed) = &*self.0;
        *count.lock().unwrap() += 1;
        changed.notify_all();
    }
}

#[test]
fn blocking_jobs_come_back_in_the_order_they_finish_not_that_they_were_asked() {
    let done = Rc::new(RefCell::new(Vec::new()));
    let seen = done.clone();
    let run = support::run_with(b"", support::host_clock(), move |sys| async move {
        let stages = Stages::default();
        // Asked in the order 2, 0, 1; each ends only at its stage, and the
        // next stage comes when the task has its answer (were it the job
        // that moved the stage on, the next job could be back first).
        for k in [2u32, 0, 1] {
            let (stages, seen) = (stages.clone(), seen.clone());
            sys.spawn_fn(move |sys| async move {
                let job = stages.clone();
                let got = sys
                    .timeout(
                        LIMIT,
                        sys.run_blocking(move || {
                            job.wait_for(k);
                            k * 10
                        }),
                    )
                    .await;
                seen.borrow_mut().push(got);
                stages.advance();
                0
            })
            .await
            .unwrap();
        }
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(*done.borrow(), vec![Ok(0), Ok(10), Ok(20)]);
}

#[test]
fn the_kernel_runs_other_tasks_while_a_job_blocks() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let stages = Stages::default();
        let job = stages.clone();
        // The job waits until a task of the kernel lets it go: were the
        // kernel waiting on the job, it would never finish.
        let asker = sys
            .spawn_fn(move |sys| async move {
                let got = sys
                    .timeout(LIMIT, sys.run_blocking(move || job.wait_for(1)))
                    .await;
                u8::from(got.is_err())
            })
            .await
            .unwrap();
        sys.yield_now().await;
        for _ in 0..100 {
            sys.yield_now().await;
        }
        stages.advance();
        assert_eq!(sys.timeout(LIMIT, sys.wait(asker)).await, Ok((asker, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_job_that_panics_fails_its_call_and_not_the_kernel() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let got: Result<u32, Errno> = sys.run_blocking(|| panic!("job went wrong")).await;
        assert_eq!(got, Err(Errno::EIO));
        assert_eq!(sys.run_blocking(|| 7).await, Ok(7));
        0
    });
    run.expect_status(0);
}

/// A host name the host's resolver answers from the name alone: `127.1`
/// is 127.0.0.1 written short, which `getaddrinfo` reads as a number,
/// without /etc/hosts, nsswitch.conf or DNS. Yet it is no `SocketAddr`,
/// so `Sys::resolve` sends it to the pool as it would any name.
const NUMERIC_NAME: &str = "127.1";

#[test]
fn a_host_name_resolves_on_the_pool_and_connect_takes_one() {
    let traced = kernel::Config {
        trace: true,
        ..support::host_clock()
    };
    let run = support::run_with(b"", traced, |sys| async move {
        let found = sys
            .timeout(LIMIT, sys.resolve(&format!("{NUMERIC_NAME}:80")))
            .await
            .unwrap();
        assert_eq!(found, vec!["127.0.0.1:80".parse().unwrap()]);
        assert_eq!(sys.resolve("no port").await, Err(Errno::EINVAL));
        let l = sys.listen("127.0.0.1:0").await.unwrap();
        let port = sys
            .local_addr(l)
            .await
            .unwrap()
            .rsplit_once(':')
            .unwrap()
            .1
            .to_string();
        let conn = sys
            .timeout(LIMIT, sys.connect(&format!("{NUMERIC_NAME}:{port}")))
            .await
            .unwrap();
        let served = sys.timeout(LIMIT, sys.accept(l)).await.unwrap();
        sys.write_all(conn, b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        assert_eq!(sys.timeout(LIMIT, sys.read(served, &mut buf)).await, Ok(2));
        0
    });
    run.expect_clean();
    let jobs = run
        .trace_lines()
        .iter()
        .filter(|l| *l == "syscall 2 blocking")
        .count();
    assert_eq!(
        jobs, 2,
        "resolve and connect each looked the name up on the pool"
    );
}

#[test]
fn localhost_resolves_to_a_loopback_address_where_the_host_resolves_it() {
    // `localhost` is the host's to answer (/etc/hosts, or a resolver that
    // knows it): where the host cannot, in a bare container, there is
    // nothing of coos's to test.
    let host_answer = kernel::testing::within(LIMIT, "the host resolving localhost", || {
        use std::net::ToSocketAddrs;
        "localhost:80"
            .to_socket_addrs()
            .map(|found| found.collect::<Vec<_>>())
    });
    if !host_answer.as_ref().is_ok_and(|found| !found.is_empty()) {
        eprintln!("skipped: this host does not resolve localhost ({host_answer:?})");
        return;
    }
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let found = sys
            .timeout(LIMIT, sys.resolve("localhost:80"))
            .await
            .unwrap();
        assert!(found.iter().any(|a| a.ip().is_loopback()), "{found:?}");
        0
    });
    run.expect_clean();
}

#[test]
fn another_thread_starts_tasks_in_a_running_kernel_and_gets_their_status() {
    let (to_test, handles) = std::sync::mpsc::channel();
    let kernel_thread = std::thread::spawn(move || {
        let (spec, out, _err) = ConsoleSpec::scripted(b"");
        let mut k = Kernel::boot(support::host_clock(), Vec::new(), spec).unwrap();
        to_test.send((k.handle(), k.inbox())).unwrap();
        // The first task waits for console input, which comes only when
        // the test is done.
        k.start(Command::from_fn(|sys| async move {
            let mut buf = [0u8; 1];
            let _ = sys.read(syscalls::Fd::STDIN, &mut buf).await;
            0
        }));
        let status = kernel::testing::run(&mut k, kernel::testing::Budget::DEFAULT);
        let printed = String::from_utf8(out.borrow().clone()).unwrap();
        (status, printed)
    });
    let (handle, inbox) = handles.recv_timeout(LIMIT).unwrap();
    let statuses: Vec<_> = (0..5u8)
        .map(|i| {
            handle.spawn(move |sys| async move {
                let _ = sys.print(&format!("remote {i}\n")).await;
                40 + i
            })
        })
        .map(|status| status.recv_timeout(LIMIT))
        .collect();
    assert_eq!(statuses, (0..5u8).map(|i| Ok(40 + i)).collect::<Vec<_>>());
    inbox.send(Message::ConsoleEof);
    let (status, printed) = kernel_thread.join().unwrap();
    assert_eq!(status, 0);
    for i in 0..5 {
        assert!(printed.contains(&format!("remote {i}\n")), "{printed}");
    }
}
