#!/usr/bin/env python3
"""ChatLab reference solution for lab 4 (SPEC.md levels 1 to 4).

Usage: python3 server.py PORT [DATA_DIR]

Instructors: keep this file out of the students' path until lab 4 is due.
Standard library only; Python 3.8 or newer.
The IDs in the comments (FRAME-3, ERR-5, ...) are rules of SPEC.md: read the rule next to the code.
"""
import hashlib
import hmac
import json
import os
import re
import socket
import sys
import threading
import time
from collections import deque
import unicodedata

HOST = "127.0.0.1"  # only this machine: passwords travel in clear text (SPEC.md section 4)
MAX_FRAME = 4096  # bytes in one frame, LF included (FRAME-5)
MAX_HISTORY = 500  # HIST-3

# The seed accounts of SPEC.md section 6: username -> (password, nickname).
SEED_ACCOUNTS = {
    "user1": ("114514", "konbi"),
    "admin": ("HytidelSB", "Hytidel"),
    "Julia": ("sunyu", "Julia"),
    "Meggie": ("maiji", "Meggie"),
    "小明": ("xiaoming123", "小明"),
}

# Shared state. Every thread reads and changes it only while holding LOCK.
# It is re-entrant (an RLock) so that a function holding it may call another
# function that takes it too.
LOCK = threading.RLock()
ONLINE = {}  # username -> Client, for every logged-in connection
ACCOUNTS = {}  # username -> {"nickname", "salt", "hash", "iterations"}: never a password (REG-4)
DATA_DIR = "chatlab-data"
HISTORY = deque(maxlen=MAX_HISTORY)  # the most recent messages, oldest first (HIST-3)
LAST_TIME = [0]  # the time of the newest message, so times never go back (HIST-5)
HISTORY_FILE = []  # the open history file, appended to by record()


# ---------------------------------------------------------------------------
# Frames: escaping, building and parsing (SPEC.md sections 2, 3 and 5)
# ---------------------------------------------------------------------------

class ProtocolError(Exception):
    """A frame we answer with `1900|code|reason` (ERR-1)."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def escape(text):
    """ESC-1: the backslash first, or we would escape our own escapes."""
    return text.replace("\\", "\\\\").replace("|", "\\p").replace("\n", "\\n").replace("\r", "\\r")


UNESCAPE = {"\\": "\\", "p": "|", "n": "\n", "r": "\r"}


def unescape(field, number):
    """ESC-2 and ESC-3: one field at a time, after splitting on every '|'."""
    if "\\" not in field:
        return field  # the common case, and much faster than the loop below
    out = []
    chars = iter(field)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, None)
        if nxt not in UNESCAPE:
            shown = "a lone \\ at the end" if nxt is None else "unknown escape \\" + nxt
            raise ProtocolError("BAD_ESCAPE", f"{shown} in field {number}")
        out.append(UNESCAPE[nxt])
    return "".join(out)


def frame(fid, *fields):
    """One frame as bytes: the id, the fields, then LF (FRAME-1)."""
    return ("|".join((fid,) + tuple(escape(str(f)) for f in fields)) + "\n").encode("utf-8")


# How many fields each frame a client may send has, the id included (section 5).
FIELD_COUNTS = {
    "0001": 3,  # 0001|username|password
    "0002": 3,  # 0002|username|text
    "0003": 4,  # 0003|username|password|nickname
    "0004": 3,  # 0004|to|text
    "0005": 1,  # 0005
    "0006": 1,  # 0006
    "0007": 2,  # 0007|token
}
NEEDS_LOGIN = {"0002", "0004", "0005", "0006", "0008", "0009"}  # ERR-4
NEEDS_LOGOUT = {"0001", "0003"}  # ERR-4
ID_RE = re.compile(r"[0-9]{4}")
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse(line):
    """Bytes of one line -> (id, [fields]), checked in the order of ERR-7."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("NOT_UTF8", "the frame is not valid UTF-8") from None
    if "\0" in text or "\r" in text:
        raise ProtocolError("MALFORMED", "a frame may not contain NUL or CR")
    raw = text.split("|")  # safe: a '|' inside a field always travels as \p (ESC-1)
    fid = raw[0]
    if not ID_RE.fullmatch(fid):
        raise ProtocolError("MALFORMED", "a frame starts with a four-digit id")
    if fid not in FIELD_COUNTS:
        raise ProtocolError("UNKNOWN_TYPE", f"{fid} is not a frame a client may send")
    if len(raw) != FIELD_COUNTS[fid]:
        raise ProtocolError("MALFORMED", f"{fid} has {FIELD_COUNTS[fid] - 1} fields after its id, not {len(raw) - 1}")
    fields = [unescape(f, i + 2) for i, f in enumerate(raw[1:])]
    check_fields(fid, fields)
    return fid, fields


