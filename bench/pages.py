#!/usr/bin/env python3
"""bench/pages.py: the HTTP figures of issue 7, each against its baseline
measured in the same run.

  consent page GETs: `wrk -t1 -c32 -d10s` on GET /l/{token} of a live
  invitation link (verified once, then from the verified-token cache; the
  store is read on every GET), against the limit of a request that must
  verify and answer a page on that core: 1 / (1/bare + 1/verify), where
  bare is bench_mhd, a bare libmicrohttpd handler answering a static page
  of the consent page's size on a daemon started with the flags, options
  and thread count of server/http.c, and verify is http_verify,
  crypto_sign_verify_detached on the link's claims. Goal >= 0.8.
  redeems: POST /l/{token} action=accept consent=yes, each prepared link
  once (its page fetched first for the cookie and the form's csrf field),
  each creating a customer and a relationship, sent by http_load over 32
  keep-alive connections; against http_verify, crypto_sign_verify_detached
  on a real link's claims on one core. Every answer must be the "Done"
  page and the relationships must rise by the number sent. Against
  redeem_sql, a bare SQLite program doing the same statements for the same
  links on a copy of the database taken just before the round, in batches
  of the size the server's group commit had (its /metrics), synchronous =
  FULL. Goal >= 0.8, and a p99 of at most 10 ms.

invited serve (one HTTP thread: one per core it runs on, its default) and the
baselines run on core 0, wrk and http_load on core 1. The notice mails that
redeems queue go to smtp-sink. Measured and baseline runs alternate; the best
of each counts (noise only ever slows a run down).

    python3 bench/pages.py --build BUILD_DIR --work WORK_DIR

Prints only the table rows; progress goes to stderr. Exits non-zero on any
failure. Needs wrk, taskset and smtp-sink (Postfix).
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse

from benchlib import stop_process

PORTS = range(40000, 41000)  # this bench's ports: invited, bench_mhd, smtp-sink
SERVER_CORE, LOAD_CORE = "0", "1"
CONNECTIONS = 32
DONE_MARKER = '<h1 id="result">Done</h1>'


def free_port(taken=()):
    """A port of PORTS nothing holds, not even in TIME-WAIT (invited does not
    listen with SO_REUSEADDR, so a port a previous run used stays busy)."""
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
    raise Failure(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


PORT = MHD_PORT = SINK_PORT = None  # chosen by main()


def say(*words):
    print("pages:", *words, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


# ------------------------------------------------------------------ server
class Invited:
    """One `invited serve` in its own folder, pinned to SERVER_CORE."""

    def __init__(self, build, folder, threads, perf=None, trace=False):
        self.bin = os.path.join(build, "invited")
        self.perf, self.trace = perf, trace
        self.profiler = None
        self.operator = None
        self.dir = folder
        self.conf = os.path.join(folder, "invited.conf")
        self.threads = threads
        self.proc = None
        self.conn, self.used = None, 0.0

    def init(self):
        os.makedirs(self.dir, exist_ok=True)
        settings = {
            "server.listen": f"127.0.0.1:{PORT}",
            "server.public_url": f"http://127.0.0.1:{PORT}",
            "server.threads": str(self.threads),
            "smtp.host": "127.0.0.1",
            "smtp.port": str(SINK_PORT),
            "mail.reply_domain": "example.test",
            # a benchmark creates thousands of invitations an hour
            "invitations.org_rate_limit": "0",
            "invitations.recipient_rate_limit": "0",
            "mail.templates": os.path.join(os.getcwd(), "templates"),
        }
        args = ["init"]
        for k, v in settings.items():
            args += ["--set", f"{k}={v}"]
        self.cli(*args)

    def cli(self, *args):
        p = subprocess.run([self.bin, "-c", self.conf, *args], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise Failure(f"invited {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout.strip()

    def start(self):
        log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, self.bin, "-c", self.conf, "serve"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        wait_listening(PORT, self.proc, "invited serve")

    def stop(self):
        self.unprofile()
        if self.conn is not None:
            self.conn.close()
        stop_process(self.proc)
        self.proc = None

    def request(self, method, path, body=None, headers=None):
        """(status, response, body) over one keep-alive connection, made anew
        when idle long enough for the server to have closed it: it gives a
        silent connection HTTP_REQUEST_DEADLINE (10 s) for its next request.
        A GET the server closed on first is sent again on a new one."""
        if self.conn is not None and time.monotonic() - self.used > 5:
            self.conn.close()
            self.conn = None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                out = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                self.conn.close()
                self.conn = None
                if method != "GET" or attempt == 2:
                    raise
        self.used = time.monotonic()
        return r.status, r, out

    def profile(self, what):
        """With --perf, record the server while `what` runs (ends the last)."""
        self.unprofile()
        if self.perf:
            cmd = (["perf", "trace", "-s", "-o", f"{self.perf}.{what}.trace"]
                   if self.trace else
                   ["perf", "record", "--call-graph", "dwarf,32768", "-F", "499",
                    "-o", f"{self.perf}.{what}"])
            self.profiler = subprocess.Popen(
                cmd + ["-p", str(self.proc.pid)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            time.sleep(0.5)

    def unprofile(self):
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)
            self.profiler.wait()
            self.profiler = None

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, "serve.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def snapshot(self, dest):
        """A consistent copy of the live database (SQLite's online backup)."""
        src = sqlite3.connect(f"file:{os.path.join(self.dir, 'invited.db')}?mode=ro",
                              uri=True)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()

    def metric(self, name):
        """One sample of /metrics, read with an operator key."""
        if self.operator is None:
            self.operator = self.cli("apikey", "create", "--operator")
        status, _, out = self.request("GET", "/metrics", headers={
            "Authorization": f"Bearer {self.operator}"})
        if status != 200:
            raise Failure(f"GET /metrics: {status}")
        for line in out.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise Failure(f"/metrics has no {name}")

    def sql(self, query):
        db = sqlite3.connect(f"file:{os.path.join(self.dir, 'invited.db')}?mode=ro",
                             uri=True)
        try:
            return db.execute(query).fetchone()[0]
        finally:
            db.close()


def wait_listening(port, proc, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(f"{name} exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.05)
    raise Failure(f"{name} does not answer on port {port}")


def start_sink():
    """smtp-sink (Postfix's test server) on the load core: the notice mails
    each redeem queues are really sent, to a receiver that costs little."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # required as root
    proc = subprocess.Popen(["taskset", "-c", LOAD_CORE, "smtp-sink", *user,
                             f"127.0.0.1:{SINK_PORT}", "256"],
                            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(f"smtp-sink exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", SINK_PORT), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    stop_process(proc)
    raise Failure(f"smtp-sink does not answer on port {SINK_PORT}")


def cpu_seconds(proc):
    """CPU time (user + system) a process has used, for diagnostics."""
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------- invitations
class Reseller:
    """An approved reseller with an admin_agent key, inviting customers."""

    def __init__(self, srv):
        self.srv = srv
        self.org = srv.cli("org", "create", "--kind", "reseller", "--name",
                           "Contoso Resellers K.K.", "--email", "rita@contoso.example",
                           "--contact-name", "Rita Reseller")
        self.key = srv.cli("apikey", "create", "--org", self.org, "--role", "admin_agent")
        self.count = 0

    def invite(self):
        """A new invitation of a new customer, mailed (to smtp-sink): its
        link's path, read from the store as the mail carries it. A draft's
        link would only ask for a confirmation (SPEC "Who may accept")."""
        self.count += 1
        i = self.count
        body = json.dumps({"kind": "reseller", "email": f"carol{i}@customer{i}.example",
                           "name": f"Carol Customer {i}",
                           "message": "We would like to be your reseller of record."})
        status, _, out = self.srv.request(
            "POST", "/api/v1/invitations", body,
            {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        if status != 201:
            raise Failure(f"POST /api/v1/invitations: {status} {out[:300]!r}")
        token = self.srv.sql("SELECT token FROM links WHERE jti = (SELECT jti FROM"
                             f" invitations WHERE id = {int(json.loads(out)['id'])})")
        return f"/l/{token}"


def consent_page(srv, path):
    """GET the page as a browser would: (body, cookie, csrf field)."""
    status, r, body = srv.request("GET", path)
    if status != 200 or b'name="consent"' not in body:
        raise Failure(f"GET {path[:40]}…: {status} {body[:300]!r}")
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    m = re.search(rb'name="csrf" value="([^"]+)"', body)
    if not cookie or m is None:
        raise Failure("the consent page has no cookie or no csrf field")
    return body, cookie, m.group(1).decode()


def link_claims(path):
    """The claims (JSON bytes) inside a link's v4.public token."""
    token = path.rsplit("/", 1)[1]
    body = token.split(".")[2]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return raw[:-64].decode()  # the signature is the last 64 bytes


# -------------------------------------------------------------- figure 1
def wrk(url, server):
    """wrk's requests per second, and the server's CPU per request in µs."""
    cpu = cpu_seconds(server)
    p = subprocess.run(["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{CONNECTIONS}",
                        "-d10s", url], capture_output=True, text=True, timeout=60)
    cpu = cpu_seconds(server) - cpu
    out = p.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if p.returncode != 0 or rate is None or count is None:
        raise Failure(f"wrk {url[:50]}: {p.stderr.strip()} {out}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise Failure(f"wrk {url[:50]}: errors\n{out}")
    return float(rate.group(1)), cpu / int(count.group(1)) * 1e6


def consent_gets(args, srv, reseller):
    path = reseller.invite()
    body, _, _ = consent_page(srv, path)
    size = len(body)
    say(f"consent page: {size} bytes; bare handler of the same size on :{MHD_PORT}")
    mhd = subprocess.Popen(["taskset", "-c", SERVER_CORE,
                            os.path.join(args.build, "bench", "bench_mhd"), str(MHD_PORT),
                            str(size), str(srv.threads)], stdin=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_listening(MHD_PORT, mhd, "bench_mhd")
        value = base = 0.0
        for i in range(args.rounds):
            srv.profile("gets")
            v, v_cpu = wrk(f"http://127.0.0.1:{PORT}{path}", srv.proc)
            srv.unprofile()
            b, b_cpu = wrk(f"http://127.0.0.1:{MHD_PORT}/l/x", mhd)
            say(f"round {i + 1}: consent page {v:.0f}/s ({v_cpu:.0f} µs CPU each), "
                f"bare handler {b:.0f}/s ({b_cpu:.0f} µs CPU each)")
            value, base = max(value, v), max(base, b)
    finally:
        stop_process(mhd)
    # Fetching changes nothing: the link is still live.
    consent_page(srv, path)
    # The limit of a GET that must verify a signature and answer a page:
    # one raw verify plus one bare request, in series on the one core.
    verify = verify_rate(args, link_claims(path))
    limit = 1 / (1 / base + 1 / verify)
    say(f"bare handler {base:.0f}/s, raw verify {verify:.0f}/s: the limit {limit:.0f}/s")
    return row("consent page GETs (wrk -t1 -c32 -d10s)", f"{value:.0f}/s",
               f"{limit:.0f}/s (1 / (1/{base:.0f} bare libmicrohttpd, {size}-byte page "
               f"+ 1/{verify:.0f} raw verify))", value / limit, 0.8)


# -------------------------------------------------------------- figure 2
def prepare_redeems(srv, reseller, n, file):
    """n new invitations, each page fetched once as a browser would; their
    accepting POSTs into file."""
    started = time.monotonic()
    paths = [reseller.invite() for _ in range(n)]
    made = time.monotonic()
    with open(file, "wb") as f:
        for path in paths:
            _, cookie, csrf = consent_page(srv, path)
            form = urllib.parse.urlencode({"csrf": csrf, "action": "accept", "consent": "yes",
                                           "org_name": f"Customer {path[-12:]} K.K."})
            req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
                   f"Cookie: {cookie}\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   f"Content-Length: {len(form)}\r\n\r\n{form}").encode()
            f.write(b"%d\n" % len(req) + req)
    say(f"prepared {n} redeems: invitations at {n / (made - started):.0f}/s over the API, "
        f"their pages in {time.monotonic() - made:.1f}s")


def redeem_round(args, srv, reseller, n):
    """Redeem n fresh links at once, then the same links' statements with
    the bare SQLite program on a copy of the database taken just before:
    (redeems per second, p99 in ms, bare redeems per second, batch)."""
    file = os.path.join(args.work, "redeems.http")
    prepare_redeems(srv, reseller, n, file)
    snapshot = os.path.join(args.work, "bare.db")
    srv.snapshot(snapshot)
    before = srv.sql("SELECT COUNT(*) FROM relationships")
    commits = srv.metric("invited_redeem_commits_total")
    cpu = cpu_seconds(srv.proc)
    srv.profile("redeems")
    p = subprocess.run(["taskset", "-c", LOAD_CORE,
                        os.path.join(args.build, "bench", "http_load"), str(PORT),
                        str(CONNECTIONS), file, DONE_MARKER],
                       capture_output=True, text=True, timeout=300)
    srv.unprofile()
    cpu = cpu_seconds(srv.proc) - cpu
    if p.returncode != 0:
        raise Failure(f"http_load: {p.stderr.strip()[:2000]}")
    count, seconds, _, p99, _ = p.stdout.split()
    count, seconds, p99 = int(count), float(seconds), float(p99)
    rose = srv.sql("SELECT COUNT(*) FROM relationships") - before
    if count != n or rose != n:
        raise Failure(f"{n} redeems sent, {count} answered Done, relationships +{rose}")
    commits = srv.metric("invited_redeem_commits_total") - commits
    batch = max(1, round(n / commits))
    notice = int(srv.sql("SELECT avg(length(d.data)) FROM outbox o JOIN outbox_data d"
                         " ON d.id = o.id WHERE o.kind = 'notice'"))
    say(f"server CPU while redeeming: {cpu / seconds:.0%} of a core, "
        f"{cpu / n * 1e6:.0f} µs per redeem; {commits:.0f} commits, {batch} redeems each")
    # The baseline on the server's core, with the server idle.
    # INVITED_BENCH_WRAP="perf record -g -o FILE --": where its time goes.
    wrap = os.environ.get("INVITED_BENCH_WRAP", "").split()
    b = subprocess.run(["taskset", "-c", SERVER_CORE, *wrap,
                        os.path.join(args.build, "bench", "redeem_sql"), snapshot,
                        str(batch), str(notice)],
                       capture_output=True, text=True, timeout=300)
    if b.returncode != 0:
        raise Failure(f"redeem_sql: {b.stderr.strip()[:2000]}")
    bare_n, bare_s = b.stdout.split()
    if int(bare_n) < n:
        raise Failure(f"redeem_sql found {bare_n} live links, not {n}")
    for f in (snapshot, snapshot + "-wal", snapshot + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    return n / seconds, p99, int(bare_n) / float(bare_s), batch


def verify_rate(args, claims):
    p = subprocess.run(["taskset", "-c", SERVER_CORE,
                        os.path.join(args.build, "bench", "http_verify"), claims, "1"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Failure(f"http_verify: {p.stderr.strip()}")
    return float(p.stdout)


def redeems(args, srv, reseller, deadline):
    best, best_p99, base, batch = 0.0, 0.0, 0.0, 0
    n = args.first_redeems
    for i in range(args.rounds):
        started = time.monotonic()
        rate, p99, b, bt = redeem_round(args, srv, reseller, n)
        say(f"round {i + 1}: {n} redeems at {rate:.0f}/s (p99 {p99:.1f} ms); "
            f"the bare SQLite program {b:.0f}/s in batches of {bt}")
        if rate > best:
            best, best_p99 = rate, p99
        if b > base:
            base, batch = b, bt
        # The next round: --redeem-seconds at this rate, if the time left
        # allows for preparing it too.
        per_redeem = (time.monotonic() - started) / n
        left = deadline - time.monotonic() - 3
        n = int(min(rate * args.redeem_seconds, left / per_redeem, 50000))
        if n < 100:
            say("no time left for another round")
            break
    name = f"redeems (POST accept, {CONNECTIONS} connections)"
    return [row(name, f"{best:.0f}/s",
                f"{base:.0f}/s (bare SQLite program: the same statements on a copy of the "
                f"database, batches of {batch}, synchronous = FULL)", best / base, 0.8),
            row_max(name + ": p99", f"{best_p99:.1f} ms", best_p99, 10, "ms")]


def row(name, value, baseline, ratio, goal):
    return (f"| {name} | {value} | {baseline} | {ratio:.2f} | >= {goal} | "
            f"{'yes' if ratio >= goal else 'NO'} |")


def row_max(name, value, measured, most, unit):
    """A figure with a ceiling: the ratio is measured / most."""
    return (f"| {name} | {value} | - | {measured / most:.2f} | <= {most} {unit} | "
            f"{'yes' if measured <= most else 'NO'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0,
                    help="HTTP threads of invited and bench_mhd "
                    "(0: one per core they run on, as invited's default)")
    ap.add_argument("--first-redeems", type=int, default=1000)
    ap.add_argument("--redeem-seconds", type=float, default=8.0)
    ap.add_argument("--budget", type=float, default=115.0,
                    help="seconds the whole run may take (sizes the last redeem round)")
    ap.add_argument("--only", choices=["gets", "redeems"])
    ap.add_argument("--perf", metavar="FILE",
                    help="record the server with perf (call graphs) during the timed "
                    "runs, into FILE.gets and FILE.redeems (the last round's)")
    ap.add_argument("--trace", action="store_true",
                    help="with --perf: count system calls (perf trace -s) instead")
    args = ap.parse_args()
    args.build, args.work = os.path.abspath(args.build), os.path.abspath(args.work)
    threads = args.threads or len(SERVER_CORE.split(","))
    for tool in ("wrk", "taskset", "smtp-sink"):
        if shutil.which(tool) is None:
            say(f"{tool} is not installed")
            return 1
    started = time.monotonic()
    # Stopped from outside: still stop what was started (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    global PORT, MHD_PORT, SINK_PORT
    try:
        SINK_PORT = free_port()
        PORT = free_port({SINK_PORT})
        MHD_PORT = free_port({SINK_PORT, PORT})
    except Failure as e:
        say(f"FAILED: {e}")
        return 1
    srv = Invited(args.build, os.path.join(args.work, "http-server"), threads, args.perf,
                  args.trace)
    rows, sink = [], None
    try:
        sink = start_sink()
        srv.init()
        reseller = Reseller(srv)
        srv.start()
        say(f"invited serve on :{PORT}, {threads} HTTP thread{'s' * (threads != 1)}, "
            f"core {SERVER_CORE}; load on core {LOAD_CORE}")
        if args.only != "redeems":
            rows.append(consent_gets(args, srv, reseller))
        if args.only != "gets":
            rows += redeems(args, srv, reseller, started + args.budget)
    except (Failure, OSError, subprocess.SubprocessError) as e:
        say(f"FAILED: {e}")
        say("the end of invited's log:\n" + srv.log_tail())
        return 1
    finally:
        srv.stop()
        stop_process(sink)
    for r in rows:
        print(r)
    say(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
