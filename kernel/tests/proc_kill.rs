//! kill(pid, signal) and kill_group: a signal ends its target at once, from
//! whatever it is blocked in, with status 128 + signal.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, PGroup, Pid, Signal, Sys, TaskState};

use support::state_of;

#[test]
fn kill_ends_a_task_blocked_reading_a_pipe_with_128_plus_signal() {
    for signal in [Signal::Kill, Signal::Term, Signal::Int] {
        let run = support::run(b"", move |sys| async move {
            let (r, w) = sys.pipe().await.unwrap();
            let reader = Command::from_fn(|sys| async move {
                let mut buf = [0u8; 8];
                let _ = sys.read(Fd(0), &mut buf).await;
                0
            })
            .fds(FdMap::empty().set(Fd(0), r))
            .spawn(&sys)
            .await
            .unwrap();
            sys.yield_now().await;
            assert_eq!(
                state_of(&sys, reader).await,
                Some(TaskState::Reading(Fd(0)))
            );
            sys.kill(reader, signal).await.unwrap();
            // At once: a zombie before the call even returns to the killer.
            assert_eq!(
                state_of(&sys, reader).await,
                Some(TaskState::Zombie(128 + signal.number()))
            );
            assert_eq!(sys.wait(reader).await, Ok((reader, signal.exit_code())));
            sys.close(w).await.unwrap();
            sys.close(r).await.unwrap();
            0
        });
        run.expect_clean();
    }
}

/// What a victim is blocked in when it is killed.
#[derive(Debug, Clone, Copy)]
enum Blocked {
    Read,
    Sleep,
    Wait,
}

#[test]
fn kill_term_and_int_end_a_task_blocked_in_read_sleep_or_wait() {
    for signal in [Signal::Kill, Signal::Term, Signal::Int] {
        for blocked in [Blocked::Read, Blocked::Sleep, Blocked::Wait] {
            let run = support::run(b"", move |sys| async move {
                let (r, _w) = sys.pipe().await.unwrap();
                let victim = Command::from_fn(move |sys| async move {
                    match blocked {
                        Blocked::Read => {
                            let _ = sys.read(Fd(3), &mut [0u8; 1]).await;
                        }
                        Blocked::Sleep => {
                            let _ = sys.sleep(Duration::from_secs(3600)).await;
                        }
                        Blocked::Wait => {
                            let child = sys
                                .spawn_fn(|sys| async move {
                                    let _ = sys.sleep(Duration::from_secs(3600)).await;
                                    0
                                })
                                .await
                                .unwrap();
                            let _ = sys.wait(child).await;
                        }
                    }
                    sys.print("the call returned\n").await.unwrap();
                    0
                })
                .fds(FdMap::stdio().set(Fd(3), r))
                .spawn(&sys)
                .await
                .unwrap();
                sys.yield_now().await;
                let state = state_of(&sys, victim).await.unwrap();
                let expected_blocked = matches!(
                    (blocked, &state),
                    (Blocked::Read, TaskState::Reading(Fd(3)))
                        | (Blocked::Sleep, TaskState::Sleeping { .. })
                        | (Blocked::Wait, TaskState::Waiting(Some(_)))
                );
                assert!(expected_blocked, "{blocked:?}: {state:?}");
                sys.kill(victim, signal).await.unwrap();
                assert_eq!(
                    sys.wait(victim).await,
                    Ok((victim, 128 + signal.number())),
                    "{signal} while blocked in {blocked:?}"
                );
                assert_eq!(sys.now().await, Duration::ZERO, "at once");
                0
            });
            run.expect_clean();
            assert_eq!(run.stdout, "", "{signal} {blocked:?}");
        }
    }
}

