use syscalls::{Command, ExitCode, Fd, FdMap, Sys};

pub async fn main(sys: Sys, _args: Vec<String>) -> ExitCode {
    let Ok((r, w)) = sys.pipe().await else {
        return 1;
    };
    // The child's stdout is the pipe's write end.
    let counter = Command::from_fn(|sys| async move {
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while let Ok(n @ 1..) = sys.read(Fd::STDIN, &mut buf).await {
            total += n;
        }
        let _ = sys.print(&format!("{total} bytes\n")).await;
        0
    })
    .fds(FdMap::stdio().set(Fd::STDOUT, w))
    .spawn(&sys)
    .await;
    let _ = sys.close(w).await; // or the reader below never sees end-of-file
    let Ok(child) = counter else { return 1 };
    let mut report = Vec::new();
    let _ = sys.read_to_end(r, &mut report).await;
    let _ = sys.write_all(Fd::STDOUT, &report).await;
    match sys.wait(child).await {
        Ok((_, status)) => status,
        Err(_) => 1,
    }
}
