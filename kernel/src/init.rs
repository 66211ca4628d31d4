//! Init, pid 1: the ancestor of every task. It starts the first program in
//! a group of its own, in the console's foreground, and reaps every orphan
//! given to it. When the first program ends, init ends every task left,
//! reaps them all, and ends with the first program's status, which halts
//! the kernel.

use syscalls::{Errno, Fd, PGroup, Pid, Signal, SpawnRequest, Sys};

pub(crate) async fn init(sys: Sys, mut first: SpawnRequest) -> u8 {
    let name = first.args.first().cloned().unwrap_or_default();
    first.pgroup = PGroup::New;
    let main = match sys.spawn_request(first).await {
        Ok(pid) => pid,
        Err(e) => {
            let why = match e {
                Errno::ENOENT => "no such program (`coos programs` lists them)".to_string(),
                other => other.to_string(),
            };
            let _ = sys.eprint(&format!("coos: {name}: {why}\n")).await;
            return 127;
        }
    };
    let _ = sys.set_foreground(Fd::STDIN, main).await;
    let mut status = 0;
    loop {
        match sys.wait_any().await {
            Ok((pid, code)) if pid == main => {
                status = code;
                break;
            }
            Ok(_orphan) => {}
            Err(_) => break,
        }
    }
    // The first program is done: end whatever it left running.
    loop {
        let live: Vec<Pid> = sys
            .tasks()
            .await
            .into_iter()
            .filter(|t| t.pid != Pid::INIT && !matches!(t.state, syscalls::TaskState::Zombie(_)))
            .map(|t| t.pid)
            .collect();
        if live.is_empty() {
            break;
        }
        for pid in live {
            let _ = sys.kill(pid, Signal::Term).await;
        }
    }
    while sys.wait_any().await.is_ok() {}
    status
}
