mod support;

use syscalls::Fd;

#[test]
fn first_task_prints_and_its_status_is_the_kernels() {
    let run = support::run(b"", |sys| async move {
        sys.print("hello\n").await.unwrap();
        7
    });
    assert_eq!(run.stdout, "hello\n");
    assert_eq!(run.status, Some(7));
}

#[test]
fn cat_like_task_copies_console_input() {
    let run = support::run(b"abc\ndef\n", |sys| async move {
        let mut buf = [0u8; 3];
        loop {
            let n = sys.read(Fd::STDIN, &mut buf).await.unwrap();
            if n == 0 {
                return 0;
            }
            sys.write_all(Fd::STDOUT, &buf[..n]).await.unwrap();
        }
    });
    assert_eq!(run.stdout, "abc\ndef\n");
    assert_eq!(run.status, Some(0));
}
