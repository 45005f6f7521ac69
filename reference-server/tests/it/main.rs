//! Integration tests of the reference server over real sockets on
//! 127.0.0.1, one module per level of SPEC.md, plus the binary's command line.
//! Every test cites the rules it checks. No test sleeps: silence is proven
//! with the ping fence (PING-2), and every read has a deadline.

mod binary;
mod chat_bench;
mod harness;
mod level1;
mod level2;
mod level3;
mod level4;
mod level5;
mod level6;
