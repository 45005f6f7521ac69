//! Level 6: robustness (SPEC.md section 11): many clients, slow readers,
//! garbage, limits and shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use protocol::{Request, Text, Username};

use crate::harness::{Client, TestServer};

/// `count` chats from admin, numbered from `first`, in one buffer for one
/// write, encoded by `protocol` like every other frame.
fn chat_burst(first: usize, count: usize, text: &str) -> Vec<u8> {
    (first..first + count)
        .flat_map(|i| {
            Request::Chat {
                username: Username::new("admin").expect("a valid username"),
                text: Text::new(format!("{i} {text}")).expect("a valid text"),
            }
            .to_bytes()
        })
        .collect()
}

/// Waits, without sleeping, until `done` holds or the deadline passes.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

#[test]
fn a_hundred_clients_get_every_chat_in_order() {
    // LOAD-1, CHAT-4, LOGIN-4.
    let server = TestServer::start();
    let mut clients: Vec<Client> = (0..100)
        .map(|i| server.new_user(&format!("u{i:03}")))
        .collect();
    for c in &mut clients {
        c.fence();
    }
    for (s, sender) in clients.iter_mut().take(5).enumerate() {
        let burst: String = (0..20)
            .map(|m| format!("0002|u{s:03}|s{s}m{m}\n"))
            .collect();
        sender.send_raw(burst.as_bytes());
    }
    let mut seen = vec![Vec::new(); clients.len()];
    for (s, sender) in clients.iter_mut().take(5).enumerate() {
        seen[s] = sender.fence();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut got = std::mem::take(&mut seen[i]);
        got.extend(c.fence());
        for s in 0..5 {
            let mine: Vec<_> = got
                .iter()
                .filter(|f| f.starts_with(&format!("1002|u{s:03}|")))
                .collect();
            let want = if s == i { 0 } else { 20 };
            assert_eq!(mine.len(), want, "client {i} from sender {s}");
            for (m, frame) in mine.iter().enumerate() {
                assert!(frame.ends_with(&format!("|s{s}m{m}")));
            }
        }
    }
}

#[test]
fn silent_and_half_sent_clients_delay_nobody() {
    // LOAD-2.
    let server = TestServer::start();
    let _silent = TcpStream::connect(server.chat_addr()).unwrap();
    let mut half = TcpStream::connect(server.chat_addr()).unwrap();
    half.write_all(b"0001|user1|1145").unwrap();
    let mut a = server.login("user1", "114514");
    let mut b = server.login("admin", "HytidelSB");
    a.fence();
    b.send("0002|admin|still here");
    assert_eq!(a.recv(), "1002|Hytidel|still here");
}

#[test]
fn a_reader_that_stops_is_dropped_without_delaying_others() {
    // LOAD-3, LOAD-4, NOTE-2.
    let server = TestServer::start_with(|c| c.queue_frames = 64);
    let mut sleepy = server.login("user1", "114514");
    let mut talker = server.login("admin", "HytidelSB");
    let mut reader = server.login("Julia", "sunyu");
    sleepy.fence();
    talker.fence();
    let text = "z".repeat(3000);
    let started = Instant::now();
    let mut sent = 0;
    let mut leave = None;
    // Talk until the server gives up on sleepy; reader keeps up meanwhile.
    while leave.is_none() {
        assert!(sent < 20_000, "sleepy was never dropped");
        talker.send_raw(&chat_burst(sent, 50, &text));
        sent += 50;
        // PING-2: the burst is queued to everyone before the reader's fence.
        talker.fence();
        for frame in reader.fence() {
            if frame.starts_with("1010|LEAVE|user1|") {
                leave = Some(frame);
            }
        }
    }
    assert_eq!(leave.unwrap(), "1010|LEAVE|user1|konbi|2");
    assert!(started.elapsed() < Duration::from_secs(30));
    // LOAD-4: sleepy got an in-order prefix, then (if it fit) the error, then EOF.
    let got = sleepy.until_closed();
    let mut next = 0;
    for (i, frame) in got.iter().enumerate() {
        if frame.starts_with("1900|") {
            assert!(frame.starts_with("1900|SLOW_CONSUMER|"));
            assert_eq!(i, got.len() - 1);
        } else {
            assert!(
                frame.starts_with(&format!("1002|Hytidel|{next} ")),
                "{i}: {}",
                &frame[..30]
            );
            next += 1;
        }
    }
    assert!(next < sent);
    talker.send("0002|admin|after");
    talker.fence();
    assert!(reader.fence().iter().any(|f| f == "1002|Hytidel|after"));
}