def check_fields(fid, fields):
    """The syntax of tokens and ids (MALFORMED), then values (BAD_FIELD): ERR-7."""
    if fid == "0007" and not TOKEN_RE.fullmatch(fields[0]):
        raise ProtocolError("MALFORMED", "a token is 1 to 32 letters, digits, '-' or '_'")
    if fid in ("0002", "0004") and not valid_username(fields[0]):
        raise ProtocolError("BAD_FIELD", "that is not a valid username")
    if fid in ("0002", "0004") and fields[1] == "":
        raise ProtocolError("BAD_FIELD", "the text is empty")  # CHAT-5


# ---------------------------------------------------------------------------
# Names and passwords (SPEC.md section 4)
# ---------------------------------------------------------------------------

def valid_username(name):
    """NAME-1: 1 to 32 letters or digits (any script), '_', '-' or '.'."""
    return 1 <= len(name) <= 32 and all(
        unicodedata.category(ch)[0] in "LN" or ch in "_-." for ch in name
    )


def no_control(text):
    return not any(unicodedata.category(ch) == "Cc" for ch in text)


def valid_nickname(nick):
    """NAME-2."""
    return 1 <= len(nick) <= 32 and no_control(nick) and not nick[0].isspace() and not nick[-1].isspace()


def valid_password(password):
    """NAME-3."""
    return 1 <= len(password) <= 64 and no_control(password)


