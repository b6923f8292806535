"""Resellers invite customers, alone or with one of their indirect
providers, on the real Postfix and Dovecot, with every page clicked in
Chromium, in English and Japanese; drafts, the lifecycle, the operator's
own templates, and who may touch what."""
import email.header
import os
import re
import shutil
import tempfile
import time
import urllib.parse

from lib import browser, mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def text_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def read_mail(user, words, timeout=60):
    """The newest mail to user whose decoded subject holds words: (msg, text)."""
    def match(raw):
        return words in subject(mailstack.parse_strict(raw))
    raw = [r for r in mailstack.imap_fetch(user, match, timeout=timeout) if match(r)][-1]
    msg = mailstack.parse_strict(raw)
    return msg, text_of(msg), raw


def raw_subject(raw):
    return re.search(rb"^Subject:(.*(?:\r?\n[ \t].*)*)", raw, re.M).group(1)


class Channel:
    """An approved provider and reseller, each with an admin key; the
    provider is the reseller's indirect provider when linked."""

    def __init__(self, srv, n, linked=True):
        self.srv = srv
        self.p_user, self.r_user = f"p{n}", f"r{n}"
        for u in (self.p_user, self.r_user):
            mailstack.imap_clear(u)
        self.provider = srv.org_create("provider", f"Northwind {n}", f"p{n}@example.test",
                                       contact_name="Paula Provider")
        self.reseller = srv.org_create("reseller", f"Contoso {n}", f"r{n}@example.test",
                                       contact_name="Rita Reseller")
        self.pkey = srv.apikey(self.provider)
        self.rkey = srv.apikey(self.reseller)
        if linked:
            self.link_provider()

    def link_provider(self):
        """The provider invites the reseller, which authorizes it."""
        status, inv = self.srv.api("POST", "/api/v1/invitations",
                                   {"kind": "indirect_provider",
                                    "email": f"{self.r_user}@example.test"}, self.pkey)
        assert status == 201, inv
        status, page = self.srv.form_post(self.srv.mailed_link(inv["id"]), consent="yes",
                                 action="accept")
        assert status == 200, page
        mailstack.imap_clear(self.p_user)
        mailstack.imap_clear(self.r_user)

    def invite(self, kind, email, **more):
        body = {"kind": kind, "email": email, **more}
        if kind == "reseller_with_provider":
            body.setdefault("provider_id", self.provider)
        status, inv = self.srv.api("POST", "/api/v1/invitations", body, self.rkey)
        assert status == 201, (status, inv)
        return inv

    def customers(self, org, key, query=""):
        status, body = self.srv.api("GET", f"/api/v1/orgs/{org}/customers{query}", key=key)
        assert status == 200, body
        return [(i["org"]["id"], i["org"]["legal_name"]) for i in body["items"]]


def rel_count(srv):
    return srv.sql("SELECT count(*) FROM relationships WHERE kind = 'reseller_of_record'")[0][0]


# ----------------------------------------------------------------- accept

def test_reseller_alone_accept_in_chromium_english():
    srv = Server.start()
    ch = Channel(srv, 10, linked=False)
    mailstack.imap_clear("c10")
    inv = ch.invite("reseller", "c10@example.test", name="Carla Customer",
                    message="Looking forward to working with you!")
    msg, text, _ = read_mail("c10", "Contoso 10 invites you")
    assert subject(msg) == "Contoso 10 invites you to make it your reseller"
    assert "Carla Customer" in text and "Looking forward" in text
    link = LINK_RE.search(text).group(1)
    assert inv["link"] is None, "the API never shows a mailed link"
    assert link not in inv["text"] and "[link]" in inv["text"], inv["text"]

    result = browser.run([
        {"goto": link},
        {"expect_text": "Make Contoso 10 your reseller"},
        {"expect_text": "manage your subscriptions, licenses and users"},
        {"expect_text": "Looking forward to working with you!"},
        {"check": "#consent"},
        {"click_text": "Accept"},                      # no organization name yet
        {"expect_text": "Enter your organization's legal name"},
        {"fill": ["#org_name", "Carla's Bakery Ltd"]},
        {"check": "#consent"},
        {"click_text": "Accept"},
        {"expect_text": "is now the reseller of record of Carla's Bakery Ltd"},
    ])
    assert result["steps"][5]["status"] == 400, result["steps"][5]
    assert result["steps"][9]["status"] == 200, result["steps"][9]

    custs = ch.customers(ch.reseller, ch.rkey)
    assert [name for _, name in custs] == ["Carla's Bakery Ltd"], custs
    status, body = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=ch.rkey)
    assert body["status"] == "accepted" and body["accepted_org_id"] == custs[0][0], body
    msg, text, _ = read_mail("r10", "accepted the invitation")
    assert "Carla's Bakery Ltd" in subject(msg) and "reseller of record" in text


