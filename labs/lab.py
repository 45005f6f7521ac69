#!/usr/bin/env python3
"""Check a chat server against the labs: one lab, one step, or all of them.

    python3 labs/lab.py N [--step K] [GRADER OPTIONS] -- COMMAND...
    python3 labs/lab.py --progress [GRADER OPTIONS] -- COMMAND...

`just lab N -- python3 server.py {port} {data_dir}` and `just labs -- ...` call
this script. It builds the conformance grader once, then:

- `N`: runs the Level N profile (levels 1 to N) against COMMAND and shows the
  grader's report, with transcripts and hints for every failure;
- `N --step K`: the same run, but shows only the tests of step K of lab N;
- `--progress`: runs each level and prints a table of labs and steps.

COMMAND is started by the grader on free ports: `{port}`, `{photo_port}`,
`{file_port}` and `{data_dir}` are replaced. Instead of `-- COMMAND`, pass
`--addr HOST:PORT` to grade a server that is already running.
`7 [--step K] [--server PATH] -- COMMAND...` checks a client instead (lab 7):
it starts the reference server (built with cargo, or --server PATH) and runs
COMMAND with `{host}`, `{port}`, `{user}` and `{password}` replaced, for example
`just lab 7 -- python3 client.py {host} {port} {user} {password}`; see
lab7-client/tools/client_check.py.
Standard library only. Exit status: 0 all passed, 1 something failed, 2 the
grader could not run.
"""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each lab's steps and the SPEC.md rules they make pass. A step passes when
# every grader test that checks one of its rules passes. Keep the titles in
# step with the "### Step K" headings of labs/labN-*/README.md.
STEPS = {
    1: [
        ("Run the starter and connect", []),
        ("Split the byte stream into lines", ["FRAME-1", "FRAME-2"]),
        ("Log in", ["LOGIN-1", "LOGIN-2", "LOGIN-3", "LOGIN-4"]),
        ("Group chat", ["CHAT-1", "CHAT-2", "CHAT-3", "CHAT-4", "EMOJI-1", "EMOJI-2"]),
    ],
    2: [
        ("Framing: 粘包, 半包 and long lines", ["FRAME-3", "FRAME-4", "FRAME-5", "FRAME-6", "FRAME-7", "ERR-3"]),
        ("Escaping", ["ESC-1", "ESC-2", "ESC-3"]),
        ("Error frames in ERR-7 order", ["ERR-1", "ERR-2", "ERR-6", "ERR-7", "CHAT-5"]),
        ("Trust the connection, not the frame", ["ERR-4", "ERR-5"]),
        ("PING and the fence", ["PING-1", "PING-2"]),
    ],
    3: [
        ("Names and registration", ["NAME-1", "NAME-2", "NAME-3", "REG-1", "REG-2", "REG-3"]),
        ("Salted hashes on disk", ["REG-4", "REG-5"]),
        ("Login reasons", ["LOGIN-5", "LOGIN-6"]),
        ("Online list and notices", ["LOGIN-7", "LIST-1", "LIST-2", "NOTE-1", "NOTE-2", "NOTE-3"]),
        ("Logout", ["OUT-1", "OUT-2"]),
    ],
    4: [
        ("Private messages", ["PRIV-1", "PRIV-2", "PRIV-3", "PRIV-4"]),
        ("Record the history", ["HIST-3", "HIST-5"]),
        ("Replay it after login", ["HIST-1", "HIST-2"]),
        ("Keep it across restarts", ["HIST-4"]),
    ],
    5: [
        ("Tickets", ["SIDE-2"]),
        ("Side ports and their commands", ["SIDE-1", "SIDE-8"]),
        ("Upload with a length prefix", ["SIDE-3", "SIDE-4", "SIDE-5", "SIDE-6"]),
        ("Share", ["SHARE-1", "SHARE-2"]),
        ("Download", ["SIDE-7", "SHARE-3"]),
    ],
    6: [
        ("Many clients, silent clients", ["LOAD-1", "LOAD-2"]),
        ("A send queue and a writer thread per client", ["LOAD-3", "LOAD-4"]),
        ("Survive any input", ["LOAD-5"]),
        ("Limits and shutdown", ["LOAD-6", "LOAD-7"]),
    ],
}


def release_binary(package, what, explicit):
    """The release binary of a kit package: the path given, or build it with cargo."""
    if explicit:
        return explicit
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "release" / (package + ".exe" if os.name == "nt" else package)
    build = ["cargo", "build", "--release", "--quiet", "-p", package,
             "--manifest-path", str(ROOT / "Cargo.toml")]
    if subprocess.run(build).returncode != 0:
        sys.exit(f"could not build {what} (cargo build -p {package} failed)")
    return str(binary)


def grader_path(explicit):
    """The grader binary: --grader PATH, or build it with cargo."""
    return release_binary("conformance", "the grader", explicit)


def server_path(explicit):
    """The reference server binary (lab 7): --server PATH, or build it with cargo."""
    return release_binary("reference-server", "the reference server", explicit)