def hash_password(password, salt, iterations):
    """REG-4: a salted, slow hash. A stolen accounts file then gives away no password."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def new_account(password, nickname):
    salt = os.urandom(16)  # a new random salt for every account
    # Slow enough to make guessing expensive, fast enough that 100 users can log
    # in at once (LOAD-1). A real service would use more (lab 3, extensions).
    iterations = 20_000
    digest = hash_password(password, salt, iterations)
    return {"nickname": nickname, "salt": salt.hex(), "hash": digest.hex(), "iterations": iterations}


def password_ok(account, password):
    digest = hash_password(password, bytes.fromhex(account["salt"]), account["iterations"])
    return hmac.compare_digest(digest.hex(), account["hash"])  # constant time


def save_json(path, value):
    """REG-5: write a new file, flush it to disk, then rename it over the old one."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_accounts():
    path = os.path.join(DATA_DIR, "accounts.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            ACCOUNTS.update(json.load(f))
        return
    for username, (password, nickname) in SEED_ACCOUNTS.items():
        ACCOUNTS[username] = new_account(password, nickname)
    save_json(path, ACCOUNTS)


# ---------------------------------------------------------------------------
# History (HIST): kept in memory and appended to a file, one JSON object a line
# ---------------------------------------------------------------------------

def history_path():
    return os.path.join(DATA_DIR, "history.jsonl")


def load_history():
    """HIST-4: the history survives a restart. Then keep the file open for appending."""
    if os.path.exists(history_path()):
        with open(history_path(), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    HISTORY.append(json.loads(line))
    if HISTORY:
        LAST_TIME[0] = HISTORY[-1]["time"]
    HISTORY_FILE.append(open(history_path(), "a", encoding="utf-8"))


def record(sender, to, text):
    """Adds one message to the history. Call it with LOCK held."""
    now = max(int(time.time()), LAST_TIME[0])  # HIST-5: never earlier than the last one
    LAST_TIME[0] = now
    entry = {"time": now, "from": sender.user, "nickname": sender.nick, "to": to, "text": text}
    HISTORY.append(entry)
    f = HISTORY_FILE[0]
    f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    f.flush()  # to the operating system at once: a killed server loses nothing


def send_history(client):
    """HIST-1, HIST-2: the messages this user may see, oldest first, then 1012."""
    mine = [h for h in HISTORY if h["to"] == "" or client.user in (h["from"], h["to"])]
    for h in mine:
        client.send(frame("1011", h["time"], h["from"], h["nickname"], h["to"], h["text"]))
    client.send(frame("1012", len(mine)))


# ---------------------------------------------------------------------------
# One connection
# ---------------------------------------------------------------------------

class Client:
    """One chat connection: its socket, who is logged in on it, how we send to it."""

    def __init__(self, sock):
        self.sock = sock
        self.user = None  # the username logged in on this connection, or None
        self.nick = None
        self.closing = False  # True after 0005: stop reading
        self.send_lock = threading.Lock()  # one frame at a time on this socket

    def send(self, data):
        """Sends one frame now.

        Every frame caused by a frame goes out before we read the next one: that
        is what makes PING a fence (PING-2).
        """
        with self.send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the reader thread of this connection will notice and clean up

    def stop(self, last=None):
        if last:
            self.send(last)
        self.closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class LineBuffer:
    """Turns a stream of bytes into lines (SPEC.md section 2).

    One recv() may hold half a frame (半包) or several frames (粘包): keep every
    byte in a buffer and take out complete lines only (FRAME-3).
    """

    def __init__(self, max_len):
        self.buf = bytearray()
        self.max_len = max_len
        self.discarding = False  # skipping the rest of an oversize line (FRAME-5)

    def feed(self, data):
        """Adds bytes; returns the complete lines, with None for each oversize line."""
        self.buf += data
        lines = []
        while True:
            lf = self.buf.find(b"\n")
            if lf < 0:
                if not self.discarding and len(self.buf) >= self.max_len:
                    lines.append(None)  # FRAME-5: report it once, now
                    self.discarding = True
                if self.discarding:
                    self.buf.clear()  # never buffer without bound
                return lines
            line = bytes(self.buf[:lf])
            del self.buf[: lf + 1]
            if self.discarding:
                self.discarding = False  # this LF ends the oversize line
                continue
            if lf + 1 > self.max_len:
                lines.append(None)
                continue
            if line.endswith(b"\r"):
                line = line[:-1]  # FRAME-4: accept CR LF
            if line:  # FRAME-7: an empty line is not a frame
                lines.append(line)


def serve(client):
    """The reader thread of one connection: read, split into lines, handle each in order."""
    lines = LineBuffer(MAX_FRAME)
    try:
        while not client.closing:
            data = client.sock.recv(65536)
            if not data:
                break  # the client closed the connection
            for line in lines.feed(data):
                if line is None:
                    client.send(frame("1900", "TOO_LONG", f"a frame is at most {MAX_FRAME} bytes"))  # ERR-3
                else:
                    handle(client, line)
                if client.closing:
                    break
    except OSError:
        pass  # reset by the peer, or shut down by us
    finally:
        leave(client)
        client.stop()
        client.sock.close()


# ---------------------------------------------------------------------------
# Chat logic: one function per frame
# ---------------------------------------------------------------------------

def handle(client, line):
    """Parses one frame and acts on it, or answers exactly one error (ERR-1)."""
    try:
        fid, fields = parse(line)
        if fid in NEEDS_LOGIN and client.user is None:
            raise ProtocolError("NOT_LOGGED_IN", "log in first")
        if fid in NEEDS_LOGOUT and client.user is not None:
            raise ProtocolError("ALREADY_LOGGED_IN", f"you are already logged in as {client.user}")
        HANDLERS[fid](client, fields)
    except ProtocolError as e:
        client.send(frame("1900", e.code, e.reason))  # ERR-6: and the connection stays open


def on_login(client, fields):
    """0001|username|password -> 1001 (LOGIN-1 to LOGIN-3, LOGIN-5)."""
    username, password = fields
    with LOCK:
        account = ACCOUNTS.get(username)
    if account is None:
        reason = "UNKNOWN_USER"
    elif not password_ok(account, password):  # slow on purpose: outside the lock
        reason = "WRONG_PASSWORD"
    else:
        with LOCK:
            if username in ONLINE:
                reason = "ALREADY_ONLINE"
            else:
                log_in(client, username, account)
                return
    client.send(frame("1001", "0", reason, username))  # LOGIN-3: the connection stays open


def log_in(client, username, account):
    """Everything a successful login causes. Call it with LOCK held."""
    client.user = username
    client.nick = account["nickname"]
    ONLINE[username] = client
    # NOTE-1 first: once the new user sees its 1001, everybody else's JOIN is
    # already on its way, so a PING from them afterwards returns after it (PING-2).
    notify("JOIN", client)
    client.send(frame("1001", "1", client.nick, username))  # LOGIN-2
    client.send(list_frame())  # LOGIN-7, LIST-1
    send_history(client)  # LOGIN-7, HIST-1


def leave(client):
    """The connection logged out or closed. Safe to call twice."""
    with LOCK:
        if client.user is None or ONLINE.get(client.user) is not client:
            return
        del ONLINE[client.user]
        notify("LEAVE", client)  # NOTE-2
        client.user = None


def on_chat(client, fields):
    """0002|username|text -> 1002|nickname|text to everyone else (CHAT-1, CHAT-2)."""
    claimed, text = fields
    if claimed != client.user:
        # ERR-5: the server knows who logged in on this connection; the name in
        # the frame is only a claim.
        raise ProtocolError("IMPERSONATION", f"you are logged in as {client.user}, not {claimed}")
    with LOCK:
        # Into the history first, then out to the room: once anyone has seen
        # the message, it is already saved, even if the server is killed the
        # next moment (HIST-4).
        record(client, "", text)
        out = frame("1002", client.nick, text)
        for other in list(ONLINE.values()):
            if other is not client:  # CHAT-2: no echo
                other.send(out)


def on_ping(client, fields):
    """0007|token -> 1007|token, logged in or not (PING-1)."""
    client.send(frame("1007", fields[0]))


def on_register(client, fields):
    """0003|username|password|nickname -> 1003 (REG-1 to REG-5)."""
    username, password, nickname = fields
    account = new_account(password, nickname)  # slow on purpose: outside the lock
    with LOCK:
        if username in ACCOUNTS:
            reason = "NAME_TAKEN"
        elif not valid_username(username):
            reason = "BAD_NAME"
        elif not valid_password(password):
            reason = "BAD_PASSWORD"
        elif not valid_nickname(nickname):
            reason = "BAD_NICKNAME"
        else:
            ACCOUNTS[username] = account
            save_json(os.path.join(DATA_DIR, "accounts.json"), ACCOUNTS)  # REG-5: saved before we answer
            client.send(frame("1003", "1", nickname, username))
            return
    client.send(frame("1003", "0", reason, username))


def on_logout(client, fields):
    """0005 -> 1005, then close (OUT-1)."""
    leave(client)  # the LEAVE notices go out before the 1005, as with JOIN and 1001
    client.send(frame("1005"))
    client.closing = True


def on_list(client, fields):
    """0006 -> 1006 (LIST-1)."""
    with LOCK:
        client.send(list_frame())


def list_frame():
    """1006|count|username|nickname|..., sorted by the UTF-8 bytes of the username."""
    users = sorted(ONLINE, key=lambda name: name.encode("utf-8"))
    fields = [len(users)]
    for name in users:
        fields += [name, ONLINE[name].nick]
    return frame("1006", *fields)


def notify(event, client):
    """1010|event|username|nickname|count to every other logged-in user (NOTE-1, NOTE-2)."""
    out = frame("1010", event, client.user, client.nick, len(ONLINE))
    for other in list(ONLINE.values()):
        if other is not client:
            other.send(out)


def on_private(client, fields):
    """0004|to|text -> 1004|from|nickname|text to that user only (PRIV-1 to PRIV-4)."""
    to, text = fields
    if to == client.user:
        raise ProtocolError("BAD_FIELD", "you cannot send a private message to yourself")
    with LOCK:
        target = ONLINE.get(to)
        if target is None:
            raise ProtocolError("USER_OFFLINE", f"{to} is not online")
        record(client, to, text)  # saved before it is delivered, as in on_chat (HIST-4)
        target.send(frame("1004", client.user, client.nick, text))


HANDLERS = {
    "0001": on_login,
    "0002": on_chat,
    "0003": on_register,
    "0004": on_private,
    "0005": on_logout,
    "0006": on_list,
    "0007": on_ping,
}


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def listen(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(1024)  # room for many clients connecting at the same moment (LOAD-1)
    return listener


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    global DATA_DIR
    if len(sys.argv) > 2:
        DATA_DIR = sys.argv[2]
    os.makedirs(DATA_DIR, exist_ok=True)
    load_accounts()
    load_history()
    listener = listen(port)
    print(f"chat server on {HOST}:{port}", flush=True)
    while True:
        sock, _ = listener.accept()  # one thread per connection: accept never waits for a client
        threading.Thread(target=serve, args=(Client(sock),), daemon=True).start()


if __name__ == "__main__":
    main()
