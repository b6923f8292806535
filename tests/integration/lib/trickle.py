"""Clients that would starve a server: connections that trickle a request
a byte at a time and never finish it, and how many of them the server has
not closed yet."""
import socket
import threading


def trickle(port, source, n, stop):
    """n connections from source, each sending a request line and then a
    header byte every half second: never a whole request."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
        except OSError:
            pass  # refused at once: a limit at work

    def run():
        while not stop.wait(0.5):
            for s in socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return socks, t


def still_open(socks):
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                n += 1
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
