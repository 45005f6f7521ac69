#!/usr/bin/env python3
"""ChatLab starter for lab 7: a terminal chat client. It connects and logs in; the TODOs are yours.

Usage: python3 client.py HOST PORT USERNAME PASSWORD

Search for 'TODO (lab 7)' and follow labs/lab7-client/README.md step by step.
Standard library only; Python 3.8 or newer.
"""
import socket
import sys
import threading


def escape(text):
    # TODO (lab 7): ESC-1. Escape \ first, then |, LF and CR (SPEC.md section 3).
    return text


def unescape(field):
    # TODO (lab 7): ESC-2. Walk the characters; \\ \p \n \r become \ | LF CR.
    return field


def frame(fid, *fields):
    """One frame as bytes: escaped fields joined with '|', then LF (FRAME-1)."""
    return ("|".join((fid,) + tuple(escape(str(f)) for f in fields)) + "\n").encode("utf-8")


def read_loop(sock):
    """The reader thread: prints what the server sends."""
    while True:
        data = sock.recv(65536)
        if not data:
            print("-- disconnected")
            return
        # TODO (lab 7): one recv() is not one line. Keep a buffer, split on LF,
        # then split each line on '|' and unescape each field. Show 1002 as
        # "nickname: text", keep the online list from 1006 and 1010, show 1004,
        # 1011, 1009 and 1900 (step 4).
        print("<", data.decode("utf-8", "replace").rstrip("\n"))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    host, port, username, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.create_connection((host, port))
    sock.sendall(frame("0001", username, password))
    threading.Thread(target=read_loop, args=(sock,), daemon=True).start()
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line:
            sock.sendall(frame("0002", username, line))
        # TODO (lab 7): commands such as /to USER text (0004), /list (0006),
        # /send PATH (0008, a side connection, put, 0009) and /quit (0005).


if __name__ == "__main__":
    main()
