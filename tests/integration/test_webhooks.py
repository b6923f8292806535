"""Webhooks on the real mail stack: a local receiver gets
invitation.created, .sent, .accepted and .bounced (the bounce from the real
Postfix DSN read over IMAP) with Standard Webhooks signatures that Python's
own hmac verifies; a receiver answering 500 then 200 gets each event once
delivered, after retries, with the same webhook-id; a kill -9 of the server
with 500 deliveries pending loses none; an endpoint on a loopback address
is refused unless the operator allows private addresses; and the API's
errors and limits."""
import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lib import mailstack
from lib.server import Server, free_port

OPEN = {"webhooks.allow_http": "yes", "webhooks.allow_private": "yes",
        "webhooks.retry_base": "1s", "webhooks.retry_cap": "1s"}


class Receiver:
    """A small HTTP server that records every POST; `answers` are the
    statuses it gives, the last one from then on."""

    def __init__(self, answers=(200,)):
        self.got, self.answers, self.lock = [], list(answers), threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    status = outer.answers.pop(0) if len(outer.answers) > 1 else outer.answers[0]
                    outer.got.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.http = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def delivered(self):
        """(headers, event) of every 2xx answer."""
        with self.lock:
            return [(h, json.loads(b)) for h, b, s in self.got if 200 <= s < 300]

    def wait(self, pred, timeout=60, what="deliveries"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {len(self.got)} received")

    def close(self):
        self.http.shutdown()


def verify(secret, headers, body):
    """Standard Webhooks, written here independently of the server."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300, headers
    sigs = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(mac, s) for s in sigs)


def register(srv, key, url, events=None):
    body = {"url": url} if events is None else {"url": url, "events": events}
    status, hook = srv.api("POST", "/api/v1/webhooks", body, key)
    assert status == 201, hook
    assert hook["secret"].startswith("whsec_"), hook
    return hook


def test_invitation_events_arrive_signed_including_a_real_bounce():
    mailstack.imap_clear("invites")
    srv = Server.start(**OPEN, **{"imap.enabled": "yes"})
    rx = Receiver()
    provider = srv.org_create("provider", "Northwind Hooks", "p46@example.test")
    key = srv.apikey(provider)
    hook = register(srv, key, rx.url, ["invitation.*"])
    # Listing never shows the secret again.
    status, page = srv.api("GET", "/api/v1/webhooks", key=key)
    assert status == 200 and [h["id"] for h in page["items"]] == [hook["id"]], page
    assert "secret" not in page["items"][0] and page["items"][0]["events"] == ["invitation.*"]

    status, good = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "r46@example.test"}, key)
    assert status == 201, good
    status, bad = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "no-such-r46@example.test"}, key)
    assert status == 201, bad
    srv.org_create("reseller", "Contoso Hooks", "r46@example.test")

    def types_of(inv):
        return [e["type"] for _, e in rx.delivered()
                if e["data"]["subject"] == f"invitation:{inv['id']}"]

    rx.wait(lambda: "invitation.sent" in types_of(good), what="invitation.sent")
    status, _ = srv.form_post(srv.mailed_link(good["id"]), consent="yes", action="accept")
    assert status == 200
    rx.wait(lambda: "invitation.accepted" in types_of(good), what="invitation.accepted")
    rx.wait(lambda: "invitation.bounced" in types_of(bad), 90, "invitation.bounced")
    assert types_of(good)[:2] == ["invitation.created", "invitation.sent"], types_of(good)
    bounced = [e for _, e in rx.delivered() if e["type"] == "invitation.bounced"][0]
    assert "5.1.1" in bounced["data"]["details"], bounced
    # Only what the filter names: no relationship.created, no message.sent.
    assert all(e["type"].startswith("invitation.") for _, e in rx.delivered())
    # Every one signed, verified by an independent implementation; a
    # tampered body or another secret does not verify.
    with rx.lock:
        got = list(rx.got)
    for headers, body, _ in got:
        h = {k.lower(): v for k, v in headers.items()}
        assert h["content-type"] == "application/json"
        assert verify(hook["secret"], h, body), h
        assert not verify(hook["secret"], h, body + b" ")
        assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), h, body)
    # The deliveries are listed with their HTTP status: once none is
    # pending or in flight, every one was delivered.
    def deliveries():
        status, page = srv.api("GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100",
                               key=key)
        assert status == 200 and page["items"], page
        return page["items"]
    rx.wait(lambda: all(d["status"] not in ("pending", "sending") for d in deliveries()),
            what="every delivery settled")
    items = deliveries()
    assert all(d["status"] == "delivered" and d["http_status"] == 200 and d["reply"] == "ok"
               for d in items), items
    rx.close()
    srv.stop()


def test_a_dead_endpoint_holds_up_a_pass_once_not_once_per_delivery():
    """Ten deliveries due at once to a receiver that never answers in time:
    one attempt waits out the timeout, the other nine go back untried."""
    import socket
    srv = Server.start(**{**OPEN, "webhooks.timeout": "2s", "webhooks.concurrency": "1",
                          "webhooks.retry_base": "30s", "webhooks.retry_cap": "30s"})
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(50)  # accepts, never answers
    op = srv.apikey(None, role="operator")
    register(srv, op, f"http://127.0.0.1:{silent.getsockname()[1]}/hook", ["org.created"])
    srv.stop()  # queue them while no worker runs, so that one pass claims them all
    for i in range(10):
        srv.org_create("reseller", f"Slow {i}", f"s{i}@example.test")
    started = time.monotonic()
    srv.serve()

    def settled():
        return srv.sql("SELECT count(*) FROM deliveries WHERE status = 'pending'"
                       " AND attempts = 1")[0][0] == 10
    deadline = time.monotonic() + 30
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert settled(), srv.sql("SELECT status, attempts, last_error FROM deliveries")
    assert time.monotonic() - started < 10, "one timeout, not ten"
    rows = srv.sql("SELECT last_error FROM deliveries ORDER BY id")
    assert sum("not attempted" in r[0] for r in rows) == 9, rows
    silent.close()
    srv.stop()


def test_a_failing_receiver_gets_each_event_once_after_retries():
    srv = Server.start(**OPEN)
    rx = Receiver(answers=(500, 500, 200))
    provider = srv.org_create("provider", "Northwind Retries", "p45@example.test")
    key = srv.apikey(provider)
    register(srv, key, rx.url, ["invitation.created"])
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r45@example.test"}, key)
    assert status == 201, inv
    rx.wait(lambda: len(rx.delivered()) == 1, what="a delivery after two 500s")
    time.sleep(2.5)  # nothing more comes
    with rx.lock:
        got = list(rx.got)
    assert [s for _, _, s in got] == [500, 500, 200], [s for _, _, s in got]
    ids = {h["webhook-id"] for h, _, _ in got}
    assert len(ids) == 1, "one message, the same id on every attempt"
    assert len(rx.delivered()) == 1
    row = srv.sql("SELECT status, attempts, last_status FROM deliveries")
    assert row == [("delivered", 3, 200)], row
    rx.close()
    srv.stop()


def test_kill_9_with_500_deliveries_pending_loses_none():
    srv = Server.start(**OPEN)
    rx = Receiver(answers=(503,))  # nothing is delivered before the kill
    op = srv.apikey(None, role="operator")
    hook = register(srv, op, rx.url, ["org.created"])
    # 500 events, each queuing its delivery in its own transaction.
    for i in range(500):
        srv.org_create("reseller", f"Kill {i}", f"k{i}@example.test")
    rx.wait(lambda: len(rx.got) >= 20, what="attempts to begin")
    srv.kill9()
    pending = srv.sql("SELECT count(*) FROM deliveries WHERE status != 'delivered'")[0][0]
    assert pending == 500, pending
    with rx.lock:
        rx.answers = [200]
    srv.serve()
    rx.wait(lambda: len({e["data"]["id"] for _, e in rx.delivered()}) == 500, 120,
            "all 500 events delivered")
    assert srv.sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'") == [(500,)]
    status, page = srv.api("GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=5", key=op)
    assert status == 200 and len(page["items"]) == 5 and page["next_cursor"], page
    rx.close()
    srv.stop()


def test_loopback_and_plain_http_are_refused_unless_allowed():
    srv = Server.start()
    rx = Receiver()
    provider = srv.org_create("provider", "Northwind Guarded", "p44@example.test")
    key = srv.apikey(provider)
    for url, words in ((f"https://127.0.0.1:{rx.port}/hook", "loopback, private"),
                       (f"https://localhost:{rx.port}/hook", "loopback, private"),
                       (f"https://[::1]:{rx.port}/hook", "loopback, private"),
                       ("https://169.254.169.254/latest/meta-data", "loopback, private"),
                       ("https://10.1.2.3/x", "loopback, private"),
                       (rx.url, "https://"),
                       ("ftp://example.test/x", "https://"),
                       ("https://user:pw@example.test/x", "user or password"),
                       ("not a url", "absolute https:// URL")):
        status, err = srv.api("POST", "/api/v1/webhooks", {"url": url}, key)
        assert status == 422 and err["error"]["field"] == "url", (url, err)
        assert words in err["error"]["message"], (url, err)
    assert srv.sql("SELECT count(*) FROM webhooks") == [(0,)]
    sales = srv.apikey(provider, role="sales_agent")
    assert srv.api("GET", "/api/v1/webhooks", key=sales)[0] == 403
    srv.stop()
    # With the operator's leave, the same loopback endpoint is taken, up
    # to the limit.
    srv = Server.start(**OPEN)
    provider = srv.org_create("provider", "Northwind Open", "p44@example.test")
    key, other = srv.apikey(provider), srv.apikey(srv.org_create(
        "reseller", "Contoso Open", "r44@example.test"))
    # Bad filters and unknown fields.
    for events in (["nonsense"], ["invitation."], ["bogus.*"], ["invitation.Accepted"], "x",
                   [1], ["a,b"]):
        status, err = srv.api("POST", "/api/v1/webhooks", {"url": rx.url, "events": events},
                              key)
        assert status == 422 and err["error"]["field"] == "events", (events, err)
    status, err = srv.api("POST", "/api/v1/webhooks", {"url": rx.url, "nope": 1}, key)
    assert status == 422, err
    ids = [register(srv, key, f"{rx.url}/{i}")["id"] for i in range(10)]
    status, err = srv.api("POST", "/api/v1/webhooks", {"url": rx.url}, key)
    assert status == 409 and err["error"]["code"] == "too_many", err
    # Another organization can neither see nor delete them.
    assert srv.api("GET", f"/api/v1/webhooks/{ids[0]}/deliveries", key=other)[0] == 404
    assert srv.api("DELETE", f"/api/v1/webhooks/{ids[0]}", key=other)[0] == 404
    assert srv.api("DELETE", f"/api/v1/webhooks/{ids[0]}", key=key)[0] == 204
    assert srv.api("DELETE", f"/api/v1/webhooks/{ids[0]}", key=key)[0] == 404
    assert register(srv, key, rx.url)["id"] > ids[-1]
    rx.close()
    srv.stop()


def test_the_console_adds_lists_and_deletes_webhooks():
    import re
    import urllib.parse
    from test_console_signin import sign_in
    srv = Server.start(**OPEN)
    rx = Receiver()
    provider = srv.org_create("provider", "Northwind Console Hooks", "p43@example.test")
    session, csrf_cookie = sign_in(srv, "p43@example.test")
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Cookie": f"{session}; {csrf_cookie}"}
    url = f"{srv.public_url}/console/webhooks"
    status, _, page = srv.http("GET", url, headers={"Cookie": headers["Cookie"]})
    assert status == 200 and b'id="empty"' in page, status
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)

    def post(path, **fields):
        return srv.http("POST", path, urllib.parse.urlencode({"csrf": csrf, **fields}), headers)

    # Refused next to its field, with what was typed kept.
    status, _, page = post(url, url="ftp://example.test/hook", events="invitation.*")
    assert status == 422 and b'id="url-problem"' in page and b"ftp://example.test/hook" in page
    status, _, page = post(url, url=rx.url, events="invitation.* nonsense")
    assert status == 422 and b'id="events-problem"' in page, status
    assert srv.sql("SELECT count(*) FROM webhooks") == [(0,)]
    # Added: the secret once, on that answer.
    status, _, page = post(url, url=rx.url, events="invitation.*, relationship.ended")
    assert status == 201, status
    secret = re.search(rb'id="new-secret">(whsec_[A-Za-z0-9+/=]+)<', page).group(1).decode()
    [(hook_id, events)] = srv.sql("SELECT id, events FROM webhooks")
    assert events == "invitation.*,relationship.ended", events
    status, _, page = srv.http("GET", url, headers={"Cookie": headers["Cookie"]})
    assert status == 200 and secret.encode() not in page and rx.url.encode() in page
    # It works: an invitation's creation arrives, signed with that secret.
    key = srv.apikey(provider)
    status, _ = srv.api("POST", "/api/v1/invitations",
                        {"kind": "indirect_provider", "email": "r43@example.test"}, key)
    assert status == 201
    rx.wait(lambda: rx.delivered(), what="a delivery")
    with rx.lock:
        h, body, _ = rx.got[0]
    assert verify(secret, {k.lower(): v for k, v in h.items()}, body)
    # Its deliveries page lists it; another organization's admin gets 404.
    rx.wait(lambda: srv.sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'")[0][0],
            what="the delivery recorded")
    status, _, page = srv.http("GET", f"{url}/{hook_id}", headers={"Cookie": headers["Cookie"]})
    assert status == 200 and b"invitation.created" in page and b">200<" in page, page[-800:]
    srv.org_create("reseller", "Contoso Console Hooks", "r43@example.test")
    other, other_csrf = sign_in(srv, "r43@example.test")
    status, _, _ = srv.http("GET", f"{url}/{hook_id}", headers={"Cookie": f"{other}; {other_csrf}"})
    assert status == 404, status
    # Deleted.
    status, _, _ = post(f"{url}/{hook_id}", action="delete")
    assert status == 303, status
    assert srv.sql(f"SELECT deleted_at IS NOT NULL FROM webhooks WHERE id = {hook_id}") == [(1,)]
    rx.close()
    srv.stop()