def test_reseller_with_provider_accept_in_chromium_japanese():
    srv = Server.start()
    ch = Channel(srv, 11)
    mailstack.imap_clear("c11")
    inv = ch.invite("reseller_with_provider", "c11@example.test", name="山田 花子", locale="ja")
    msg, text, raw = read_mail("c11", "Contoso 11 と Northwind 11 からのご招待")
    rs = raw_subject(raw)
    assert rs.isascii() and b"=?utf-8?" in rs.lower(), rs
    assert msg.get_content_charset() in (None, "utf-8")
    assert "山田 花子" in text
    link = LINK_RE.search(text).group(1)

    result = browser.run([
        {"goto": link},
        {"expect_text": "Contoso 11 と Northwind 11 との契約"},
        {"expect_text": "貴社のサブスクリプション、ライセンス、ユーザーを管理"},
        {"expect_text": "貴社に代わって注文"},
        {"fill": ["#org_name", "山田商事株式会社"]},
        {"check": "#consent"},
        {"click_text": "承認する"},
        {"expect_text": "山田商事株式会社"},
    ])
    assert result["steps"][6]["status"] == 200, result["steps"][6]

    # Both tiers see the customer, and each sees it as shared with the other.
    want = ["山田商事株式会社"]
    assert [n for _, n in ch.customers(ch.reseller, ch.rkey)] == want
    assert [n for _, n in ch.customers(ch.provider, ch.pkey)] == want
    assert [n for _, n in ch.customers(ch.reseller, ch.rkey,
                                       f"?provider_id={ch.provider}")] == want
    assert [n for _, n in ch.customers(ch.provider, ch.pkey,
                                       f"?reseller_id={ch.reseller}")] == want
    assert rel_count(srv) == 2
    # Reseller and provider are both told.
    read_mail("r11", "accepted the invitation")
    read_mail("p11", "accepted the invitation")


def test_shared_list_leaves_out_customers_of_one_tier_only():
    srv = Server.start()
    ch = Channel(srv, 12)
    for user, kind in (("c12", "reseller"), ("c13", "reseller_with_provider")):
        inv = ch.invite(kind, f"{user}@example.test")
        status, page = srv.form_post(srv.mailed_link(inv["id"]), consent="yes",
                                 action="accept", org_name=f"Customer {user}")
        assert status == 200, page
    assert sorted(n for _, n in ch.customers(ch.reseller, ch.rkey)) == \
        ["Customer c12", "Customer c13"]
    assert [n for _, n in ch.customers(ch.reseller, ch.rkey,
                                       f"?provider_id={ch.provider}")] == ["Customer c13"]
    assert [n for _, n in ch.customers(ch.provider, ch.pkey)] == ["Customer c13"]
    # An existing customer (same contact address) is reused, not duplicated.
    inv = ch.invite("reseller", "c12@example.test")
    status, _, page = srv.http("GET", srv.mailed_link(inv["id"]))
    assert b'id="org_name"' not in page and b"Customer c12" in page
    assert srv.sql("SELECT count(*) FROM orgs WHERE kind = 'customer'") == [(2,)]


def test_reseller_with_provider_needs_an_active_relationship():
    srv = Server.start()
    ch = Channel(srv, 14, linked=False)
    status, err = srv.api("POST", "/api/v1/invitations",
                          {"kind": "reseller_with_provider", "email": "c14@example.test",
                           "provider_id": ch.provider}, ch.rkey)
    assert status == 404 and err["error"]["code"] == "not_found", err
    assert err["error"]["field"] == "provider_id", err
    # ... exactly as an id that is nobody's.
    status, missing = srv.api("POST", "/api/v1/invitations",
                              {"kind": "reseller_with_provider", "email": "c14@example.test",
                               "provider_id": 999999}, ch.rkey)
    assert (status, missing) == (404, err), missing
    status, err = srv.api("POST", "/api/v1/invitations",
                          {"kind": "reseller_with_provider", "email": "c14@example.test"},
                          ch.rkey)
    assert status == 422 and err["error"]["field"] == "provider_id", err
    status, err = srv.api("POST", "/api/v1/invitations",
                          {"kind": "reseller", "email": "c14@example.test"}, ch.pkey)
    assert status == 422 and err["error"]["field"] == "kind", err


