#!/usr/bin/env python3
"""nats_raw.py - a minimal NATS client (the text protocol over a socket, no
library) for forged.sh: capture one message on a subject, or publish bytes
as a request and print the reply. Loopback only; every wait is bounded.

  nats_raw.py capture <port> <subject> <out file> <seconds>
      subscribes, writes the payload of the first message to <out file>
      (exit 1 when none came in time). Prints "subscribed" once the
      server has the subscription (a PING/PONG round trip).
  nats_raw.py request <port> <subject> <payload file> <seconds>
      publishes the payload with a reply inbox, writes the reply payload to
      stdout (exit 1 on no reply in time).
"""
import socket
import sys
import time


class Conn:
    def __init__(self, port, deadline):
        self.deadline = deadline
        self.s = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.buf = b""
        self.line()  # INFO
        self.s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                       b'"no_responders":true,"name":"lattice-it-raw"}\r\nPING\r\n')
        self.wait_pong()

    def fill(self):
        left = self.deadline - time.time()
        if left <= 0:
            raise TimeoutError("no answer in time")
        self.s.settimeout(left)
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def take(self, n):
        while len(self.buf) < n + 2:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def wait_pong(self):
        while True:
            ln = self.line()
            if ln == b"PONG":
                return
            if ln == b"PING":
                self.s.sendall(b"PONG\r\n")
            elif ln.startswith(b"-ERR"):
                raise ConnectionError(ln.decode())

    def next_msg(self):
        """(headers or None, payload) of the next MSG / HMSG."""
        while True:
            ln = self.line()
            if ln == b"PING":
                self.s.sendall(b"PONG\r\n")
                continue
            parts = ln.split()
            if parts and parts[0] == b"MSG":
                return None, self.take(int(parts[-1]))
            if parts and parts[0] == b"HMSG":
                hlen, tlen = int(parts[-2]), int(parts[-1])
                raw = self.take(tlen)
                return raw[:hlen], raw[hlen:]
            if parts and parts[0] == b"-ERR":
                raise ConnectionError(ln.decode())


def main():
    mode, port, subject, path, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
    c = Conn(port, time.time() + secs)
    try:
        if mode == "capture":
            c.s.sendall(b"SUB %s 1\r\nPING\r\n" % subject.encode())
            c.wait_pong()
            print("subscribed", flush=True)
            _, payload = c.next_msg()
            with open(path, "wb") as f:
                f.write(payload)
        elif mode == "request":
            inbox = "_INBOX.lattice_it.%d" % int(time.time() * 1000)
            data = open(path, "rb").read()
            c.s.sendall(b"SUB %s 1\r\nPUB %s %s %d\r\n%s\r\n" %
                        (inbox.encode(), subject.encode(), inbox.encode(), len(data), data))
            hdr, payload = c.next_msg()
            if hdr and b"503" in hdr.split(b"\r\n")[0]:
                sys.stderr.write("no responders\n")
                return 1
            sys.stdout.buffer.write(payload)
        else:
            sys.stderr.write("unknown mode\n")
            return 2
    except (TimeoutError, socket.timeout, ConnectionError) as e:
        sys.stderr.write("nats_raw: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
