//! Writers: EPIPE once every read end is closed, and many concurrent
//! writers whose bytes are never lost, duplicated or (for writes of at most
//! 4096 bytes) interleaved.

mod support;

use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, Signal, Sys, TaskState};

#[test]
fn write_fails_with_epipe_once_every_read_end_is_closed() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let r2 = sys.dup(r).await.unwrap();
        sys.close(r).await.unwrap();
        assert_eq!(sys.write(w, b"one reader left").await, Ok(15));
        sys.close(r2).await.unwrap();
        assert_eq!(sys.write(w, b"none left").await, Err(Errno::EPIPE));
        assert_eq!(sys.write(w, b"x").await, Err(Errno::EPIPE), "and after");
        0
    });
    run.expect_clean();
}

#[test]
fn epipe_waits_for_the_read_end_a_child_inherited() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let child = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        assert_eq!(sys.write(w, b"the child could read this").await, Ok(25));
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        assert_eq!(sys.write(w, b"nobody can").await, Err(Errno::EPIPE));
        0
    });
    run.expect_clean();
}

#[test]
fn a_writer_blocked_on_a_full_pipe_learns_when_the_last_reader_goes() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(10).await.unwrap();
        // Started: 10 of 100 bytes go in, then the reader goes away.
        let big = Command::from_fn(|sys| async move {
            let first = sys.write(Fd(1), &[b'b'; 100]).await;
            let second = sys.write(Fd(1), b"more").await;
            match (first, second) {
                (Ok(10), Err(Errno::EPIPE)) => 0,
                other => {
                    let _ = sys.eprint(&format!("big got {other:?}\n")).await;
                    1
                }
            }
        })
        .fds(FdMap::stdio().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        // Not started: an atomic 8-byte write finds no room.
        let small = Command::from_fn(|sys| async move {
            match sys.write(Fd(1), b"8 bytes!").await {
                Err(Errno::EPIPE) => 0,
                other => {
                    let _ = sys.eprint(&format!("small got {other:?}\n")).await;
                    1
                }
            }
        })
        .fds(FdMap::stdio().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        sys.yield_now().await;
        for pid in [big, small] {
            let state = support::state_of(&sys, pid).await;
            assert_eq!(state, Some(TaskState::Writing(Fd(1))));
        }
        sys.close(r).await.unwrap();
        assert_eq!(sys.wait(big).await, Ok((big, 0)));
        assert_eq!(sys.wait(small).await, Ok((small, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_blocked_writer_gets_epipe_when_the_reader_task_is_killed() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(4).await.unwrap();
        let reader = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_secs(3600)).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        sys.spawn_fn(move |sys| async move {
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            sys.kill(reader, Signal::Term).await.unwrap();
            0
        })
        .await
        .unwrap();
        let mut written = 0;
        let err = loop {
            match sys.write(w, b"abc").await {
                Ok(n) => written += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Errno::EPIPE);
        assert_eq!(written, 3, "one 3-byte write fit in the 4-byte pipe");
        assert_eq!(sys.now().await, Duration::from_secs(1));
        0
    });
    run.expect_clean();
}

// ---- many writers, one reader -------------------------------------------

/// A record: id (1 byte), seq (2), length of the whole record (2), then a
/// body every byte of which follows from (id, seq, index).
fn record(id: u8, seq: u16, len: usize) -> Vec<u8> {
    assert!((5..=u16::MAX as usize).contains(&len));
    let mut r = vec![id];
    r.extend_from_slice(&seq.to_le_bytes());
    r.extend_from_slice(&(len as u16).to_le_bytes());
    for i in 0..len - 5 {
        r.push(body_byte(id, seq, i));
    }
    r
}

fn body_byte(id: u8, seq: u16, i: usize) -> u8 {
    (i as u32)
        .wrapping_mul(31)
        .wrapping_add(u32::from(seq) * 7 + u32::from(id) * 101) as u8
}

/// Sizes from 5 to 4096 bytes, different for every writer and record, with
/// the extremes included.
fn record_len(id: u8, seq: u16) -> usize {
    match (u32::from(id) * 7919 + u32::from(seq) * 104_729) % 11 {
        0 => 5,
        1 => 4096,
        2 => 4095,
        n => 5 + ((u32::from(id) * 1_000_003 + u32::from(seq) * 7_777 + n * 13) % 4091) as usize,
    }
}

/// Reads until EOF with read sizes that change from call to call.
async fn read_all_varied(sys: &Sys, fd: Fd) -> Vec<u8> {
    let sizes = [1usize, 7, 100, 333, 4096, 5000, 64, 2];
    let mut buf = vec![0u8; 5000];
    let mut all = Vec::new();
    for i in 0.. {
        let want = sizes[i % sizes.len()];
        let n = sys.read(fd, &mut buf[..want]).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= want);
        all.extend_from_slice(&buf[..n]);
        if i % 5 == 0 {
            sys.yield_now().await;
        }
    }
    all
}

#[test]
fn atomic_writes_of_up_to_4096_bytes_never_interleave() {
    const WRITERS: u8 = 12;
    const RECORDS: u16 = 40;
    let run = support::run(b"", |sys| async move {
        // The smallest pipe for which every write of at most 4096 bytes
        // must be atomic.
        let (r, w) = sys.pipe_with_capacity(4096).await.unwrap();
        for id in 0..WRITERS {
            Command::from_fn(move |sys| async move {
                for seq in 0..RECORDS {
                    let rec = record(id, seq, record_len(id, seq));
                    // One call per record: it goes in whole or blocks.
                    assert_eq!(sys.write(Fd(1), &rec).await, Ok(rec.len()));
                    if (seq + u16::from(id)) % 3 == 0 {
                        sys.yield_now().await;
                    }
                }
                0
            })
            .fds(FdMap::stdio().set(Fd(1), w))
            .spawn(&sys)
            .await
            .unwrap();
        }
        sys.close(w).await.unwrap();
        let stream = read_all_varied(&sys, r).await;
        while let Ok((_, status)) = sys.wait_any().await {
            assert_eq!(status, 0);
        }
        check_records(&stream, WRITERS, RECORDS);
        0
    });
    run.expect_clean();
    assert_contended(&run);
}

/// The run really had writers waiting on a full pipe and a reader waiting
/// on an empty one: the cases where bytes could go astray.
fn assert_contended(run: &support::Run) {
    let lines = run.trace_lines();
    let writes = lines.iter().filter(|l| l.ends_with("writing fd 1")).count();
    let reads = lines
        .iter()
        .filter(|l| l.starts_with("block 2 reading"))
        .count();
    assert!(writes > 10, "writers blocked {writes} times");
    assert!(reads > 0, "the reader blocked {reads} times");
}

/// Parses `stream` as whole records back to back: every record intact,
/// each writer's records in order, none missing or repeated.
fn check_records(stream: &[u8], writers: u8, records: u16) {
    let mut next = vec![0u16; writers as usize];
    let mut at = 0;
    while at < stream.len() {
        assert!(stream.len() - at >= 5, "a cut header at byte {at}");
        let id = stream[at];
        let seq = u16::from_le_bytes([stream[at + 1], stream[at + 2]]);
        let len = u16::from_le_bytes([stream[at + 3], stream[at + 4]]) as usize;
        assert!(id < writers, "bad id {id} at byte {at}: interleaved?");
        assert_eq!(seq, next[id as usize], "writer {id}'s records out of order");
        assert_eq!(len, record_len(id, seq), "length of record {id}/{seq}");
        assert!(at + len <= stream.len(), "record {id}/{seq} cut short");
        let body = &stream[at + 5..at + len];
        for (i, &b) in body.iter().enumerate() {
            assert_eq!(
                b,
                body_byte(id, seq, i),
                "record {id}/{seq} byte {i}: another writer's bytes inside it"
            );
        }
        next[id as usize] += 1;
        at += len;
    }
    assert_eq!(
        next,
        vec![records; writers as usize],
        "every record arrived"
    );
}

/// Byte `k` of writer `id`'s stream: the id in the top 3 bits, 5 bits of a
/// hash of (id, k) below, so a lost or repeated byte breaks the sequence.
fn tagged(id: u8, k: usize) -> u8 {
    let x = (k as u32).wrapping_mul(0x9E37_79B1) ^ u32::from(id).wrapping_mul(0x85EB_CA6B);
    (id << 5) | (x >> 27) as u8
}

#[test]
fn partial_writes_through_a_tiny_pipe_neither_lose_nor_duplicate_bytes() {
    const WRITERS: u8 = 8;
    const BYTES: usize = 20_000;
    let run = support::run(b"", |sys| async move {
        // 61 bytes: most writes are bigger and must be split.
        let (r, w) = sys.pipe_with_capacity(61).await.unwrap();
        for id in 0..WRITERS {
            Command::from_fn(move |sys| async move {
                let stream: Vec<u8> = (0..BYTES).map(|k| tagged(id, k)).collect();
                let mut at = 0;
                let mut chunk = 1 + id as usize * 37;
                while at < BYTES {
                    let end = (at + chunk).min(BYTES);
                    if id % 2 == 0 {
                        sys.write_all(Fd(1), &stream[at..end]).await.unwrap();
                        at = end;
                    } else {
                        // Handle partial counts by hand.
                        let n = sys.write(Fd(1), &stream[at..end]).await.unwrap();
                        assert!(n > 0 && n <= end - at);
                        at += n;
                    }
                    chunk = chunk * 7 % 301 + 1;
                }
                0
            })
            .fds(FdMap::stdio().set(Fd(1), w))
            .spawn(&sys)
            .await
            .unwrap();
        }
        sys.close(w).await.unwrap();
        let all = read_all_varied(&sys, r).await;
        while let Ok((_, status)) = sys.wait_any().await {
            assert_eq!(status, 0);
        }
        assert_eq!(all.len(), WRITERS as usize * BYTES, "no byte lost or added");
        let mut count = vec![0usize; WRITERS as usize];
        for &b in &all {
            let id = b >> 5;
            let k = count[id as usize];
            assert_eq!(b, tagged(id, k), "writer {id} byte {k}");
            count[id as usize] += 1;
        }
        assert_eq!(count, vec![BYTES; WRITERS as usize]);
        0
    });
    run.expect_clean();
    assert_contended(&run);
}

#[test]
fn writes_no_bigger_than_a_small_pipe_are_atomic_too() {
    const WRITERS: u8 = 6;
    const RECORDS: u16 = 200;
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(64).await.unwrap();
        for id in 0..WRITERS {
            Command::from_fn(move |sys| async move {
                for seq in 0..RECORDS {
                    let len = 5 + (usize::from(id) * 13 + usize::from(seq) * 7) % 60;
                    let rec = small_record(id, seq, len);
                    assert_eq!(sys.write(Fd(1), &rec).await, Ok(len));
                }
                0
            })
            .fds(FdMap::stdio().set(Fd(1), w))
            .spawn(&sys)
            .await
            .unwrap();
        }
        sys.close(w).await.unwrap();
        let stream = read_all_varied(&sys, r).await;
        while sys.wait_any().await.is_ok() {}
        let mut next = vec![0u16; WRITERS as usize];
        let mut at = 0;
        while at < stream.len() {
            let (id, seq) = (
                stream[at],
                u16::from_le_bytes([stream[at + 1], stream[at + 2]]),
            );
            assert!(id < WRITERS, "interleaved at byte {at}");
            assert_eq!(seq, next[id as usize]);
            let len = 5 + (usize::from(id) * 13 + usize::from(seq) * 7) % 60;
            assert_eq!(&stream[at..at + len], &small_record(id, seq, len)[..]);
            next[id as usize] += 1;
            at += len;
        }
        assert_eq!(next, vec![RECORDS; WRITERS as usize]);
        0
    });
    run.expect_clean();
    assert_contended(&run);
}

