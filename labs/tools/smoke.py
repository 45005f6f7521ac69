#!/usr/bin/env python3
"""A small stdlib-only check of a lab server against the transcripts of SPEC.md section 13.

Usage: python3 smoke.py LEVEL SERVER.py

It starts `python3 SERVER.py PORT DATA_DIR` on free ports and plays the
transcripts up to LEVEL. It is a quick sanity check for instructors who edit the
reference solutions; the conformance grader (`just lab N ...`) is the real test.
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 5.0


def free_port(span=3):
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for p in range(port, port + span):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            t.close()
        if ok:
            return port


class Conn:
    def __init__(self, port, name):
        deadline = time.time() + TIMEOUT
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.name = name

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n" if isinstance(text, str) else text)

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"{self.name}: connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def expect(self, want):
        got = self.line()
        ok = got == want if not want.endswith("…") else got.startswith(want[:-1])
        if not ok:
            raise AssertionError(f"{self.name}: expected {want!r}, got {got!r}")

    def exact(self, n):
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def fence(self, token="f"):
        self.send(f"0007|{token}")
        self.expect(f"1007|{token}")


def run(level, server):
    data = tempfile.mkdtemp(prefix="chatlab-smoke-")
    port = free_port()
    proc = subprocess.Popen([sys.executable, server, str(port), data])
    try:
        play(level, port, proc, server, data)
    finally:
        proc.terminate()
        proc.wait()
    print(f"level {level}: all transcripts passed")


def login(c, user, pw, nick, level, count=None):
    c.send(f"0001|{user}|{pw}")
    c.expect(f"1001|1|{nick}|{user}")
    if level >= 3:
        c.expect("1006|…")
    if level >= 4:
        while not c.line().startswith("1012|"):
            pass


def play(level, port, proc, server, data):
    c1, c2 = Conn(port, "C1"), Conn(port, "C2")
    # Level 1, with the chat split over two sends (半包) and two frames in one (粘包).
    c1.send("0001|user1|114514")
    c1.expect("1001|1|konbi|user1")
    if level >= 3:
        c1.expect("1006|1|user1|konbi")
    if level >= 4:
        c1.expect("1012|0")
    c2.send("0001|admin|wrong")
    c2.expect("1001|0|…")
    c2.send("0001|admin|HytidelSB")
    c2.expect("1001|1|Hytidel|admin")
    if level >= 3:
        c2.expect("1006|2|admin|Hytidel|user1|konbi")
        c1.expect("1010|JOIN|admin|Hytidel|2")
    if level >= 4:
        c2.expect("1012|0")
    c1.send("0002|user1|大家".encode())
    time.sleep(0.1)
    c1.send("好！\n0002|user1|:happy:\n".encode())
    c2.expect("1002|konbi|大家好！")
    c2.expect("1002|konbi|:happy:")
    if level < 2:
        return
    c1.send("0002|user1|a\\pb\\\\c\\n第二行")
    c2.expect("1002|konbi|a\\pb\\\\c\\n第二行")
    for send, want in [
        ("0002|admin|我是管理员", "1900|IMPERSONATION|…"),
        ("0002|user1|bad\\q", "1900|BAD_ESCAPE|…"),
        ("9999|x", "1900|UNKNOWN_TYPE|…"),
        ("hello", "1900|MALFORMED|…"),
        ("0002|user1|", "1900|BAD_FIELD|…"),
        ("0002|user1", "1900|MALFORMED|…"),
        ("0001|user1|114514", "1900|ALREADY_LOGGED_IN|…"),
        (b"\xff\xfe\n", "1900|NOT_UTF8|…"),
        (b"0002|user1|x\x00y\n", "1900|MALFORMED|…"),
        (b"x" * 5000 + b"\n", "1900|TOO_LONG|…"),
        ("0007|bad token", "1900|MALFORMED|…"),
    ]:
        c1.send(send)
        c1.expect(want)
    c1.send(b"\r\n\n0007|crlf\r\n")
    c1.expect("1007|crlf")
    c2.fence("fence-1")
    c3 = Conn(port, "C3")
    c3.send("0002|user1|hi")
    c3.expect("1900|NOT_LOGGED_IN|…")
    c3.fence()
    if level < 3:
        return
    c3.send("0003|小明|xiaoming123|小明")
    c3.expect("1003|0|NAME_TAKEN|小明")
    c3.send("0003|a b|x|y")
    c3.expect("1003|0|BAD_NAME|a b")
    c3.send("0003|小红|hong|红红 ❤")
    c3.expect("1003|1|红红 ❤|小红")
    c3.send("0001|小红|nope")
    c3.expect("1001|0|WRONG_PASSWORD|小红")
    c3.send("0001|nobody|x")
    c3.expect("1001|0|UNKNOWN_USER|nobody")
    c3.send("0001|user1|114514")
    c3.expect("1001|0|ALREADY_ONLINE|user1")
    login(c3, "小红", "hong", "红红 ❤", level)
    c1.expect("1010|JOIN|小红|红红 ❤|3")
    c2.expect("1010|JOIN|小红|红红 ❤|3")
    c3.send("0006")
    c3.expect("1006|3|admin|Hytidel|user1|konbi|小红|红红 ❤")
    with open(os.path.join(data, "accounts.json"), encoding="utf-8") as f:
        assert "hong" not in f.read(), "REG-4: password stored in clear"
    if level >= 4:
        c1.send("0004|admin|开，八点见")
        c2.expect("1004|user1|konbi|开，八点见")
        c1.send("0004|Nina|你在吗")
        c1.expect("1900|USER_OFFLINE|…")
        c1.send("0004|user1|me")
        c1.expect("1900|BAD_FIELD|…")
    if level >= 5:
        ticket(c1, c2, port, level)
    c2.send("0005")
    c2.expect("1005")
    c1.expect("1010|LEAVE|admin|Hytidel|2")
    if level >= 4:
        c4 = Conn(port, "C4")
        c4.send("0001|Julia|sunyu")
        c4.expect("1001|1|Julia|Julia")
        c4.expect("1006|3|Julia|Julia|user1|konbi|小红|红红 ❤")
        hist = []
        while True:
            line = c4.line()
            if line.startswith("1012|"):
                break
            hist.append(line.split("|"))
        assert line == f"1012|{len(hist)}", line
        assert all(h[4] == "" for h in hist), "HIST-2: Julia sees a private message"
        assert any(h[5] == "大家好！" for h in hist), hist
    if level >= 6:
        slow_consumer(port)


def ticket(c1, c2, port, level):
    c1.send("0008")
    t = c1.line().split("|")[1]
    p1 = Conn(port + 1, "P1")
    p1.send("get p1")
    p1.expect("err NOT_AUTHED…")
    p1.send(f"auth {t}")
    p1.expect("ok")
    png = b"\x89PNG\r\n\x1a\n" + b"EOF" * 700
    sha = hashlib.sha256(png).hexdigest()
    p1.send(f"put {len(png)} {sha}\n".encode() + png)
    item = p1.line().split(" ")
    assert item[0] == "ok", item
    p1.send(f"put 3 {hashlib.sha256(b'abc').hexdigest()}\nabc".encode())
    p1.expect("err NOT_IMAGE…")
    p1.send(f"put 99999999 {sha}")
    p1.expect("err TOO_LARGE…")
    c1.send(f"0009||{item[1]}|猫.png")
    c2.expect(f"1009|photo|user1|konbi||{item[1]}|猫.png|{len(png)}|{sha}")
    c2.send("0008")
    t2 = c2.line().split("|")[1]
    p2 = Conn(port + 1, "P2")
    p2.send(f"auth {t2}\nget {item[1]}\nget ../../etc/passwd\nfrob\nquit")
    p2.expect("ok")
    p2.expect(f"ok {len(png)} {sha}")
    assert p2.exact(len(png)) == png
    p2.expect("err NO_SUCH_ITEM…")
    p2.expect("err MALFORMED…")
    p2.expect("ok")
    c1.send("0009||nope|x")
    c1.expect("1900|NO_SUCH_ITEM|…")


def slow_consumer(port):
    slow, fast, talker = Conn(port, "slow"), Conn(port, "fast"), Conn(port, "talker")
    slow.send("0001|Meggie|maiji")
    fast.send("0001|Julia|sunyu")  # may fail with ALREADY_ONLINE if C4 is still on; fine
    talker.send("0001|小明|xiaoming123")
    talker.expect("1001|1|小明|小明")
    start = time.time()
    text = "x" * 1000
    for i in range(20000):
        talker.send(f"0002|小明|{i} {text}")
    talker.send("0007|done")
    while talker.line() != "1007|done":
        pass
    took = time.time() - start
    assert took < 20, f"LOAD-3: 20000 chats took {took:.1f}s with a slow reader"
    print(f"slow consumer: 20000 chats in {took:.1f}s")
    slow.sock.settimeout(30)
    last = b""
    while True:
        data = slow.sock.recv(1 << 20)
        if not data:
            break
        last = (last + data)[-200:]
    assert b"1900|SLOW_CONSUMER|" in last, last


if __name__ == "__main__":
    run(int(sys.argv[1]), sys.argv[2])
