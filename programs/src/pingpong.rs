//! `pingpong [N]`: two tasks bounce a 1-byte message over two pipes N times
//! and the time per round trip is printed: what a context switch through the
//! kernel costs, twice over.
//!
//! ```text
//!   ping (this task) ──ping pipe──▶ pong (a child)
//!          ▲                            │
//!          └──────────pong pipe─────────┘
//! ```
//!
//! Pong answers each byte with the byte plus one, so a lost or repeated
//! message shows.

use std::time::Duration;

use syscalls::{Command, Errno, ExitCode, Fd, FdMap, Sys};

use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "pingpong",
    "Usage: pingpong [N]\n\
     Bounce a 1-byte message between two tasks over two pipes N times\n\
     (default 1000) and print the time per round trip.\n\
     \n\
     \x20     --help     display this help and exit\n",
    &[],
);

/// Round trips when none is given.
const DEFAULT_ROUNDS: u64 = 1000;

/// Plays the rounds; status 1 if a message went missing or a call failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let rounds = match SPEC
        .optional_number(&sys, &args.operands, DEFAULT_ROUNDS)
        .await
    {
        Ok(n) => n,
        Err(status) => return status,
    };
    let (ping_r, ping_w) = match sys.pipe().await {
        Ok(ends) => ends,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "pipe", errno).await,
    };
    let (pong_r, pong_w) = match sys.pipe().await {
        Ok(ends) => ends,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "pipe", errno).await,
    };
    let pong = Command::from_fn(pong)
        .name(SPEC.name)
        .arg("pong")
        .fds(
            FdMap::stdio()
                .set(Fd::STDIN, ping_r)
                .set(Fd::STDOUT, pong_w),
        )
        .spawn(&sys)
        .await;
    // Pong holds its ends now: ours would keep end-of-file from coming.
    let _ = sys.close(ping_r).await;
    let _ = sys.close(pong_w).await;
    let pong = match pong {
        Ok(pid) => pid,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "cannot start pong", errno).await,
    };

    let started = sys.now().await;
    let played = play(&sys, ping_w, pong_r, rounds).await;
    let elapsed = sys.now().await.saturating_sub(started);
    // End-of-file tells pong the game is over.
    let _ = sys.close(ping_w).await;
    let waited = sys.wait(pong).await;

    let mut status = match played {
        Ok(()) => 0,
        Err(Missed::Call(what, errno)) => fail::call_failed(&sys, SPEC.name, what, errno).await,
        Err(Missed::Reply(round)) => {
            fail::error(
                &sys,
                SPEC.name,
                format_args!("round {round}: pong did not answer"),
            )
            .await;
            fail::FAILURE
        }
    };
    match waited {
        Ok((_, 0)) => {}
        Ok((_, code)) => status = code,
        Err(errno) => status = fail::call_failed(&sys, SPEC.name, "wait", errno).await,
    }
    if status != 0 {
        return status;
    }
    match sys.print(&report(rounds, elapsed)).await {
        Ok(()) => 0,
        Err(errno) => fail::write_error(&sys, SPEC.name, errno).await,
    }
}

/// How a game went wrong.
enum Missed {
    /// A system call failed.
    Call(&'static str, Errno),
    /// Pong's answer to this round (1-based) was missing or wrong.
    Reply(u64),
}

/// Sends a byte down `out` and awaits the answer on `back`, `rounds` times.
async fn play(sys: &Sys, out: Fd, back: Fd, rounds: u64) -> Result<(), Missed> {
    for round in 1..=rounds {
        let ball = round as u8;
        sys.write_all(out, &[ball])
            .await
            .map_err(|e| Missed::Call("write", e))?;
        let mut answer = [0u8; 1];
        let n = sys
            .read(back, &mut answer)
            .await
            .map_err(|e| Missed::Call("read", e))?;
        if n != 1 || answer[0] != ball.wrapping_add(1) {
            return Err(Missed::Reply(round));
        }
    }
    Ok(())
}

/// Pong: answers each byte of standard input with the byte plus one, on
/// standard output, until end-of-file.
async fn pong(sys: Sys) -> ExitCode {
    let mut ball = [0u8; 1];
    loop {
        match sys.read(Fd::STDIN, &mut ball).await {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(errno) => return fail::call_failed(&sys, SPEC.name, "pong: read", errno).await,
        }
        if let Err(errno) = sys.write_all(Fd::STDOUT, &[ball[0].wrapping_add(1)]).await {
            return fail::call_failed(&sys, SPEC.name, "pong: write", errno).await;
        }
    }
}

/// `pingpong: 1000 round trips in 1.234 ms (1234 ns/round trip)`.
fn report(rounds: u64, elapsed: Duration) -> String {
    let ns = elapsed.as_nanos();
    let per_round = ns.checked_div(u128::from(rounds)).unwrap_or(0);
    let us = ns / 1000;
    format!(
        "pingpong: {rounds} round trips in {}.{:03} ms ({per_round} ns/round trip)\n",
        us / 1000,
        us % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;

    #[test]
    fn the_report_reads_in_milliseconds_and_nanoseconds() {
        assert_eq!(
            report(1000, Duration::from_micros(1234)),
            "pingpong: 1000 round trips in 1.234 ms (1234 ns/round trip)\n"
        );
        assert_eq!(
            report(0, Duration::ZERO),
            "pingpong: 0 round trips in 0.000 ms (0 ns/round trip)\n"
        );
        assert_eq!(
            report(3, Duration::from_secs(2)),
            "pingpong: 3 round trips in 2000.000 ms (666666666 ns/round trip)\n"
        );
    }

    #[test]
    fn pingpong_plays_every_round_and_reaps_pong() {
        // The test kernel's clock is virtual and nobody sleeps: the time is 0.
        let out = run(&["pingpong", "300"], "");
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0));
        assert_eq!(
            out.stdout,
            "pingpong: 300 round trips in 0.000 ms (0 ns/round trip)\n"
        );
        assert_eq!(out.leftover, Vec::<String>::new());
        assert_eq!(crate::unreaped(&out), [], "pong is reaped");
    }

    #[test]
    fn pingpong_rejects_bad_operands() {
        let out = run(&["pingpong", "-5"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "pingpong: invalid option -- '5'\nTry 'pingpong --help' for more information.\n"
        );
        let out = run(&["pingpong", "many"], "");
        assert_eq!(
            out.stderr.lines().next(),
            Some("pingpong: invalid number: 'many'")
        );
    }
}
