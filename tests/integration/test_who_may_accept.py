"""Who may accept (SPEC "Who may accept"): holding a link is never enough.
Each attack found in review is tried as the hostile inviter would, through
the public API and the pages, and changes nothing; each legitimate path
(the invitee who owns the address) still accepts, in Chromium, with the
confirmation read from Dovecot."""
import re

from lib import browser, mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def users(*names):
    """Mailboxes of the test stack for these cases, empty."""
    for name in names:
        mailstack.imap_clear(name)


def code_of(page):
    m = re.search(r'data-code="([a-z_]+)"', page)
    return m.group(1) if m else None


def relationships(srv):
    return srv.sql("SELECT kind, up_org_id, down_org_id FROM relationships ORDER BY id")


def confirm_link(user, words):
    """The confirmation link in the newest confirmation mail to user."""
    raw = mailstack.imap_fetch(user, lambda r: b"Confirm" in r and words in r, timeout=60)
    msg = mailstack.parse_strict([r for r in raw if words in r][-1])
    assert msg["Auto-Submitted"] == "auto-generated", msg["Auto-Submitted"]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return LINK_RE.search(text).group(1)


def test_a_draft_link_never_binds_a_reseller_by_its_domain():
    """The provider drafts an invitation to a made-up address at an approved
    reseller's domain, reads the link and accepts it itself: the page names
    whom to ask, and no relationship appears. A sales agent never sees the
    link."""
    srv = Server.start()
    users("r40", "u40")
    provider = srv.org_create("provider", "Northwind 40", "p40@example.test")
    reseller = srv.org_create("reseller", "Contoso 40", "r40@example.test",
                              contact_name="Rita Reseller", domain="example.test")
    key, sales = srv.apikey(provider), srv.apikey(provider, role="sales_agent")
    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "indirect_provider", "email": "ceo@example.test",
                             "delivery": "draft"}, key)
    assert status == 201 and draft["link"], draft
    status, seen = srv.api("GET", f"/api/v1/invitations/{draft['id']}", key=sales)
    assert status == 200 and seen["link"] is None, seen
    assert draft["link"] not in seen["text"] and "[link]" in seen["text"], seen["text"]

    status, _, page = srv.http("GET", draft["link"])
    assert status == 403 and code_of(page.decode()) == "not_admin", (status, page[:500])
    # It names the organization, not its contact: a draft's link is the
    # inviter's, and the contact's name is not the inviter's to learn.
    assert b"Contoso 40" in page and b"Rita Reseller" not in page
    csrf_less = srv.http("POST", draft["link"], "action=accept&consent=yes",
                         {"Content-Type": "application/x-www-form-urlencoded"})
    assert csrf_less[0] == 403, csrf_less[0]
    assert relationships(srv) == []

    # The same address mailed: the colleague at the reseller is told whom to ask.
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "u40@example.test"}, key)
    assert status == 201 and inv["link"] is None, inv
    result = browser.run([{"goto": srv.mailed_link(inv["id"])},
                          {"expect_text": "Ask Rita Reseller"}])
    assert result["steps"][0]["status"] == 403, result["steps"][0]
    assert relationships(srv) == []
    [(status,)] = srv.sql(f"SELECT status FROM invitations WHERE id = {inv['id']}")
    assert status in ("queued", "sent"), status


