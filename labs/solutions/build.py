#!/usr/bin/env python3
"""Builds every lab's Python starter and reference solution from one source.

The six solutions grow one level at a time, and the starter of lab N is the
solution of lab N-1 with TODOs where lab N's work goes. Writing twelve files
by hand would let them drift apart, so they are all cut from `server_master.py`
with marker lines:

    #@ if 3          kept when the level is 3 or more
    #@ todo          kept only in lab 3's starter (replaces the else part)
    #@ else          kept when the level is below 3
    #@ end

Usage:
    python3 build.py           write labs/solutions/labN/server.py and labs/labN-*/starter/server.py
    python3 build.py --check   exit 1 if a generated file is out of date

Instructors edit `server_master.py`, run `build.py`, and commit all of them.
Students never need this file.
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
LABS = HERE.parent
MASTER = HERE / "server_master.py"

TITLES = {
    "solution": "ChatLab reference solution for lab {n} (SPEC.md levels 1 to {n}).",
    "starter": "ChatLab starter for lab {n}: it runs and accepts connections, but the TODOs for lab {n} are yours.",
}
ABOUT = {
    "solution": "Instructors: keep this file out of the students' path until lab {n} is due.",
    "starter": "Search for 'TODO (lab {n})' and follow labs/{dir}/README.md step by step.",
}


def parse(lines):
    """Turns the marked lines into a tree: str for a line, dict for a block."""
    root = []
    stack = [root]
    blocks = []
    for number, line in enumerate(lines, 1):
        mark = line.strip()
        if mark.startswith("#@ "):
            word = mark[3:].split()
            if word[0] == "if":
                block = {"level": int(word[1]), "if": [], "todo": None, "else": [], "line": number}
                stack[-1].append(block)
                blocks.append(block)
                stack.append(block["if"])
            elif word[0] in ("todo", "else"):
                block = blocks[-1]
                stack.pop()
                block[word[0]] = []
                stack.append(block[word[0]])
            elif word[0] == "end":
                stack.pop()
                blocks.pop()
            else:
                sys.exit(f"server_master.py:{number}: unknown marker {mark!r}")
        else:
            stack[-1].append(line)
    if blocks:
        sys.exit(f"server_master.py:{blocks[-1]['line']}: block without '#@ end'")
    return root


def emit(tree, level, todo, out):
    for item in tree:
        if isinstance(item, str):
            out.append(item)
        elif level >= item["level"]:
            emit(item["if"], level, todo, out)
        elif todo == item["level"] and item["todo"] is not None:
            emit(item["todo"], level, todo, out)
        else:
            emit(item["else"], level, todo, out)


def lab_dir(n):
    found = sorted(LABS.glob(f"lab{n}-*"))
    if not found:
        sys.exit(f"no labs/lab{n}-* directory")
    return found[0]


def render(tree, kind, n):
    level, todo = (n, None) if kind == "solution" else (n - 1, n)
    out = []
    emit(tree, level, todo, out)
    text = "".join(out)
    text = text.replace("@@TITLE@@", TITLES[kind].format(n=n))
    text = text.replace("@@ABOUT@@", ABOUT[kind].format(n=n, dir=lab_dir(n).name))
    return text


def targets():
    for n in range(1, 7):
        yield "solution", n, HERE / f"lab{n}" / "server.py"
        yield "starter", n, lab_dir(n) / "starter" / "server.py"


def main():
    check = "--check" in sys.argv[1:]
    tree = parse(MASTER.read_text(encoding="utf-8").splitlines(keepends=True))
    stale = []
    for kind, n, path in targets():
        text = render(tree, kind, n)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(("stale: " if check else "wrote: ") + str(path.relative_to(LABS)))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