fn small_record(id: u8, seq: u16, len: usize) -> Vec<u8> {
    let mut r = vec![id];
    r.extend_from_slice(&seq.to_le_bytes());
    r.extend((3..len).map(|i| body_byte(id, seq, i)));
    r
}

#[test]
fn bytes_handed_to_a_reader_killed_before_it_ran_stay_in_the_pipe() {
    // Hostile: a write completes into a parked reader's buffer, and the
    // reader is killed before its read returns. The write said 4 bytes
    // went into the pipe; another reader of that pipe must still get them.
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let victim = Command::from_fn(|sys| async move {
            let _ = sys.read(Fd(0), &mut [0u8; 16]).await;
            0
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        assert_eq!(sys.write(w, b"data").await, Ok(4));
        sys.kill(victim, Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(victim).await, Ok((victim, 137)));
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"data", "a byte written to a pipe is never lost");
        0
    });
    run.expect_clean();
}

#[test]
fn one_writer_of_a_big_buffer_arrives_whole_and_in_order() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(1000).await.unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = Command::from_fn(move |sys| async move {
            // One call: the kernel moves it through the pipe piece by piece.
            assert_eq!(sys.write(Fd(1), &data).await, Ok(data.len()));
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let got = read_all_varied(&sys, r).await;
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_write_of_at_most_pipe_buf_bytes_is_never_interleaved_even_in_a_small_pipe() {
    // Hostile: a 61-byte pipe, a 100-byte write (at most PIPE_BUF, so
    // atomic by the call table), and an atomic 50-byte write queued first.
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(61).await.unwrap();
        sys.write_all(w, &[b'f'; 41]).await.unwrap(); // 20 bytes free
        for (byte, len) in [(b'w', 50), (b'a', 100)] {
            Command::from_fn(move |sys| async move {
                let n = sys.write(Fd(1), &vec![byte; len]).await.unwrap();
                assert_eq!(n, len);
                0
            })
            .fds(FdMap::empty().set(Fd(1), w))
            .spawn(&sys)
            .await
            .unwrap();
        }
        sys.close(w).await.unwrap();
        sys.yield_now().await; // both writers block on the full pipe
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        while sys.wait_any().await.is_ok() {}
        let text = String::from_utf8(got).unwrap();
        let a_runs = text
            .split(|c| c != 'a')
            .filter(|run| !run.is_empty())
            .count();
        assert_eq!(a_runs, 1, "the 100-byte write arrived in one piece: {text}");
        0
    });
    run.expect_clean();
}

#[test]
fn an_atomic_write_that_does_not_fit_puts_nothing_in_until_it_fits_whole() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(10).await.unwrap();
        sys.write_all(w, b"1234567").await.unwrap(); // 3 bytes free
        let writer = Command::from_fn(|sys| async move {
            assert_eq!(sys.write(Fd(1), b"ABCDEFGH").await, Ok(8));
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        let mut buf = [0u8; 64];
        // None of the 8 bytes went into the 3 free ones.
        assert_eq!(sys.read(r, &mut buf).await, Ok(7));
        assert_eq!(&buf[..7], b"1234567");
        // The pipe emptied: the whole write went in at once.
        assert_eq!(sys.read(r, &mut buf).await, Ok(8));
        assert_eq!(&buf[..8], b"ABCDEFGH");
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        0
    });
    run.expect_clean();
}