def test_a_seen_link_asks_the_invitee_to_confirm_by_mail():
    """A draft's link accepted by whoever holds it only mails the invitee a
    confirmation; the reseller's contact reads it in Dovecot, confirms in
    Chromium, and only then is the provider authorized."""
    srv = Server.start()
    users("r41")
    provider = srv.org_create("provider", "Northwind 41", "p41@example.test")
    reseller = srv.org_create("reseller", "Contoso 41", "r41@example.test")
    key = srv.apikey(provider)
    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "indirect_provider", "email": "r41@example.test",
                             "delivery": "draft"}, key)
    assert status == 201, draft
    status, _, page = srv.http("GET", draft["link"])
    assert status == 200 and b'id="will-confirm"' in page

    # The inviter, holding the link, accepts: nothing is bound.
    for _ in range(3):
        status, page = srv.form_post(draft["link"], action="accept", consent="yes")
        assert status == 202 and code_of(page) == "confirm_sent", (status, page[:500])
        assert "r41@example.test" in page
    assert relationships(srv) == []
    # Three posts, one mail: the form is no mail cannon.
    assert srv.sql(f"SELECT count(*) FROM outbox WHERE kind = 'confirm'"
                   f" AND invitation_id = {draft['id']}") == [(1,)]
    status, body = srv.api("GET", f"/api/v1/invitations/{draft['id']}", key=key)
    assert body["status"] == "draft", body

    link = confirm_link("r41", b"Northwind 41")
    assert link != draft["link"]
    result = browser.run([
        {"goto": link},
        {"expect_text": "Authorize Northwind 41 as an indirect provider"},
        {"check": "#consent"},
        {"click_text": "Authorize indirect provider"},
        {"expect_text": "has authorized"},
    ])
    assert result["steps"][3]["status"] == 200, result["steps"][3]
    assert relationships(srv) == [("indirect_provider", provider, reseller)]
    status, body = srv.api("GET", f"/api/v1/invitations/{draft['id']}", key=key)
    assert body["status"] == "accepted" and body["accepted_org_id"] == reseller, body
    # Used: neither link works again.
    for used in (link, draft["link"]):
        status, _, page = srv.http("GET", used)
        assert status == 409 and code_of(page.decode()) == "used", (status, used)


def test_a_reseller_cannot_take_another_resellers_customer():
    """Reseller B invites the contact address of reseller A's customer,
    hands the draft off and accepts it itself: only a confirmation goes to
    the customer, and B is not its reseller of record. The customer, who
    owns the address, may still say yes."""
    srv = Server.start()
    users("c42")
    a = srv.org_create("reseller", "Contoso 42", "r42@example.test")
    b = srv.org_create("reseller", "Fabrikam 42", "r43@example.test")
    akey, bkey = srv.apikey(a), srv.apikey(b)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "reseller", "email": "c42@example.test"}, akey)
    status, page = srv.form_post(srv.mailed_link(inv["id"]), action="accept",
                             consent="yes", org_name="Carla's Bakery 42")
    assert status == 200, page[:500]
    [(customer,)] = srv.sql("SELECT id FROM orgs WHERE kind = 'customer'")
    mailstack.imap_clear("c42")

    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "reseller", "email": "c42@example.test",
                             "delivery": "draft"}, bkey)
    assert status == 201, draft
    status, body = srv.api("POST", f"/api/v1/invitations/{draft['id']}/handed-off", None, bkey)
    assert status == 200 and body["link"] == draft["link"], body
    status, page = srv.form_post(draft["link"], action="accept", consent="yes")
    assert status == 202 and code_of(page) == "confirm_sent", (status, page[:500])
    assert relationships(srv) == [("reseller_of_record", a, customer)]

    link = confirm_link("c42", b"Fabrikam 42")
    result = browser.run([{"goto": link}, {"expect_text": "Carla's Bakery 42"},
                          {"check": "#consent"}, {"click_text": "Accept"},
                          {"expect_text": "is now the reseller of record"}])
    assert result["steps"][3]["status"] == 200, result["steps"][3]
    assert relationships(srv) == [("reseller_of_record", a, customer),
                                  ("reseller_of_record", b, customer)]


