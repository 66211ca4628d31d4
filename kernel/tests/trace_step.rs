//! Manual stepping and the event trace: the scheduler's decisions, one
//! event per line, asserted exactly (as embassy-executor's tests do).

mod support;

use std::time::Duration;

use kernel::{Config, Step};
use syscalls::{Fd, Pid};

/// Takes the events recorded since the last call, as lines.
fn take(k: &mut kernel::Kernel) -> Vec<String> {
    support::lines(&k.take_trace())
}

#[test]
fn a_reader_blocks_on_the_console_until_input_is_fed_step_by_step() {
    let (mut k, out, _err) = support::boot_open(b"", support::config(), vec![], |sys| async move {
        let mut buf = [0u8; 8];
        let n = sys.read(Fd::STDIN, &mut buf).await.unwrap();
        sys.yield_now().await;
        n as u8
    });
    assert_eq!(
        take(&mut k),
        [
            "spawn 0 -> 1 init", // start() makes init, ready to run
        ]
    );

    assert_eq!(k.step(), Step::Ran(Pid(1)));
    assert_eq!(
        take(&mut k),
        [
            "run 1",                       // init runs first
            "syscall 1 spawn",             // it starts the first program...
            "spawn 1 -> 2 main",           // ...as pid 2, named by Command::name
            "syscall 1 tcsetpgrp",         // puts it in the console's foreground
            "foreground 2",                // (main leads group 2)
            "syscall 1 wait",              // and waits for any child
            "block 1 waiting for a child", // none has ended: init blocks
        ]
    );

    assert_eq!(k.step(), Step::Ran(Pid(2)));
    assert_eq!(
        take(&mut k),
        [
            "run 2",                // main runs
            "syscall 2 read",       // reads the console
            "block 2 reading fd 0", // nothing fed yet: it blocks
        ]
    );

    assert_eq!(k.step(), Step::Idle, "nothing is ready");
    assert_eq!(
        take(&mut k),
        Vec::<String>::new(),
        "an idle step records nothing"
    );

    k.feed_console(b"hi");
    assert_eq!(
        take(&mut k),
        [
            "wake 2", // the fed bytes complete main's read
        ]
    );

    assert_eq!(k.step(), Step::Ran(Pid(2)));
    assert_eq!(
        take(&mut k),
        [
            "run 2",           // main gets 2 bytes
            "syscall 2 yield", // and yields: back of the queue, alone there
        ]
    );

    assert_eq!(k.step(), Step::Ran(Pid(2)));
    assert_eq!(
        take(&mut k),
        [
            "run 2",    // main again, after its yield
            "exit 2 2", // returns n = 2: its status
            "reap 2",   // init was waiting for it: reaped at once
            "wake 1",   // and init's wait completes
        ]
    );

    assert_eq!(k.step(), Step::Ran(Pid(1)));
    assert_eq!(
        take(&mut k),
        [
            "run 1",           // init learns main ended with 2
            "syscall 1 tasks", // looks for tasks left running: none
            "syscall 1 wait",  // reaps what is left: ECHILD, nothing
            "exit 1 2",        // and ends with main's status
        ]
    );

    assert_eq!(k.step(), Step::Halted(2));
    assert_eq!(k.step(), Step::Halted(2), "halted stays halted");
    assert_eq!(take(&mut k), Vec::<String>::new());
    assert_eq!(support::text(&out), "");
}

#[test]
fn two_children_taking_turns_and_a_sleep_give_this_exact_trace() {
    let run = support::run(b"", |sys| async move {
        let a = sys
            .spawn_fn(|sys| async move {
                sys.yield_now().await;
                1
            })
            .await
            .unwrap();
        let b = sys
            .spawn_fn(|sys| async move {
                sys.sleep(Duration::from_millis(10)).await.unwrap();
                2
            })
            .await
            .unwrap();
        assert_eq!(sys.wait_any().await, Ok((a, 1)));
        assert_eq!(sys.wait_any().await, Ok((b, 2)));
        0
    });
    run.expect_clean();
    assert_eq!(
        run.trace_lines(),
        [
            "spawn 0 -> 1 init",             // start()
            "run 1",                         // init
            "syscall 1 spawn",               //   starts main
            "spawn 1 -> 2 main",             //
            "syscall 1 tcsetpgrp",           //   gives it the console
            "foreground 2",                  //
            "syscall 1 wait",                //   waits
            "block 1 waiting for a child",   //
            "run 2",                         // main
            "syscall 2 spawn",               //   starts a (inherits main's argv)
            "spawn 2 -> 3 main",             //
            "syscall 2 spawn",               //   and b, without giving up the CPU
            "spawn 2 -> 4 main",             //
            "syscall 2 wait",                //   waits for either
            "block 2 waiting for a child",   //
            "run 3",                         // a, first spawned, runs first
            "syscall 3 yield",               //   and goes behind b
            "run 4",                         // b
            "syscall 4 sleep",               //   sleeps 10ms
            "block 4 sleeping until 0.010s", //
            "run 3",                         // a again: nobody else is ready
            "exit 3 1",                      //   returns 1
            "reap 3",                        //   main was waiting: reaped at once
            "wake 2",                        //
            "run 2",                         // main has a's status
            "syscall 2 wait",                //   waits for b
            "block 2 waiting for a child",   //   all blocked: virtual time jumps to 10ms
            "wake 4",                        // b's timer
            "run 4",                         // b
            "exit 4 2",                      //   returns 2
            "reap 4",                        //
            "wake 2",                        //
            "run 2",                         // main
            "exit 2 0",                      //   returns 0
            "reap 2",                        // init reaps it
            "wake 1",                        //
            "run 1",                         // init
            "syscall 1 tasks",               //   nothing left running
            "syscall 1 wait",                //   nothing left to reap
            "exit 1 0",                      //   halts with main's status
        ]
    );
    assert_eq!(run.kernel.now(), Duration::from_millis(10));
}

