#!/usr/bin/env python3
"""A logging proxy that checks every frame a client sends against SPEC.md.

Usage: python3 frame_proxy.py LISTEN_PORT SERVER_HOST:PORT

Point your client at 127.0.0.1:LISTEN_PORT. The proxy forwards every byte both
ways, unchanged, and prints one line per frame:

    ✔ C→S 0002|Julia|a\\pb                        a frame SPEC.md accepts
    ✘ C→S 0002|Julia|a|b  MALFORMED: ... (ESC-1)   what a server would answer, and the rule
    · S→C 1002|Meggie|hi                           what the server sent (not checked)

It checks the chat port only: framing (FRAME-1 to FRAME-7), the id, the number
of fields, escapes (ESC-3), usernames (NAME-1), tokens and item ids, and empty
texts (CHAT-5), in the order of ERR-7. It does not check what the frame means
(logged in or not, who you are): the server answers that.
check_request() is also what lab 7's automatic check (client_check.py) and
labs/check.py use to judge frames.
Standard library only; Python 3.8 or newer. Stop it with Ctrl-C.
"""
import re
import socket
import sys
import threading
import unicodedata

MAX_FRAME = 4096
FIELDS = {"0001": 3, "0002": 3, "0003": 4, "0004": 3, "0005": 1, "0006": 1, "0007": 2, "0008": 1, "0009": 4}
ID_RE = re.compile(r"[0-9]{4}")
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
UNESCAPE = {"\\": "\\", "p": "|", "n": "\n", "r": "\r"}
PRINT_LOCK = threading.Lock()


def unescape(field):
    out, chars = [], iter(field)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt not in UNESCAPE:
                return None
            ch = UNESCAPE[nxt]
        out.append(ch)
    return "".join(out)


def valid_username(name):
    return 1 <= len(name) <= 32 and all(unicodedata.category(c)[0] in "LN" or c in "_-." for c in name)


def check_request(line):
    """Judges one line (without LF, CR already removed) as a server would.

    Returns (code, reason, rule): code is None for a good frame, otherwise the
    1900 code a server answers with (ERR-2, ERR-7).
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "NOT_UTF8", "the frame is not valid UTF-8", "FRAME-2"
    if "\0" in text or "\r" in text:
        return "MALFORMED", "NUL or CR inside a frame", "FRAME-6"
    raw = text.split("|")
    fid = raw[0]
    if not ID_RE.fullmatch(fid):
        return "MALFORMED", "a frame starts with a four-digit id", "ERR-2"
    if fid not in FIELDS:
        return "UNKNOWN_TYPE", f"{fid} is not a frame a client may send", "ERR-2"
    if len(raw) != FIELDS[fid]:
        return ("MALFORMED", f"{fid} has {FIELDS[fid] - 1} fields after its id, not {len(raw) - 1}"
                "; a | inside text must travel as \\p", "ESC-1")
    fields = []
    for i, f in enumerate(raw[1:], 2):
        value = unescape(f)
        if value is None:
            return "BAD_ESCAPE", f"field {i} has a \\ that is not \\\\, \\p, \\n or \\r", "ESC-3"
        fields.append(value)
    if fid == "0007" and not TOKEN_RE.fullmatch(fields[0]):
        return "MALFORMED", "a ping token is 1 to 32 letters, digits, - or _", "PING-1"
    if fid == "0009" and not ITEM_ID_RE.fullmatch(fields[1]):
        return "MALFORMED", "an item id is 1 to 64 letters, digits, - or _", "SHARE-1"
    if fid in ("0002", "0004") and not valid_username(fields[0]):
        return "BAD_FIELD", "that is not a valid username", "NAME-1"
    if fid == "0009" and fields[0] and not valid_username(fields[0]):
        return "BAD_FIELD", "that is not a valid username", "NAME-1"
    if fid == "0009" and not 1 <= len(fields[2]) <= 255:
        return "BAD_FIELD", "a shared item's name is 1 to 255 characters", "SHARE-1"
    if fid in ("0002", "0004") and fields[1] == "":
        return "BAD_FIELD", "the text is empty", "CHAT-5"
    return None, "", ""


def say(text):
    with PRINT_LOCK:
        print(text, flush=True)


def show(line):
    return line.decode("utf-8", "replace").replace("\r", "\\r")


def pump(src, dst, client_side):
    """Copies bytes src -> dst, printing each complete line as a frame."""
    buf = bytearray()
    arrow = "C→S" if client_side else "S→C"
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)  # forward first, unchanged: the proxy only watches
            buf += data
            while b"\n" in buf:
                lf = buf.index(b"\n")
                line, rest = bytes(buf[:lf]), buf[lf + 1:]
                buf = bytearray(rest)
                if line.endswith(b"\r"):
                    line = line[:-1]
                    if client_side:
                        say(f"  note: CR LF is accepted, but a sender MUST end frames with LF alone (FRAME-4)")
                if not line:
                    continue
                if not client_side:
                    say(f"· {arrow} {show(line)}")
                    continue
                if lf + 1 > MAX_FRAME:
                    say(f"✘ {arrow} ({lf + 1} bytes)  TOO_LONG: a frame is at most {MAX_FRAME} bytes (FRAME-5)")
                    continue
                code, reason, rule = check_request(line)
                if code is None:
                    say(f"✔ {arrow} {show(line)}")
                else:
                    say(f"✘ {arrow} {show(line)}  {code}: {reason} ({rule})")
            if client_side and len(buf) >= MAX_FRAME:
                say(f"✘ {arrow} {len(buf)} bytes and no LF yet: TOO_LONG (FRAME-5)")
                buf.clear()
    except OSError:
        pass
    finally:
        if client_side and buf:
            say(f"✘ {arrow} {show(bytes(buf))}  the connection closed in the middle of a frame: no LF (FRAME-1)")
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, server_addr):
    try:
        server = socket.create_connection(server_addr)
    except OSError as e:
        say(f"cannot reach the server at {server_addr[0]}:{server_addr[1]}: {e}")
        client.close()
        return
    say(f"-- new connection, forwarding to {server_addr[0]}:{server_addr[1]}")
    up = threading.Thread(target=pump, args=(client, server, True), daemon=True)
    up.start()
    pump(server, client, False)
    up.join()
    client.close()
    server.close()
    say("-- connection closed")


def main():
    if len(sys.argv) != 3 or ":" not in sys.argv[2]:
        sys.exit(__doc__)
    listen_port = int(sys.argv[1])
    host, port = sys.argv[2].rsplit(":", 1)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(16)
    say(f"frame proxy: 127.0.0.1:{listen_port} -> {host}:{port}")
    try:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=serve, args=(client, (host, int(port))), daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
