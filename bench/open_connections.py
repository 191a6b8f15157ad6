"""What an open connection costs the service at rest: opens N keep-alive
connections, sends one forgot-password request on each (all N in flight
at once, as under wrk), reads every answer, and with the connections still
open prints the service's VmRSS growth per connection in KiB.

    python3 bench/open_connections.py PID PORT [N]
"""

import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for the service")


def main():
    pid, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    before = rss_kib(pid)
    run = int(time.time())
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for i, conn in enumerate(connections):
        body = b'{"email":"rest%d.%d@example.com"}' % (run, i)
        conn.sendall(
            b"POST /api/auth/forgot-password/ HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\n"
            b"X-Forwarded-For: 10.%d.%d.%d\r\n" % (i // 65536 % 256, i // 256 % 256, i % 256)
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
    for conn in connections:
        answer = conn.recv(4096)
        if not answer.startswith(b"HTTP/1.1 202"):
            raise SystemExit(f"bench: expected 202, got {answer[:40]!r}")
    print(f"{(rss_kib(pid) - before) / n:.1f}")
    for conn in connections:
        conn.close()


if __name__ == "__main__":
    main()