def test_accept_each_kind_in_the_other_locale():
    """The two accept tests above cover reseller/en and reseller_with_provider/ja;
    these are the other two pairs."""
    srv = Server.start()
    ch = Channel(srv, 27)
    cases = [("c27", "reseller", "ja", "Contoso 27 からリセラー契約のご招待", "承認する",
              "Contoso 27 を登録リセラーにする"),
             ("c28", "reseller_with_provider", "en", "Contoso 27 and Northwind 27 invite you",
              "Accept", "Work with Contoso 27 and Northwind 27")]
    for user, kind, locale, subj, button, heading in cases:
        mailstack.imap_clear(user)
        ch.invite(kind, f"{user}@example.test", locale=locale)
        msg, text, _ = read_mail(user, subj)
        link = LINK_RE.search(text).group(1)
        result = browser.run([
            {"goto": link}, {"expect_text": heading},
            {"fill": ["#org_name", f"Customer {user}"]}, {"check": "#consent"},
            {"click_text": button}, {"expect_text": f"Customer {user}"},
        ])
        assert result["steps"][4]["status"] == 200, result["steps"][4]
    assert sorted(n for _, n in ch.customers(ch.reseller, ch.rkey)) == \
        ["Customer c27", "Customer c28"]
    assert [n for _, n in ch.customers(ch.provider, ch.pkey)] == ["Customer c28"]


# ---------------------------------------------------------------- decline

def test_decline_both_kinds_both_locales_in_chromium():
    srv = Server.start()
    ch = Channel(srv, 15)
    cases = [("c15", "reseller", "en", "Decline", "Invitation declined"),
             ("c16", "reseller_with_provider", "ja", "辞退する", "辞退"),
             ("c25", "reseller", "ja", "辞退する", "辞退"),
             ("c26", "reseller_with_provider", "en", "Decline", "Invitation declined")]
    for user, kind, locale, button, done in cases:
        mailstack.imap_clear(user)
        inv = ch.invite(kind, f"{user}@example.test", locale=locale)
        _, text, _ = read_mail(user, "Contoso 15")
        link = LINK_RE.search(text).group(1)
        result = browser.run([{"goto": link}, {"click_text": button},
                              {"expect_text": done}])
        assert result["steps"][1]["status"] == 200, result["steps"][1]
        status, body = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=ch.rkey)
        assert body["status"] == "declined", body
        msg, _, _ = read_mail("r15", "declined the invitation")
        assert f"{user}@example.test" in subject(msg)
        if kind == "reseller_with_provider":
            read_mail("p15", "declined the invitation")
        # declined once: the link is used
        status, _, page = srv.http("GET", link)
        assert status == 409 and b'data-code="used"' in page, status
    assert rel_count(srv) == 0
    assert srv.sql("SELECT count(*) FROM orgs WHERE kind = 'customer'") == [(0,)]


# ----------------------------------------------------------------- drafts