def test_a_suspended_inviter_cannot_send_and_its_links_do_not_redeem():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 44", "p44@example.test")
    reseller = srv.org_create("reseller", "Contoso 44", "r44@example.test")
    key = srv.apikey(provider)
    status, sent = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "r44@example.test"}, key)
    assert status == 201, sent
    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "indirect_provider", "email": "r44@example.test",
                             "delivery": "draft"}, key)
    link = srv.mailed_link(sent["id"])
    srv.cli("org", "suspend", str(provider), "--reason", "unpaid invoices")

    result = browser.run([{"goto": link}, {"expect_text": "Northwind 44 cannot invite"}])
    assert result["steps"][0]["status"] == 403, result["steps"][0]
    status, _, page = srv.http("GET", link)
    assert status == 403 and code_of(page.decode()) == "inviter_inactive", status
    status, _, page = srv.http("POST", link, "action=accept&consent=yes",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (403,), status
    for verb, inv in (("send", draft), ("handed-off", draft), ("resend", sent)):
        status, err = srv.api("POST", f"/api/v1/invitations/{inv['id']}/{verb}", None, key)
        assert status == 403 and err["error"]["code"] == "org_not_approved", (verb, status, err)
        assert "suspended" in err["error"]["message"], err
    status, err = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r44@example.test"}, key)
    assert status == 403, err
    assert relationships(srv) == []
    assert srv.sql(f"SELECT status FROM invitations WHERE id = {draft['id']}") == [("draft",)]
    # Reinstated, the same link works again: it was never spent.
    srv.cli("org", "approve", str(provider))
    status, page = srv.form_post(link, action="accept", consent="yes")
    assert status == 200, page[:500]
    assert relationships(srv) == [("indirect_provider", provider, reseller)]


def test_shared_customers_only_with_a_partner_of_the_caller():
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 45", "p45@example.test")
    stranger = srv.org_create("provider", "Stranger 45", "p46@example.test")
    reseller = srv.org_create("reseller", "Contoso 45", "r45@example.test")
    other = srv.org_create("reseller", "Fabrikam 45", "r46@example.test")
    pkey, rkey = srv.apikey(provider), srv.apikey(reseller)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r45@example.test"}, pkey)
    assert srv.form_post(srv.mailed_link(inv["id"]), action="accept",
                     consent="yes")[0] == 200
    ok = srv.api("GET", f"/api/v1/orgs/{reseller}/customers?provider_id={provider}", key=rkey)
    assert ok[0] == 200, ok
    ok = srv.api("GET", f"/api/v1/orgs/{provider}/customers?reseller_id={reseller}", key=pkey)
    assert ok[0] == 200, ok
    for org, q, k in ((reseller, f"provider_id={stranger}", rkey),
                      (provider, f"reseller_id={other}", pkey)):
        status, err = srv.api("GET", f"/api/v1/orgs/{org}/customers?{q}", key=k)
        assert status == 404 and err["error"]["code"] == "not_found", (q, status, err)
        # ... exactly as an id that is nobody's.
        missing = srv.api("GET", f"/api/v1/orgs/{org}/customers?{q.split('=')[0]}=999999",
                          key=k)
        assert missing == (status, err), (q, missing, err)


def test_a_retired_key_stops_verifying_without_a_signal():
    """`invited keys rotate` then `retire` the old key: within seconds the
    running server refuses the old key's links (unknown_key) and signs new
    ones with the new key. No SIGHUP is sent."""
    import json
    import time
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 47", "p47@example.test")
    srv.org_create("reseller", "Contoso 47", "r47@example.test")
    key = srv.apikey(provider)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r47@example.test"}, key)
    old_link = srv.mailed_link(inv["id"])
    old_kid = json.loads(srv.cli("token", "verify", old_link.rsplit("/l/", 1)[1]).stdout)["kid"]
    assert srv.http("GET", old_link)[0] == 200
    new_kid = srv.cli("keys", "rotate").stdout.strip()
    srv.cli("keys", "retire", old_kid)
    deadline = time.monotonic() + 10
    while True:
        status, _, page = srv.http("GET", old_link)
        if status == 403:
            break
        assert time.monotonic() < deadline, f"the retired key still verifies ({status})"
        time.sleep(0.2)
    assert code_of(page.decode()) == "unknown_key", page[:400]
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r47@example.test"}, key)
    new_link = srv.mailed_link(inv["id"])
    claims = json.loads(srv.cli("token", "verify", new_link.rsplit("/l/", 1)[1]).stdout)
    assert claims["kid"] == new_kid, (claims, new_kid)
    assert srv.http("GET", new_link)[0] == 200
    status, _, keys = srv.http("GET", "/.well-known/invited/keys")
    assert new_kid.encode() in keys and old_kid.encode() not in keys, keys[:400]


def test_invitations_are_rate_limited_per_organization_and_per_recipient():
    """Invitations created, sent and resent count against the organization;
    those mailed also against the recipient address, across organizations.
    Over either limit: 429 with Retry-After, nothing created or queued, and
    no word on which limit (nor that the address is being invited)."""
    import json
    srv = Server.start(**{"invitations.org_rate_limit": "5",
                          "invitations.recipient_rate_limit": "2"})
    provider = srv.org_create("provider", "Northwind 48", "p48@example.test")
    other = srv.org_create("provider", "Fabrikam 48", "p49@example.test")
    key, okey = srv.apikey(provider), srv.apikey(other)

    def invite(k, email, **more):
        body = json.dumps({"kind": "indirect_provider", "email": email, **more})
        status, headers, out = srv.http("POST", "/api/v1/invitations", body,
                                        {"Authorization": f"Bearer {k}",
                                         "Content-Type": "application/json"})
        return status, headers, json.loads(out)

    # Drafts mail no one: they do not use up the address for others.
    for _ in range(3):
        assert invite(okey, "r48@example.test", delivery="draft")[0] == 201
    first = invite(key, "r48@example.test")[2]
    assert invite(okey, "R48@example.test")[0] == 201  # the same address, lower-cased
    status, headers, err = invite(key, "r48@example.test")
    assert status == 429 and err["error"]["code"] == "rate_limited", (status, err)
    assert "r48" not in err["error"]["message"] and "address" not in err["error"]["message"]
    assert int(headers["retry-after"]) >= 1, headers
    # A resend mails it again: refused too, and the outbox is left as it was.
    queued = srv.sql(f"SELECT count(*) FROM outbox WHERE invitation_id = {first['id']}")
    status, err = srv.api("POST", f"/api/v1/invitations/{first['id']}/resend", None, key)
    assert status == 429, (status, err)
    assert srv.sql(f"SELECT count(*) FROM outbox WHERE invitation_id = {first['id']}") == queued
    # The organization's own limit, 5 tries an hour: the next is refused
    # whatever the address.
    assert invite(key, "r49@example.test")[0] == 201
    assert invite(key, "r50@example.test")[0] == 201
    status, _, err = invite(key, "r51@example.test")
    assert status == 429, (status, err)
    assert srv.sql("SELECT count(*) FROM invitations") == [(7,)]


def test_confirmations_are_limited_per_address():
    """Many drafts to one address, each accepted by whoever holds its link:
    at most CONFIRM_MAILS_PER_ADDRESS (5) confirmation mails reach that
    address in an hour, and every answer is the same "check your mail"."""
    srv = Server.start()
    users("r46")
    provider = srv.org_create("provider", "Northwind 46", "p46@example.test")
    srv.org_create("reseller", "Contoso 46", "r46@example.test")
    key = srv.apikey(provider)
    for _ in range(7):
        status, draft = srv.api("POST", "/api/v1/invitations",
                                {"kind": "indirect_provider", "email": "r46@example.test",
                                 "delivery": "draft"}, key)
        assert status == 201, draft
        status, page = srv.form_post(draft["link"], action="accept", consent="yes")
        assert status == 202 and code_of(page) == "confirm_sent", (status, page[:300])
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'confirm'"
                   " AND rcpt = 'r46@example.test'") == [(5,)]
    assert relationships(srv) == []
