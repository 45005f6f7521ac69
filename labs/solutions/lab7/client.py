#!/usr/bin/env python3
"""ChatLab reference solution for lab 7: a terminal chat client (SPEC.md levels 1 to 5).

Usage: python3 client.py HOST PORT USERNAME PASSWORD

Type a line to talk to the room. Commands:
    /to USER text     private message (0004)
    /list             who is online (0006)
    /send PATH [USER] upload a photo or file and share it with the room or USER
    /get ID           download a shared item into ./downloads/
    /ping             a fence: returns when everything sent before has been handled
    /quit             log out (0005)

Instructors: keep this file out of the students' path until lab 7 is due.
Standard library only; Python 3.8 or newer.
"""
import hashlib
import os
import queue
import socket
import sys
import threading
import time

EMOJI = {":happy:": "🙂", ":cute:": "😊", ":love:": "😍", ":joy:": "😂", ":sob:": "😭", ":sweat:": "😓", ":upset:": "😣"}
UNESCAPE = {"\\": "\\", "p": "|", "n": "\n", "r": "\r"}
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def escape(text):
    """ESC-1: backslash first."""
    return text.replace("\\", "\\\\").replace("|", "\\p").replace("\n", "\\n").replace("\r", "\\r")


def unescape(field):
    """ESC-2: one field at a time, after splitting on '|'."""
    out, chars = [], iter(field)
    for ch in chars:
        if ch == "\\":
            ch = UNESCAPE.get(next(chars, ""), "?")
        out.append(ch)
    return "".join(out)


def frame(fid, *fields):
    return ("|".join((fid,) + tuple(escape(str(f)) for f in fields)) + "\n").encode("utf-8")


def show_emoji(text):
    """EMOJI-2: known shortcodes become symbols, unknown ones stay text."""
    for code, symbol in EMOJI.items():
        text = text.replace(code, symbol)
    return text


class Chat:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port))
        self.lines = queue.Queue()  # frames for the main thread: the reader never waits on the user
        self.online = {}  # username -> nickname, kept up to date by 1006 and 1010
        self.me = None
        threading.Thread(target=self.read_loop, daemon=True).start()

    def send(self, fid, *fields):
        self.sock.sendall(frame(fid, *fields))

    def read_loop(self):
        """The reader thread: bytes -> lines with a buffer (粘包/半包), then fields."""
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.lines.put(None)
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.endswith(b"\r"):
                    line = line[:-1]
                if line:
                    fields = [unescape(f) for f in line.decode("utf-8", "replace").split("|")]
                    self.show(fields)
                    self.lines.put(fields)

    def wait_for(self, fid):
        while True:
            fields = self.lines.get()
            if fields is None:
                sys.exit("-- disconnected")
            if fields[0] == fid:
                return fields

    def show(self, f):
        now = time.strftime("%H:%M")  # live frames carry no time: use our clock
        fid = f[0]
        if fid == "1002":
            print(f"[{now}] {f[1]}: {show_emoji(f[2])}")
        elif fid == "1004":
            print(f"[{now}] (private) {f[2]}: {show_emoji(f[3])}")
        elif fid == "1006":
            self.online = dict(zip(f[2::2], f[3::2]))
            print(f"-- online ({f[1]}): " + ", ".join(f"{n} ({u})" for u, n in self.online.items()))
        elif fid == "1010":
            if f[1] == "JOIN":
                self.online[f[2]] = f[3]
            else:
                self.online.pop(f[2], None)
            print(f"-- {f[3]} {'joined' if f[1] == 'JOIN' else 'left'} ({f[4]} online)")
        elif fid == "1011":
            stamp = time.strftime("%m-%d %H:%M", time.localtime(int(f[1])))
            to = f" -> {f[4]}" if f[4] else ""
            print(f"[{stamp}] {f[3]}{to}: {show_emoji(f[5])}")
        elif fid == "1009":
            to = "you" if f[4] else "the room"
            print(f"-- {f[3]} shared {f[1]} '{f[6]}' ({f[7]} bytes) with {to}: /get {f[5]}")
        elif fid == "1900":
            print(f"!! {f[1]}: {f[2] if len(f) > 2 else ''}")
        elif fid == "1005":
            print("-- logged out")

    def login(self, username, password):
        self.send("0001", username, password)
        result = self.wait_for("1001")
        if result[1] != "1":
            sys.exit(f"login failed: {result[2]}")
        self.me = username
        print(f"-- logged in as {result[2]}")

    def fence(self, token="sync"):
        """PING-2: when 1007 comes back, everything before it has been handled."""
        self.send("0007", token)
        self.wait_for("1007")

    def side(self, kind):
        """A side connection on the photo or file port, authenticated with a fresh ticket."""
        self.send("0008")
        ticket = self.wait_for("1008")[1]
        port = self.port + (1 if kind == "photo" else 2)
        side = socket.create_connection((self.host, port))
        reader = side.makefile("rb")
        side.sendall(f"auth {ticket}\n".encode())
        if reader.readline().strip() != b"ok":
            raise OSError("ticket refused")
        return side, reader

    def upload(self, path, to=""):
        with open(path, "rb") as f:
            body = f.read()
        kind = "photo" if body.startswith(IMAGE_SIGNATURES) else "file"
        side, reader = self.side(kind)
        sha = hashlib.sha256(body).hexdigest()
        # SIDE-3: the length says where the body ends; no end marker, no sleep.
        side.sendall(f"put {len(body)} {sha}\n".encode() + body)
        answer = reader.readline().decode().split()
        side.sendall(b"quit\n")
        side.close()
        if answer[0] != "ok":
            print("!! upload failed: " + " ".join(answer[1:]))
            return
        self.send("0009", to, answer[1], os.path.basename(path))
        print(f"-- shared {os.path.basename(path)} as {answer[1]}")

    def download(self, item_id):
        for kind in ("photo", "file"):
            side, reader = self.side(kind)
            side.sendall(f"get {item_id}\n".encode())
            answer = reader.readline().decode().split()
            if answer[0] == "ok":
                body = reader.read(int(answer[1]))  # exactly SIZE bytes
                os.makedirs("downloads", exist_ok=True)
                path = os.path.join("downloads", item_id)  # the id is safe: it matches item-id
                with open(path, "wb") as f:
                    f.write(body)
                ok = hashlib.sha256(body).hexdigest() == answer[2]
                print(f"-- saved {path} ({len(body)} bytes, sha256 {'ok' if ok else 'WRONG'})")
                side.close()
                return
            side.close()
        print(f"!! no item {item_id} for you")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    chat = Chat(sys.argv[1], int(sys.argv[2]))
    chat.login(sys.argv[3], sys.argv[4])
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if not line:
            continue
        words = line.split(" ", 2)
        try:
            if words[0] == "/to" and len(words) == 3:
                chat.send("0004", words[1], words[2])
            elif words[0] == "/list":
                chat.send("0006")
            elif words[0] == "/send" and len(words) >= 2:
                chat.upload(words[1], words[2] if len(words) == 3 else "")
            elif words[0] == "/get" and len(words) == 2:
                chat.download(words[1])
            elif words[0] == "/ping":
                chat.fence()
                print("-- everything sent so far has been handled")
            elif words[0] == "/quit":
                chat.send("0005")
                chat.wait_for("1005")
                return
            else:
                chat.send("0002", chat.me, line)  # CHAT-2: the server does not echo it
                print(f"[{time.strftime('%H:%M')}] me: {show_emoji(line)}")
        except OSError as e:
            print(f"!! {e}")


if __name__ == "__main__":
    main()
