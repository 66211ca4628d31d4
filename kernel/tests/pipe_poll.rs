//! `poll` on pipe ends wakes for what a read or write would do without
//! blocking, end-of-file included.

mod support;

use syscalls::{Command, Fd, FdMap, Interest, PollFd};

#[test]
fn poll_wakes_when_the_last_writer_closes() {
    // A read would return end-of-file at once: the read end is readable.
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let poller = Command::from_fn(|sys| async move {
            let mut entries = [PollFd::new(Fd::STDIN, Interest::READ)];
            let ready = sys.poll(&mut entries, None).await;
            let mut buf = [0u8; 8];
            let read = sys.read(Fd::STDIN, &mut buf).await;
            (ready == Ok(1) && entries[0].ready.read && read == Ok(0)) as u8
        })
        .fds(FdMap::stdio().set(Fd::STDIN, r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        sys.yield_now().await; // The poller parks.
        sys.close(w).await.unwrap();
        let (_, status) = sys.wait(poller).await.unwrap();
        status
    });
    run.expect_status(1);
}
