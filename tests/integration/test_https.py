"""HTTPS served directly ([server] tls_cert and tls_key), with a CA and
certificates made by openssl when each test starts: the consent flow in
Chromium over https:// with the test CA trusted (and refused without it),
HSTS on every answer and cookies Secure; a key that is not the
certificate's refused at start; plain HTTP and old TLS never served; a
renewed certificate served after SIGHUP while open connections go on. And
an https:// public_url served by a proxy: a plain request is sent to
HTTPS, not served."""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from lib import browser, certs, mailstack
from lib.server import Server, child_env, free_port, invited_bin
from test_walking_skeleton import invite, setup_pair

LINK_RE = re.compile(r"(https://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def pki():
    """(folder, ca, cert, key): a fresh test CA and a server certificate
    for 127.0.0.1 it signs."""
    d = tempfile.mkdtemp(prefix="invited-pki-")
    ca = certs.make_ca(d)
    cert, key = certs.make_cert(d, ca)
    return d, ca, cert, key


def https_server(ca, cert, key, **more):
    return Server.start(ca=ca[0], **{"server.tls_cert": cert, "server.tls_key": key}, **more)


def handshake(srv, ca_pem, minimum=None, maximum=None, ciphers=None):
    """(TLS version, the served certificate's serial in hex) or the error."""
    ctx = ssl.create_default_context(cafile=ca_pem)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                der = t.getpeercert(binary_form=True)
                p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"],
                                   input=der, capture_output=True, check=True)
                return t.version(), p.stdout.decode().strip().split("=", 1)[1]
    except (ssl.SSLError, OSError) as e:
        return e


def test_consent_flow_in_chromium_over_https():
    d, ca, cert, key = pki()
    srv = https_server(ca, cert, key)
    assert srv.public_url.startswith("https://127.0.0.1:"), srv.public_url
    provider, reseller, api_key = setup_pair(srv, "p6", "r6")
    invite(srv, api_key, "r6@example.test")
    raw = mailstack.imap_match("r6", lambda r: b"/l/" in r, timeout=60)
    text = mailstack.parse_strict(raw).get_body(preferencelist=("plain",)).get_content()
    link = LINK_RE.search(text).group(1)

    # Without the test CA, Chromium refuses the certificate: the trust
    # below is what lets it in, not a switch that ignores errors.
    r = browser.run([{"goto": link}], allow_fail=True)
    assert not r["ok"] and "ERR_CERT_AUTHORITY_INVALID" in r["error"], r

    home = certs.nss_home(d, ca[0])
    r = browser.run([
        {"goto": link},
        {"expect_text": "Authorize indirect provider"},
        {"cookies": True},
        {"check": "#consent"},
        {"click_text": "Authorize indirect provider"},
        {"expect_text": "has authorized"},
    ], home=home)
    page = r["steps"][0]
    assert page["status"] == 200, page
    assert page["headers"]["strict-transport-security"] == "max-age=31536000", page["headers"]
    cookies = r["steps"][2]["cookies"]
    assert cookies, "the consent page sets its anti-forgery cookie"
    for c in cookies:
        assert c["secure"] and c["httpOnly"] and c["name"].startswith("__Host-"), c
    done = r["steps"][4]
    assert done["status"] == 200 and done["url"].startswith("https://"), done
    assert done["headers"]["strict-transport-security"] == "max-age=31536000"
    assert srv.sql("SELECT count(*) FROM relationships")[0][0] == 1
    # The API over HTTPS carries HSTS too.
    status, headers, _ = srv.http("GET", "/healthz")
    assert status == 200 and headers["strict-transport-security"] == "max-age=31536000"
    srv.cleanup()
    shutil.rmtree(d, ignore_errors=True)


def test_a_wrong_key_or_an_open_key_file_is_refused_at_start():
    d, ca, cert, key = pki()
    _, other_key = certs.make_cert(d, ca, name="other")
    srv = Server.start(ca=ca[0], wait=False,
                       **{"server.tls_cert": cert, "server.tls_key": other_key})
    assert srv.proc.wait(timeout=20) == 1
    assert f"tls_key {other_key} is not the key of the certificate in tls_cert {cert}" \
        in srv.log(), srv.log()
    p = srv.cli("config", "check", check=False)
    assert p.returncode == 1 and "is not the key of the certificate" in p.stdout, p.stdout

    # The right key, readable by others: refused, and said why.
    os.chmod(key, 0o644)
    env = child_env(INVITED_SERVER_TLS_KEY=key)
    p = subprocess.run([invited_bin(), "-c", srv.conf, "serve"], capture_output=True,
                       text=True, timeout=30, env=env)
    assert p.returncode == 1 and f"tls_key {key}: mode 0644, want 0600 or 0640" in p.stderr, \
        p.stderr
    # Mended: config check says whom the certificate is for and when it ends.
    os.chmod(key, 0o600)
    p = subprocess.run([invited_bin(), "-c", srv.conf, "config", "check"], capture_output=True,
                       text=True, timeout=30, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(rf"tls_cert {re.escape(cert)}: CN=127\.0\.0\.1, valid until "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \((29|30) days\)", p.stdout), p.stdout
    assert p.stdout.rstrip().endswith("ok"), p.stdout
    srv.cleanup()
    shutil.rmtree(d, ignore_errors=True)


def test_plain_http_and_old_tls_are_never_served():
    d, ca, cert, key = pki()
    srv = https_server(ca, cert, key)
    # Plain HTTP to the HTTPS port: no HTTP answer at all.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        try:
            while len(got) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
    assert b"HTTP/1" not in got and b"status" not in got, got

    V = ssl.TLSVersion
    assert handshake(srv, ca[0], V.TLSv1_3, V.TLSv1_3)[0] == "TLSv1.3"
    assert handshake(srv, ca[0], V.TLSv1_2, V.TLSv1_2)[0] == "TLSv1.2"
    # The client offers these (the error is the server's hanging up, not
    # "no protocols available"), and the server will not speak them.
    for old in (V.TLSv1_1, V.TLSv1):
        e = handshake(srv, ca[0], old, old, "ALL:@SECLEVEL=0")
        assert isinstance(e, ssl.SSLError) and "NO_PROTOCOLS" not in str(e), e
    e = handshake(srv, ca[0], V.TLSv1_2, V.TLSv1_2, "ECDHE-ECDSA-AES128-SHA")  # CBC
    assert isinstance(e, ssl.SSLError), e
    e = handshake(srv, ca[0], V.TLSv1_2, V.TLSv1_2, "AES128-GCM-SHA256")  # no forward secrecy
    assert isinstance(e, ssl.SSLError), e
    # Finite-field groups cost the server half a second a handshake (and the
    # client nothing): elliptic curves only.
    def s_client(*args):
        p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}",
                            "-CAfile", ca[0], *args], input=b"", capture_output=True,
                           timeout=30)
        return p.stdout.decode(errors="replace")
    assert "Cipher is TLS_" in s_client("-tls1_3", "-groups", "X25519")
    assert "Cipher is (NONE)" in s_client("-tls1_3", "-groups", "ffdhe8192")
    assert "Cipher is (NONE)" in s_client("-tls1_2", "-sigalgs", "RSA+SHA1:ECDSA+SHA1")
    srv.cleanup()
    shutil.rmtree(d, ignore_errors=True)