def test_draft_edit_then_send_or_hand_off():
    srv = Server.start()
    ch = Channel(srv, 17, linked=False)
    mailstack.imap_clear("c17")
    draft = ch.invite("reseller", "c17@example.test", name="Dora", delivery="draft")
    assert draft["status"] == "draft", draft
    assert draft["link"] in draft["text"] and draft["link"] in draft["html"].replace("&amp;", "&")
    assert draft["subject"] == "Contoso 17 invites you to make it your reseller"
    assert draft["messages"] == [], "a draft sends nothing"

    path = f"/api/v1/invitations/{draft['id']}"
    status, err = srv.api("PATCH", path, {"text": "Hi Dora, no link here."}, ch.rkey)
    assert status == 422 and err["error"]["field"] == "text", err
    assert "link" in err["error"]["message"], err
    # The link must stay a link of its own: not hidden inside another
    # address, nor run on into more characters.
    for hidden in (f"Accept: https://evil.example/go?next={draft['link']}",
                   f"Accept: https://evil.example/#{draft['link']}",
                   f"Accept: {draft['link']}evil",
                   f"Accept: {draft['link']}/../x",
                   f"www.evil.example/r?{draft['link']}",
                   f"Here: {draft['link']} or https://evil.example/?u={draft['link']}"):
        status, err = srv.api("PATCH", path, {"text": hidden}, ch.rkey)
        assert status == 422 and err["error"]["code"] == "link_required", (hidden, err)
        assert "a link of its own" in err["error"]["message"], err
    for fine in (f"({draft['link']})", f"Here: {draft['link']}.", f"<{draft['link']}>",
                 f"Accept: {draft['link']}\nAgain: {draft['link']}"):
        status, body = srv.api("PATCH", path, {"text": fine}, ch.rkey)
        assert status == 200, (fine, body)
    new_text = (f"Hi Dora,\n\nplease accept here: {draft['link']}\n\n"
                f"More about us: https://contoso.example/about\n\nRita")
    status, body = srv.api("PATCH", path, {"subject": "Dora, let us work together",
                                           "text": new_text}, ch.rkey)
    assert status == 200 and body["edited"] is True and body["text"] == new_text, body
    # Only our link is clickable in the HTML part; the inviter's other
    # address stays text.
    assert f'href="{draft["link"]}"' in body["html"], body["html"]
    assert 'href="https://contoso.example' not in body["html"], body["html"]
    assert "https://contoso.example/about" in body["html"]
    status, body = srv.api("POST", f"{path}/send", None, ch.rkey)
    assert status == 200 and body["status"] in ("queued", "sent"), body
    msg, text, _ = read_mail("c17", "Dora, let us work together")
    # The inviter has seen the draft's link: the mail carries a new one, in
    # the inviter's words, and the draft's link is dead.
    mailed = LINK_RE.search(text).group(1)
    assert mailed != draft["link"] and f"please accept here: {mailed}" in text, text
    assert body["link"] is None and "[link]" in body["text"], body
    status, _, page = srv.http("GET", draft["link"])
    assert status == 410 and b'data-code="revoked"' in page, status
    status, err = srv.api("PATCH", path, {"subject": "again"}, ch.rkey)
    assert status == 409, err

    # Handed off: the reseller mails it itself; the server sends nothing.
    other = ch.invite("reseller", "c18@example.test", delivery="draft")
    status, body = srv.api("POST", f"/api/v1/invitations/{other['id']}/handed-off", None,
                           ch.rkey)
    assert status == 200 and body["status"] == "handed_off" and body["messages"] == [], body
    status, _, page = srv.http("GET", other["link"])
    assert status == 200, "a handed-off link works"
    assert b'id="will-confirm"' in page, "and its accept asks the invitee to confirm"
    status, err = srv.api("POST", f"/api/v1/invitations/{other['id']}/send", None, ch.rkey)
    assert status == 409, err


# -------------------------------------------------------------- lifecycle

