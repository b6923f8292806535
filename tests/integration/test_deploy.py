"""docs/deploy's configs, run as an operator would: Debian's nginx on
loopback in front of a real server with docs/deploy/nginx.conf (its ports,
name and certificate replaced, nothing else), two people behind it with
their own rate-limit buckets, access-log and audit lines; forged
forwarding headers counted by the sender's own address, through nginx or
straight to the server; slow clients held off however many come through
the trusted proxy. And docs/deploy/Caddyfile checked by `caddy validate`,
docs/deploy/invited-https.conf served as written."""
import http.client
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from lib import certs
from lib.server import Server, free_port
from lib.trickle import still_open, trickle
from test_enrollment import profile

DEPLOY = os.path.join(os.environ.get("INVITED_SOURCE_DIR", "."), "docs", "deploy")
DEADLINE = 10  # HTTP_REQUEST_DEADLINE in include/invited/limits.h


def doc(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return f.read()


def replace(text, old, new):
    """text with old replaced; the doc must still hold old, or the test
    would silently run something else than the doc says."""
    assert old in text, f"docs/deploy no longer has {old!r}"
    return text.replace(old, new)


class Nginx:
    """nginx with docs/deploy/nginx.conf in front of the server on port
    upstream, on loopback ports of its own."""

    def __init__(self, upstream):
        self.dir = tempfile.mkdtemp(prefix="invited-nginx-")
        self.ca = certs.make_ca(self.dir)
        cert, key = certs.make_cert(self.dir, self.ca)
        self.http_port, self.https_port = free_port(), free_port()
        site = doc("nginx.conf")
        site = replace(site, "server 127.0.0.1:8025;", f"server 127.0.0.1:{upstream};")
        site = replace(site, "    listen 80;\n", f"    listen 127.0.0.1:{self.http_port};\n")
        site = replace(site, "    listen 443 ssl http2;\n",
                       f"    listen 127.0.0.1:{self.https_port} ssl http2;\n")
        site = replace(site, "    listen [::]:80;\n", "")
        site = replace(site, "    listen [::]:443 ssl http2;\n", "")
        site = replace(site, "/etc/letsencrypt/live/invite.example.com/fullchain.pem", cert)
        site = replace(site, "/etc/letsencrypt/live/invite.example.com/privkey.pem", key)
        site = replace(site, "/var/www/letsencrypt", os.path.join(self.dir, "acme"))
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write(site)
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(tmp)
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = (f"{user}worker_processes 1;\ndaemon off;\npid {self.dir}/nginx.pid;\n"
                f"error_log {self.dir}/error.log info;\n"
                "events { worker_connections 4096; }\n"
                "http {\n"
                f"  access_log {self.dir}/access.log;\n"
                f"  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;\n"
                f"  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi;\n"
                f"  scgi_temp_path {tmp}/scgi;\n"
                f"  include {self.dir}/site.conf;\n"
                "}\n")
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(main)
        p = subprocess.run(["nginx", "-t", "-c", self.conf, "-p", self.dir],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, f"nginx -t:\n{p.stderr}"
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not start:\n{self.error_log()}")

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def request(self, method, path, source, body=None, headers=None):
        """(status, headers, body) over HTTPS through nginx, from source."""
        ctx = ssl.create_default_context(cafile=self.ca[0])
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=30,
                                           context=ctx, source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def behind_nginx(**more):
    """A server as docs/deploy/nginx.conf's comment configures it, and
    nginx in front of it."""
    port = free_port()
    nginx = Nginx(port)
    srv = Server.start(port=port, **{
        "server.public_url": f"https://127.0.0.1:{nginx.https_port}",
        "server.trusted_proxies": "127.0.0.1", "log.access": "yes", **more})
    return srv, nginx


def enroll_via(nginx, source, n, headers=None):
    """n enrollment requests through nginx from source: their statuses."""
    out = []
    for i in range(n):
        body = profile("u8", legal_name=f"Contoso {source} {i}")
        status, _, _ = nginx.request("POST", "/api/v1/enrollments", source, json.dumps(body),
                                     {"Content-Type": "application/json", **(headers or {})})
        out.append(status)
    return out


def access_clients(srv, path):
    """The client of each access-log line for path, in order."""
    return re.findall(rf'access: (\S+) "\w+ {re.escape(path)}"', srv.log())


def test_nginx_in_front_counts_each_person_by_their_own_address():
    srv, nginx = behind_nginx(**{"enrollment.rate_limit": "2"})
    try:
        # Plain HTTP to nginx goes to HTTPS, as the doc's first server says.
        c = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
        c.request("GET", "/console")
        r = c.getresponse()
        assert r.status == 308 and r.getheader("Location").startswith("https://"), r.status
        c.close()

        # Through nginx, the console is served (nginx says https), with HSTS.
        status, headers, body = nginx.request("GET", "/console", "127.0.0.5")
        assert status == 200 and b"<form" in body, status
        assert headers["strict-transport-security"] == "max-age=31536000"

        # Two people behind the same proxy: each has a bucket of two.
        a = enroll_via(nginx, "127.0.0.5", 3)
        assert a == [201, 201, 429], a
        b = enroll_via(nginx, "127.0.0.6", 2)
        assert b == [201, 201], b
        # Forged headers through nginx: nginx appends the real address (and
        # drops Forwarded), so the sender is still the one with no allowance.
        assert enroll_via(nginx, "127.0.0.5", 1, {"X-Forwarded-For": "203.0.113.9"}) == [429]
        assert enroll_via(nginx, "127.0.0.5", 1, {"Forwarded": "for=203.0.113.10"}) == [429]

        clients = access_clients(srv, "/api/v1/enrollments")
        assert clients == ["127.0.0.5"] * 3 + ["127.0.0.6"] * 2 + ["127.0.0.5"] * 2, clients
        actors = {a for (a,) in srv.sql("SELECT actor FROM events WHERE actor LIKE 'enroll:%'")}
        assert actors == {"enroll:127.0.0.5", "enroll:127.0.0.6"}, actors

        # Straight to the server with a forged X-Forwarded-For: its own address.
        status, _, _ = srv.http("GET", "/healthz", source="127.0.0.3",
                                headers={"X-Forwarded-For": "198.51.100.99"})
        assert status == 200
        assert access_clients(srv, "/healthz")[-1] == "127.0.0.3", srv.log()[-2000:]
    finally:
        nginx.stop()
        srv.cleanup()


def test_a_forged_forwarded_header_straight_to_the_server_buys_nothing():
    # A plain server that trusts a proxy at 127.0.0.1 only.
    srv = Server.start(**{"server.trusted_proxies": "127.0.0.1",
                          "enrollment.rate_limit": "2", "log.access": "yes"})
    statuses = []
    for i, forged in enumerate(("198.51.100.1", "198.51.100.2", "198.51.100.3")):
        body = profile("u9", legal_name=f"Fabrikam {i}")
        status, _, _ = srv.http("POST", "/api/v1/enrollments", json.dumps(body),
                                {"Content-Type": "application/json",
                                 "X-Forwarded-For": forged, "Forwarded": f"for={forged}"},
                                source="127.0.0.3")
        statuses.append(status)
    assert statuses == [201, 201, 429], statuses
    assert access_clients(srv, "/api/v1/enrollments") == ["127.0.0.3"] * 3
    # The trusted proxy itself, with the same forged address, is believed.
    body = profile("u9", legal_name="Fabrikam 9")
    status, _, _ = srv.http("POST", "/api/v1/enrollments", json.dumps(body),
                            {"Content-Type": "application/json",
                             "X-Forwarded-For": "198.51.100.1"}, source="127.0.0.1")
    assert status == 201, status
    assert access_clients(srv, "/api/v1/enrollments")[-1] == "198.51.100.1"
    srv.cleanup()


def test_slow_clients_are_held_off_through_a_trusted_proxy():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    srv, nginx = behind_nginx()
    stop = threading.Event()
    threads, groups = [], []
    try:
        # 100 trickling into nginx, 100 straight from the trusted proxy's
        # own address: more than the 64 one address may hold.
        for port, source in ((nginx.http_port, "127.0.0.7"), (srv.port, "127.0.0.1")):
            socks, t = trickle(port, source, 100, stop)
            groups.append(socks)
            threads.append(t)
        worst = 0.0
        deadline = time.monotonic() + DEADLINE + 5
        while time.monotonic() < deadline:
            started = time.monotonic()
            status, _, _ = nginx.request("GET", "/healthz", "127.0.0.8")
            assert status == 200, status
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.5)
        assert worst < 2.0, f"a request through nginx took {worst:.2f} s"
        # The proxy's address is not one person: none of its connections was
        # refused, and yet each was closed at the request deadline.
        refused = re.findall(r"client 127\.0\.0\.1: (\d+) connections refused", srv.log())
        assert refused and set(refused) == {"0"}, srv.log()[-3000:]
        assert still_open(groups[1]) == 0, "trickling connections from the proxy stay open"
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for g in groups:
            for s in g:
                s.close()
        nginx.stop()
        srv.cleanup()


def test_the_caddyfile_validates_and_the_https_section_serves():
    home = tempfile.mkdtemp(prefix="invited-caddy-")
    try:
        p = subprocess.run(["caddy", "validate", "--config", os.path.join(DEPLOY, "Caddyfile"),
                            "--adapter", "caddyfile"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HOME=home, XDG_DATA_HOME=home,
                                    XDG_CONFIG_HOME=home))
        assert p.returncode == 0 and "Valid configuration" in p.stdout + p.stderr, \
            p.stdout + p.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)

    # docs/deploy/invited-https.conf's [server] section, as written but for
    # the port and the paths: HTTPS served by invited itself.
    d = tempfile.mkdtemp(prefix="invited-pki-")
    ca = certs.make_ca(d)
    cert, key = certs.make_cert(d, ca)
    port = free_port()
    section = doc("invited-https.conf")
    settings = dict(re.findall(r"^(\w+) = (.+)$", section, re.M))
    assert set(settings) == {"listen", "public_url", "tls_cert", "tls_key"}, settings
    settings = {f"server.{k}": v for k, v in settings.items()}
    settings["server.listen"] = replace(settings["server.listen"], "0.0.0.0:443",
                                        f"127.0.0.1:{port}")
    settings["server.public_url"] = replace(settings["server.public_url"],
                                            "https://invite.example.com",
                                            f"https://127.0.0.1:{port}")
    settings["server.tls_cert"] = cert
    settings["server.tls_key"] = key
    srv = Server.start(ca=ca[0], port=port, **settings)
    status, headers, _ = srv.http("GET", "/healthz")
    assert status == 200 and headers["strict-transport-security"] == "max-age=31536000"
    srv.cleanup()
    shutil.rmtree(d, ignore_errors=True)
