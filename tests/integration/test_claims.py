"""The second review's findings (issue 25), each as the attack, which
changes nothing and gets the right status, and as the legitimate path:
web pages cannot drive the JSON API (a body that is not JSON, a foreign
Origin); a 500 says nothing internal, only a request id the log shares."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from lib.server import Server, child_env, invited_bin
from test_enrollment import profile


def tamper(srv, query):
    """Change the store behind the server's back, as a broken disk would."""
    srv.sql_exec(query)


def org_count(srv):
    return srv.sql("SELECT count(*) FROM orgs")[0][0]


def post_enrollment(srv, body, content_type="application/json", origin=None):
    headers = {"Content-Type": content_type} if content_type else {}
    if origin:
        headers["Origin"] = origin
    status, _, out = srv.http("POST", "/api/v1/enrollments", body, headers)
    return status, json.loads(out) if out else None


def test_web_pages_cannot_drive_the_json_api():
    srv = Server.start()
    body = json.dumps(profile("u19"))
    before = org_count(srv)
    # What a page of another site can send without a CORS preflight.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; "
                  "boundary=x", None, "application/jsonp", "text/json"):
        status, out = post_enrollment(srv, body, ctype)
        assert status == 415 and out["error"]["code"] == "unsupported_media_type", (ctype, out)
    for origin in ("https://evil.example", "null", f"{srv.public_url}.evil.example",
                   srv.public_url.replace("http://", "https://")):
        status, out = post_enrollment(srv, body, origin=origin)
        assert status == 403 and out["error"]["code"] == "cross_origin", (origin, out)
    # A resend with no body from a foreign page: refused too.
    status, _, out = srv.http("POST", "/api/v1/enrollments/1/resend-verification",
                              headers={"Origin": "https://evil.example"})
    assert status == 403 and b"cross_origin" in out, out
    assert org_count(srv) == before

    # The legitimate paths: a server (no Origin), JSON with a charset, or
    # the server's own origin (its default port written or not).
    status, out = post_enrollment(srv, body, "application/json; charset=utf-8")
    assert status == 201, out
    body2 = json.dumps(profile("u19", legal_name="Contoso Two"))
    status, out = post_enrollment(srv, body2, "Application/JSON", origin=srv.public_url)
    assert status == 201, out
    assert org_count(srv) == before + 2
    # GETs with no body need no Content-Type.
    status, _, _ = srv.http("GET", "/api/v1/healthz")
    assert status == 200
    srv.cleanup()


def test_a_500_shows_a_request_id_and_nothing_internal():
    srv = Server.start()
    key = srv.apikey()
    tamper(srv, "ALTER TABLE events RENAME TO events_gone")
    status, body = srv.api("GET", "/api/v1/events", key=key)
    assert status == 500, body
    err = body["error"]
    assert err["code"] == "internal" and re.fullmatch(r"[0-9a-f]{16}", err["request_id"]), err
    assert set(err) == {"code", "message", "request_id"}, err
    assert err["request_id"] in err["message"]
    text = json.dumps(body)
    assert "events" not in text and "table" not in text and "sql" not in text.lower(), text
    # The log has the id and the detail on one line.
    line = [l for l in srv.log().splitlines() if err["request_id"] in l]
    assert len(line) == 1 and "GET /api/v1/events" in line[0] and \
        ("no such table" in line[0] or 'relation "events" does not exist' in line[0]), line
    # Two failures, two ids.
    _, again = srv.api("GET", "/api/v1/events", key=key)
    assert again["error"]["request_id"] != err["request_id"]
    tamper(srv, "ALTER TABLE events_gone RENAME TO events")
    assert srv.api("GET", "/api/v1/events", key=key)[0] == 200
    srv.cleanup()


def test_source_routed_addresses_are_refused_for_people():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 19", "p19@example.test")
    key = srv.apikey(provider)
    for routed in ("alice%victim.example@example.test", "victim.example!alice@example.test"):
        status, body = srv.api("POST", "/api/v1/invitations",
                               {"kind": "indirect_provider", "email": routed, "name": "A"}, key)
        assert status == 422 and body["error"]["field"] == "email", body
        assert "% or ! before the @" in body["error"]["message"], body
        status, body = srv.api("POST", "/api/v1/enrollments",
                               profile("u19", primary_contact={"name": "R", "email": routed}))
        assert status == 422 and body["error"]["field"] == "primary_contact.email", body
        assert "% or ! before the @" in body["error"]["message"], body
        status, body = srv.api("POST", "/api/v1/users",
                               {"email": routed, "name": "Uma", "role": "sales_agent"}, key)
        assert status == 422 and "% or ! before the @" in body["error"]["message"], body
        p = srv.cli("org", "create", "--kind", "reseller", "--name", "Routed",
                    "--email", routed, check=False)
        assert p.returncode != 0 and "% or ! before the @" in p.stderr, p.stderr
    assert srv.sql("SELECT count(*) FROM invitations")[0][0] == 0
    assert srv.sql("SELECT count(*) FROM orgs")[0][0] == 1
    # The same people without the route are welcome.
    status, body = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "alice@example.test",
                            "name": "A"}, key)
    assert status == 201, body
    srv.cleanup()


