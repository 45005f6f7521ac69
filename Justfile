# ChatLab's task menu: `just` lists the recipes, `just NAME` runs one.
# Run `bash .ci/setup` once on a fresh machine first.

# List the recipes.
default:
    @just --list --unsorted

# Run every check CI runs: formatting, lints, then all tests (GUI client included).
test:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
    cargo build --release -p conformance
    python3 labs/check.py --grader {{env_var_or_default("CARGO_TARGET_DIR", "target")}}/release/conformance --rust

# Format every crate in place.
fmt:
    cargo fmt --all

# Lint every crate and target, warnings as errors.
clippy:
    cargo clippy --workspace --all-targets -- -D warnings

# Run the reference server, e.g. `just server --help`.
server *ARGS:
    cargo run --release -p reference-server -- {{ARGS}}

# Run the desktop client, e.g. `just client --help`.
client *ARGS:
    cargo run --release -p reference-client -- {{ARGS}}

# Grade a chat server (by default the reference server) and print the report.
grade *ARGS:
    cargo run --release -p conformance -- {{ARGS}}

# Check your server against one lab, e.g. `just lab 2 -- python3 server.py {port} {data_dir}`.
[no-cd]
lab N *CMD:
    python3 "{{justfile_directory()}}/labs/lab.py" {{N}} {{CMD}}

# Show which labs and steps your server passes, e.g. `just labs -- python3 server.py {port} {data_dir}`.
[no-cd]
labs *CMD:
    python3 "{{justfile_directory()}}/labs/lab.py" --progress {{CMD}}

# Grade a class, one folder per student, e.g. `just classroom grade submissions/ --level 3` (classroom/README.md).
classroom *ARGS:
    cargo build --release -p conformance -p classroom
    target/release/classroom {{ARGS}}

# Grade a generated class of 50 fixture submissions; prints wall time and throughput.
bench-class *ARGS:
    cargo build --release -p conformance -p classroom
    target/release/classroom bench-class --count 50 {{ARGS}}

# Time the grader: the full suite against the reference server and against a silent server.
bench-grade:
    cargo run --release -p conformance -- bench

# Run the protocol benchmark (see BENCHMARKS.md for all of them).
bench:
    cargo run --release -p protocol --example bench

# Load-test a chat server (the reference server by default), e.g. `just bench-server --clients 100 --senders 100 --messages 1000`.
bench-server *ARGS:
    cargo run --release -p reference-server --bin chat-bench -- {{ARGS}}

# Run every reference-server workload of BENCHMARKS.md three times and print the table of targets (a few minutes).
bench-targets *ARGS:
    cargo run --release -p reference-server --bin chat-bench -- --suite {{ARGS}}
