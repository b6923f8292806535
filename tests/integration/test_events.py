"""Events and reminders on the real mail stack: a sent invitation's one
reminder arrives in Dovecot before the invitation expires, with the same
link; the event log shows each change to the organization it concerns
(GET /api/v1/events, `invited audit`); a relationship ends through the API,
for both sides."""
import re
import time

from lib import mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def mail_with(user, marker, timeout=60):
    raw = mailstack.imap_fetch(user, lambda r: marker in r, timeout=timeout)[-1]
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
    # Both contacts hear of it.
    mail_with("p49", b"Contoso Events")
    mail_with("r49", b"Northwind Events")
    # The operator reads everything, or one organization's; the CLI too.
    op = srv.apikey(None, role="operator")
    all_types = [e["type"] for e in events(srv, op, limit=500)["items"]]
    assert "relationship.ended" in all_types and "apikey.created" in all_types
    one = events(srv, op, org_id=other)["items"]
    assert {e["org_id"] for e in one} <= {other}, one
    audit = srv.cli("audit", "--org", str(reseller)).stdout
    assert re.search(rf"\trelationship\.ended\trelationship:{rel}\t", audit), audit
    srv.stop()
