#!/usr/bin/env python3
"""ChatLab reference solution for lab 6 (SPEC.md levels 1 to 6).

Usage: python3 server.py PORT [DATA_DIR] [PHOTO_PORT FILE_PORT]

Instructors: keep this file out of the students' path until lab 6 is due.
Standard library only; Python 3.8 or newer.
The IDs in the comments (FRAME-3, ERR-5, ...) are rules of SPEC.md: read the rule next to the code.
"""
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections import deque
import unicodedata
import queue
import signal

HOST = "127.0.0.1"  # only this machine: passwords travel in clear text (SPEC.md section 4)
MAX_FRAME = 4096  # bytes in one frame, LF included (FRAME-5)
MAX_HISTORY = 500  # HIST-3
MAX_SIDE_LINE = 1024  # bytes in one side-port command line (section 10)
MAX_SIZE = {"photo": 2 * 1024 * 1024, "file": 8 * 1024 * 1024}  # SIDE-4
SEND_QUEUE = 1000  # frames waiting for one slow client before we give up on it (LOAD-3)
CLOSE_GRACE = 5.0  # seconds a closing connection gets to take its last frames
MAX_CONNECTIONS = 1000  # LOAD-6

# The seed accounts of SPEC.md section 6: username -> (password, nickname).
SEED_ACCOUNTS = {
    "user1": ("114514", "konbi"),
    "admin": ("HytidelSB", "Hytidel"),
    "Julia": ("sunyu", "Julia"),
    "Meggie": ("maiji", "Meggie"),
    "小明": ("xiaoming123", "小明"),
}

# Shared state. Every thread reads and changes it only while holding LOCK.
# It is re-entrant because a handler that holds it may disconnect a slow client,
# and that sends a leave notice, which takes the lock again.
LOCK = threading.RLock()
ONLINE = {}  # username -> Client, for every logged-in connection
ACCOUNTS = {}  # username -> {"nickname", "salt", "hash", "iterations"}: never a password (REG-4)
DATA_DIR = "chatlab-data"
HISTORY = deque(maxlen=MAX_HISTORY)  # the most recent messages, oldest first (HIST-3)
LAST_TIME = [0]  # the time of the newest message, so times never go back (HIST-5)
HISTORY_FILE = []  # the open history file, appended to by record()
TICKETS = {}  # ticket -> username (SIDE-2)
ITEMS = {}  # item id -> Item (SIDE-6)
CONNECTIONS = set()  # every connected Client, logged in or not (LOAD-6, LOAD-7)
CLOSE = object()  # put in a send queue to tell the writer thread to stop
STOPPING = [False]  # set once by shut_down(), under LOCK


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
    "0008": 1,  # 0008
    "0009": 4,  # 0009|to|id|name
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
    if fid == "0009" and not ITEM_ID_RE.fullmatch(fields[1]):
        raise ProtocolError("MALFORMED", "an item id is 1 to 64 letters, digits, '-' or '_'")
    if fid in ("0002", "0004") and not valid_username(fields[0]):
        raise ProtocolError("BAD_FIELD", "that is not a valid username")
    if fid == "0009" and fields[0] and not valid_username(fields[0]):
        raise ProtocolError("BAD_FIELD", "that is not a valid username")
    if fid == "0009" and not 1 <= len(fields[2]) <= 255:
        raise ProtocolError("BAD_FIELD", "a shared item's name is 1 to 255 characters")
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
        self.tickets = []  # tickets handed out on this connection (SIDE-2)
        # LOAD-3: frames wait in a bounded queue; this connection's own writer
        # thread sends them. Nobody else ever calls sendall on this socket, so a
        # client that stops reading can only block its own writer.
        self.queue = queue.Queue(maxsize=SEND_QUEUE)
        self.qlock = threading.Lock()
        self.stopped = False  # no more frames will be queued
        self.writer = threading.Thread(target=self.write_loop, daemon=True)
        self.writer.start()

    def send(self, data):
        """Queues one frame and returns at once: it never waits for the network."""
        with self.qlock:
            if self.stopped:
                return
            try:
                self.queue.put_nowait(data)
                return
            except queue.Full:
                # LOAD-3: this client stopped reading. Tell it why, close it, and
                # never let it slow anybody else down.
                self.stop(frame("1900", "SLOW_CONSUMER", "you were not reading; disconnected"), locked=True)
        leave(self)  # NOTE-2: a disconnect is a leave (outside qlock: leave takes LOCK)

    def stop(self, last=None, locked=False):
        """Sends what is queued, then `last`, then closes. Safe to call twice."""
        if not locked:
            with self.qlock:
                return self.stop(last, locked=True)
        if self.stopped:
            return
        self.stopped = True
        self.closing = True
        for item in ([last] if last else []) + [CLOSE]:
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                # No room: drop what is waiting. The client is being disconnected,
                # so nothing is lost silently (LOAD-4).
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait(item)
        # If the client never reads again, do not wait for it forever.
        timer = threading.Timer(CLOSE_GRACE, self.abort)
        timer.daemon = True
        timer.start()

    def write_loop(self):
        """The writer thread: the only code that writes to this socket."""
        try:
            while True:
                batch = [self.queue.get()]  # wait for the first frame
                while len(batch) < 256:  # then take whatever else is waiting
                    try:
                        batch.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                done = CLOSE in batch
                if done:
                    batch = batch[: batch.index(CLOSE)]
                # One sendall for many frames: fewer system calls, and fewer
                # waits for Python's GIL when the server is busy.
                self.sock.sendall(b"".join(batch))  # may block, but only this thread
                if done:
                    break
        except OSError:
            pass
        finally:
            with self.qlock:
                self.stopped = True
            self.abort()

    def abort(self):
        """Shuts the socket down, which also wakes the reader thread's recv."""
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
        client.writer.join()
        with LOCK:
            CONNECTIONS.discard(client)
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
        for ticket in client.tickets:
            TICKETS.pop(ticket, None)  # SIDE-2: tickets die with their connection
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


