//! Throughput of framing + parsing (`just bench`), next to a plain `memchr`
//! scan of the same bytes as the physical reference.
//!
//! The stream is a realistic mix of client frames (mostly group chat, with
//! Chinese text, escapes and emoji; some private messages, pings, lists,
//! logins and shares), generated deterministically and fed to the
//! [`FrameBuffer`] in 64 KiB reads, the way a server's read loop would.
//! A benchmark, not a test: run it with `cargo run --release -p protocol --example bench`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use protocol::limits::MAX_FRAME;
use protocol::{FrameBuffer, ItemId, ItemName, Request, Text, Token, Username, parse_request};

/// A small deterministic generator, so every run measures the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

const WORDS: &[&str] = &[
    "大家好",
    "今晚开会吗？",
    "hello",
    "ok",
    "八点见",
    "a|b",
    "路径 C:\\tmp",
    "😀",
    ":happy:",
    "第二行\n第三行",
    "lol",
    "作业什么时候交",
    "the quick brown fox",
    "收到",
    "👍👍",
];
const USERS: &[&str] = &["user1", "admin", "Julia", "Meggie", "小明", "小红", "陈磊"];

fn text(rng: &mut Lcg) -> Text {
    let words = 1 + rng.next(12);
    let parts: Vec<&str> = (0..words).map(|_| WORDS[rng.next(WORDS.len())]).collect();
    Text::new(parts.join(" ")).unwrap()
}

fn frame(rng: &mut Lcg) -> Request {
    let user = Username::new(USERS[rng.next(USERS.len())]).unwrap();
    match rng.next(100) {
        0..60 => Request::Chat {
            username: user,
            text: text(rng),
        },
        60..75 => Request::Private {
            to: user,
            text: text(rng),
        },
        75..85 => Request::Ping {
            token: Token::new(format!("fence-{}", rng.next(1000))).unwrap(),
        },
        85..90 => Request::List,
        90..95 => Request::Login {
            username: user.into_string(),
            password: "xiaoming123".into(),
        },
        _ => Request::Share {
            to: None,
            id: ItemId::new(format!("p{}", rng.next(10_000))).unwrap(),
            name: ItemName::new("猫 照片.png").unwrap(),
        },
    }
}

/// Runs `work` over the whole stream `rounds` times and keeps the best time.
fn best_of(rounds: usize, mut work: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut count = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        count = black_box(work());
        best = best.min(start.elapsed());
    }
    (best, count)
}

fn report(name: &str, bytes: usize, (time, frames): (Duration, usize)) {
    let secs = time.as_secs_f64();
    println!(
        "{name:<28} {:>9.1} MB/s {:>8.2} M frames/s  ({frames} frames in {:.1} ms)",
        bytes as f64 / secs / 1e6,
        frames as f64 / secs / 1e6,
        secs * 1e3
    );
}

fn main() {
    let mut rng = Lcg(2026);
    let mut stream = Vec::new();
    let mut frames = 0;
    while stream.len() < 64 << 20 {
        frame(&mut rng).encode(&mut stream);
        frames += 1;
    }
    let bytes = stream.len();
    println!(
        "stream: {:.1} MB, {frames} frames, {:.0} bytes/frame on average, read in 64 KiB chunks",
        bytes as f64 / 1e6,
        bytes as f64 / frames as f64
    );
    let chunks: Vec<&[u8]> = stream.chunks(64 * 1024).collect();

    report(
        "memchr scan (reference)",
        bytes,
        best_of(5, || {
            chunks
                .iter()
                .map(|c| memchr::memchr_iter(b'\n', c).count())
                .sum()
        }),
    );
    // Both stages run the same read loop; only the work per line differs.
    let frame_all = |per_line: fn(&[u8])| {
        let mut buffer = FrameBuffer::new(MAX_FRAME);
        let mut n = 0;
        for chunk in &chunks {
            buffer.push(chunk);
            while let Some(line) = buffer.next_line() {
                per_line(line.unwrap());
                n += 1;
            }
        }
        n
    };
    report(
        "framing (FrameBuffer)",
        bytes,
        best_of(5, || {
            frame_all(|line| {
                black_box(line);
            })
        }),
    );
    report(
        "framing + parse_request",
        bytes,
        best_of(5, || {
            frame_all(|line| {
                black_box(parse_request(line).unwrap());
            })
        }),
    );
}
