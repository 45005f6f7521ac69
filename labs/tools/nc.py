#!/usr/bin/env python3
"""A tiny netcat for the labs: type lines, see lines. Works on Windows too.

Usage: python3 nc.py HOST PORT

Every line you type is sent with an LF at its end, exactly as typed: type the
frame itself, such as 0001|user1|114514. Every line the server sends is printed
as it arrived (escapes like \\p stay visible). Ctrl-D (Ctrl-Z Enter on Windows)
or Ctrl-C quits. Standard library only.
"""
import socket
import sys
import threading


def reader(sock):
    buf = b""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            print("-- the server closed the connection", flush=True)
            break
        buf += data
        while b"\n" in buf:  # print whole lines only (半包 happen here too)
            line, buf = buf.split(b"\n", 1)
            print("< " + line.decode("utf-8", "replace"), flush=True)
    sock.close()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    print(f"connected to {sys.argv[1]}:{sys.argv[2]}; type frames, one per line", flush=True)
    threading.Thread(target=reader, args=(sock,), daemon=True).start()
    try:
        for line in sys.stdin:
            sock.sendall(line.rstrip("\r\n").encode("utf-8") + b"\n")
    except (KeyboardInterrupt, OSError):
        pass


if __name__ == "__main__":
    main()