def on_ticket(client, fields):
    """0008 -> 1008|ticket: 32 unpredictable hex characters (SIDE-2)."""
    ticket = secrets.token_hex(16)
    with LOCK:
        TICKETS[ticket] = client.user
        client.tickets.append(ticket)
    client.send(frame("1008", ticket))


def on_share(client, fields):
    """0009|to|id|name -> 1009 to the room or to one user (SHARE-1 to SHARE-3)."""
    to, item_id, name = fields
    if to == client.user:
        raise ProtocolError("BAD_FIELD", "you cannot share with yourself")
    with LOCK:
        target = ONLINE.get(to) if to else None
        if to and target is None:
            raise ProtocolError("USER_OFFLINE", f"{to} is not online")
        item = ITEMS.get(item_id)
        if item is None or item.owner != client.user:
            raise ProtocolError("NO_SUCH_ITEM", "you have no upload with that id")  # SHARE-2
        out = frame("1009", item.kind, client.user, client.nick, to, item_id, name, item.size, item.sha256)
        if target is not None:
            item.readers.add(to)  # SHARE-3
            target.send(out)
        else:
            item.room = True
            for other in list(ONLINE.values()):
                if other is not client:
                    other.send(out)


HANDLERS = {
    "0001": on_login,
    "0002": on_chat,
    "0003": on_register,
    "0004": on_private,
    "0005": on_logout,
    "0006": on_list,
    "0007": on_ping,
    "0008": on_ticket,
    "0009": on_share,
}


# ---------------------------------------------------------------------------
# Side ports (SPEC.md section 10): photos and files, with a length prefix
# ---------------------------------------------------------------------------

class Item:
    """One upload. Its id is ours, never a name the client sent (SIDE-6)."""

    def __init__(self, kind, owner, size, sha256, path):
        self.kind, self.owner, self.size, self.sha256, self.path = kind, owner, size, sha256, path
        self.room = False  # shared with the room
        self.readers = set()  # users it was shared with one by one

    def may_get(self, user):
        """SHARE-3."""
        return user == self.owner or self.room or user in self.readers


