"""Events and reminders on the real mail stack: a sent invitation's one
reminder arrives in Dovecot before the invitation expires, with the same
link; the event log shows each change to the organization it concerns
(GET /api/v1/events, `invited audit`); a relationship ends through the API,
for both sides; API keys are listed and revoked by API and CLI; an expired
link's page asks the inviter for a new link, once a day."""
import re
import time

from lib import mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def decoded(raw):
    """Subject and plain text of a raw message, decoded: a marker in the
    raw bytes may be folded or quoted-printable-broken."""
    import email
    import email.policy
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(("plain",))
    return str(msg["Subject"]) + "\n" + (body.get_content() if body else "")


def mail_with(user, marker, timeout=60):
    want = marker.decode() if isinstance(marker, bytes) else marker
    raw = mailstack.imap_match(user, lambda r: want in decoded(r), timeout=timeout)
    msg = mailstack.parse_strict(raw)
    return msg, msg.get_body(("plain",)).get_content()


def events(srv, key, since=0, **q):
    query = "&".join([f"since={since}"] + [f"{k}={v}" for k, v in q.items()])
    status, page = srv.api("GET", f"/api/v1/events?{query}", key=key)
    assert status == 200, page
    return page


def test_a_sent_invitation_is_reminded_once_before_it_expires():
    # The reminder is due as soon as the invitation is out: 115 s before
    # an expiry 120 s away.
    srv = Server.start(**{"tokens.invitation_lifetime": "120s",
                          "tokens.reminder_before": "115s",
                          "server.sweep_interval": "1s"})
    for u in ("p47", "r47"):
        mailstack.imap_clear(u)
    provider = srv.org_create("provider", "Northwind Reminders", "p47@example.test")
    key = srv.apikey(provider)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r47@example.test"}, key)
    assert status == 201, inv
    _, first = mail_with("r47", b"Northwind Reminders invites")
    link = LINK_RE.findall(first)[0]
    msg, text = mail_with("r47", b"Reminder:")
    assert "Northwind Reminders" in msg["Subject"], msg["Subject"]
    assert LINK_RE.findall(text)[0] == link, "the reminder carries the same link"
    assert msg["Auto-Submitted"] is None or msg["Auto-Submitted"] == "auto-generated"
    # Once: another sweep or two sends nothing more.
    time.sleep(3)
    assert mailstack.imap_count("r47") == 2, "one invitation, one reminder"
    assert srv.sql(f"SELECT status, reminded_at IS NOT NULL FROM invitations "
                   f"WHERE id = {inv['id']}") == [("sent", 1)]
    # The link still works, and the event log tells the story in order.
    assert srv.http("GET", link)[0] == 200
    names = [e["type"] for e in events(srv, key)["items"]
             if e["subject"] == f"invitation:{inv['id']}"]
    assert names == ["invitation.created", "invitation.sent", "invitation.reminded"], names
    srv.stop()


def test_reminders_can_be_off():
    p = Server.start(**{"tokens.reminder_before": "0", "server.sweep_interval": "1s"})
    provider = p.org_create("provider", "Northwind Quiet", "p48@example.test")
    key = p.apikey(provider)
    status, inv = p.api("POST", "/api/v1/invitations",
                        {"kind": "indirect_provider", "email": "r48@example.test"}, key)
    assert status == 201, inv
    time.sleep(3)
    assert p.sql("SELECT count(*) FROM outbox WHERE kind = 'reminder'") == [(0,)]
    p.stop()