def check_client(ours, command):
    """Lab 7: the client check of lab7-client/tools/client_check.py."""
    if not command:
        print("give the command that starts your client after --, for example:\n"
              "  just lab 7 -- python3 client.py {host} {port} {user} {password}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "labs" / "lab7-client" / "tools"))
    import client_check  # noqa: E402

    step = int(ours["step"]) if "step" in ours else None
    return client_check.run(command, server_path(ours.get("server")), step)


def split_args(args):
    """Our options, the grader's options, and the server command."""
    ours, grader, command = {}, [], []
    if "--" in args:
        cut = args.index("--")
        args, command = args[:cut], args[cut + 1:]
    elif args and not args[0].startswith("-"):
        args, command = [], args
    i = 0
    while i < len(args):
        if args[i] in ("--grader", "--step", "--server") and i + 1 < len(args):
            ours[args[i][2:]] = args[i + 1]
            i += 2
        elif args[i] == "--progress":
            ours["progress"] = True
            i += 1
        else:
            grader.append(args[i])
            i += 1
    return ours, grader, command


def grade(grader, level, options, command, json_out=False):
    argv = [grader, "--level", str(level)] + options
    if command:
        argv += ["--cmd", " ".join(command)]
    if json_out:
        argv += ["--format", "json"]
        done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
        return done.returncode, done.stdout
    return subprocess.run(argv).returncode, None


def results(report_text):
    """[(slug, passed or None for skipped, rules, failure dict)] from the grader's JSON.

    Read defensively: any list of objects with a "slug" counts as the results.
    """
    try:
        report = json.loads(report_text)
    except ValueError:
        return None
    found = []

    def walk(value):
        if isinstance(value, list) and value and all(isinstance(v, dict) and "slug" in v for v in value):
            found.extend(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(report)
    out = []
    for test in found:
        status = str(test.get("status", test.get("outcome", test.get("result", "")))).lower()
        if "passed" in test and isinstance(test["passed"], bool):
            passed = test["passed"]
        elif status in ("pass", "passed", "ok"):
            passed = True
        elif status in ("skip", "skipped"):
            passed = None
        else:
            passed = False
        failure = dict(test.get("failure") or {})
        if test.get("skip_reason"):
            failure["skipped because"] = test["skip_reason"]
        rules = list(test.get("rules") or ([failure["rule"]] if "rule" in failure else []))
        out.append((test["slug"], passed, rules, failure))
    return out


def step_tests(tests, rules):
    if not rules:
        # A step with no rule of its own (lab 1, step 1: "it runs and connects")
        # passes when the grader could start the server and run any test.
        return [("server-starts", True, [], {})] if tests else []
    return [t for t in tests if set(t[2]) & set(rules)]


def mark(tests):
    if not tests:
        return "·"  # no grader test for this step (yet)
    if all(t[1] for t in tests):
        return "✔"
    if any(t[1] is False for t in tests):
        return "✘"
    return "…"  # skipped because an earlier test failed


def show_step(lab, k, tests):
    if not 1 <= k <= len(STEPS[lab]):
        print(f"lab {lab} has steps 1 to {len(STEPS[lab])}; the Rust track step has no test of its own", file=sys.stderr)
        return 2
    title, rules = STEPS[lab][k - 1]
    mine = step_tests(tests, rules)
    print(f"Lab {lab}, step {k}: {title}  {mark(mine)}")
    for slug, passed, _, failure in mine:
        state = {True: "✔ pass", False: "✘ FAIL", None: "… skipped"}[passed]
        print(f"  {state}  {slug}")
        for key in ("rule", "reason", "expected", "actual", "hint", "skipped because"):
            if failure.get(key):
                print(f"           {key}: {failure[key]}")
        for hint in failure.get("hints") or []:
            print(f"           hint: {hint}")
    if not mine:
        print("  (the grader has no test for this step's rules yet)")
    failed = [t[0] for t in tests if t[1] is False and t not in mine]
    if failed:
        print(f"  Other failing tests of lab {lab}: {', '.join(failed)}")
        print(f"  Fix those first if this step's tests were skipped; `just lab {lab} -- ...` shows them in full.")
    return 0 if mine and all(t[1] for t in mine) else 1


def progress(grader, options, command):
    worst = 0
    print("Lab  Step  Title")
    for lab in sorted(STEPS):
        if worst:
            # Each level's profile includes the levels below it: finish one lab first.
            print(f"{lab}    -     Lab {lab}: not run yet (finish lab {lab - 1} first)")
            continue
        code, text = grade(grader, lab, options, command, json_out=True)
        tests = results(text) if code in (0, 1) else None
        if tests is None:
            print(f"{lab}    -     the grader could not run (exit {code})")
            return 2
        level_tests = tests
        print(f"{lab}    {'✔' if code == 0 else '✘'}     Lab {lab} (levels 1 to {lab}): "
              f"{sum(1 for t in level_tests if t[1])}/{len(level_tests)} tests pass")
        for k, (title, rules) in enumerate(STEPS[lab], 1):
            print(f"       {mark(step_tests(level_tests, rules))} {k}  {title}")
        worst = max(worst, code)
    print("\n✔ passes   ✘ fails   … skipped (an earlier test failed)   · no test yet")
    return worst


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    lab = None
    if argv[0].isdigit():
        lab, argv = int(argv[0]), argv[1:]
    ours, options, command = split_args(argv)
    if lab == 7:
        return check_client(ours, command)
    if lab is not None and lab not in STEPS:
        print("the lab number is 1 to 7", file=sys.stderr)
        return 2
    if not command and not any(o.startswith("--addr") or o == "--list" for o in options):
        print("give the command that starts your server after --, for example:\n"
              "  just lab 1 -- python3 server.py {port} {data_dir}", file=sys.stderr)
        return 2
    grader = grader_path(ours.get("grader"))
    if ours.get("progress"):
        return progress(grader, options, command)
    if lab not in STEPS:
        print("the lab number is 1 to 7", file=sys.stderr)
        return 2
    if "step" in ours:
        code, text = grade(grader, lab, options, command, json_out=True)
        tests = results(text) if code in (0, 1) else None
        if tests is None:
            print(f"the grader could not run (exit {code})", file=sys.stderr)
            return 2
        return show_step(lab, int(ours["step"]), tests)
    code, _ = grade(grader, lab, options, command)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