#[test]
fn kill_ends_a_task_blocked_reading_the_console() {
    let (mut k, out, err) = support::boot_open(b"", support::config(), vec![], |sys| async move {
        let reader = sys
            .spawn_fn(|sys| async move {
                let mut buf = [0u8; 8];
                let _ = sys.read(Fd::STDIN, &mut buf).await;
                sys.print("read returned\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        assert_eq!(
            state_of(&sys, reader).await,
            Some(TaskState::Reading(Fd::STDIN))
        );
        sys.kill(reader, Signal::Int).await.unwrap();
        assert_eq!(sys.wait(reader).await, Ok((reader, 130)));
        // The console is still there for the next reader.
        let mut buf = [0u8; 8];
        let n = sys.read(Fd::STDIN, &mut buf).await.unwrap();
        sys.print(&format!("main read {:?}\n", &buf[..n]))
            .await
            .unwrap();
        0
    });
    assert_eq!(
        support::run_until_idle(&mut k),
        None,
        "main waits for console input"
    );
    k.feed_console(b"hi");
    let status = support::run_until_idle(&mut k);
    let run = support::finish(k, status, &out, &err);
    run.expect_clean();
    assert_eq!(run.stdout, "main read [104, 105]\n");
}

#[test]
fn kill_ends_a_sleeping_task_without_waiting_for_its_deadline() {
    let run = support::run(b"", |sys| async move {
        let sleeper = sys
            .spawn_fn(|sys| async move {
                sys.sleep(Duration::from_secs(3600)).await.unwrap();
                sys.print("woke\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        assert!(matches!(
            state_of(&sys, sleeper).await,
            Some(TaskState::Sleeping { until }) if until == Duration::from_secs(3600)
        ));
        sys.kill(sleeper, Signal::Term).await.unwrap();
        assert_eq!(sys.wait(sleeper).await, Ok((sleeper, 143)));
        assert_eq!(sys.now().await, Duration::ZERO);
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn kill_ends_a_task_blocked_in_wait_and_its_child_goes_to_init() {
    let run = support::run(b"", |sys| async move {
        let parent = sys
            .spawn_fn(|sys| async move {
                let child = sys
                    .spawn_fn(|sys| async move {
                        sys.sleep(Duration::from_secs(60)).await.unwrap();
                        0
                    })
                    .await
                    .unwrap();
                let _ = sys.wait(child).await;
                sys.print("wait returned\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        let rows = sys.tasks().await;
        let child = rows.iter().find(|t| t.ppid == parent).unwrap().pid;
        assert_eq!(
            state_of(&sys, parent).await,
            Some(TaskState::Waiting(Some(child)))
        );
        sys.kill(parent, Signal::Int).await.unwrap();
        assert_eq!(sys.wait(parent).await, Ok((parent, 130)));
        let row = sys.tasks().await.into_iter().find(|t| t.pid == child);
        assert_eq!(row.unwrap().ppid, Pid::INIT, "the orphan went to init");
        sys.kill(child, Signal::Kill).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn kill_ends_a_writer_blocked_on_a_full_pipe_and_keeps_what_it_wrote() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(8).await.unwrap();
        let writer = Command::from_fn(|sys| async move {
            let _ = sys.write_all(Fd(1), b"0123456789abcdef").await;
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        sys.yield_now().await;
        assert_eq!(
            state_of(&sys, writer).await,
            Some(TaskState::Writing(Fd(1)))
        );
        sys.kill(writer, Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(writer).await, Ok((writer, 137)));
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"01234567", "the bytes in the buffer, then EOF");
        0
    });
    run.expect_clean();
}

#[test]
fn the_status_of_a_killed_task_is_128_plus_the_signal_number() {
    let run = support::run(b"", |sys| async move {
        for signal in Signal::ALL {
            let pid = sys
                .spawn_fn(|sys| async move {
                    sys.sleep(Duration::from_secs(1)).await.unwrap();
                    0
                })
                .await
                .unwrap();
            sys.kill(pid, signal).await.unwrap();
            let (_, status) = sys.wait(pid).await.unwrap();
            assert_eq!(status, 128 + signal.number(), "{signal}");
        }
        0
    });
    run.expect_clean();
}

#[test]
fn a_task_killed_before_it_first_ran_never_runs() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let run = support::run(b"", move |sys| async move {
        let pid = sys
            .spawn_fn(move |_| async move {
                flag.set(true);
                0
            })
            .await
            .unwrap();
        assert_eq!(state_of(&sys, pid).await, Some(TaskState::Ready));
        sys.kill(pid, Signal::Term).await.unwrap();
        sys.yield_now().await;
        assert_eq!(sys.wait(pid).await, Ok((pid, 143)));
        0
    });
    run.expect_clean();
    assert!(!ran.get());
}

#[test]
fn kill_of_a_task_that_does_not_exist_fails_with_esrch() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.kill(Pid(4242), Signal::Kill).await, Err(Errno::ESRCH));
        assert_eq!(sys.kill(Pid(0), Signal::Kill).await, Err(Errno::ESRCH));
        // A reaped child is no longer there either.
        let pid = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        sys.wait(pid).await.unwrap();
        assert_eq!(sys.kill(pid, Signal::Term).await, Err(Errno::ESRCH));
        0
    });
    run.expect_clean();
}

#[test]
fn kill_of_init_fails_with_eperm_and_init_lives_on() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.kill(Pid::INIT, Signal::Kill).await, Err(Errno::EPERM));
        let child = sys
            .spawn_fn(|sys| async move {
                match sys.kill(Pid::INIT, Signal::Term).await {
                    Err(Errno::EPERM) => 0,
                    _ => 1,
                }
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        // Nor does init's group take a signal: it has no member but init.
        assert_eq!(
            sys.kill_group(Pid::INIT, Signal::Kill).await,
            Err(Errno::ESRCH)
        );
        assert_eq!(
            state_of(&sys, Pid::INIT).await,
            Some(TaskState::Waiting(None))
        );
        0
    });
    run.expect_clean();
}

#[test]
fn kill_of_a_zombie_succeeds_and_leaves_its_status_as_it_was() {
    let run = support::run(b"", |sys| async move {
        let pid = sys.spawn_fn(|_| async { 5 }).await.unwrap();
        sys.yield_now().await;
        assert_eq!(state_of(&sys, pid).await, Some(TaskState::Zombie(5)));
        assert_eq!(sys.kill(pid, Signal::Kill).await, Ok(()));
        assert_eq!(state_of(&sys, pid).await, Some(TaskState::Zombie(5)));
        assert_eq!(sys.wait(pid).await, Ok((pid, 5)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_task_that_kills_itself_ends_there_with_128_plus_signal() {
    let run = support::run(b"", |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move {
                let me = sys.getpid().await;
                let _ = sys.kill(me, Signal::Quit).await;
                sys.print("survived\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 131)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn a_child_may_kill_its_parent() {
    let run = support::run(b"", |sys| async move {
        let me = sys.getpid().await;
        sys.spawn_fn(move |sys| async move {
            sys.kill(me, Signal::Hup).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.sleep(Duration::from_secs(1)).await.unwrap();
        sys.print("parent survived\n").await.unwrap();
        0
    });
    assert_eq!(run.status, Some(129));
    assert_eq!(run.stdout, "");
}

/// Spawns a task in `group` that blocks for an hour.
async fn blocker(sys: &Sys, name: &str, group: PGroup) -> Pid {
    Command::from_fn(|sys| async move {
        sys.sleep(Duration::from_secs(3600)).await.unwrap();
        0
    })
    .name(name)
    .pgroup(group)
    .spawn(sys)
    .await
    .unwrap()
}

#[test]
fn kill_group_ends_every_member_of_the_group_and_no_one_else() {
    let run = support::run(b"", |sys| async move {
        let leader = blocker(&sys, "leader", PGroup::New).await;
        let a = blocker(&sys, "a", PGroup::Join(leader)).await;
        let (r, _w) = sys.pipe().await.unwrap();
        let b = Command::from_fn(|sys| async move {
            let _ = sys.read(Fd(0), &mut [0u8; 4]).await;
            0
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .pgroup(PGroup::Join(leader))
        .spawn(&sys)
        .await
        .unwrap();
        let outsider = blocker(&sys, "outsider", PGroup::New).await;
        sys.yield_now().await;
        sys.kill_group(leader, Signal::Term).await.unwrap();
        for pid in [leader, a, b] {
            assert_eq!(state_of(&sys, pid).await, Some(TaskState::Zombie(143)));
        }
        assert!(matches!(
            state_of(&sys, outsider).await,
            Some(TaskState::Sleeping { .. })
        ));
        for pid in [leader, a, b] {
            assert_eq!(sys.wait(pid).await, Ok((pid, 143)));
        }
        sys.kill(outsider, Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(outsider).await, Ok((outsider, 137)));
        0
    });
    run.expect_clean();
}

#[test]
fn kill_group_of_a_group_with_no_live_member_fails_with_esrch() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(
            sys.kill_group(Pid(4242), Signal::Term).await,
            Err(Errno::ESRCH)
        );
        let leader = Command::from_fn(|_| async { 0 })
            .pgroup(PGroup::New)
            .spawn(&sys)
            .await
            .unwrap();
        sys.yield_now().await;
        // Only a zombie is left in the group.
        assert_eq!(
            sys.kill_group(leader, Signal::Term).await,
            Err(Errno::ESRCH)
        );
        assert_eq!(sys.wait(leader).await, Ok((leader, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn kill_group_of_the_callers_own_group_ends_the_caller_last() {
    let run = support::run(b"", |sys| async move {
        let me = sys.getpid().await;
        let child = blocker(&sys, "child", PGroup::Inherit).await;
        let _ = sys.kill_group(me, Signal::Int).await;
        sys.print(&format!("survived, child {child}\n"))
            .await
            .unwrap();
        0
    });
    assert_eq!(run.status, Some(130));
    assert_eq!(run.stdout, "");
    let lines = run.trace_lines();
    let pos = |l: &str| lines.iter().position(|x| x == l).unwrap();
    assert!(pos("exit 3 130") < pos("exit 2 130"), "{lines:#?}");
}