#[test]
fn a_reader_that_pauses_gets_everything_once_it_reads_again() {
    // LOAD-3, LOAD-4, CHAT-4: a client whose kernel buffers are full gets a
    // writer thread of its own, which blocks on it alone; once it reads
    // again it gets every frame, in order, and the others never waited.
    let server = TestServer::start();
    let mut paused = server.login("user1", "114514");
    let mut talker = server.login("admin", "HytidelSB");
    let mut reader = server.login("Julia", "sunyu");
    paused.fence();
    talker.fence();
    reader.fence();
    assert_eq!(
        server.writer_threads(),
        0,
        "the pool serves clients that read"
    );
    // 4,000 frames of 3 KB: far more than the socket buffers hold (Linux
    // caps the send buffer at 4 MiB and the unread receive buffer stays
    // small), far less than the queue's 16,384 frames.
    let text = "y".repeat(3000);
    let mut sent = 0;
    while sent < 4000 {
        talker.send_raw(&chat_burst(sent, 100, &text));
        sent += 100;
        // PING-2: the burst is queued to everyone before these fences return.
        talker.fence();
        let got = reader.fence();
        assert_eq!(got.len(), 100, "the reader got the whole burst at once");
    }
    assert!(
        server.writer_threads() >= 1,
        "the paused client has a writer"
    );
    let mut next = 0;
    for frame in paused.fence() {
        if frame.starts_with("1002|") {
            assert!(frame.starts_with(&format!("1002|Hytidel|{next} ")));
            next += 1;
        }
    }
    assert_eq!(next, sent);
    talker.send("0002|admin|after");
    assert_eq!(paused.recv(), "1002|Hytidel|after");
}

#[test]
fn many_idle_clients_cost_one_thread_each() {
    // LOAD-1, LOAD-6: every connection has its reader thread, and the writer
    // pool sends their frames (here, 200 clients' join notices, NOTE-1), so
    // no client that keeps up gets a writer thread.
    let server = TestServer::start();
    let mut clients: Vec<Client> = (0..200)
        .map(|i| server.new_user(&format!("idle{i:03}")))
        .collect();
    for c in &mut clients {
        c.fence();
    }
    assert_eq!(server.connections(), 200);
    assert_eq!(server.writer_threads(), 0);
    clients[0].send("0002|idle000|hello");
    clients[0].fence();
    for c in &mut clients[1..] {
        assert_eq!(c.fence(), vec!["1002|idle000|hello".to_owned()]);
    }
}

#[test]
fn garbage_and_churn_leave_the_server_serving() {
    // LOAD-5, FRAME-5, ERR-6.
    let server = TestServer::start();
    let mut watcher = server.login("Meggie", "maiji");
    let mut junk = Client::connect(server.chat_addr());
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    junk.send_raw(&garbage);
    junk.send_raw(b"\n\xc3\x28\n");
    junk.fence();
    drop(junk);
    for i in 0..1000 {
        let mut s = TcpStream::connect(server.chat_addr()).unwrap();
        if i % 3 == 0 {
            let _ = s.write_all(b"0001|Julia|sun");
        }
    }
    let handle_count = || server.connections();
    eventually("the churned connections are gone", || handle_count() <= 2);
    let mut fresh = server.login("Julia", "sunyu");
    assert_eq!(watcher.recv(), "1010|JOIN|Julia|Julia|2");
    fresh.send("0002|Julia|ok");
    assert_eq!(watcher.recv(), "1002|Julia|ok");
}

#[test]
fn connections_over_the_limit_are_told_so() {
    // LOAD-6.
    let server = TestServer::start_with(|c| c.max_clients = 2);
    let mut a = server.login("user1", "114514");
    let mut b = server.connect();
    b.fence();
    let mut c = server.connect();
    assert_eq!(c.error_code(), "SERVER_FULL");
    assert!(c.try_recv().is_none());
    drop(b);
    eventually("a slot frees", || server.connections() < 2);
    let mut d = server.connect();
    d.login("admin", "HytidelSB");
    assert_eq!(a.recv(), "1010|JOIN|admin|Hytidel|2");
}