def test_list_filter_paginate_resend_revoke_expire():
    srv = Server.start(**{"server.sweep_interval": "1s"})
    ch = Channel(srv, 19, linked=False)
    ids = [ch.invite("reseller", f"u{7 + i}@example.test", delivery="draft")["id"]
           for i in range(5)]
    # newest first, two at a time
    seen, cursor = [], None
    while True:
        q = "/api/v1/invitations?status=draft&limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = srv.api("GET", q, key=ch.rkey)
        assert status == 200 and len(page["items"]) <= 2, page
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True), seen
    status, page = srv.api("GET", "/api/v1/invitations?status=accepted", key=ch.rkey)
    assert page["items"] == [], page
    status, err = srv.api("GET", "/api/v1/invitations?status=nonsense", key=ch.rkey)
    assert status == 400, err

    # resend: a draft has nothing to resend; a sent one gets a new link, the old dead
    status, err = srv.api("POST", f"/api/v1/invitations/{ids[0]}/resend", None, ch.rkey)
    assert status == 409, err
    assert srv.api("POST", f"/api/v1/invitations/{ids[0]}/send", None, ch.rkey)[0] == 200
    first = srv.mailed_link(ids[0])
    status, body = srv.api("POST", f"/api/v1/invitations/{ids[0]}/resend", None, ch.rkey)
    assert status == 200 and body["link"] is None, body
    second = srv.mailed_link(ids[0])
    assert second != first
    status, _, page = srv.http("GET", first)
    assert status == 410 and b'data-code="revoked"' in page
    assert srv.http("GET", second)[0] == 200

    # revoke: the link dies
    link1 = srv.api("GET", f"/api/v1/invitations/{ids[1]}", key=ch.rkey)[1]["link"]
    status, body = srv.api("POST", f"/api/v1/invitations/{ids[1]}/revoke", None, ch.rkey)
    assert status == 200 and body["status"] == "revoked" and body["link"] is None, body
    status, _, page = srv.http("GET", link1)
    assert status == 410 and b'data-code="revoked"' in page, (status, page[:300])
    status, err = srv.api("POST", f"/api/v1/invitations/{ids[1]}/revoke", None, ch.rkey)
    assert status == 409, err

    # expiry: move one invitation's deadline into the past; the sweeper marks it
    link2 = srv.api("GET", f"/api/v1/invitations/{ids[2]}", key=ch.rkey)[1]["link"]
    srv.sql_exec(f"UPDATE invitations SET expires_at = {int(time.time()) - 1} "
                 f"WHERE id = {ids[2]}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = srv.api("GET", f"/api/v1/invitations/{ids[2]}", key=ch.rkey)
        if body["status"] == "expired":
            break
        time.sleep(0.2)
    assert body["status"] == "expired", body
    status, _, page = srv.http("GET", link2)
    assert status == 410 and b'data-code="expired"' in page, (status, page[:300])


def test_default_lifetime_is_thirty_days_and_configurable():
    srv = Server.start()
    ch = Channel(srv, 20, linked=False)
    inv = ch.invite("reseller", "c20@example.test", delivery="draft")
    row = srv.sql(f"SELECT expires_at - created_at FROM invitations WHERE id = {inv['id']}")
    assert row == [(30 * 86400,)], row
    srv2 = Server.start(**{"tokens.invitation_lifetime": "7d"})
    ch2 = Channel(srv2, 21, linked=False)
    inv = ch2.invite("reseller", "c21@example.test", delivery="draft")
    row = srv2.sql(f"SELECT expires_at - created_at FROM invitations WHERE id = {inv['id']}")
    assert row == [(7 * 86400,)], row


def test_operator_templates_folder():
    folder = tempfile.mkdtemp(prefix="invited-tpl-")
    shutil.copytree("templates", os.path.join(folder, "templates"))
    subj = os.path.join(folder, "templates", "en", "mail", "invitation_reseller.subject")
    with open(subj, "w") as f:
        f.write("A word from {{inviter}}, our own template\n")
    srv = Server.start(**{"mail.templates": os.path.join(folder, "templates")})
    ch = Channel(srv, 22, linked=False)
    mailstack.imap_clear("c22")
    ch.invite("reseller", "c22@example.test")
    msg, _, _ = read_mail("c22", "our own template")
    assert subject(msg) == "A word from Contoso 22, our own template"
    shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------- authorization

def test_every_route_is_the_inviters_alone():
    srv = Server.start()
    ch = Channel(srv, 23)
    other = srv.org_create("reseller", "Stranger Resellers", "r24@example.test")
    okey = srv.apikey(other)
    sales = srv.apikey(ch.reseller, role="sales_agent")
    inv = ch.invite("reseller", "c23@example.test", delivery="draft")
    i = inv["id"]
    routes = [("GET", f"/api/v1/invitations/{i}", None),
              ("PATCH", f"/api/v1/invitations/{i}", {"subject": "x"}),
              ("POST", f"/api/v1/invitations/{i}/send", None),
              ("POST", f"/api/v1/invitations/{i}/handed-off", None),
              ("POST", f"/api/v1/invitations/{i}/resend", None),
              ("POST", f"/api/v1/invitations/{i}/revoke", None),
              ("GET", f"/api/v1/orgs/{ch.reseller}/customers", None),
              ("GET", f"/api/v1/orgs/{ch.reseller}/customers?provider_id={ch.provider}", None),
              ("GET", f"/api/v1/orgs/{ch.provider}/customers?reseller_id={ch.reseller}", None),
              ("GET", f"/api/v1/orgs/{ch.reseller}/indirect-providers", None),
              ("GET", f"/api/v1/orgs/{ch.provider}/indirect-resellers", None),
              ("GET", f"/api/v1/orgs/{ch.reseller}", None)]
    for method, path, body in routes:
        status, err = srv.api(method, path, body, okey)
        assert status == 404, (method, path, status, err)
        status, err = srv.api(method, path, body)
        assert status == 401, (method, path, status, err)
    # the stranger's list holds none of it
    status, page = srv.api("GET", "/api/v1/invitations", key=okey)
    assert status == 200 and page["items"] == [], page
    # a sales agent reads but does not act
    assert srv.api("GET", f"/api/v1/invitations/{i}", key=sales)[0] == 200
    assert srv.api("GET", f"/api/v1/orgs/{ch.reseller}/customers", key=sales)[0] == 200
    for method, path, body in routes[1:6] + [("POST", "/api/v1/invitations",
                                              {"kind": "reseller",
                                               "email": "c23@example.test"})]:
        status, err = srv.api(method, path, body, sales)
        assert status == 403, (method, path, status, err)
    # the provider named in a reseller_with_provider invitation does not see it
    rwp = ch.invite("reseller_with_provider", "c24@example.test", delivery="draft")
    for inv_id in (rwp["id"], i):
        assert srv.api("GET", f"/api/v1/invitations/{inv_id}", key=ch.pkey)[0] == 404
    # and nothing was changed by any refused call
    status, body = srv.api("GET", f"/api/v1/invitations/{i}", key=ch.rkey)
    assert body["status"] == "draft" and body["edited"] is False, body
