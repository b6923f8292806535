"""The HTTP endpoint against a client that would starve the others:
1,000 connections from one address, each trickling its request a byte at
a time, while a client at another address is still answered quickly, the
trickling connections are closed at the request deadline however steadily
they trickle, and the log says so in a line or two, not a thousand."""
import resource
import socket
import threading
import time

from lib.server import Server
from lib.trickle import still_open, trickle

PER_ADDRESS = 64       # HTTP_PER_ADDRESS in include/invited/limits.h
DEADLINE = 10          # HTTP_REQUEST_DEADLINE


def get_from(addr, port, path="/healthz"):
    """(status, seconds) of a GET from source address addr."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(addr, 0)) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split()[1]), time.monotonic() - started


def test_a_trickling_address_cannot_starve_another():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    srv = Server.start()
    stop = threading.Event()
    # 1,000 connections from one address, each sending its request line,
    # then one header byte per half second: never a whole request.
    socks, t = trickle(srv.port, "127.0.0.1", 1000, stop)
    try:
        worst = 0.0
        deadline = time.monotonic() + DEADLINE + 5
        while time.monotonic() < deadline:
            status, took = get_from("127.0.0.2", srv.port)
            assert status == 200, status
            worst = max(worst, took)
            time.sleep(0.5)
        assert worst < 2.0, f"a request from another address took {worst:.2f} s"

        # Every trickling connection is closed by now: the ones past the
        # per-address limit at once, the others at the request deadline.
        open_ = still_open(socks)
        assert open_ == 0, f"{open_} trickling connections still open"
        # The same address may connect again once its connections are gone.
        assert get_from("127.0.0.1", srv.port)[0] == 200
    finally:
        stop.set()
        t.join(5)
        for s in socks:
            s.close()
    lines = [l for l in srv.log().splitlines() if "client 127.0.0.1" in l]
    assert 1 <= len(lines) <= 3, lines
    assert "refused" in lines[0] and str(PER_ADDRESS) in lines[0], lines