#[test]
fn bytes_cross_a_full_pipe_in_the_polls_of_the_writer_and_the_reader() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(2).await.unwrap();
        let writer = syscalls::Command::from_fn(|sys| async move {
            sys.write_all(Fd(1), b"abcde").await.unwrap();
            0
        })
        .fds(syscalls::FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        while let Ok(n @ 1..) = sys.read(r, &mut buf).await {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got, ["ab", "cd", "e"]);
        sys.wait(writer).await.unwrap();
        0
    });
    run.expect_clean();
    let lines = run.trace_lines();
    let from = lines.iter().position(|l| l == "run 2").unwrap();
    assert_eq!(
        lines[from..],
        [
            "run 2",                // main
            "syscall 2 pipe",       //   a 2-byte pipe: fds 3 and 4
            "syscall 2 spawn",      //   the writer gets fd 4 as its fd 1
            "spawn 2 -> 3 main",    //
            "syscall 2 close",      //   main closes its write end
            "syscall 2 read",       //   the pipe is empty
            "block 2 reading fd 3", //
            "run 3",                // writer
            "syscall 3 write",      //   its poll copies "ab" into the pipe
            "wake 2",               //   main may read now
            "syscall 3 write",      //   "cde" goes on: the pipe is full
            "block 3 writing fd 1", //
            "run 2",                // main's poll copies "ab" out,
            "wake 3",               //   the writer may go on
            "syscall 2 read",       //   the pipe is empty again
            "block 2 reading fd 3", //
            "run 3",                // writer: "cd" in
            "wake 2",               //
            "syscall 3 write",      //   "e" must wait
            "block 3 writing fd 1", //
            "run 2",                // main takes "cd"
            "wake 3",               //
            "syscall 2 read",       //
            "block 2 reading fd 3", //
            "run 3",                // writer: "e" in, done; closing its fds
            "wake 2",               //   (main will see EOF after "e"),
            "exit 3 0",             //   then the exit is recorded
            "run 2",                // main takes "e"
            "syscall 2 read",       //   end-of-file
            "syscall 2 wait",       //   the writer is a zombie already
            "reap 3",               //
            "exit 2 0",             //
            "reap 2",               // init reaps main
            "wake 1",               //
            "run 1",                // init
            "syscall 1 tasks",      //
            "syscall 1 wait",       //
            "exit 1 0",             //
        ]
    );
}

#[test]
fn an_idle_step_jumps_virtual_time_to_the_next_deadline() {
    let (mut k, _out, _err) = support::boot(b"", support::config(), |sys| async move {
        sys.sleep(Duration::from_secs(7)).await.unwrap();
        0
    });
    assert_eq!(k.step(), Step::Ran(Pid(1)));
    assert_eq!(k.step(), Step::Ran(Pid(2)));
    assert_eq!(k.now(), Duration::ZERO);
    k.take_trace();
    assert_eq!(k.step(), Step::Idle);
    assert_eq!(k.now(), Duration::from_secs(7));
    assert_eq!(take(&mut k), ["wake 2"]);
    assert_eq!(k.step(), Step::Ran(Pid(2)));
    assert_eq!(support::run_until_idle(&mut k), Some(0));
}

#[test]
fn trace_is_empty_unless_asked_for_and_take_trace_empties_it() {
    let quiet = Config {
        trace: false,
        ..support::config()
    };
    let run = support::run_with(b"", quiet, |sys| async move {
        sys.yield_now().await;
        0
    });
    run.expect_clean();
    assert!(run.trace.is_empty());
    assert!(run.kernel.trace().is_empty());

    let (mut k, _out, _err) = support::boot(b"", support::config(), |_| async { 0 });
    assert_eq!(support::run_until_idle(&mut k), Some(0));
    assert!(!k.trace().is_empty());
    let taken = k.take_trace();
    assert_eq!(
        taken.last().map(ToString::to_string).as_deref(),
        Some("exit 1 0")
    );
    assert!(k.trace().is_empty());
}

#[test]
fn run_until_idle_returns_none_while_tasks_wait_for_console_input() {
    // `Kernel::run_until_idle` itself is what is tested here, so it is
    // bounded from outside: on a thread with a time limit.
    kernel::testing::within(support::LIMIT, "run_until_idle", || {
        let (mut k, out, err) =
            support::boot_open(b"", support::config(), vec![], |sys| async move {
                let mut line = Vec::new();
                sys.read_to_end(Fd::STDIN, &mut line).await.unwrap();
                sys.print(&format!("{} bytes\n", line.len())).await.unwrap();
                0
            });
        assert_eq!(k.run_until_idle(), None);
        k.feed_console(b"abc");
        assert_eq!(k.run_until_idle(), None, "still no EOF");
        k.feed_console(b"de");
        k.end_console();
        let status = k.run_until_idle();
        let run = support::finish(k, status, &out, &err);
        run.expect_clean();
        assert_eq!(run.stdout, "5 bytes\n");
        assert_eq!(run.kernel.now(), Duration::ZERO);
    });
}
