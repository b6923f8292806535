"""A real `invited` server for one test: its own folder, config, database
and keys, talking to the test mail stack, on a free port.

    srv = Server.start()
    org = srv.org_create("provider", "Northwind", "p1@example.test")
    key = srv.apikey(org)
    status, body = srv.api("POST", "/api/v1/invitations", {...}, key)
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse

from . import mailstack, openapi, pgstack

_running = []


def invited_bin():
    return os.environ.get("INVITED_BIN") or os.path.join(
        os.environ.get("INVITED_BUILD_DIR", "build"), "invited")


# The test harness's own variables (where the sources, builds and mail
# stack are): not settings, so the server would rightly warn about them.
HARNESS_VARS = ("INVITED_SOURCE_DIR", "INVITED_BUILD_DIR", "INVITED_MAILSTACK_DIR",
                "INVITED_BIN", "INVITED_TEST_ENV", "INVITED_SANITIZE", "INVITED_PGSTACK_DIR",
                "INVITED_TEST_BACKEND")


def child_env(**more):
    """The environment an invited process gets: ours less the harness's
    variables, with the IMAP password, and more."""
    env = {k: v for k, v in os.environ.items() if k not in HARNESS_VARS}
    env["INVITED_IMAP_PASSWORD"] = mailstack.env()["MAILSTACK_PASSWORD"]
    if pgstack.enabled():
        env["INVITED_SERVER_DATABASE_PASSWORD"] = pgstack.password()
    env.update(more)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_all():
    for srv in list(_running):
        srv.stop()


class Server:
    def __init__(self, folder, port, settings, ca=None):
        self.dir = folder
        self.port = port
        self.conf = os.path.join(folder, "invited.conf")
        self.public_url = settings.get("server.public_url", f"http://127.0.0.1:{port}")
        self.settings = settings
        # With server.tls_cert: HTTPS, checked against the test CA ca.
        self.tls = ssl.create_default_context(cafile=ca) if "server.tls_cert" in settings \
            else None
        self.proc = None
        self.log_path = os.path.join(folder, "serve.log")
        # Against PostgreSQL (ctest's pg.* cases): the database's name.
        self.pg_db = settings.get("server.database", "").rsplit("/", 1)[-1] \
            if settings.get("server.database", "").startswith("postgresql://") else None

    @classmethod
    def start(cls, ca=None, port=None, wait=True, **overrides):
        """init + serve. overrides: {"section.key": value} for `init --set`;
        with server.tls_cert, requests go over HTTPS trusting the CA file ca
        (and server.public_url is https:// unless given)."""
        env = mailstack.env()
        folder = tempfile.mkdtemp(prefix="invited-it-")
        port = port or free_port()
        settings = {
            "server.listen": f"127.0.0.1:{port}",
            "server.public_url": f"http://127.0.0.1:{port}",
            "server.threads": "2",
            "smtp.host": "127.0.0.1",
            "smtp.port": env["MAILSTACK_SMTP_PORT"],
            "smtp.from": "invitations@example.test",
            "smtp.retry_base": "1s",
            "smtp.retry_cap": "2s",
            "mail.reply_domain": "example.test",
            "mail.templates": os.path.join(os.getcwd(), "templates"),
            "imap.host": "127.0.0.1",
            "imap.port": env["MAILSTACK_IMAP_PORT"],
            "imap.user": "invites",
            "imap.poll_interval": "1s",
            # Claimed domains' TXT checks ask a port where nothing answers,
            # never the machine's resolver: nothing leaves the machine.
            "dns.servers": "127.0.0.1:9",
        }
        if pgstack.enabled():
            settings["server.database"] = pgstack.url(pgstack.createdb(), with_password=False)
        if "server.tls_cert" in overrides:
            settings["server.public_url"] = f"https://127.0.0.1:{port}"
        settings.update(overrides)
        srv = cls(folder, port, settings, ca)
        args = ["init"]
        for k, v in settings.items():
            args += ["--set", f"{k}={v}"]
        srv.cli(*args)
        srv.serve(wait)
        return srv

    # ------------------------------------------------------------ process
    def serve(self, wait=True):
        env = child_env()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([invited_bin(), "-c", self.conf, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        _running.append(self)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"invited serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                status, _, _ = self.http("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"invited serve did not answer in {timeout}s:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if sig == signal.SIGTERM and self.proc.returncode not in (0, -signal.SIGTERM):
                raise AssertionError(f"invited serve exited {self.proc.returncode}:\n{self.log()}")
        if self in _running:
            _running.remove(self)

    def kill9(self):
        self.stop(signal.SIGKILL)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_db is not None:
            pgstack.dropdb(self.pg_db)

    # ---------------------------------------------------------------- CLI
    def cli(self, *args, check=True, input=None):
        env = child_env()
        p = subprocess.run([invited_bin(), "-c", self.conf, *args], capture_output=True,
                           text=True, input=input, timeout=120, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"invited {' '.join(args)} exited {p.returncode}:\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def org_create(self, kind, name, email, status="approved", **more):
        args = ["org", "create", "--kind", kind, "--name", name, "--email", email,
                "--status", status]
        for k, v in more.items():
            args += [f"--{k.replace('_', '-')}", v]
        return int(self.cli(*args).stdout.strip())

    def apikey(self, org=None, role="admin_agent"):
        if org is None:
            return self.cli("apikey", "create", "--operator").stdout.strip()
        return self.cli("apikey", "create", "--org", str(org), "--role", role).stdout.strip()

    # --------------------------------------------------------------- HTTP
    def http(self, method, path, body=None, headers=None, timeout=30, source=None):
        """(status, headers dict lower-cased, body bytes). path may be a full
        URL. source: the address to connect from (any of 127.0.0.0/8)."""
        if path.startswith("http"):
            u = urllib.parse.urlsplit(path)
            path = u.path + (("?" + u.query) if u.query else "")
        src = (source, 0) if source else None
        if self.tls is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls, source_address=src)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                              source_address=src)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            openapi.check(method, path, r.status, hdrs, data)
            return r.status, hdrs, data
        finally:
            conn.close()

    def api(self, method, path, body=None, key=None, raw=None, headers=None):
        """(status, parsed JSON). body is JSON-encoded; raw is sent as is."""
        h = {"Content-Type": "application/json"}
        if key:
            h["Authorization"] = f"Bearer {key}"
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        status, _, out = self.http(method, path, data, h)
        try:
            return status, json.loads(out) if out else None
        except ValueError:
            raise AssertionError(f"{method} {path}: not JSON ({status}): {out[:500]!r}")

    def sql(self, query):
        """A read-only look into the store, for assertions: rows as tuples,
        of either backend."""
        if self.pg_db is not None:
            return pgstack.query(self.pg_db, query)
        import sqlite3
        db = sqlite3.connect(f"file:{os.path.join(self.dir, 'invited.db')}?mode=ro", uri=True)
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()

    def integrity_ok(self):
        """The store reads whole and sound (`invited db check`)."""
        p = self.cli("db", "check", check=False)
        assert p.returncode == 0 and p.stdout == "ok\n", (p.returncode, p.stdout, p.stderr)

    def sql_exec(self, statements, params=()):
        """Change the store behind the server's back (a test's set-up of
        what the API cannot make): statements without results, committed."""
        if self.pg_db is not None:
            assert not params, "parameters: SQLite only; write the values out"
            return pgstack.execute(self.pg_db, statements)
        import sqlite3
        db = sqlite3.connect(os.path.join(self.dir, "invited.db"))
        try:
            if params:
                db.execute(statements, params)
            else:
                db.executescript(statements)
            db.commit()
        finally:
            db.close()

    def form_post(self, link, **fields):
        """GET a link's page as a browser would (its cookie and anti-forgery
        field), then post its form with fields: (status, page text)."""
        import re
        status, headers, page = self.http("GET", link)
        assert status == 200, (status, page[:400])
        cookie = headers["set-cookie"].split(";")[0]
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
        form = urllib.parse.urlencode(dict(csrf=csrf, **fields))
        status, _, page = self.http("POST", link, form,
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": cookie})
        return status, page.decode()

    def mailed_link(self, invitation_id):
        """The link that an invitation's newest mail carries, read from the
        outbox's copy of that mail: a test's stand-in for the invitee
        reading its mailbox, where the API never shows a mailed link."""
        import email
        import email.policy
        import re
        rows = self.sql("SELECT d.data FROM outbox o JOIN outbox_data d ON d.id = o.id"
                        f" WHERE o.invitation_id = {int(invitation_id)}"
                        " AND o.kind = 'invitation' ORDER BY o.id DESC LIMIT 1")
        assert rows, f"no mail for invitation {invitation_id}"
        msg = email.message_from_bytes(rows[0][0], policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",)).get_content()
        m = re.search(r"(https?://[^\s/]+/l/[A-Za-z0-9._-]+)", text)
        assert m, text
        return m.group(1)