def test_events_are_each_organizations_own_and_ending_a_relationship_is_one_for_both():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind Events", "p49@example.test")
    reseller = srv.org_create("reseller", "Contoso Events", "r49@example.test")
    other = srv.org_create("reseller", "Fabrikam Events", "c49@example.test")
    pkey, rkey, okey = srv.apikey(provider), srv.apikey(reseller), srv.apikey(other)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r49@example.test"}, pkey)
    assert status == 201, inv
    status, _ = srv.form_post(srv.mailed_link(inv["id"]), consent="yes", action="accept")
    assert status == 200
    page = events(srv, pkey)
    types = [e["type"] for e in page["items"]]
    assert "invitation.created" in types and "invitation.accepted" in types, types
    assert "relationship.created" in types, types
    assert all(e["org_id"] == provider or e["peer_org_id"] == provider
               for e in page["items"]), page
    # The other side sees the relationship, not the provider's invitation.
    rtypes = [e["type"] for e in events(srv, rkey)["items"]]
    assert "relationship.created" in rtypes and "invitation.created" not in rtypes, rtypes
    # A stranger sees none of it; and cannot read another's.
    assert not [e for e in events(srv, okey)["items"] if e["type"].startswith("relationship")]
    status, err = srv.api("GET", f"/api/v1/events?org_id={provider}", key=okey)
    assert status == 400, err
    # Polling: next_since gives only what is new (the mails going out may
    # add message.sent meanwhile).
    since = page["next_since"]
    assert since == page["items"][-1]["id"], page
    assert all(e["id"] > since for e in events(srv, pkey, since=since)["items"])
    for q, field in (("since=x", "since"), ("limit=0", "limit"), ("limit=501", "limit")):
        status, err = srv.api("GET", f"/api/v1/events?{q}", key=pkey)
        assert status == 400 and err["error"]["field"] == field, (q, err)
    sales = srv.apikey(provider, role="sales_agent")
    assert srv.api("GET", "/api/v1/events", key=sales)[0] == 403

    # End it by id: not a stranger (404), the reseller may; then 409.
    rel = srv.sql("SELECT id FROM relationships WHERE active = 1")[0][0]
    assert srv.api("POST", f"/api/v1/relationships/{rel}/end", {}, okey)[0] == 404
    assert srv.api("GET", f"/api/v1/relationships/{rel}/end", key=rkey)[0] == 405
    status, body = srv.api("POST", f"/api/v1/relationships/{rel}/end", {}, rkey)
    assert status == 200 and body["status"] == "ended", body
    status, err = srv.api("POST", f"/api/v1/relationships/{rel}/end", {}, rkey)
    assert status == 409, err
    new = [e for e in events(srv, pkey, since=since)["items"]
           if not e["type"].startswith(("message.", "apikey."))]
    assert [e["type"] for e in new] == ["relationship.ended"], new
    assert new[0]["org_id"] == provider and new[0]["peer_org_id"] == reseller, new
    # Both contacts hear of it (the invitation's own mail may never have
    # gone: accepting cancels the invitee's mail still queued).
    _, text = mail_with("p49", b"ended the relationship")
    assert "Contoso Events" in text and "Northwind Events" in text, text
    _, text = mail_with("r49", b"ended the relationship")
    assert "Contoso Events" in text and "Northwind Events" in text, text
    # The operator reads everything, or one organization's; the CLI too.
    op = srv.apikey(None, role="operator")
    all_types = [e["type"] for e in events(srv, op, limit=500)["items"]]
    assert "relationship.ended" in all_types and "apikey.created" in all_types
    one = events(srv, op, org_id=other)["items"]
    assert {e["org_id"] for e in one} <= {other}, one
    audit = srv.cli("audit", "--org", str(reseller)).stdout
    assert re.search(rf"\trelationship\.ended\trelationship:{rel}\t", audit), audit
    srv.stop()


def test_api_keys_are_listed_and_revoked_by_api_and_cli():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind Keys", "p42@example.test")
    other = srv.org_create("reseller", "Contoso Keys", "r42@example.test")
    admin, sales, stranger = (srv.apikey(provider), srv.apikey(provider, role="sales_agent"),
                              srv.apikey(other))
    status, page = srv.api("GET", "/api/v1/apikeys", key=admin)
    assert status == 200 and len(page["items"]) == 2, page
    assert all(set(k) == {"id", "key_id", "role", "label", "created_at"} for k in page["items"])
    assert srv.api("GET", "/api/v1/apikeys", key=sales)[0] == 403
    sales_id = [k["id"] for k in page["items"] if k["role"] == "sales_agent"][0]
    assert srv.api("DELETE", f"/api/v1/apikeys/{sales_id}", key=stranger)[0] == 404
    assert srv.api("POST", "/api/v1/apikeys", {}, key=admin)[0] == 405
    assert srv.api("GET", "/api/v1/invitations", key=sales)[0] == 200
    assert srv.api("DELETE", f"/api/v1/apikeys/{sales_id}", key=admin)[0] == 204
    assert srv.api("GET", "/api/v1/invitations", key=sales)[0] == 401
    assert srv.api("DELETE", f"/api/v1/apikeys/{sales_id}", key=admin)[0] == 404
    # The CLI lists and revokes the same way.
    lines = srv.cli("apikey", "list", "--org", str(provider)).stdout.splitlines()
    assert len(lines) == 1 and "\tadmin_agent\t" in lines[0], lines
    admin_id = lines[0].split("\t")[0]
    p = srv.cli("apikey", "revoke", "999", "--org", str(provider), check=False)
    assert p.returncode != 0 and "no live key 999" in p.stderr, p.stderr
    p = srv.cli("apikey", "revoke", admin_id, "--org", str(other), check=False)
    assert p.returncode != 0, "not that organization's key"
    assert srv.cli("apikey", "revoke", admin_id, "--org", str(provider)).stdout.strip() == \
        f"{admin_id}\trevoked"
    assert srv.api("GET", "/api/v1/apikeys", key=admin)[0] == 401
    assert srv.cli("apikey", "list", check=False).returncode != 0
    audit = srv.cli("audit", "--org", str(provider)).stdout
    assert audit.count("\tapikey.revoked\t") == 2, audit
    srv.stop()


