#!/usr/bin/env python3
"""The store at 1,000,000 invitations (issue 7).

    python3 bench/store.py --build BUILD_DIR --work WORK_DIR

Fills a database with bench_fill (through the store's API), starts the real
`invited serve` on it, and measures from one keep-alive HTTP client:

- create: POST /api/v1/invitations with delivery "send" (the real path: the
  mail is queued in the same transaction and the outbox senders deliver it
  while later requests run), p99 of the wall time of each. The mail goes to
  Postfix's smtp-sink on a port of this benchmark's own, which accepts and
  drops it: the shared mail stack would deliver a thousand mails (and their
  bounces) into mailboxes that other benchmarks read. Creates with delivery
  "draft" (no mail) are timed too, for stderr;
- list page: GET /api/v1/invitations?limit=50 following next_cursor, from
  the newest page and from cursors deep in the big inviter's half million
  rows, and with status filters, p99 of each page;
- bytes per invitation: (database + WAL) / invitations, with the retention
  of sent mail's bytes ([mail] keep_sent) applied by the fill as its clock
  moves over the 180 days it spreads the invitations on (bench_fill.c);
- peak RSS of `invited serve`: VmHWM after all requests.

The server runs on core 0, the client and smtp-sink on core 1. Prints the
table rows on stdout, progress on stderr; exits non-zero on any failure.

With --backend postgresql the store is a database of a private PostgreSQL
cluster (scripts/pgstack, durable: fsync and synchronous_commit on) on
this machine, and bytes per invitation are pg_database_size's.
"""
import argparse
import http.client
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time

from benchlib import stop_process

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP_PORT = 43080
SMTP_PORT = 43025
FIGURE = "store at 1,000,000 invitations"
GOAL_MS = 5.0
GOAL_RSS_MIB = 64
GOAL_BYTES = 3000


PG_PORT = 43432


