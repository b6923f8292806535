"""More than one server on one PostgreSQL database (issue 19): two `invited
serve` share the store and the signing keys. One killed with SIGKILL in the
middle of 2,000 mails: every mail arrives, and a mail arrives twice only if
it was in flight at the kill. The IMAP reader runs on one server at a time
and moves to the other when its holder dies, handling no message twice.
Twenty accepts of one link spread over both servers: one wins."""
import concurrent.futures
import os
import re
import smtplib
import threading
import time

from lib import mailstack, pgstack
from lib.server import Server

DONE = b'<h1 id="result">Done</h1>'


def pair(**overrides):
    """Server a (which made the database and keys) and server b on the
    same database and key folder, each with its own port and log."""
    a = Server.start(**overrides)
    b = Server.start(**{"server.database": a.settings["server.database"],
                        "server.keys": os.path.join(a.dir, "keys"),
                        "server.public_url": a.public_url, **overrides})
    b.pg_db = None  # a drops the database at its clean-up
    return a, b


def server_id(srv):
    """The id a server's claims carry (its row in servers, by pid)."""
    rows = srv.sql(f"SELECT id FROM servers WHERE pid = {srv.proc.pid}")
    assert rows, srv.sql("SELECT id, pid FROM servers")
    return rows[0][0]


def wait_for(what, pred, timeout=120, step=0.5):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(step)


def test_a_server_killed_in_the_middle_of_2000_mails_loses_none():  # postgresql only
    n = 2000
    mailstack.imap_clear("u7")
    a, b = pair(**{"invitations.org_rate_limit": "100000",
                   "invitations.recipient_rate_limit": "100000"})
    smtp_down = False
    try:
        provider = a.org_create("provider", "Northwind Two", "p7@example.test")
        key = a.apikey(provider)
        wait_for("both servers beating", lambda: len(a.sql("SELECT id FROM servers")) == 2, 30)
        a_id = server_id(a)
        # Half the invitations made through each server, while Postfix is
        # down (their mail waits, retried); then it is back, and both
        # servers' senders claim from the one queue of 2,000.
        mailstack.control("stop-smtp")
        smtp_down = True
        for i in range(n):
            srv = a if i % 2 == 0 else b
            status, inv = srv.api("POST", "/api/v1/invitations",
                                  {"kind": "indirect_provider", "email": f"u7+m{i}@example.test"},
                                  key)
            assert status == 201, inv
        mailstack.control("start-smtp")
        smtp_down = False
        sent = lambda: a.sql("SELECT count(*) FROM outbox WHERE kind = 'invitation' "
                             "AND status = 'sent'")[0][0]
        wait_for("a third sent", lambda: sent() >= n // 3, 120, 0.05)
        a.kill9()
        in_flight = a.sql(f"SELECT count(*) FROM outbox WHERE status = 'sending' "
                          f"AND claimed_by = '{a_id}'")[0][0]
        wait_for("every mail sent", lambda: sent() == n, 300)
        assert in_flight > 0, "the kill came when a had nothing in flight: no takeover seen"
        assert "were being sent by a server that stopped" in b.log(), b.log()[-2000:]
        # Every mail arrived; twice only among those a had in flight.
        wait_for("every mail in the mailbox", lambda: mailstack.imap_count("u7") >= n, 300, 2)
        seen = {}
        for raw in mailstack.imap_fetch("u7", timeout=60):
            m = re.search(rb"^To: .*u7\+m(\d+)@", raw, re.M | re.I)
            assert m, raw[:500]
            seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
        assert sorted(seen) == list(range(n)), set(range(n)) - set(seen)
        twice = sum(c - 1 for c in seen.values())
        assert twice <= in_flight, (twice, in_flight)
    finally:
        if smtp_down:
            mailstack.control("start-smtp")
        b.cleanup()
        a.cleanup()


def send_to_invites(subject, i):
    e = mailstack.env()
    with smtplib.SMTP("127.0.0.1", int(e["MAILSTACK_SMTP_PORT"]), timeout=30) as s:
        s.sendmail("c9@example.test", ["invites@example.test"],
                   f"From: c9@example.test\r\nTo: invites@example.test\r\n"
                   f"Subject: {subject} {i}\r\nMessage-ID: <{subject}-{i}@example.test>\r\n"
                   f"\r\nhello {i}\r\n".encode())


def test_the_imap_reader_moves_to_the_other_server_when_its_holder_dies():  # postgresql only
    mailstack.imap_clear("invites")
    a = Server.start(**{"imap.enabled": "yes"})
    wait_for("a reading", lambda: "watching INBOX" in a.log(), 30)
    b = Server.start(**{"server.database": a.settings["server.database"],
                        "server.keys": os.path.join(a.dir, "keys"), "imap.enabled": "yes"})
    b.pg_db = None
    try:
        wait_for("b standing by", lambda: "another server reads INBOX; standing by" in b.log(), 30)
        for i in range(10):
            send_to_invites("before", i)
        handled = lambda: a.sql("SELECT count(*) FROM inbound")[0][0]
        wait_for("a handling the first ten", lambda: handled() == 10, 60)
        a.kill9()
        started = time.monotonic()
        wait_for("b reading", lambda: "this server reads INBOX now" in b.log(), 30)
        assert time.monotonic() - started < 30
        for i in range(10):
            send_to_invites("after", i)
        wait_for("b handling the next ten", lambda: handled() == 20, 60)
        time.sleep(3)  # and nothing more
        rows = a.sql("SELECT message_id, count(*) FROM inbound GROUP BY message_id")
        assert len(rows) == 20 and all(c == 1 for _, c in rows), rows
        # Each moved once, out of the watched mailbox (they match no mail
        # of ours: Unmatched).
        assert mailstack.imap_count("invites", "Unmatched") == 20
        assert mailstack.imap_count("invites") == 0
    finally:
        b.cleanup()
        a.cleanup()


def test_twenty_accepts_of_one_link_over_two_servers_one_wins():  # postgresql only
    from test_redeem_concurrency import accept_post, post, prepared_posts
    a, b = pair(**{"smtp.port": "9"})
    try:
        reseller = a.org_create("reseller", "Contoso Two", "reseller@example.test")
        key = a.apikey(reseller)
        # One link, its page fetched twenty times (each its own cookie and
        # anti-forgery field), posted at once, ten to each server.
        path = prepared_posts(a, key, 1, "twenty")[0][0]
        posts = [accept_post(a, path, f"Customer twenty {i} K.K.") for i in range(20)]
        barrier = threading.Barrier(20)

        def go(i):
            barrier.wait()
            srv = a if i % 2 == 0 else b
            return post(srv.port, *posts[i])
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(go, range(20)))
        done = [r for r in results if r[0] == 200 and DONE in r[1]]
        assert len(done) == 1, [(r[0], r[1][:120]) for r in results]
        assert all(r[0] in (200, 409, 410) for r in results), [r[0] for r in results]
        assert a.sql("SELECT count(*) FROM relationships") == [(1,)]
        assert a.sql("SELECT count(*) FROM links WHERE state = 'used'") == [(1,)]
    finally:
        b.cleanup()
        a.cleanup()