def test_a_client_is_a_prefix_of_addresses():
    # client_prefix_v4 = 24: 127.0.0.5 and 127.0.0.6 are one client, with
    # one enrollment allowance (test_deploy shows them apart at /32).
    srv = Server.start(**{"server.client_prefix_v4": "24", "enrollment.rate_limit": "1",
                          "log.access": "yes"})
    statuses = []
    for i, source in enumerate(("127.0.0.5", "127.0.0.6")):
        status, _, _ = srv.http("POST", "/api/v1/enrollments",
                                json.dumps(profile("u19", legal_name=f"Contoso P{i}")),
                                {"Content-Type": "application/json"}, source=source)
        statuses.append(status)
    assert statuses == [201, 429], statuses
    assert re.findall(r'access: (\S+) "POST', srv.log()) == ["127.0.0.0", "127.0.0.0"]
    srv.cleanup()
    # A prefix shorter than a provider's allocation would lump strangers.
    d = tempfile.mkdtemp(prefix="invited-it-")
    p = subprocess.run([invited_bin(), "-c", os.path.join(d, "invited.conf"), "init",
                        "--set", "server.client_prefix_v6=8"], capture_output=True, text=True,
                       timeout=60, env=child_env())
    assert p.returncode != 0 and "client_prefix_v6: 8 is out of range (16 to 128)" in p.stderr, \
        p.stderr
    shutil.rmtree(d, ignore_errors=True)


def test_a_not_approved_organizations_keys_read_but_change_nothing():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 19b", "p19@example.test")
    key = srv.apikey(provider)
    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "indirect_provider", "email": "r19@example.test",
                             "delivery": "draft"}, key)
    assert status == 201, draft
    srv.cli("org", "suspend", str(provider), "--reason", "unpaid invoices")
    before = srv.sql("SELECT id, status FROM invitations ORDER BY id")
    writes = [("POST", "/api/v1/invitations", {"kind": "indirect_provider",
                                               "email": "r19@example.test"}),
              ("POST", f"/api/v1/invitations/{draft['id']}/send", None),
              ("POST", f"/api/v1/invitations/{draft['id']}/handed-off", None),
              ("POST", f"/api/v1/invitations/{draft['id']}/revoke", None),
              ("PATCH", f"/api/v1/invitations/{draft['id']}", {"subject": "Hi"}),
              ("POST", "/api/v1/users", {"email": "u19@example.test", "role": "sales_agent"}),
              ("POST", "/api/v1/webhooks", {"url": "https://hooks.example.test/x",
                                            "events": ["invitation.accepted"]})]
    for method, path, body in writes:
        status, err = srv.api(method, path, body, key)
        assert status == 403 and err["error"]["code"] == "org_not_approved", (path, err)
        assert "suspended" in err["error"]["message"], err
    assert srv.sql("SELECT id, status FROM invitations ORDER BY id") == before
    # Reads go on.
    status, body = srv.api("GET", f"/api/v1/invitations/{draft['id']}", key=key)
    assert status == 200 and body["status"] == "draft", body
    # Approved again, the same key writes.
    srv.cli("org", "approve", str(provider))
    status, body = srv.api("POST", f"/api/v1/invitations/{draft['id']}/send", None, key)
    assert status == 200, body
    srv.cleanup()


def test_another_organizations_id_answers_like_a_missing_one():
    srv = Server.start(**{"webhooks.allow_http": "yes", "webhooks.allow_private": "yes"})
    a = srv.org_create("provider", "Northwind 19c", "p19@example.test")
    b = srv.org_create("provider", "Litware 19c", "u19@example.test")
    reseller = srv.org_create("reseller", "Contoso 19c", "r19@example.test")
    akey, bkey = srv.apikey(a), srv.apikey(b)
    # B's things: an invitation, a user, a webhook, a key, a relationship.
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r19@example.test"}, bkey)
    assert status == 201, inv
    assert srv.form_post(srv.mailed_link(inv["id"]), action="accept", consent="yes")[0] == 200
    (rel,) = srv.sql(f"SELECT id FROM relationships WHERE up_org_id = {b}")[0]
    status, user = srv.api("POST", "/api/v1/users",
                           {"email": "c19@example.test", "role": "sales_agent"}, bkey)
    assert status == 201, user
    status, hook = srv.api("POST", "/api/v1/webhooks",
                           {"url": "http://127.0.0.1:9/hook", "events": ["invitation.accepted"]},
                           bkey)
    assert status == 201, hook
    status, keys = srv.api("GET", "/api/v1/apikeys", key=bkey)
    bkey_id = keys["items"][0]["id"]
    missing = 999999
    routes = [("GET", "/api/v1/orgs/{}", None, b),
              ("GET", "/api/v1/orgs/{}/indirect-resellers", None, b),
              ("GET", "/api/v1/orgs/{}/customers", None, b),
              ("GET", "/api/v1/invitations/{}", None, inv["id"]),
              ("PATCH", "/api/v1/invitations/{}", {"subject": "x"}, inv["id"]),
              ("POST", "/api/v1/invitations/{}/revoke", None, inv["id"]),
              ("POST", "/api/v1/invitations/{}/resend", None, inv["id"]),
              ("POST", "/api/v1/relationships/{}/end", None, rel),
              ("PATCH", "/api/v1/users/{}", {"role": "admin_agent"}, user["id"]),
              ("DELETE", "/api/v1/users/{}", None, user["id"]),
              ("DELETE", "/api/v1/webhooks/{}", None, hook["id"]),
              ("GET", "/api/v1/webhooks/{}/deliveries", None, hook["id"]),
              ("DELETE", "/api/v1/apikeys/{}", None, bkey_id),
              ("GET", "/api/v1/events?org_id={}", None, b)]
    for method, path, body, theirs in routes:
        got = srv.api(method, path.format(theirs), body, akey)
        want = srv.api(method, path.format(missing), body, akey)
        assert got[0] >= 400 and got == want, (method, path, got, want)
    # A's key changed nothing of B's.
    assert srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=bkey)[1]["status"] == \
        "accepted"
    assert user["id"] in [u["id"] for u in srv.api("GET", "/api/v1/users", key=bkey)[1]["items"]]
    assert srv.api("GET", f"/api/v1/webhooks/{hook['id']}/deliveries", key=bkey)[0] == 200
    srv.cleanup()
