#!/usr/bin/env python3
"""ChatLab reference solution for lab 1 (SPEC.md levels 1 to 1).

Usage: python3 server.py PORT

Instructors: keep this file out of the students' path until lab 1 is due.
Standard library only; Python 3.8 or newer.
The IDs in the comments (FRAME-3, ERR-5, ...) are rules of SPEC.md: read the rule next to the code.
"""
import socket
import sys
import threading

HOST = "127.0.0.1"  # only this machine: passwords travel in clear text (SPEC.md section 4)

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
ACCOUNTS = SEED_ACCOUNTS  # fixed accounts are fine at Level 1 and 2


# ---------------------------------------------------------------------------
# Frames: escaping, building and parsing (SPEC.md sections 2, 3 and 5)
# ---------------------------------------------------------------------------

def frame(fid, *fields):
    """One frame as bytes: the id, the fields, then LF (FRAME-1)."""
    return ("|".join((fid,) + tuple(str(f) for f in fields)) + "\n").encode("utf-8")


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
    """Turns a stream of bytes into lines.

    One recv() may hold half a frame (半包) or several frames (粘包): keep every
    byte in a buffer and take out complete lines only (FRAME-1).
    """

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        """Adds bytes; returns the complete lines, without their LF."""
        self.buf += data
        lines = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line:
                lines.append(line)
        return lines


def serve(client):
    """The reader thread of one connection: read, split into lines, handle each in order."""
    lines = LineBuffer()
    try:
        while not client.closing:
            data = client.sock.recv(65536)
            if not data:
                break  # the client closed the connection
            for line in lines.feed(data):
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
    """Acts on one frame. Level 1 knows two frames and ignores anything else."""
    fields = line.decode("utf-8", "replace").split("|")
    if fields[0] == "0001" and len(fields) == 3 and client.user is None:
        on_login(client, fields[1:])
    elif fields[0] == "0002" and len(fields) == 3 and client.user is not None:
        on_chat(client, fields[1:])


def on_login(client, fields):
    """0001|username|password -> 1001 (LOGIN-1 to LOGIN-3, LOGIN-5)."""
    username, password = fields
    with LOCK:
        account = ACCOUNTS.get(username)
    if account is None:
        reason = "UNKNOWN_USER"
    elif account[0] != password:
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
    client.nick = account[1]
    ONLINE[username] = client
    client.send(frame("1001", "1", client.nick, username))  # LOGIN-2


def leave(client):
    """The connection logged out or closed. Safe to call twice."""
    with LOCK:
        if client.user is None or ONLINE.get(client.user) is not client:
            return
        del ONLINE[client.user]
        client.user = None


def on_chat(client, fields):
    """0002|username|text -> 1002|nickname|text to everyone else (CHAT-1, CHAT-2)."""
    claimed, text = fields
    with LOCK:
        out = frame("1002", client.nick, text)
        for other in list(ONLINE.values()):
            if other is not client:  # CHAT-2: no echo
                other.send(out)


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
    listener = listen(port)
    print(f"chat server on {HOST}:{port}", flush=True)
    while True:
        sock, _ = listener.accept()  # one thread per connection: accept never waits for a client
        threading.Thread(target=serve, args=(Client(sock),), daemon=True).start()


if __name__ == "__main__":
    main()
