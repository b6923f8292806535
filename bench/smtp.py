#!/usr/bin/env python3
"""smtp.py: mails per second from `invited serve`'s outbox into Postfix's
smtp-sink, against Postfix's smtp-source sending as many messages of the
same bytes into the same sink over as many connections, in the same run,
and against the peer a user would pick instead: npm nodemailer's pooled
transport (bench/peers/smtp.mjs) doing the same.

Measured: 10,000 invitations are created with the server stopped
(bench/invite_fill: invitation_create, the real templates, one transaction
each) into a database that is copied afresh for each run; the clock starts,
`invited serve` starts, and the clock stops when the outbox holds no queued
or sending message (read-only SQLite reads every 10 ms). A run fails unless
all 10,000 are `sent` and the sink counted 10,000 more messages.
Baseline: `smtp-source -d -s CONCURRENCY -m 10000 -F MAIL -f FROM -t TO`,
MAIL being the queued invitation nearest the mean size and FROM, TO its
envelope. Peer: bench/peers/smtp.mjs, nodemailer pooled over CONCURRENCY
connections with TCP_NODELAY on its sockets (see there for its settings),
sending 10,000 times the same mail's exact bytes (`raw`) with the same
envelope; it times itself from its transport's creation to the last
answer, and the sink must count 10,000 more. The server, smtp-source and
the peer run on core 0, the sink on core 1; runs alternate and the best of
each counts (noise only ever slows a run down): three of each, or two when
those took over BUDGET seconds.

    python3 bench/smtp.py --build BUILD_DIR --work WORK_DIR

with INVITED_BENCH_PEERS naming the folder where bench/peers/package.json
was installed (scripts/bench: build-bench/peers); without it the peer's row
is left out. INVITED_BENCH_SMALL=1: 500 mails and one round, a sanity check
of the script, not a figure. Prints the table rows on stdout (smtp-source,
then nodemailer); progress on stderr. Ports 41025 (the sink) and 41080 (the
server's HTTP endpoint, unused here).
"""
import argparse
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from benchlib import stop_process

SMALL = os.environ.get("INVITED_BENCH_SMALL") == "1"
MAILS = 500 if SMALL else 10000
ROUNDS = 1 if SMALL else 3  # of each, alternating; the best counts
BUDGET = 45          # seconds of rounds after which no third round starts
GOAL = 0.8           # of smtp-source's rate
PEER_GOAL = 3.0      # of nodemailer's rate
PEERS = os.environ.get("INVITED_BENCH_PEERS")
HERE = os.path.dirname(os.path.abspath(__file__))
SINK_PORT = 41025
HTTP_PORT = 41080
POLL = 0.01          # seconds between two looks at the outbox
DRAIN_LIMIT = 120    # seconds a run may take before it counts as failed


class BenchError(Exception):
    pass


def say(*words):
    print("smtp:", *words, file=sys.stderr, flush=True)