def test_a_renewed_certificate_is_served_after_sighup():
    d, ca, cert, key = pki()
    srv = https_server(ca, cert, key)
    first = certs.serial(cert)
    assert handshake(srv, ca[0])[1] == first

    # A keep-alive connection open across the renewal.
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10, context=srv.tls)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b'{"status":"ok"}'

    # certbot writes a new certificate with a new key over the old files.
    renewed = tempfile.mkdtemp(dir=d)
    new_cert, new_key = certs.make_cert(renewed, ca, days=90)
    shutil.copy(new_cert, cert)
    shutil.copy(new_key, key)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while handshake(srv, ca[0])[1] != certs.serial(new_cert) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert handshake(srv, ca[0])[1] == certs.serial(new_cert) != first
    assert "https: now serving" in srv.log(), srv.log()
    conn.request("GET", "/healthz")  # the old connection goes on
    assert conn.getresponse().read() == b'{"status":"ok"}'
    conn.close()

    # A half-written renewal (the key of another certificate): the pair
    # served stays, and the log says why.
    _, stray = certs.make_cert(renewed, ca, name="stray")
    shutil.copy(stray, key)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "still serving the certificate loaded before" not in srv.log() and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert "is not the key of the certificate" in srv.log(), srv.log()
    assert handshake(srv, ca[0])[1] == certs.serial(new_cert)
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200
    srv.cleanup()
    shutil.rmtree(d, ignore_errors=True)


def test_an_https_public_url_behind_a_proxy_sends_plain_requests_to_https():
    # No TLS here and no proxy trusted: nothing could serve https://.
    port = free_port()
    srv = Server.start(wait=False, port=port,
                       **{"server.public_url": "https://invite.example.test"})
    assert srv.proc.wait(timeout=20) == 1
    assert "neither serves TLS (tls_cert, tls_key) nor trusts a proxy" in srv.log(), srv.log()
    srv.cleanup()

    srv = Server.start(**{"server.public_url": "https://invite.example.test",
                          "server.trusted_proxies": "127.0.0.2"})
    # Straight to the server over plain HTTP: sent to HTTPS, not served.
    status, headers, body = srv.http("GET", "/console/enroll?x=1")
    assert status == 308 and headers["location"] == "https://invite.example.test/console/enroll", \
        (status, headers)
    assert headers["strict-transport-security"] == "max-age=31536000"
    status, headers, _ = srv.http("GET", "/l/a%20b")
    assert headers["location"] == "https://invite.example.test/l/a%20b", headers
    # A request target that is no path cannot make the redirect another host's.
    for target in ("@evil.example/", ".evil.example/x", "*"):
        status, headers, _ = srv.http("GET", target)
        assert status == 308 and headers["location"] == "https://invite.example.test/", \
            (target, status, headers)
    status, _, body = srv.http("POST", "/console", "email=a%40example.test",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and b"HTTPS only: https://invite.example.test/console" in body, body
    status, body = srv.api("POST", "/api/v1/invitations", {"kind": "indirect_provider"})
    assert status == 403 and body["error"]["code"] == "https_required", body
    # A forged X-Forwarded-Proto from a peer that is not trusted: ignored.
    status, _, _ = srv.http("GET", "/console", headers={"X-Forwarded-Proto": "https"})
    assert status == 308
    # The probes answer a monitor on the private address.
    assert srv.http("GET", "/healthz")[0] == 200
    assert srv.http("GET", "/readyz")[0] == 200

    # The trusted proxy says the person came over https: served.
    status, headers, body = srv.http("GET", "/console", source="127.0.0.2",
                                     headers={"X-Forwarded-Proto": "https",
                                              "X-Forwarded-For": "198.51.100.7"})
    assert status == 200 and b"<form" in body, status
    assert headers["strict-transport-security"] == "max-age=31536000"
    # ... or over http: sent to https.
    status, _, _ = srv.http("GET", "/console", source="127.0.0.2",
                            headers={"Forwarded": "for=198.51.100.7;proto=http"})
    assert status == 308
    srv.cleanup()
