#!/usr/bin/env python3
"""bench/latency.py: how long a person waits, end to end, through the real
Postfix and Dovecot of the bench mail stack.

  invitation created -> in the invitee's INBOX: an API client creates an
  invitation; the clock starts before the POST is sent and stops when the
  invitee's IMAP connection on INBOX is told of the new message (`* N
  EXISTS`), asking with NOOP every 2 ms. (Not IDLE: Dovecot gathers a
  mailbox's changes for half a second before it tells an idling client, a
  constant of its own that would hide ours.) One after another, INVITES of
  them; p50 and p99. Goal: p99 <= 250 ms.

  bounce arrives -> invitation bounced: an invitation to an address the
  stack does not have; Postfix bounces it, and its report (RFC 3464) is
  delivered to the server's mailbox, where `invited serve`'s IMAP reader
  waits in IDLE. The clock starts when the report's file appears in that
  Maildir (looked at every millisecond) and stops when the invitation reads
  `bounced` in the store (read-only, every 2 ms). One after another,
  BOUNCES of them; p50 and p99. Goal: p99 <= 2 s.

    python3 bench/latency.py --build BUILD_DIR

with INVITED_MAILSTACK_DIR naming a running scripts/mailstack. Prints table
rows on stdout, progress on stderr. INVITED_BENCH_SMALL=1 runs 50 and 10.
"""
import argparse
import http.client
import json
import os
import re
import socket
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from lib import mailstack  # noqa: E402
from lib.server import Server  # noqa: E402

SMALL = os.environ.get("INVITED_BENCH_SMALL") == "1"
INVITES = 50 if SMALL else 1000
BOUNCES = 10 if SMALL else 100
INVITEE = "u1"
WAIT = 30  # seconds one message may take before the run fails


def log(*args):
    print("latency:", *args, file=sys.stderr, flush=True)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Inbox:
    """One IMAP connection on a user's INBOX: wait() returns when the
    server says the mailbox has more messages than before (NOOP every
    2 ms)."""

    def __init__(self, user):
        e = mailstack.env()
        self.sock = socket.create_connection(("127.0.0.1", int(e["MAILSTACK_IMAP_PORT"])),
                                             timeout=WAIT)
        self.buf = b""
        self.line()  # greeting
        self.command(f'a LOGIN {user} "{e["MAILSTACK_PASSWORD"]}"', b"a OK")
        self.exists = int(re.search(rb"\* (\d+) EXISTS",
                                    self.command("b SELECT INBOX", b"b OK")).group(1))
        self.n = 0

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the IMAP server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def command(self, text, done):
        self.sock.sendall(text.encode() + b"\r\n")
        said = b""
        while True:
            line = self.line()
            said += line + b"\n"
            if line.startswith(done):
                return said
            if line.split(b" ", 2)[1:2] in ([b"NO"], [b"BAD"]):
                raise RuntimeError(f"IMAP: {line!r}")

    def wait(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            self.n += 1
            said = self.command(f"n{self.n} NOOP", f"n{self.n} OK".encode())
            m = re.findall(rb"\* (\d+) EXISTS", said)
            if m and int(m[-1]) > self.exists:
                self.exists = int(m[-1])
                return
            time.sleep(0.002)
        raise RuntimeError(f"nothing new in the INBOX in {WAIT} s")

    def close(self):
        try:
            self.sock.sendall(b"d LOGOUT\r\n")
        finally:
            self.sock.close()


def post(port, key, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    conn.request("POST", "/api/v1/invitations", json.dumps(body),
                 {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 201:
        raise RuntimeError(f"create: {r.status} {data[:300]!r}")
    return json.loads(data)


def created_to_inbox():
    mailstack.imap_clear(INVITEE)
    srv = Server.start(**{"invitations.org_rate_limit": "0",
                          "invitations.recipient_rate_limit": "0"})
    try:
        org = srv.org_create("provider", "Northwind Latency", "p1@example.test")
        key = srv.apikey(org)
        idle = Inbox(INVITEE)
        times = []
        for i in range(INVITES):
            started = time.monotonic()
            post(srv.port, key, {"kind": "indirect_provider",
                                 "email": f"{INVITEE}@example.test"})
            idle.wait()
            times.append(time.monotonic() - started)
            if (i + 1) % 200 == 0:
                log(f"created -> INBOX: {i + 1}/{INVITES}, p50 so far "
                    f"{percentile(times, 50) * 1000:.0f} ms")
        idle.close()
        return times
    finally:
        srv.cleanup()


def maildir_of(user):
    return os.path.join(os.environ["INVITED_MAILSTACK_DIR"], "mail", user, "Maildir", "new")


def bounce_to_bounced():
    mailstack.imap_clear("invites")
    srv = Server.start(**{"imap.enabled": "yes", "imap.idle": "yes",
                          "invitations.org_rate_limit": "0",
                          "invitations.recipient_rate_limit": "0"})
    new = maildir_of("invites")
    try:
        org = srv.org_create("provider", "Northwind Bounces", "p2@example.test")
        key = srv.apikey(org)
        db = sqlite3.connect(f"file:{os.path.join(srv.dir, 'invited.db')}?mode=ro", uri=True,
                             timeout=5)
        times = []
        for i in range(BOUNCES):
            seen = set(os.listdir(new)) if os.path.isdir(new) else set()
            inv = post(srv.port, key, {"kind": "indirect_provider",
                                       "email": f"no-such-{i}@example.test"})
            deadline = time.monotonic() + WAIT
            arrived = None
            while arrived is None:
                if os.path.isdir(new) and set(os.listdir(new)) - seen:
                    arrived = time.monotonic()
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"no report for invitation {inv['id']} in {WAIT} s")
                else:
                    time.sleep(0.001)
            while True:
                row = db.execute("SELECT status FROM invitations WHERE id = ?",
                                 (inv["id"],)).fetchone()
                if row and row[0] == "bounced":
                    times.append(time.monotonic() - arrived)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"invitation {inv['id']} not bounced in {WAIT} s "
                                       f"(status {row})")
                time.sleep(0.002)
            if (i + 1) % 25 == 0:
                log(f"bounce -> bounced: {i + 1}/{BOUNCES}")
        db.close()
        return times
    finally:
        srv.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    os.environ.setdefault("INVITED_BIN", os.path.join(os.path.abspath(args.build), "invited"))
    log(f"{INVITES} invitations, one after another, until each is in the INBOX")
    row("invitation created -> in the invitee's INBOX over IMAP (real Postfix + Dovecot, "
        f"{INVITES:,} one after another)", created_to_inbox(), 250, "250 ms")
    log(f"{BOUNCES} bounces, one after another, until each invitation is bounced")
    row(f"bounce arrives -> invitation bounced (IMAP IDLE, real Postfix DSN, {BOUNCES} one "
        "after another)", bounce_to_bounced(), 2000, "2 s")


def row(name, seconds, goal_ms, goal):
    """The table row of a latency figure: p50 and p99, p99 against goal_ms."""
    p50, p99 = percentile(seconds, 50) * 1000, percentile(seconds, 99) * 1000
    print(f"| {name} | p50 {p50:.0f} ms, p99 {p99:.0f} ms | - | {p99 / goal_ms:.2f} | "
          f"p99 <= {goal} | {'yes' if p99 <= goal_ms else 'NO'} |")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, AssertionError) as e:
        print(f"latency: {e}", file=sys.stderr)
        sys.exit(1)