def children_cpu():
    """CPU seconds of the children waited for so far (a diagnostic)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def tool(name):
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise BenchError(f"{name} not found (Debian package postfix)")
    return path


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def setting(invited, conf, section, key):
    """An effective setting, as `invited config` prints it."""
    current = None
    for line in run([invited, "-c", conf, "config"]).splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.split("=")[0].strip() == key:
            return line.split("=", 1)[1].strip()
    raise BenchError(f"invited config shows no {section}.{key}")


def fill(invited, filler, folder, source_root):
    """A server folder holding MAILS queued invitation mails."""
    conf = os.path.join(folder, "invited.conf")
    settings = {
        "server.listen": f"127.0.0.1:{HTTP_PORT}",
        "server.public_url": "http://invite.example.com",  # plain: no TLS or proxy here
        "server.threads": "2",
        "smtp.host": "127.0.0.1",
        "smtp.port": str(SINK_PORT),
        "mail.reply_domain": "example.test",
        # a benchmark creates thousands of invitations an hour
        "invitations.org_rate_limit": "0",
        "invitations.recipient_rate_limit": "0",
        "mail.templates": os.path.join(source_root, "templates"),
    }
    args = [invited, "-c", conf, "init"]
    for k, v in settings.items():
        args += ["--set", f"{k}={v}"]
    run(args)
    org = run([invited, "-c", conf, "org", "create", "--kind", "provider", "--name",
               "Northwind Cloud K.K.", "--email", "partners@northwind.example.test",
               "--contact-name", "Paula Partner"]).strip()
    started = time.monotonic()
    run([filler, conf, org, str(MAILS)])
    say(f"queued {MAILS} invitations in {time.monotonic() - started:.1f}s")
    return conf


def typical_mail(db_path, out_path, raw_path):
    """Write the queued mail of the most typical size for smtp-source -F
    (out_path) and as it is, CRLF, for the peer (raw_path); return its
    envelope, its size and the mean size of the queued mails."""
    if os.path.exists(db_path + "-wal") and os.path.getsize(db_path + "-wal") > 0:
        raise BenchError(f"{db_path} was left with a WAL: copies of it would be incomplete")
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        queued, mean = db.execute(
            "SELECT count(*), avg(length(data)) FROM outbox JOIN outbox_data USING (id)"
            " WHERE status = 'queued'").fetchone()
        data, env_from, rcpt = db.execute(
            "SELECT data, env_from, rcpt FROM outbox JOIN outbox_data USING (id)"
            " ORDER BY abs(length(data) - ?), id LIMIT 1", (mean,)).fetchone()
    finally:
        db.close()
    if queued != MAILS:
        raise BenchError(f"{queued} mails queued, not {MAILS}")
    # smtp-source -F ends each line with CRLF itself
    with open(out_path, "wb") as f:
        f.write(data.replace(b"\r\n", b"\n"))
    with open(raw_path, "wb") as f:
        f.write(data)
    return env_from, rcpt, len(data), mean


class Sink:
    """One smtp-sink for the whole run; -c keeps a running message count."""

    def __init__(self, folder):
        self.out = os.path.join(folder, "sink.out")
        args = ["taskset", "-c", "1", tool("smtp-sink"), "-c"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += [f"127.0.0.1:{SINK_PORT}", "1024"]
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise BenchError(f"smtp-sink exited: {open(self.out, errors='replace').read()}")

    def count(self):
        with open(self.out, "rb") as f:
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def stop(self):
        stop_process(self.proc, timeout=10)


def baseline_run(sink, concurrency, mail, env_from, rcpt):
    before = sink.count()
    args = ["taskset", "-c", "0", tool("smtp-source"), "-d", "-s", str(concurrency),
            "-m", str(MAILS), "-F", mail, "-f", env_from, "-t", rcpt,
            f"127.0.0.1:{SINK_PORT}"]
    started = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=DRAIN_LIMIT)
    took = time.monotonic() - started
    if p.returncode != 0:
        raise BenchError(f"smtp-source exited {p.returncode}: {p.stderr}")
    got = sink.count() - before
    if got != MAILS:
        raise BenchError(f"smtp-sink counted {got} messages from smtp-source, not {MAILS}")
    return MAILS / took


def peer_run(sink, concurrency, raw_mail, env_from, rcpt):
    """nodemailer (bench/peers/smtp.mjs) sends MAILS copies; it times
    itself. Returns (mails per second, what it is)."""
    before = sink.count()
    args = ["taskset", "-c", "0", "node", os.path.join(HERE, "peers", "smtp.mjs"),
            "--port", str(SINK_PORT), "--file", raw_mail, "--from", env_from,
            "--to", rcpt, "--mails", str(MAILS), "--connections", str(concurrency)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=DRAIN_LIMIT)
    if p.returncode != 0:
        raise BenchError(f"bench/peers/smtp.mjs exited {p.returncode}: {p.stderr}")
    sent, took, label = p.stdout.strip().split(" ", 2)
    got = sink.count() - before
    if int(sent) != MAILS or got != MAILS:
        raise BenchError(f"nodemailer sent {sent} messages and smtp-sink counted {got}, "
                         f"not {MAILS}")
    return MAILS / float(took), label


def outbox_left(db):
    return db.execute(
        "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')").fetchone()[0]


def value_run(sink, invited, conf, template_db, folder):
    """Copy the filled database, start the server, time the drain."""
    db_path = os.path.join(folder, "run.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.unlink(db_path + suffix)
    shutil.copyfile(template_db, db_path)
    env = dict(os.environ, INVITED_SERVER_DATABASE=db_path)
    log = open(os.path.join(folder, "serve.log"), "ab")
    before = sink.count()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    started = time.monotonic()
    # INVITED_BENCH_WRAP="perf record -g -o FILE --" (or strace -c …): run
    # the server under that command, to see where its time goes.
    wrap = os.environ.get("INVITED_BENCH_WRAP", "").split()
    srv = subprocess.Popen(wrap + ["taskset", "-c", "0", invited, "-c", conf, "serve"],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    log.close()
    try:
        while outbox_left(db) > 0:
            if srv.poll() is not None:
                raise BenchError(f"invited serve exited {srv.returncode}; see serve.log")
            if time.monotonic() - started > DRAIN_LIMIT:
                raise BenchError(f"outbox not drained after {DRAIN_LIMIT}s")
            time.sleep(POLL)
        took = time.monotonic() - started
        sent = db.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
    finally:
        db.close()
        stop_process(srv, timeout=30)
    if sent != MAILS:
        raise BenchError(f"{sent} mails sent, not {MAILS}; see serve.log")
    got = sink.count() - before
    if got != MAILS:
        raise BenchError(f"smtp-sink counted {got} messages from invited, not {MAILS}")
    return MAILS / took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    opts = ap.parse_args()
    source_root = os.getcwd()
    invited = os.path.abspath(os.path.join(opts.build, "invited"))
    filler = os.path.abspath(os.path.join(opts.build, "bench", "invite_fill"))
    work = os.path.abspath(os.path.join(opts.work, "smtp"))
    os.makedirs(work, exist_ok=True)
    # The filling is set-up, not measured: on tmpfs when there is one, so
    # that 10,000 durable commits do not eat the time budget. The measured
    # server's database is a copy in the work folder, on disk.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else work
    fill_dir = tempfile.mkdtemp(prefix="invited-smtp-", dir=shm)
    sink = None
    try:
        conf = fill(invited, filler, fill_dir, source_root)
        template_db = os.path.join(fill_dir, "invited.db")
        concurrency = int(setting(invited, conf, "smtp", "concurrency"))
        batch = int(setting(invited, conf, "smtp", "batch_size"))
        mail = os.path.join(work, "invitation.eml")
        raw_mail = os.path.join(work, "invitation.crlf.eml")
        env_from, rcpt, size, mean = typical_mail(template_db, mail, raw_mail)
        say(f"mails of {mean:.0f} bytes on average (smtp-source and nodemailer send one "
            f"of {size} bytes); {concurrency} connections, {batch} mails each for invited")
        if PEERS is None:
            say("INVITED_BENCH_PEERS is not set: no nodemailer row")
        sink = Sink(work)
        value = base = peer = 0.0
        peer_label = ""
        started = time.monotonic()
        for i in range(ROUNDS):
            if i >= 2 and time.monotonic() - started > BUDGET:
                say(f"no round {i + 1}: over the {BUDGET}s budget")
                break
            cpu = children_cpu()
            b = baseline_run(sink, concurrency, mail, env_from, rcpt)
            cpu_b, cpu = children_cpu() - cpu, children_cpu()
            said = ""
            if PEERS is not None:
                n, peer_label = peer_run(sink, concurrency, raw_mail, env_from, rcpt)
                cpu_n, cpu = children_cpu() - cpu, children_cpu()
                said = f", nodemailer {n:.0f}/s ({cpu_n:.1f}s CPU)"
                peer = max(peer, n)
            v = value_run(sink, invited, conf, template_db, work)
            cpu_v = children_cpu() - cpu
            say(f"round {i + 1}: invited {v:.0f}/s ({cpu_v:.1f}s CPU), "
                f"smtp-source {b:.0f}/s ({cpu_b:.1f}s CPU){said}")
            base, value = max(base, b), max(value, v)
    finally:
        if sink is not None:
            sink.stop()
        shutil.rmtree(fill_dir, ignore_errors=True)
    what = (f"mails to smtp-sink ({MAILS:,} invitations of {mean / 1000:.1f} kB, "
            f"{concurrency} connections)")
    ratio = value / base
    print(f"| {what} | {value:.0f}/s | {base:.0f}/s (smtp-source) | "
          f"{ratio:.2f} | >= {GOAL} | {'yes' if ratio >= GOAL else 'NO'} |")
    if PEERS is not None:
        ratio = value / peer
        print(f"| {what} vs nodemailer | {value:.0f}/s | {peer:.0f}/s ({peer_label}) | "
              f"{ratio:.2f} | >= {PEER_GOAL} | "
              f"{'yes' if ratio >= PEER_GOAL else 'NO'} |")


if __name__ == "__main__":
    try:
        main()
    except (BenchError, subprocess.SubprocessError, OSError, sqlite3.Error) as e:
        print(f"smtp: {e}", file=sys.stderr)
        sys.exit(1)
