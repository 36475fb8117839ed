#!/usr/bin/env python3
"""Opens N keep-alive connections to an lms server, sends one GET /healthz on each, reads the
answer, and then holds them all open and idle until it is killed (or --hold seconds pass).
Used by bench/run.sh to measure the server's memory with many idle connections."""
import argparse
import resource
import selectors
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--hold", type=float, default=60.0)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.count + 1024)), hard))

    request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    socks = []
    sel = selectors.DefaultSelector()
    for i in range(args.count):
        s = socket.create_connection(("127.0.0.1", args.port))
        s.setblocking(False)
        s.send(request)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    answered = 0
    deadline = time.time() + 60
    while answered < args.count and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            data = key.fileobj.recv(4096)
            if data.startswith(b"HTTP/1.1 200"):
                answered += 1
            sel.unregister(key.fileobj)
    print(f"open={len(socks)} answered={answered}", flush=True)
    time.sleep(args.hold)


if __name__ == "__main__":
    sys.exit(main())