def log(*args):
    print("store:", *args, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Failure(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def percentile(values, q):
    """Nearest rank: the smallest value with at least q of them at or below it."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


class Bench:
    def __init__(self, build, work, n, orgs, creates, pages, backend="sqlite"):
        self.bin = os.path.join(build, "invited")
        self.fill_bin = os.path.join(build, "bench", "bench_fill")
        self.dir = os.path.join(work, "store")
        self.conf = os.path.join(self.dir, "invited.conf")
        self.db = os.path.join(self.dir, "invited.db")
        self.n, self.orgs, self.creates, self.pages = n, orgs, creates, pages
        self.procs = []
        self.conn = None
        self.backend = backend
        self.pg = backend == "postgresql"
        self.env = dict(os.environ)

    # ------------------------------------------------------------ setup
    def cli(self, *args):
        return run([self.bin, "-c", self.conf, *args], env=self.env).strip()

    def pgstack(self, *args):
        return run(["bash", os.path.join(SOURCE, "scripts", "pgstack"), args[0],
                    os.path.join(self.dir, "pgstack"), *args[1:]],
                   env=dict(os.environ, PGSTACK_PORT=str(PG_PORT), PGSTACK_DURABLE="yes")).strip()

    def psql(self, sql):
        psql = sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/psql"))[-1]
        return run([psql, "-X", "-A", "-t", "-q", "-d", self.pgstack("url", "store"),
                    "-c", sql]).strip()

    def setup(self):
        for path in (self.bin, self.fill_bin):
            if not os.access(path, os.X_OK):
                raise Failure(f"{path} is missing: build the invited and bench_fill targets")
        if shutil.which("smtp-sink") is None and not os.path.exists("/usr/sbin/smtp-sink"):
            raise Failure("smtp-sink is missing (Debian package postfix)")
        os.makedirs(self.dir)
        database = {}
        if self.pg:
            self.pgstack("start")
            self.pgstack("createdb", "store")
            url = self.pgstack("url", "store")
            password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
            self.env["INVITED_SERVER_DATABASE_PASSWORD"] = password
            database = {"server.database": url.replace(":" + password + "@", "@")}
        settings = {
            "server.listen": f"127.0.0.1:{HTTP_PORT}",
            "server.public_url": "http://invite.example.com",  # plain: no TLS or proxy here
            "smtp.host": "127.0.0.1",
            "smtp.port": str(SMTP_PORT),
            "smtp.from": "invitations@example.test",
            "mail.reply_domain": "example.test",
            # a benchmark creates thousands of invitations an hour
            "invitations.org_rate_limit": "0",
            "invitations.recipient_rate_limit": "0",
            "mail.templates": os.path.join(SOURCE, "templates"),
            **database,
        }
        args = ["init"]
        for k, v in settings.items():
            args += ["--set", f"{k}={v}"]
        self.cli(*args)
        self.big = int(self.cli("org", "create", "--kind", "provider", "--name",
                                "Northwind Indirect Provider", "--email",
                                "partners@northwind.example", "--domain", "northwind.example",
                                "--status", "approved"))
        self.key = self.cli("apikey", "create", "--org", str(self.big), "--role", "admin_agent")

    def fill(self):
        log(f"filling {self.n} invitations ({self.orgs} organizations and one big inviter)")
        started = time.monotonic()
        out = run([self.fill_bin, self.conf, str(self.big), str(self.orgs), str(self.n)],
                  env=self.env)
        self.fill_seconds = time.monotonic() - started
        log(f"filled in {self.fill_seconds:.1f} s: {out.strip().replace(chr(10), ', ')}")
        # The fill leaves gigabytes for the kernel to write back: let that
        # finish, so that the server's fsyncs do not queue behind it.
        started = time.monotonic()
        os.sync()
        log(f"written back in {time.monotonic() - started:.1f} s")

    # ----------------------------------------------------------- server
    def spawn(self, args, core, log_name):
        out = open(os.path.join(self.dir, log_name), "ab")
        p = subprocess.Popen(["taskset", "-c", str(core), *args], stdin=subprocess.DEVNULL,
                             stdout=out, stderr=out, env=self.env)
        out.close()
        self.procs.append(p)
        return p

    def serve(self):
        self.spawn(["smtp-sink", "-u", "postfix", f"127.0.0.1:{SMTP_PORT}", "256"], 1,
                   "smtp-sink.log")
        started = time.monotonic()
        self.server = self.spawn([self.bin, "-c", self.conf, "serve"], 0, "serve.log")
        while True:
            if self.server.poll() is not None:
                raise Failure(f"invited serve exited {self.server.returncode}:\n"
                              + open(os.path.join(self.dir, "serve.log")).read())
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                self.conn = None
            if time.monotonic() - started > 30:
                raise Failure("invited serve did not answer in 30 s")
            time.sleep(0.05)
        log(f"invited serve answers after {time.monotonic() - started:.1f} s")

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p)
        self.procs = []
        if self.pg:
            self.pgstack("stop")

    # ------------------------------------------------------------- HTTP
    def request(self, method, path, body=None):
        """(status, body bytes) over the kept-alive connection."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=60)
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def timed(self, method, path, body=None, want=200):
        t = time.perf_counter()
        status, data = self.request(method, path, body)
        ms = (time.perf_counter() - t) * 1000
        if status != want:
            raise Failure(f"{method} {path}: {status}: {data[:300]!r}")
        return ms, data

    # ---------------------------------------------------------- figures
    def page_chain(self, query, cursor, pages, times):
        """Follow next_cursor for up to pages pages; returns the pages read."""
        done = 0
        while done < pages:
            path = f"/api/v1/invitations?limit=50{query}"
            if cursor is not None:
                path += f"&cursor={cursor}"
            ms, data = self.timed("GET", path)
            times.append(ms)
            done += 1
            cursor = json.loads(data)["next_cursor"]
            if cursor is None:
                break
        return done

    def measure_lists(self):
        times = []
        _, data = self.timed("GET", "/api/v1/invitations?limit=1")
        newest = json.loads(data)["items"][0]["id"]
        share = self.pages // 10
        chains = [("", None, 2 * share)]
        # cursors deep in the big inviter's rows: a quarter, half, … down
        for depth in (0.25, 0.5, 0.75, 0.98):
            chains.append(("", str(int(newest * (1 - depth))), share))
        for status in ("sent", "accepted", "expired", "draft"):
            chains.append((f"&status={status}", None, share))
        for status in ("declined", "expired"):
            chains.append((f"&status={status}", str(newest // 2), share))
        for query, cursor, pages in chains:
            got = self.page_chain(query, cursor, pages, times)
            log(f"list{query or ' (all)'} from {cursor or 'the top'}: {got} pages")
        return times

    def measure_creates(self, n, delivery):
        times = []
        for i in range(n):
            body = json.dumps({"kind": "indirect_provider",
                               "email": f"{delivery}{i}@customer{i % 97}.example",
                               "name": f"Bench Invitee {i}", "delivery": delivery})
            ms, _ = self.timed("POST", "/api/v1/invitations", body, want=201)
            times.append(ms)
        return times

    def warm_up(self):
        """A few requests of each kind before measuring: the server's
        threads open their store connections and prepare statements."""
        for i in range(10):
            self.timed("GET", "/api/v1/invitations?limit=50")
            self.timed("POST", "/api/v1/invitations",
                       json.dumps({"kind": "indirect_provider", "email": f"warm{i}@example.test",
                                   "delivery": "send"}), want=201)

    def fsync_times(self, n=500, size=80 * 1024):
        """The bare durable write under every commit: size bytes appended
        to a file beside the database, then fdatasync, as a WAL commit."""
        path = os.path.join(self.dir, "fsync.test")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        block, times = b"x" * size, []
        try:
            for i in range(n):
                os.pwrite(fd, block, (i % 64) * size)
                t = time.perf_counter()
                os.fdatasync(fd)
                times.append((time.perf_counter() - t) * 1000)
        finally:
            os.close(fd)
            os.unlink(path)
        return times

    def wait_outbox_drained(self, timeout=60):
        if self.pg:
            deadline = time.monotonic() + timeout
            while int(self.psql("SELECT count(*) FROM outbox WHERE status IN"
                                " ('queued', 'sending')")) > 0:
                if time.monotonic() > deadline:
                    raise Failure(f"messages still queued after {timeout} s")
                time.sleep(0.2)
            return
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                (left,) = db.execute("SELECT count(*) FROM outbox WHERE status IN"
                                     " ('queued', 'sending')").fetchone()
                if left == 0:
                    return
                if time.monotonic() > deadline:
                    raise Failure(f"{left} messages still queued after {timeout} s")
                time.sleep(0.2)
        finally:
            db.close()

    def peak_rss_kib(self):
        with open(f"/proc/{self.server.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise Failure("no VmHWM in /proc/PID/status")

    def db_bytes(self):
        if self.pg:
            return int(self.psql("SELECT pg_database_size(current_database())"))
        return sum(os.path.getsize(self.db + suffix) for suffix in ("", "-wal")
                   if os.path.exists(self.db + suffix))


def row(name, value, baseline, ratio, goal, holds):
    print(f"| {name} | {value} | {baseline} | {ratio} | {goal} | {holds} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--invitations", type=int, default=1_000_000)
    ap.add_argument("--orgs", type=int, default=1000)
    ap.add_argument("--creates", type=int, default=1000)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    a = ap.parse_args()
    os.chdir(SOURCE)
    global FIGURE
    if a.backend == "postgresql":
        FIGURE += " (PostgreSQL)"
    b = Bench(os.path.abspath(a.build), os.path.abspath(a.work), a.invitations, a.orgs,
              a.creates, a.pages, a.backend)
    started = time.monotonic()
    try:
        b.setup()
        b.fill()
        b.serve()
        os.sched_setaffinity(0, {1})
        b.warm_up()
        lists = b.measure_lists()
        creates = b.measure_creates(a.creates, "send")
        b.wait_outbox_drained()
        drafts = b.measure_creates(a.creates // 2, "draft")
        syncs = b.fsync_times()
        rss = b.peak_rss_kib()
        size = b.db_bytes()
    except Failure as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        b.stop()
    total = a.invitations + a.creates + len(drafts) + 10
    c99, l99 = percentile(creates, 0.99), percentile(lists, 0.99)
    log(f"create (send) p50 {percentile(creates, 0.5):.2f} ms; create (draft) p50"
        f" {percentile(drafts, 0.5):.2f} ms, p99 {percentile(drafts, 0.99):.2f} ms;"
        f" list p50 {percentile(lists, 0.5):.2f} ms; database {size / 2**30:.2f} GiB;"
        f" fill {b.fill_seconds:.0f} s, {time.monotonic() - started:.0f} s in all")
    log(f"fdatasync of 80 KiB beside the database (the floor of a durable commit): p50"
        f" {percentile(syncs, 0.5):.2f} ms, p99 {percentile(syncs, 0.99):.2f} ms")
    row(f"{FIGURE}: create p99 (delivery send, n={len(creates)})", f"{c99:.2f} ms", "-",
        f"{c99 / GOAL_MS:.2f}", f"< {GOAL_MS:.0f} ms", "yes" if c99 < GOAL_MS else "NO")
    row(f"{FIGURE}: list page p99 (50 rows, deep cursors and status filters, n={len(lists)})",
        f"{l99:.2f} ms", "-", f"{l99 / GOAL_MS:.2f}", f"< {GOAL_MS:.0f} ms",
        "yes" if l99 < GOAL_MS else "NO")
    per = size / total
    row(f"{FIGURE}: bytes per invitation (database + WAL; sent mail's bytes dropped after"
        " [mail] keep_sent, 30 days, as the fill's clock moves on)",
        f"{per:.0f} B ({size / 2**30:.2f} GiB for {total} invitations)", "-",
        f"{per / GOAL_BYTES:.2f}", f"<= {GOAL_BYTES} B", "yes" if per <= GOAL_BYTES else "NO")
    mib = rss / 1024
    row(f"{FIGURE}: `invited serve` peak RSS (VmHWM)", f"{mib:.1f} MiB", "-",
        f"{mib / GOAL_RSS_MIB:.2f}", f"< {GOAL_RSS_MIB} MiB",
        "yes" if mib < GOAL_RSS_MIB else "NO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