def test_db_copy_moves_a_deployment_to_sqlite_and_back():  # postgresql only
    """`invited db copy`: PostgreSQL into a new SQLite file and that into a
    new PostgreSQL database, each checked by counts and a whole read; a
    server on the copy carries on (its keys, its ids)."""
    import sqlite3
    from lib.server import child_env, invited_bin
    import subprocess
    srv = Server.start(**{"smtp.port": "9"})
    other = None
    try:
        provider = srv.org_create("provider", "Northwind Copy", "p6@example.test")
        key = srv.apikey(provider)
        ids = []
        for i in range(5):
            status, inv = srv.api("POST", "/api/v1/invitations",
                                  {"kind": "indirect_provider",
                                   "email": f"r6+{i}@example.test"}, key)
            assert status == 201, inv
            ids.append(inv["id"])
        srv.stop()
        tables = ["orgs", "invitations", "links", "outbox", "outbox_data", "events",
                  "api_keys", "org_domains"]
        counts = {t: srv.sql(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
        assert counts["invitations"] == 5 and counts["outbox"] >= 5, counts

        def copy(frm, to, **env):
            return subprocess.run([invited_bin(), "-c", srv.conf, "db", "copy", frm, to],
                                  capture_output=True, text=True, timeout=120,
                                  env=child_env(**env), stdin=subprocess.DEVNULL)
        lite = os.path.join(srv.dir, "copy.db")
        pg_url = srv.settings["server.database"]
        p = copy(pg_url, lite)
        assert p.returncode == 0 and "checked: ok" in p.stdout, (p.stdout, p.stderr)
        assert "invitations    5 rows" in p.stdout, p.stdout
        db = sqlite3.connect(lite)
        assert {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables} == \
            counts
        db.close()
        assert os.stat(lite).st_mode & 0o777 == 0o600
        # Refused, and nothing written: into a file that exists, into a
        # database that is not empty, with a password in a URL.
        p = copy(pg_url, lite)
        assert p.returncode == 1 and "exists" in p.stderr, p.stderr
        back = pgstack.createdb()
        back_url = pgstack.url(back, with_password=False)
        p = copy(lite, back_url, PGPASSWORD=pgstack.password())
        assert p.returncode == 0 and "checked: ok" in p.stdout, (p.stdout, p.stderr)
        p = copy(lite, back_url, PGPASSWORD=pgstack.password())
        assert p.returncode == 1 and "not empty" in p.stderr, p.stderr
        p = copy(lite, pgstack.url(pgstack.createdb()))
        assert p.returncode == 1 and "password" in p.stderr and \
            pgstack.password() not in p.stderr + p.stdout, p.stderr
        assert {t: pgstack.query(back, f"SELECT count(*) FROM {t}")[0][0] for t in tables} == \
            counts
        # A server on the copy: the same key works, and new rows get new ids.
        other = Server.start(**{"server.database": back_url,
                                "server.keys": os.path.join(srv.dir, "keys"),
                                "smtp.port": "9"})
        other.pg_db = back
        status, page = other.api("GET", "/api/v1/invitations", key=key)
        assert status == 200 and sorted(i["id"] for i in page["items"]) == ids, page
        status, inv = other.api("POST", "/api/v1/invitations",
                                {"kind": "indirect_provider", "email": "r6+new@example.test"}, key)
        assert status == 201 and inv["id"] > max(ids), inv
    finally:
        if other is not None:
            other.cleanup()
        srv.cleanup()


def test_db_copy_reads_a_large_table_a_batch_at_a_time():  # postgresql only
    """libpq holds a statement's whole result in memory: a copy out of
    PostgreSQL reads each table through a cursor, STORE_COPY_BATCH (1,000)
    rows at a time, so 320 MB of events do not make a 320 MB process (it
    stays under 128 MiB, sanitizers included). Every row arrives (40,001
    rows more: forty batches' edges crossed; test_store_copy has the exact
    edges)."""
    import subprocess
    import tempfile
    from lib.server import child_env, invited_bin
    srv = Server.start(**{"smtp.port": "9"})
    back = pgstack.createdb()
    try:
        srv.stop()
        srv.sql_exec("INSERT INTO events (at, actor, name, subject, details) "
                     "SELECT 1, 'test', 'test.bulk', 'row ' || g, repeat('x', 8000) "
                     "FROM generate_series(1, 40001) g")
        before = srv.sql("SELECT count(*), sum(length(details)) FROM events")[0]
        assert before[0] >= 40001 and before[1] >= 320_000_000, before
        # The copy's own peak, from its own rusage (wait4). ASan keeps freed
        # memory in quarantine (256 MB by default): a small one, so that
        # its build measures the same.
        asan = os.environ.get("ASAN_OPTIONS", "")
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                [invited_bin(), "-c", srv.conf, "db", "copy", srv.settings["server.database"],
                 pgstack.url(back, with_password=False)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=child_env(PGPASSWORD=pgstack.password(),
                              ASAN_OPTIONS=(asan + ":" if asan else "") + "quarantine_size_mb=8"))
            timer = threading.Timer(600, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        assert proc.returncode == 0 and "checked: ok" in stdout, (stdout, stderr)
        peak_kib = usage.ru_maxrss
        print(f"db copy of {before[1]} bytes peaked at {peak_kib} KiB")
        assert peak_kib < 128 * 1024, f"db copy peaked at {peak_kib} KiB"
        assert pgstack.query(back, "SELECT count(*), sum(length(details)) FROM events")[0] == \
            before
        assert pgstack.query(back, "SELECT count(DISTINCT subject) FROM events "
                                   "WHERE name = 'test.bulk'") == [(40001,)]
    finally:
        pgstack.dropdb(back)
        srv.cleanup()