class SideReader:
    """Reads command lines and exact-size bodies from one side connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        """The next command line, without LF and CR, or None if it was too long."""
        while b"\n" not in self.buf:
            if len(self.buf) >= MAX_SIDE_LINE:
                return None
            self.fill()
        lf = self.buf.find(b"\n")
        line = bytes(self.buf[:lf])
        del self.buf[: lf + 1]
        if lf + 1 > MAX_SIDE_LINE:
            return None
        return line[:-1] if line.endswith(b"\r") else line

    def exactly(self, size):
        """SIDE-3: exactly `size` bytes. We never look for an end marker inside them."""
        while len(self.buf) < size:
            self.fill()
        body = bytes(self.buf[:size])
        del self.buf[:size]
        return body


COUNT_RE = re.compile(r"0|[1-9][0-9]{0,18}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")  # SIDE-5


def serve_side(sock, kind):
    """One photo-port or file-port connection: commands until quit or close."""
    reader = SideReader(sock)
    user = None  # set by a good `auth`

    def reply(text):
        sock.sendall((text + "\n").encode("utf-8"))

    try:
        while True:
            raw = reader.line()
            if raw is None:
                reply("err MALFORMED line too long")
                break
            words = raw.decode("utf-8", "replace").split(" ")
            cmd, args = words[0], words[1:]
            if cmd == "auth" and len(args) == 1 and args[0]:
                with LOCK:
                    user = TICKETS.get(args[0])
                reply("ok" if user else "err BAD_TICKET that ticket is not valid")
            elif cmd == "put" and len(args) == 2 and COUNT_RE.fullmatch(args[0]) and SHA256_RE.fullmatch(args[1]):
                size = int(args[0])
                if size > MAX_SIZE[kind]:
                    reply(f"err TOO_LARGE a {kind} is at most {MAX_SIZE[kind]} bytes")  # SIDE-4
                    break  # close without reading the body
                body = reader.exactly(size)  # read it even if we refuse it: it is on its way
                if user is None:
                    reply("err NOT_AUTHED send auth TICKET first")
                elif hashlib.sha256(body).hexdigest() != args[1]:
                    reply("err HASH_MISMATCH the bytes do not match their SHA-256")  # SIDE-3
                elif kind == "photo" and not body.startswith(IMAGE_SIGNATURES):
                    reply("err NOT_IMAGE a photo is a PNG, JPEG or GIF")  # SIDE-5
                else:
                    reply("ok " + store(kind, user, body, args[1]))
            elif cmd == "get" and len(args) == 1 and args[0]:
                with LOCK:
                    item = ITEMS.get(args[0])  # '../../etc/passwd' is simply not a key
                if user is None:
                    reply("err NOT_AUTHED send auth TICKET first")
                elif item is None or not item.may_get(user):
                    # SIDE-7: the same answer whether it does not exist or is not yours.
                    reply("err NO_SUCH_ITEM no item with that id is available to you")
                else:
                    with open(item.path, "rb") as f:
                        body = f.read()
                    sock.sendall(f"ok {item.size} {item.sha256}\n".encode() + body)
            elif cmd == "quit" and not args:
                reply("ok")
                break
            else:
                reply("err MALFORMED expected auth, put, get or quit")  # SIDE-8
    except (OSError, EOFError):
        pass
    finally:
        sock.close()


def store(kind, user, body, sha256):
    """Saves an upload under a new id that we choose (SIDE-6) and returns the id."""
    item_id = kind[0] + secrets.token_hex(8)  # e.g. p3f9a0c1d2e4b5a67: unique, unguessable
    path = os.path.join(DATA_DIR, "items", item_id)
    with open(path, "wb") as f:
        f.write(body)
    with LOCK:
        ITEMS[item_id] = Item(kind, user, len(body), sha256, path)
    return item_id


def side_port(port, kind):
    """Accepts side connections forever, one thread each (SIDE-1)."""
    listener = listen(port)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve_side, args=(sock, kind), daemon=True).start()


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def listen(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(1024)  # room for many clients connecting at the same moment (LOAD-1)
    return listener


REFUSALS = {
    "SHUTDOWN": "the server is shutting down",  # LOAD-7
    "SERVER_FULL": "too many connections; try again later",  # LOAD-6
}


def accept_loop(listener):
    """Accepts chat connections, one reader thread each.

    It never reads from a client: a client that connects and says nothing must
    not stop anybody else from connecting (LOAD-2).
    """
    while True:
        sock, _ = listener.accept()
        with LOCK:
            if STOPPING[0]:
                refusal = "SHUTDOWN"
            elif len(CONNECTIONS) >= MAX_CONNECTIONS:
                refusal = "SERVER_FULL"
            else:
                refusal = None
                client = Client(sock)
                CONNECTIONS.add(client)
        if refusal:
            try:
                sock.sendall(frame("1900", refusal, REFUSALS[refusal]))
            except OSError:
                pass
            sock.close()
            continue
        threading.Thread(target=serve, args=(client,), daemon=True).start()


def shut_down():
    """LOAD-7: SHUTDOWN to every connection, then give the writers a moment to send it."""
    with LOCK:
        STOPPING[0] = True
        clients = list(CONNECTIONS)
    for client in clients:
        client.stop(frame("1900", "SHUTDOWN", REFUSALS["SHUTDOWN"]))
    deadline = time.time() + CLOSE_GRACE
    for client in clients:
        client.writer.join(timeout=max(0.0, deadline - time.time()))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    global DATA_DIR
    if len(sys.argv) > 2:
        DATA_DIR = sys.argv[2]
    os.makedirs(os.path.join(DATA_DIR, "items"), exist_ok=True)
    load_accounts()
    load_history()
    listener = listen(port)
    photo_port = int(sys.argv[3]) if len(sys.argv) > 4 else port + 1
    file_port = int(sys.argv[4]) if len(sys.argv) > 4 else port + 2
    for side, kind in ((photo_port, "photo"), (file_port, "file")):
        threading.Thread(target=side_port, args=(side, kind), daemon=True).start()
    print(f"chat server on {HOST}:{port}", flush=True)
    # LOAD-7: the main thread waits for Ctrl-C or SIGTERM while another thread
    # accepts, so a signal never lands between accept() and CONNECTIONS.add().
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=accept_loop, args=(listener,), daemon=True).start()
    while not stop.wait(0.5):  # a timeout, so Ctrl-C also works on Windows
        pass
    shut_down()


if __name__ == "__main__":
    main()
