#!/usr/bin/env python3
"""Builds the Rust reference solutions of labs 1 to 6 from one source.

The six solutions grow one level at a time, like the Python ones, so they are
cut from the files in `server_master_rs/` with the same markers as
`server_master.py`, written as Rust comments:

    //@ since 4      (first line of a file) the file exists from lab 4 on
    //@ if 3         kept when the level is 3 or more
    //@ else         kept when the level is below 3
    //@ end

Each solution is a cargo package of its own, `labN-rust/`, with a binary
`labN-solution`; the generated files are formatted with rustfmt.

Usage:
    python3 build_rust.py           write labs/solutions/labN-rust/
    python3 build_rust.py --check   exit 1 if a generated file is out of date

Instructors edit `server_master_rs/*.rs`, run this, and commit the results.
Students never need this file.
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
MASTER = HERE / "server_master_rs"
sys.path.insert(0, str(HERE))
import build  # noqa: E402  (the marker parser of server_master.py)

TITLE = "ChatLab reference solution for lab {n}, Rust track (SPEC.md levels 1 to {n})."
ABOUT = ("Instructors: keep this folder out of the students' path until lab {n} is due.\n"
         "//! It is generated from `labs/solutions/server_master_rs/` by\n"
         "//! `labs/solutions/build_rust.py`: edit the master, not this file.")


def cargo_toml(n):
    deps = ['protocol = { path = "../../../protocol" }']
    if n >= 3:
        deps += ['argon2 = { version = "0.5", features = ["std"] }  # REG-4: a password-hashing function',
                 'getrandom = "0.3"  # salts, tickets and ids nobody can guess']
    if n >= 6:
        deps += ['ctrlc = { version = "3", features = ["termination"] }  # LOAD-7: SIGTERM and Ctrl-C',
                 'socket2 = "0.6"  # LOAD-1: a listen queue for many clients at once']
    return f'''[package]
name = "lab{n}-solution"
version = "0.1.0"
edition = "2024"
publish = false
description = "ChatLab lab {n} reference solution, Rust track"

# A workspace of its own, like the starters: a student's project stands alone.
[workspace]

[[bin]]
name = "lab{n}-solution"
path = "src/main.rs"

[dependencies]
''' + "\n".join(deps) + "\n"


def render(path, n):
    """The text of one master file at level n, or None if it starts later."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith("//@ since "):
        if n < int(lines[0].split()[2]):
            return None
        lines = lines[1:]
    # The markers of server_master.py, written as Rust comments.
    lines = ["#@ " + l.strip()[4:] + "\n" if l.strip().startswith("//@ ") else l for l in lines]
    out = []
    build.emit(build.parse(lines), n, None, out)
    return ("".join(out).replace("@@TITLE@@", TITLE.format(n=n))
            .replace("@@ABOUT@@", ABOUT.format(n=n)).replace("@@N@@", str(n)))


def write_all(root):
    """Writes every solution under root (labs/solutions or a scratch copy)."""
    for n in range(1, 7):
        crate = root / f"lab{n}-rust"
        (crate / "src").mkdir(parents=True, exist_ok=True)
        (crate / "Cargo.toml").write_text(cargo_toml(n), encoding="utf-8")
        (crate / ".gitignore").write_text("/target\nCargo.lock\n", encoding="utf-8")
        for path in sorted(MASTER.glob("*.rs")):
            text = render(path, n)
            if text is not None:
                (crate / "src" / path.name).write_text(text, encoding="utf-8")
        subprocess.run(["rustfmt", "--edition", "2024", str(crate / "src" / "main.rs")], check=True)


def files(root):
    return {p.relative_to(root): p.read_bytes()
            for n in range(1, 7) for p in sorted((root / f"lab{n}-rust").rglob("*"))
            if p.is_file() and "target" not in p.parts and p.name != "Cargo.lock"}


def main():
    if "--check" not in sys.argv[1:]:
        write_all(HERE)
        print("wrote labs/solutions/lab1-rust ... lab6-rust")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        write_all(scratch)
        want, have = files(scratch), files(HERE)
    stale = sorted(str(p) for p in set(want) | set(have) if want.get(p) != have.get(p))
    for p in stale:
        print("stale: solutions/" + p)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