def test_an_expired_link_asks_the_inviter_for_a_new_one():
    import urllib.parse
    from lib import tokens
    srv = Server.start()
    mailstack.imap_clear("p36")
    provider = srv.org_create("provider", "Northwind Expired", "p36@example.test")
    key = srv.apikey(provider)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r36@example.test"}, key)
    assert status == 201, inv
    live = srv.mailed_link(inv["id"])
    [(jti,)] = srv.sql(f"SELECT jti FROM invitations WHERE id = {inv['id']}")
    # The same link, signed by the server's key, an hour past its time.
    expired = f"{srv.public_url}/l/" + tokens.sign(tokens.signing_key_file(srv),
                                                   srv.public_url, "indirect_provider", -3600,
                                                   jti)
    status, headers, page = srv.http("GET", expired)
    assert status == 410 and b'id="ask"' in page and b"Northwind Expired" in page, page[:500]
    cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    # A forged one (another key) gets the plain page, naming nobody.
    forged = tokens.sign(None, srv.public_url, "indirect_provider", -3600, jti)
    status, _, page = srv.http("GET", f"{srv.public_url}/l/{forged}")
    assert status != 200 and b'id="ask"' not in page and b"Northwind" not in page

    def ask(link):
        return srv.http("POST", link, urllib.parse.urlencode({"csrf": csrf, "action": "ask"}),
                        {"Content-Type": "application/x-www-form-urlencoded",
                         "Cookie": cookie})

    status, _, page = ask(expired)
    assert status == 200 and b'data-code="new_link_asked"' in page, (status, page[:500])
    msg, text = mail_with("p36", b"asks for a new invitation link")
    assert f"/console/invitations/{inv['id']}" in text, text
    # Asked again: the same answer, no second mail.
    status, _, page = ask(expired)
    assert status == 200 and b'data-code="new_link_asked"' in page
    assert srv.sql(f"SELECT count(*) FROM events WHERE name = 'invitation.new_link_requested'"
                   f" AND subject = 'invitation:{inv['id']}'") == [(1,)]
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'notice'"
                   " AND rcpt = 'p36@example.test'") == [(1,)]
    # A live link is for answering, not for asking; without the form's
    # field nothing is asked.
    status, _, _ = srv.http("POST", live, urllib.parse.urlencode({"csrf": csrf, "action": "ask"}),
                            {"Content-Type": "application/x-www-form-urlencoded",
                             "Cookie": cookie})
    assert status in (400, 403), status
    status, _, _ = srv.http("POST", expired, "action=ask",
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403, status
    # A link a resend replaced says "revoked" while alive and names no one
    # when expired: only the newest mail's link may ask.
    assert srv.api("POST", f"/api/v1/invitations/{inv['id']}/resend", None, key)[0] == 200
    status, _, page = srv.http("GET", expired)
    assert status == 410 and b'id="ask"' not in page and b"Northwind" not in page, page[:400]
    [(jti2,)] = srv.sql(f"SELECT jti FROM invitations WHERE id = {inv['id']}")
    expired2 = f"{srv.public_url}/l/" + tokens.sign(tokens.signing_key_file(srv),
                                                    srv.public_url, "indirect_provider",
                                                    -3600, jti2)
    assert b'id="ask"' in srv.http("GET", expired2)[2]
    # Once revoked there is no one to ask.
    assert srv.api("POST", f"/api/v1/invitations/{inv['id']}/revoke", None, key)[0] == 200
    status, _, page = srv.http("GET", expired2)
    assert b'id="ask"' not in page
    srv.stop()
