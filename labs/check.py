#!/usr/bin/env python3
"""The labs' own test: the pages agree, the starters fail, the solutions pass.

    python3 labs/check.py --only-docs
    python3 labs/check.py --grader target/release/conformance [--rust] [--labs 1,2,7]

1. Docs: every lab page has an English and a Chinese version with the same
   headings (same levels, in the same order), the same six sections, and
   identical `sh` code blocks (the commands), with as many code blocks in all.
   The generated starters and solutions are up to date with
   `solutions/server_master.py`, and the frame proxy judges the shared test
   vectors the way SPEC.md does.
   With --rust, the Rust solutions are up to date with
   `solutions/server_master_rs/`, and every Rust lab package is `cargo fmt`
   clean (and, with --clippy, `cargo clippy -- -D warnings` clean).
2. Grading (unless --only-docs): for each lab N, the grader's Level N profile
   must fail on the Python starter (exit 1) and pass on the Python solution
   (exit 0); with --rust, it must also fail on the Rust starter and pass on
   the Rust solution. All Rust packages are built first, into one shared
   target folder (CARGO_TARGET_DIR, else target/labs), so `protocol` and the
   other dependencies compile once for all of them. With --jobs N, N servers
   are graded at a time; lab 6's load tests always run alone, at the end.
   Lab 7 (a client): lab.py's client check (lab7-client/tools/client_check.py)
   must fail on the Python starter and pass on the Python solution client;
   with --rust, it must fail on the Rust client starter too. It needs the
   reference server: --server PATH, else `reference-server` next to the
   grader, else lab.py builds it with cargo.

Standard library only. Exit status 0 when everything holds, 1 otherwise.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

LABS = pathlib.Path(__file__).resolve().parent
ROOT = LABS.parent
SECTIONS = {
    "en": ["Goals", "Read first", "Steps", "Classic bugs", "Checklist", "Extensions"],
    "zh": ["目标", "先读", "步骤", "经典错误", "检查清单", "拓展"],
}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)

failures = []
PRINT = threading.Lock()  # grading runs in several threads (--jobs)


def fail(message):
    with PRINT:
        failures.append(message)
        print("✘ " + message, flush=True)


def ok(message):
    with PRINT:
        print("✔ " + message, flush=True)


def outline(text):
    """Headings as (level, title), ignoring lines inside code blocks."""
    return [(len(h), t.strip()) for h, t in HEADING.findall(FENCE.sub("", text))]


def compare_pages(en_path):
    zh_path = en_path.with_name("README.zh-CN.md")
    name = str(en_path.parent.relative_to(ROOT))
    if not zh_path.exists():
        fail(f"{name}: README.zh-CN.md is missing")
        return
    en, zh = en_path.read_text(encoding="utf-8"), zh_path.read_text(encoding="utf-8")
    en_h, zh_h = outline(en), outline(zh)
    if [lvl for lvl, _ in en_h] != [lvl for lvl, _ in zh_h]:
        fail(f"{name}: headings differ: English {[f'{l}:{t}' for l, t in en_h]} vs Chinese {[f'{l}:{t}' for l, t in zh_h]}")
        return
    if en_path.parent != LABS:
        for lang, heads in (("en", en_h), ("zh", zh_h)):
            got = [t for lvl, t in heads if lvl == 2]
            if got != SECTIONS[lang]:
                fail(f"{name}: {lang} sections are {got}, expected {SECTIONS[lang]}")
        steps = [t for lvl, t in en_h if lvl == 3 and t.startswith("Step ")]
        if not steps:
            fail(f"{name}: no '### Step K' headings")
    en_blocks, zh_blocks = FENCE.findall(en), FENCE.findall(zh)
    if len(en_blocks) != len(zh_blocks):
        fail(f"{name}: {len(en_blocks)} code blocks in English, {len(zh_blocks)} in Chinese")
        return
    for i, ((en_lang, en_code), (zh_lang, zh_code)) in enumerate(zip(en_blocks, zh_blocks), 1):
        if en_lang != zh_lang:
            fail(f"{name}: code block {i} is `{en_lang}` in English and `{zh_lang}` in Chinese")
        elif en_lang == "sh" and en_code != zh_code:
            fail(f"{name}: command block {i} differs:\n{en_code}---\n{zh_code}")
    ok(f"{name}: English and Chinese agree ({len(en_h)} headings, {len(en_blocks)} code blocks)")


def check_docs(rust=False):
    pages = [LABS / "README.md"] + sorted(LABS.glob("lab*-*/README.md"))
    if len(pages) != 8:
        fail(f"expected the labs README and 7 lab pages, found {len(pages)}")
    for page in pages:
        compare_pages(page)
    # The generated files match their source.
    check_generated("build.py", "starters and solutions", "solutions/server_master.py")
    if rust:
        check_generated("build_rust.py", "Rust solutions", "solutions/server_master_rs/")
    check_proxy()
    check_step_titles()


def check_step_titles():
    """lab.py's progress view and lab 7's client check name the same steps as the lab pages."""
    sys.path.insert(0, str(LABS))
    sys.path.insert(0, str(LABS / "lab7-client" / "tools"))
    import client_check  # noqa: E402
    import lab  # noqa: E402

    for n, want in [(n, [title for title, _ in steps]) for n, steps in lab.STEPS.items()] + [(7, client_check.STEPS)]:
        page = next(LABS.glob(f"lab{n}-*")) / "README.md"
        titles = [t.split(": ", 1)[1] for lvl, t in outline(page.read_text(encoding="utf-8"))
                  if lvl == 3 and t.startswith("Step ")]
        if titles[: len(want)] != want:
            fail(f"lab {n}: lab.py STEPS {want} do not match the page's steps {titles}")
    ok("lab.py's and the lab 7 check's steps match the lab pages")


def check_generated(script, what, source):
    """Runs a generator in labs/solutions/ with --check: its output must match its source."""
    build = subprocess.run([sys.executable, str(LABS / "solutions" / script), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if build.returncode:
        fail(f"{what} are out of date; run python3 labs/solutions/{script}\n" + build.stdout)
    else:
        ok(f"{what} are up to date with {source}")


def check_proxy():
    """The frame proxy accepts every valid request vector and rejects every bad one."""
    sys.path.insert(0, str(LABS / "lab7-client" / "tools"))
    import frame_proxy  # noqa: E402

    wrong = 0
    vectors = ROOT / "fixtures" / "vectors" / "requests.jsonl"
    rows = [json.loads(l) for l in vectors.read_text(encoding="utf-8").splitlines() if l.strip()]
    for row in rows:
        line = row["line"].encode("utf-8") if "line" in row else bytes.fromhex(row["hex"])
        code, _, _ = frame_proxy.check_request(line)
        if code != row.get("error"):
            wrong += 1
            fail(f"frame proxy: {line!r} judged {code}, SPEC.md says {row.get('error')}")
    if not wrong:
        ok(f"frame proxy agrees with all {len(rows)} request vectors")


GRADER_OPTIONS = []
CLIENT_LAB = 7  # checked by lab7-client/tools/client_check.py, not by the grader


def grade(grader, level, command, cwd):
    done = subprocess.run([grader, "--level", str(level), "--cmd", command] + GRADER_OPTIONS, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.returncode, done.stdout


def rust_packages(labs):
    """(what, lab, package folder, binary name) of every Rust lab package."""
    for n in labs:
        if n == CLIENT_LAB:
            continue
        lab_dir = next(LABS.glob(f"lab{n}-*"))
        yield "Rust starter", n, lab_dir / "starter-rust", f"lab{n}-server"
        yield "Rust solution", n, LABS / "solutions" / f"lab{n}-rust", f"lab{n}-solution"
    yield "Rust client starter", CLIENT_LAB, LABS / "lab7-client" / "starter-rust", "lab7-client"


def build_rust(labs, target, clippy):
    """Builds (and lints) every Rust package; returns the folders that built."""
    built = set()
    started = time.monotonic()
    for what, n, crate, _ in rust_packages(labs):
        manifest = ["--manifest-path", str(crate / "Cargo.toml")]
        done = subprocess.run(["cargo", "build", "--release", "--quiet", "--target-dir", target] + manifest)
        if done.returncode:
            fail(f"lab {n}: the {what} does not build")
            continue
        built.add(crate)
        if subprocess.run(["cargo", "fmt", "--check"] + manifest, stdout=subprocess.DEVNULL).returncode:
            fail(f"lab {n}: the {what} is not cargo fmt clean (run cargo fmt in {crate.relative_to(ROOT)})")
        if clippy:
            lint = subprocess.run(["cargo", "clippy", "--release", "--quiet", "--target-dir", target] + manifest
                                  + ["--", "-D", "warnings"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
            if lint.returncode:
                fail(f"lab {n}: the {what} has clippy warnings\n{lint.stdout}")
    ok(f"{len(built)} Rust packages built in {time.monotonic() - started:.0f} s")
    return built


# Labs whose profile runs load tests (100 clients, megabytes to a slow reader):
# graded one at a time, after everything else, so that no other grading or
# build competes with them for the CPU and makes their timings flaky.
HEAVY = {6}


def run_case(grader, case):
    n, what, cwd, command, want = case
    started = time.monotonic()
    code, out = grade(grader, n, command, cwd)
    took = f"{time.monotonic() - started:.0f} s"
    verdict = {0: "passes", 1: "fails", 2: "could not be graded"}.get(code, f"exit {code}")
    if code == want:
        ok(f"lab {n}: {what} {verdict}, as it should ({took})")
    else:
        tail = "\n".join(out.splitlines()[-25:])
        fail(f"lab {n}: {what} {verdict} (exit {code}), expected exit {want} ({took})\n{tail}")


def check_grading(grader, labs, rust, clippy=False, jobs=1):
    """Builds the Rust packages, then grades every starter and solution of
    `labs`, `jobs` servers at a time (lab 6 alone, at the end)."""
    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target" / "labs")))
    python = f"{sys.executable} server.py {{port}} {{data_dir}}"
    python_cases, rust_cases = [], []
    for n in labs:
        if n == CLIENT_LAB:
            continue
        lab_dir = next(LABS.glob(f"lab{n}-*"))
        python_cases += [(n, "Python starter", lab_dir / "starter", python, 1),
                         (n, "Python solution", LABS / "solutions" / f"lab{n}", python, 0)]
        for what, _, crate, binary in (rust_packages([n]) if rust else []):
            if what != "Rust client starter":
                command = f"{target}/release/{binary} {{port}} {{data_dir}}"
                rust_cases.append((n, what, crate, command, 0 if what == "Rust solution" else 1))
    heavy = [c for c in python_cases + rust_cases if c[0] in HEAVY]
    # Build first, alone: a build running beside the graders slowed both
    # down (on 2 cores) more than it saved.
    built = build_rust(labs, target, clippy) if rust else set()
    light = [c for c in python_cases + rust_cases if c[0] not in HEAVY and (c[1].startswith("Python") or c[2] in built)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(run_case, grader, case) for case in light]:
            future.result()
    if CLIENT_LAB in labs:
        check_clients(grader, target, built, rust)
    for case in heavy:
        if case[1].startswith("Python") or case[2] in built:
            run_case(grader, case)


SERVER = []  # --server PATH: the reference server for lab 7's client check


def check_clients(grader, target, built, rust):
    """Lab 7: the client check must fail on the starters and pass on the solution.

    The three clients are checked at the same time: each waits mostly on its
    deadlines (a starter fails a few of them), not on the CPU.
    """
    server = SERVER[0] if SERVER else None
    sibling = pathlib.Path(grader).with_name("reference-server" + (".exe" if os.name == "nt" else ""))
    if server is None and sibling.exists():
        server = str(sibling)
    if server is None:
        sys.path.insert(0, str(LABS))
        import lab  # noqa: E402

        server = lab.server_path(None)
    python = [sys.executable, "client.py", "{host}", "{port}", "{user}", "{password}"]
    cases = [("Python client starter", LABS / "lab7-client" / "starter", python, 1),
             ("Python client solution", LABS / "solutions" / "lab7", python, 0)]
    crate = LABS / "lab7-client" / "starter-rust"
    if rust and crate in built:
        binary = os.path.join(target, "release", "lab7-client" + (".exe" if os.name == "nt" else ""))
        cases.append(("Rust client starter", crate, [binary, "{host}", "{port}", "{user}", "{password}"], 1))

    def run(case):
        what, cwd, command, want = case
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(LABS / "lab.py"), str(CLIENT_LAB), "--server", server, "--"]
                              + command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              encoding="utf-8")
        took = f"{time.monotonic() - started:.0f} s"
        verdict = {0: "passes", 1: "fails", 2: "could not be checked"}.get(done.returncode, f"exit {done.returncode}")
        if done.returncode == want:
            ok(f"lab {CLIENT_LAB}: {what} {verdict} the client check, as it should ({took})")
        elif want == 1 and done.returncode == 0:
            fail(f"lab {CLIENT_LAB}: {what} passes the client check: it should fail until completed ({took})\n"
                 + done.stdout)
        else:
            fail(f"lab {CLIENT_LAB}: {what} {verdict} the client check (exit {done.returncode}), expected exit "
                 f"{want} ({took})\n" + "\n".join(done.stdout.splitlines()[-40:]))

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as pool:
        list(pool.map(run, cases))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-docs", action="store_true", help="check the pages, generated files and proxy only")
    parser.add_argument("--grader", help="path to the conformance binary (target/release/conformance)")
    parser.add_argument("--labs", default="1,2,3,4,5,6,7", help="which labs to grade, e.g. 1,2 (7: the client check)")
    parser.add_argument("--server", help="lab 7: the reference server binary (default: next to --grader, else built)")
    parser.add_argument("--rust", action="store_true", help="also build and grade the Rust starters and solutions")
    parser.add_argument("--clippy", action="store_true", help="with --rust: also run cargo clippy -- -D warnings")
    parser.add_argument("--jobs", type=int, default=1,
                        help="servers graded at once (default 1: on 2 busy cores, two graders each ran half as "
                             "fast); lab 6 is always graded alone")
    parser.add_argument("--time-scale", help="passed to the grader: multiply its timeouts on a slow machine")
    args = parser.parse_args()
    if args.server:
        SERVER.append(os.path.abspath(args.server))
    if args.time_scale:
        GRADER_OPTIONS.extend(["--time-scale", args.time_scale])
    check_docs(args.rust)
    if not args.only_docs:
        if not args.grader:
            parser.error("--grader PATH is needed unless --only-docs")
        check_grading(os.path.abspath(args.grader), [int(n) for n in args.labs.split(",")], args.rust, args.clippy, args.jobs)
    print(f"\n{len(failures)} problem(s)" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