#[test]
fn per_address_limit() {
    // LOAD-6.
    let server = TestServer::start_with(|c| c.max_per_ip = 1);
    let mut a = server.connect();
    a.fence();
    let mut b = server.connect();
    assert_eq!(b.error_code(), "SERVER_FULL");
}

#[test]
fn shutdown_says_so_to_everyone_even_to_clients_that_do_not_read() {
    // LOAD-7.
    let mut server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let mut anon = server.connect();
    anon.fence();
    let mut stalled = server.login("admin", "HytidelSB");
    a.fence();
    let text = "s".repeat(4000);
    let flood: String = (0..2000).map(|_| format!("0002|user1|{text}\n")).collect();
    // Flood `stalled`, which reads nothing, from a thread so that our own
    // writes cannot block this test.
    let mut writer = a.stream.try_clone().unwrap();
    let flooder = std::thread::spawn(move || {
        let _ = writer.write_all(flood.as_bytes());
    });
    let started = Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        anon.until_closed()
            .last()
            .unwrap()
            .starts_with("1900|SHUTDOWN|")
    );
    let mut rest = Vec::new();
    let _ = a.stream.read_to_end(&mut rest);
    let _ = stalled.stream.read_to_end(&mut rest);
    flooder.join().unwrap();
}

/// The names and niceness of this process's threads, from /proc.
fn thread_niceness() -> Vec<(String, i64)> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let path = task.ok()?.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // Field 19 of stat; the fields after the name start at field 3.
            let after_name = &stat[stat.rfind(')')? + 2..];
            let nice = after_name.split(' ').nth(16)?.parse().ok()?;
            Some((name.trim_end().to_owned(), nice))
        })
        .collect()
}

#[test]
fn the_writer_pool_runs_below_the_readers() {
    // LOAD-1: reading and logins come first, the pool sends what is left.
    // The pool asks for niceness 10; a test run already nicer than that (a
    // CI started with `nice`) keeps its own, since raising priority needs a
    // privilege.
    let server = TestServer::start();
    let mut client = server.login("user1", "114514");
    client.fence();
    let readers: Vec<i64> = thread_niceness()
        .into_iter()
        .filter(|(name, _)| name.starts_with("conn-"))
        .map(|(_, nice)| nice)
        .collect();
    let base = readers[0];
    assert!(readers.iter().all(|&nice| nice == base), "{readers:?}");
    let want = base.max(10);
    eventually("every writer-pool thread has niceness 10", || {
        let pool: Vec<i64> = thread_niceness()
            .into_iter()
            .filter(|(name, _)| name.starts_with("writer-pool-"))
            .map(|(_, nice)| nice)
            .collect();
        pool.len() >= 2 && pool.iter().all(|&nice| nice == want)
    });
}

#[test]
fn a_flooding_sender_is_slowed_down_and_no_reader_is_dropped() {
    // LOAD-3, LOAD-4: one client sends as fast as TCP lets it, with no pause
    // to see what arrived. The clients that read must get every frame, in
    // order: the server slows the sender down (it reads its socket more
    // slowly while it catches up with the queues), it never lets the queues
    // of readers that keep up overflow.
    const COUNT: usize = 5_000;
    let server = TestServer::start_with(|c| c.queue_frames = 2048);
    let mut talker = server.login("admin", "HytidelSB");
    let mut readers: Vec<Client> = (0..100)
        .map(|i| server.new_user(&format!("flood{i:02}")))
        .collect();
    for reader in &mut readers {
        reader.fence();
    }
    talker.fence();
    let counting: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            std::thread::spawn(move || {
                let mut next = 0;
                while next < COUNT {
                    let frame = reader.recv();
                    assert!(
                        frame.starts_with(&format!("1002|Hytidel|{next} ")),
                        "frame {next}: {frame}"
                    );
                    next += 1;
                }
                next
            })
        })
        .collect();
    for first in (0..COUNT).step_by(500) {
        talker.send_raw(&chat_burst(first, 500, "flood"));
    }
    for reader in counting {
        assert_eq!(reader.join().unwrap(), COUNT);
    }
}
