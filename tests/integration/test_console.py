"""The partner console, end to end, in Chromium, with every mail read from
Dovecot over IMAP: a provider's admin signs in by the mailed link and
invites a reseller; the reseller's contact signs in and authorizes it;
the reseller invites a customer with its provider through the draft
review (Copy, then Done); the customer accepts through the confirmation
mail; both View customers lists show it. And the rules around it: a sales
agent cannot invite, a session of one organization cannot open another's
pages, every page passes axe-core in both locales, Japanese renders in
real glyphs."""
import os
import re
import urllib.parse

from lib import browser, mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def shots_dir():
    """Screenshots go to the build folder, for the closing note."""
    d = os.path.join(os.path.abspath(os.environ.get("INVITED_BUILD_DIR", "build")),
                     "screenshots")
    os.makedirs(d, exist_ok=True)
    return d


def body_text(raw):
    msg = mailstack.parse_strict(raw)
    return msg.get_body(preferencelist=("plain",)).get_content()


def mailed(user, marker, subject=None):
    """The newest mail in user's inbox whose text has marker (and whose
    subject has subject), as text."""
    def match(raw):
        return marker in body_text(raw) and (
            subject is None or subject in str(mailstack.parse_strict(raw)["Subject"]))
    return [body_text(r) for r in mailstack.imap_fetch(user, match) if match(r)][-1]


def signin_link(srv, user, address):
    """Ask for a sign-in link as a person would, and read it from the
    mailbox."""
    mailstack.imap_clear(user)
    status, page = srv.form_post(f"{srv.public_url}/console", email=address)
    assert status == 200 and 'data-code="signin_sent"' in page, status
    text = mailed(user, "/l/", "Your sign-in link") if user != "r41" else \
        mailed(user, "/l/", "サインイン")
    return LINK_RE.search(text).group(1)


def signed_in(srv, user, address):
    """Browser steps that sign in with a fresh mailed link."""
    return [{"goto": signin_link(srv, user, address)},
            {"click_text": "Sign in"},
            {"expect_text": "Dashboard"}]


def test_provider_reseller_customer_through_the_console():
    srv = Server.start()
    for user in ("p44", "r44", "c44"):
        mailstack.imap_clear(user)
    provider = srv.org_create("provider", "Northwind Distribution", "p44@example.test",
                              contact_name="Paula Provider")
    reseller = srv.org_create("reseller", "Contoso Partners", "r44@example.test",
                              contact_name="Rob Reseller")
    shots = shots_dir()

    # The provider's admin signs in and invites the reseller; the server
    # sends it.
    result = browser.run(signed_in(srv, "p44", "p44@example.test") + [
        {"screenshot": os.path.join(shots, "dashboard.png")},
        {"goto": f"{srv.public_url}/console/invite"},
        {"expect_text": "Invite reseller"},
        {"fill": ["#email", "r44@example.test"]},
        {"fill": ["#name", "Rob Reseller"]},
        {"click_text": "Next"},
        {"expect_text": "Review the draft"},
        {"click_text": "Send it for me"},
        {"expect_text": "Status\nQueued"},
    ])
    assert result["steps"][-2]["status"] == 200, result["steps"][-2]
    [(inv_id, status)] = srv.sql("SELECT id, status FROM invitations")
    assert status in ("queued", "sent"), status

    # The reseller's contact signs in, opens the mailed invitation and
    # authorizes the provider.
    link = LINK_RE.search(mailed("r44", "Northwind Distribution")).group(1)
    assert srv.sql("SELECT count(*) FROM links WHERE purpose = 'indirect_provider'"
                   f" AND subject_id = {inv_id} AND state = 'live'") == [(1,)]
    result = browser.run(signed_in(srv, "r44", "r44@example.test") + [
        {"goto": link},
        {"expect_text": "submit orders and add subscriptions on behalf of your customers"},
        {"check": "#consent"},
        {"click_text": "Authorize indirect provider"},
        {"expect_text": "Northwind Distribution"},
        {"goto": f"{srv.public_url}/console/partners"},
        {"expect_text": "Indirect providers"},
        {"expect_text": "Northwind Distribution"},

        # Invite new customers with that provider, reviewed as a draft in
        # Japanese: Copy, then Done (the reseller sends it itself).
        {"goto": f"{srv.public_url}/console/invite?kind=reseller_with_provider"},
        {"select": ["#provider_id", str(provider)]},
        {"fill": ["#email", "c44@example.test"]},
        {"select": ["#locale", "ja"]},
        {"click_text": "Next"},
        {"expect_text": "Review the draft"},
        {"attr": ["#mailto", "href"]},
        {"press": "#copy"},
        {"clipboard": True},
        {"screenshot": os.path.join(shots, "draft-review.png")},
        {"click_text": "Done"},
        {"expect_text": "Handed off"},
    ])
    steps = {s["step"].get("goto", "") + str(list(s["step"].keys())[0]): s
             for s in result["steps"]}
    mailto = [s for s in result["steps"] if "attr" in s["step"]][0]["value"]
    copied = [s for s in result["steps"] if "clipboard" in s["step"]][0]["clipboard"]
    assert steps, steps
    assert srv.sql(f"SELECT kind, active FROM relationships") == [("indirect_provider", 1)]
    [(cust_inv, cust_status)] = srv.sql(
        "SELECT id, status FROM invitations WHERE email = 'c44@example.test'")
    assert cust_status == "handed_off", cust_status
    customer_link = LINK_RE.search(copied).group(1)
    assert mailto.startswith("mailto:c44@example.test?subject="), mailto
    assert urllib.parse.quote(customer_link, safe="") in mailto \
        or customer_link in urllib.parse.unquote(mailto), mailto
    # The server sent the customer nothing: the reseller did, by hand.
    assert srv.sql(f"SELECT count(*) FROM outbox WHERE invitation_id = {cust_inv}"
                   " AND kind = 'invitation'") == [(0,)]

    # The customer opens the link the reseller sent: a link the inviter has
    # seen proves nothing, so accepting mails a confirmation first.
    result = browser.run([
        {"goto": customer_link},
        {"expect_text": "Contoso Partners"},
        {"screenshot": os.path.join(shots, "consent-ja.png")},
        {"text_width": "h1"},
        {"axe": True},
        {"fill": ["#org_name", "Fabrikam K.K."]},
        {"check": "#consent"},
        {"click": "button[value=accept]"},
    ])
    h1_width = [s for s in result["steps"] if "text_width" in s["step"]][0]["width"]
    # Real glyphs: the Japanese heading renders wider than boxes would
    # (each tofu box is narrow and alike), and is not empty.
    assert h1_width > 150, h1_width
    assert srv.sql("SELECT count(*) FROM relationships") == [(1,)]
    confirm = LINK_RE.search(mailed("c44", "/l/")).group(1)
    assert confirm != customer_link
    result = browser.run([
        {"goto": confirm},
        {"check": "#consent"},
        {"fill": ["#org_name", "Fabrikam K.K."]},
        {"click": "button[value=accept]"},
    ], allow_fail=True)
    assert srv.sql("SELECT kind FROM relationships WHERE active = 1 ORDER BY id") == [
        ("indirect_provider",), ("reseller_of_record",), ("reseller_of_record",)], \
        (result, srv.sql("SELECT * FROM invitations"))

    # Both View customers lists show it.
    for user, addr, partner in (("p44", "p44@example.test", reseller),
                                ("r44", "r44@example.test", provider)):
        result = browser.run(signed_in(srv, user, addr) + [
            {"goto": f"{srv.public_url}/console/partners"},
            {"click": f"a[href$='/console/partners/{partner}/customers']"},
            {"expect_text": "Fabrikam K.K."},
        ])
        assert result["steps"][-2]["status"] == 200


def test_sales_agent_sees_and_changes_nothing_and_other_orgs_are_404():
    srv = Server.start()
    for user in ("p43", "u43", "p42"):
        mailstack.imap_clear(user)
    provider = srv.org_create("provider", "Northwind 43", "p43@example.test")
    other = srv.org_create("provider", "Woodgrove 42", "p42@example.test")
    # The admin invites a sales agent by mail (join_org).
    result = browser.run(signed_in(srv, "p43", "p43@example.test") + [
        {"goto": f"{srv.public_url}/console/users"},
        {"fill": ["#email", "u43@example.test"]},
        {"fill": ["#name", "Sam Sales"]},
        {"click_text": "Invite"},
        {"expect_text": "The invitation is on its way"},
        {"expect_text": "u43@example.test"},
    ])
    join = LINK_RE.search(mailed("u43", "partner console of Northwind 43")).group(1)
    assert srv.sql("SELECT count(*) FROM links WHERE purpose = 'join_org'") == [(1,)]
    # A scanner's GET joins no one.
    status, _, _ = srv.http("GET", join)
    assert status == 200
    assert srv.sql("SELECT status FROM users WHERE email = 'u43@example.test'") \
        == [("invited",)]
    result = browser.run([
        {"goto": join},
        {"click_text": "Sign in"},
        {"expect_text": "Sales agent of Northwind 43"},
        {"goto": f"{srv.public_url}/console/invite"},
        {"goto": f"{srv.public_url}/console/keys"},
        {"goto": f"{srv.public_url}/console/users"},
        {"expect_no_text": "Invite a user"},
    ])
    assert result["steps"][3]["status"] == 403, result["steps"][3]
    assert result["steps"][4]["status"] == 403, result["steps"][4]
    assert srv.sql("SELECT status, role FROM users WHERE email = 'u43@example.test'") \
        == [("active", "sales_agent")]

    # Another organization's invitation or partner: 404, as for no such id.
    session_rows = srv.sql("SELECT count(*) FROM sessions")
    other_key = srv.apikey(other)
    status, body = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "r42@example.test",
                            "delivery": "draft"}, key=other_key)
    assert status == 201, body
    result = browser.run(signed_in(srv, "p43", "p43@example.test") + [
        {"goto": f"{srv.public_url}/console/invitations/{body['id']}"},
        {"goto": f"{srv.public_url}/console/invitations/999999"},
        {"goto": f"{srv.public_url}/console/partners/{other}/customers"},
        {"goto": f"{srv.public_url}/console/partners/{other}/end"},
    ])
    for step in result["steps"][-4:]:
        assert step["status"] == 404, step
    assert session_rows != srv.sql("SELECT count(*) FROM sessions")
    assert provider


def test_every_console_page_passes_axe_in_both_locales():
    srv = Server.start(**{"webhooks.allow_private": "yes"})
    for user in ("r41", "p41"):
        mailstack.imap_clear(user)
    provider = srv.org_create("provider", "Northwind 41", "p41@example.test")
    reseller = srv.org_create("reseller", "Contoso 41", "r41@example.test", locale="ja")
    key = srv.apikey(provider)
    status, body = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "r41@example.test"}, key=key)
    assert status == 201, body
    link = srv.mailed_link(body["id"])
    # An endpoint nobody answers at: its deliveries page has failed attempts.
    status, hook = srv.api("POST", "/api/v1/webhooks", {"url": "https://127.0.0.1:9/hook"}, key)
    assert status == 201, hook
    pages = ["/console/", "/console/partners", "/console/customers", "/console/invitations",
             "/console/invite?kind=reseller", "/console/invite?kind=reseller_with_provider",
             "/console/users", "/console/keys", "/console/webhooks", "/console/domains"]
    for user, addr in (("r41", "r41@example.test"), ("p41", "p41@example.test")):
        steps = signed_in(srv, user, addr) if user == "p41" else [
            {"goto": signin_link(srv, user, addr)}, {"axe": True},
            {"click": "button[type=submit]"}, {"expect_text": "ダッシュボード"}]
        if user == "r41":
            steps += [{"goto": link}, {"axe": True}, {"check": "#consent"},
                      {"click": "button[value=accept]"}, {"axe": True}]
        for p in pages:
            steps += [{"goto": srv.public_url + p}, {"axe": True}]
        if user == "p41":
            steps += [{"goto": f"{srv.public_url}/console/partners/{reseller}/customers"},
                      {"axe": True},
                      {"goto": f"{srv.public_url}/console/partners/{reseller}/end"},
                      {"axe": True},
                      {"goto": f"{srv.public_url}/console/invitations/{body['id']}"},
                      {"axe": True},
                      {"goto": f"{srv.public_url}/console/webhooks/{hook['id']}"},
                      {"axe": True}]
        result = browser.run(steps, timeout=180)
        gotos = [s for s in result["steps"] if "goto" in s["step"]]
        assert all(s["status"] == 200 for s in gotos), [(s["url"], s["status"]) for s in gotos]
    # The signed-out pages too, and an error page, in both languages.
    for lang in ("en-US", "ja-JP"):
        browser.run([{"locale": lang}, {"goto": f"{srv.public_url}/console"}, {"axe": True},
                     {"goto": f"{srv.public_url}/console/enroll"}, {"axe": True},
                     {"goto": f"{srv.public_url}/console/nothing-here"}, {"axe": True}])
    # The operator's pages, for a browser that asks for Japanese.
    mailstack.imap_clear("u41")
    srv.cli("user", "add", "--operator", "--email", "u41@example.test")
    srv.org_create("reseller", "Litware 41", "r40@example.test", status="in_review")
    result = browser.run([{"locale": "ja-JP"}, {"goto": signin_link(srv, "u41", "u41@example.test")},
                          {"axe": True}, {"click": "button[type=submit]"},
                          {"expect_text": "審査キュー"}, {"axe": True},
                          {"goto": f"{srv.public_url}/console/outbox"}, {"axe": True},
                          {"goto": f"{srv.public_url}/console/review?status=approved"},
                          {"axe": True},
                          {"goto": f"{srv.public_url}/console/webhooks"}, {"axe": True}])
    assert result["steps"][-2]["status"] == 200


def test_a_long_draft_renders_and_its_mailto_is_encoded():
    """A draft of many short lines (each a CRLF in the mailto: link) and a
    note over a form field's usual size both come through whole."""
    from test_console_signin import sign_in
    srv = Server.start()
    provider = srv.org_create("provider", "Northwind 40", "p40@example.test")
    session, csrf_cookie = sign_in(srv, "p40@example.test")
    cookies = f"{session}; {csrf_cookie}"
    _, _, page = srv.http("GET", f"{srv.public_url}/console/invite", headers={"Cookie": cookies})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    note = "Hello from Northwind. " * 40
    form = urllib.parse.urlencode({"csrf": csrf, "kind": "indirect_provider",
                                   "email": "r40@example.test", "message": note})
    status, headers, _ = srv.http("POST", f"{srv.public_url}/console/invite", form,
                                  {"Content-Type": "application/x-www-form-urlencoded",
                                   "Cookie": cookies})
    assert status == 303, status
    [(inv_id, message)] = srv.sql("SELECT id, message FROM invitations")
    assert message == note, message
    key = srv.apikey(provider)
    status, inv = srv.api("GET", f"/api/v1/invitations/{inv_id}", key=key)
    text = inv["link"] + "\n" * 6000
    status, body = srv.api("PATCH", f"/api/v1/invitations/{inv_id}", {"text": text}, key=key)
    assert status == 200, body
    status, _, page = srv.http("GET", f"{srv.public_url}/console/invitations/{inv_id}",
                               headers={"Cookie": cookies})
    assert status == 200, status
    mailto = re.search(r'id="mailto" href="([^"]+)"', page.decode()).group(1)
    assert mailto.count("%0D%0A") == 6000, mailto.count("%0D%0A")

    # An edit that drops the link is refused next to the text, keeps what
    # was typed, and changes nothing; a kept link saves.
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    url = f"{srv.public_url}/console/invitations/{inv_id}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}
    status, _, page = srv.http("POST", url, urllib.parse.urlencode(
        {"csrf": csrf, "action": "send", "text": "Please join us. No link here."}), headers)
    assert status == 422 and b'id="text-problem"' in page and b"No link here." in page, status
    assert srv.sql(f"SELECT status FROM invitations WHERE id = {inv_id}") == [("draft",)]
    assert srv.sql(f"SELECT count(*) FROM outbox WHERE invitation_id = {inv_id}") == [(0,)]
    status, headers_r, _ = srv.http("POST", url, urllib.parse.urlencode(
        {"csrf": csrf, "action": "save",
         "text": f"Dear Rita,\r\n\r\n{inv['link']}\r\n\r\nPaula"}), headers)
    assert status == 303, status
    status, inv = srv.api("GET", f"/api/v1/invitations/{inv_id}", key=key)
    assert inv["text"] == f"Dear Rita,\n\n{inv['link']}\n\nPaula", inv["text"]


def test_removing_a_user_kills_its_links_and_an_admin_cannot_remove_itself():
    from test_console_signin import sign_in
    srv = Server.start()
    srv.org_create("provider", "Northwind 39", "p39@example.test")
    session, csrf_cookie = sign_in(srv, "p39@example.test")
    cookies = f"{session}; {csrf_cookie}"
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}

    def post(path, **fields):
        _, _, page = srv.http("GET", f"{srv.public_url}/console/users",
                              headers={"Cookie": cookies})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
        return srv.http("POST", f"{srv.public_url}{path}",
                        urllib.parse.urlencode(dict(csrf=csrf, **fields)), form)[0]

    assert post("/console/users", email="u39@example.test", role="admin_agent") == 303
    [(uid, status)] = srv.sql("SELECT id, status FROM users WHERE email = 'u39@example.test'")
    assert status == "invited"
    [(me,)] = srv.sql("SELECT id FROM users WHERE email = 'p39@example.test'")
    [(data,)] = srv.sql("SELECT d.data FROM outbox o JOIN outbox_data d ON d.id = o.id"
                        " WHERE o.kind = 'join'")
    join = LINK_RE.search(body_text(data)).group(1)
    # Nobody removes or demotes themselves: the organization keeps an admin.
    assert post(f"/console/users/{me}", action="remove") == 409
    assert post(f"/console/users/{me}", action="update", role="sales_agent") == 409
    assert post(f"/console/users/{uid}", action="remove") == 303
    assert srv.sql(f"SELECT status FROM users WHERE id = {uid}") == [("removed",)]
    status, _, page = srv.http("GET", join)
    assert status == 409 and b"signin_used" in page, status
    # Without the anti-forgery field, nothing changes.
    status, _, _ = srv.http("POST", f"{srv.public_url}/console/users",
                            urllib.parse.urlencode({"email": "x39@example.test",
                                                    "role": "admin_agent"}), form)
    assert status == 403
    assert srv.sql("SELECT count(*) FROM users WHERE email = 'x39@example.test'") == [(0,)]


def test_another_organization_and_a_sales_agent_change_nothing_by_post():
    """Every state-changing POST, tried on another organization's rows
    (404, as for an id that does not exist) and by a sales agent (403):
    nothing changes. A signed-in admin of another reseller does not prove
    an acceptance for the invited one."""
    from test_console_signin import sign_in
    srv = Server.start()
    mine = srv.org_create("provider", "Northwind 38", "p38@example.test")
    theirs = srv.org_create("provider", "Woodgrove 37", "p37@example.test")
    reseller = srv.org_create("reseller", "Contoso 37", "r37@example.test")
    other_reseller = srv.org_create("reseller", "Litware 36", "r36@example.test")
    their_key = srv.apikey(theirs)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r37@example.test"},
                          key=their_key)
    assert status == 201, inv
    status, _ = srv.form_post(srv.mailed_link(inv["id"]), consent="yes", action="accept")
    assert status == 200, status
    status, draft = srv.api("POST", "/api/v1/invitations",
                            {"kind": "indirect_provider", "email": "r37@example.test",
                             "delivery": "draft"}, key=their_key)
    assert status == 201, draft
    sign_in(srv, "p37@example.test")  # makes their first admin user
    [(their_uid,)] = srv.sql("SELECT id FROM users WHERE email = 'p37@example.test'")
    [(their_key_id,)] = srv.sql(f"SELECT id FROM api_keys WHERE org_id = {theirs}")

    def snapshot():
        return [srv.sql(q) for q in (
            "SELECT id, status FROM invitations ORDER BY id",
            "SELECT id, active FROM relationships ORDER BY id",
            "SELECT id, role, status FROM users ORDER BY id",
            "SELECT id, revoked_at FROM api_keys ORDER BY id",
            "SELECT org_id, domain, state, checked_at FROM org_domains ORDER BY 1, 2",
            "SELECT count(*) FROM outbox")]

    session, csrf_cookie = sign_in(srv, "p38@example.test")
    cookies = f"{session}; {csrf_cookie}"
    _, _, page = srv.http("GET", f"{srv.public_url}/console/", headers={"Cookie": cookies})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}

    def post(path, **fields):
        return srv.http("POST", f"{srv.public_url}{path}",
                        urllib.parse.urlencode(dict(csrf=csrf, **fields)), headers)[0]

    before = snapshot()
    for path, fields in (
            (f"/console/invitations/{draft['id']}", {"action": "revoke"}),
            (f"/console/invitations/{draft['id']}", {"action": "send"}),
            (f"/console/invitations/{inv['id']}", {"action": "resend"}),
            (f"/console/partners/{reseller}/end", {}),
            (f"/console/users/{their_uid}", {"action": "remove"}),
            (f"/console/users/{their_uid}", {"action": "update", "role": "sales_agent"}),
            (f"/console/keys/{their_key_id}", {"action": "revoke"})):
        assert post(path, **fields) == 404, path
    assert snapshot() == before

    # A sales agent of my own organization (invited by the admin, signed
    # in by the mailed sign-in link): 403 for every change.
    assert post("/console/users", email="u38@example.test", role="sales_agent") == 303
    [(sales_id,)] = srv.sql("SELECT id FROM users WHERE email = 'u38@example.test'")
    sales_cookie, sales_csrf_cookie = sign_in(srv, "u38@example.test")
    sales_cookies = f"{sales_cookie}; {sales_csrf_cookie}"
    _, _, page = srv.http("GET", f"{srv.public_url}/console/", headers={"Cookie": sales_cookies})
    sales_csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    before = snapshot()
    for path, fields in (
            ("/console/invite", {"kind": "indirect_provider", "email": "r36@example.test"}),
            ("/console/users", {"email": "x38@example.test", "role": "admin_agent"}),
            (f"/console/users/{sales_id}", {"action": "update", "role": "admin_agent"}),
            ("/console/keys", {"label": "mine", "role": "admin_agent"}),
            ("/console/domains/check", {})):
        status = srv.http("POST", f"{srv.public_url}{path}",
                          urllib.parse.urlencode(dict(csrf=sales_csrf, **fields)),
                          {"Content-Type": "application/x-www-form-urlencoded",
                           "Cookie": sales_cookies})[0]
        assert status == 403, (path, status)
    assert snapshot() == before

    # An admin of another reseller, signed in, holding a draft's link for
    # r37: its session proves nothing for Contoso 37, so accepting only
    # mails r37 a confirmation.
    other_session, other_csrf_cookie = sign_in(srv, "r36@example.test")
    status, draft_full = srv.api("GET", f"/api/v1/invitations/{draft['id']}", key=their_key)
    link = draft_full["link"]
    status, h, page = srv.http("GET", link, headers={"Cookie": other_session})
    assert status == 200 and b'id="will-confirm"' in page, status
    cookie = h["set-cookie"].split(";")[0]
    csrf_l = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    status, _, page = srv.http("POST", link, urllib.parse.urlencode(
        {"csrf": csrf_l, "consent": "yes", "action": "accept"}),
        {"Content-Type": "application/x-www-form-urlencoded",
         "Cookie": f"{other_session}; {cookie}"})
    assert status == 202, status
    assert srv.sql(f"SELECT status FROM invitations WHERE id = {draft['id']}") == [("draft",)]
    assert srv.sql("SELECT count(*) FROM relationships") == [(1,)]

    # The invited reseller's own admin, signed in, is proof: the same link
    # accepts at once, with no confirmation mail.
    own_session, _ = sign_in(srv, "r37@example.test")
    status, h, page = srv.http("GET", link, headers={"Cookie": own_session})
    assert status == 200 and b'id="will-confirm"' not in page, status
    cookie = h["set-cookie"].split(";")[0]
    csrf_l = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    status, _, page = srv.http("POST", link, urllib.parse.urlencode(
        {"csrf": csrf_l, "consent": "yes", "action": "accept"}),
        {"Content-Type": "application/x-www-form-urlencoded",
         "Cookie": f"{own_session}; {cookie}"})
    assert status == 200, status
    assert srv.sql(f"SELECT status, accepted_org_id FROM invitations WHERE id = {draft['id']}") \
        == [("accepted", reseller)]
    assert mine and other_reseller


GOOD_ENROLLMENT = {
    "kind": "reseller", "legal_name": "Fabrikam 35 K.K.", "address": "1-2-3 Marunouchi\nTokyo",
    "country": "JP", "partner_id": "", "domains": "example.test",
    "contact_name": "Carol Contact", "contact_email": "c35@example.test",
    "contact_phone": "+81 3-1234-5678", "support_email": "help@example.test",
    "support_phone": "", "support_url": "", "locale": "en",
}


def test_the_enrollment_form_refuses_each_bad_field_in_place():
    srv = Server.start(**{"enrollment.rate_limit": "100"})
    mailstack.imap_clear("c35")
    bad = [
        ("kind", {"kind": "partner"}),
        ("legal_name", {"legal_name": ""}),
        ("legal_name", {"legal_name": "Visit https://evil.example now"}),
        ("address", {"address": ""}),
        ("country", {"country": "Japan"}),
        ("domains", {"domains": ""}),
        ("domains", {"domains": "gmail.com"}),
        ("domains", {"domains": "not a domain!"}),
        ("contact_name", {"contact_name": ""}),
        ("contact_email", {"contact_email": "carol@elsewhere.example"}),
        ("contact_email", {"contact_email": "not-an-address"}),
        ("contact_phone", {"contact_phone": "call me"}),
        ("support_email", {"support_email": ""}),
        ("support_email", {"support_email": "help at example"}),
        ("support_url", {"support_url": "javascript:alert(1)"}),
        ("locale", {"locale": "xx"}),
    ]
    for field, change in bad:
        status, page = srv.form_post(f"{srv.public_url}/console/enroll",
                                     **{**GOOD_ENROLLMENT, **change})
        assert status == 422, (field, change, status)
        assert f'id="{field}-problem"' in page, (field, change, page[:2000])
        assert f'aria-describedby="{field}-problem"' in page, (field, change)
        # what was typed stays in the form (a choice of kind or language
        # is offered again instead)
        if change.get(field) and field not in ("kind", "locale"):
            assert html_escape(change[field]) in page, (field, change)
    assert srv.sql("SELECT count(*) FROM orgs") == [(0,)]
    assert srv.sql("SELECT count(*) FROM outbox") == [(0,)]
    # Without the anti-forgery field: refused, nothing made.
    status, _, _ = srv.http("POST", f"{srv.public_url}/console/enroll",
                            urllib.parse.urlencode(GOOD_ENROLLMENT),
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    assert srv.sql("SELECT count(*) FROM orgs") == [(0,)]

    # From the "enroll first" page, in Chromium, in both locales: axe-clean,
    # and the good form enrolls; the contact gets the verification mail.
    key = srv.apikey(srv.org_create("provider", "Northwind 35", "p35@example.test"))
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "c35@example.test"}, key=key)
    assert status == 201, inv
    link = srv.mailed_link(inv["id"])
    steps = [{"goto": link}, {"expect_text": "Enroll first"},
             {"click": "a[href$='/console/enroll?kind=reseller']"}, {"axe": True},
             {"fill": ["#legal_name", "Fabrikam 35 K.K."]}, {"click_text": "Enroll now"},
             {"expect_text": "Check this field"}, {"axe": True}]
    for name in ("address", "country", "domains", "contact_name", "contact_email",
                 "contact_phone", "support_email"):
        steps.append({"fill": [f"#{name}", GOOD_ENROLLMENT[name]]})
    steps += [{"click_text": "Enroll now"}, {"expect_text": "is enrolled"}, {"axe": True}]
    result = browser.run(steps, timeout=120)
    assert result["steps"][-3]["status"] == 201, result["steps"][-3]
    assert srv.sql("SELECT kind, status, legal_name FROM orgs WHERE kind = 'reseller'") == [
        ("reseller", "pending_verification", "Fabrikam 35 K.K.")]
    assert "/l/" in mailed("c35", "/l/")
    # A browser that asks for Japanese gets the form in Japanese.
    browser.run([{"locale": "ja-JP"}, {"goto": f"{srv.public_url}/console/enroll"},
                 {"expect_text": "今すぐ登録する"}, {"axe": True}])


def html_escape(s):
    import html
    return html.escape(s, quote=True).replace("&#x27;", "&#39;")


def test_an_operator_reviews_enrollments_and_reads_the_outbox():
    srv = Server.start()
    for user in ("u37", "r35", "r34", "p36"):
        mailstack.imap_clear(user)
    # Operators are users of no organization, added on the command line.
    op = srv.cli("user", "add", "--operator", "--email", "u37@example.test",
                 "--name", "Olive Operator").stdout.strip()
    assert srv.cli("user", "list", "--operators").stdout.startswith(
        f"{op}\tu37@example.test\toperator\tinvited\tOlive Operator"), op
    # An operator needs no organization and gets none by mistake.
    p = srv.cli("user", "add", "--operator", "--email", "u37@example.test", check=False)
    assert p.returncode == 1, p.stderr
    first = srv.org_create("reseller", "Contoso 35", "r35@example.test", status="in_review")
    second = srv.org_create("reseller", "Litware 34", "r34@example.test", status="in_review")
    provider = srv.org_create("provider", "Northwind 36", "p36@example.test")

    result = browser.run(signed_in(srv, "u37", "u37@example.test")[:2] + [
        {"expect_text": "Review queue"},
        {"screenshot": os.path.join(shots_dir(), "review-queue.png")},
        {"axe": True},
        {"click": f"#org-{first} button[value=approve]"},
        {"expect_text": "Done: the primary contact was told by mail."},
        # Rejecting needs a reason: the refusal is shown on that row.
        {"goto": f"{srv.public_url}/console/review"},
        {"click": f"#org-{second} button[value=reject]"},
        {"expect_text": "a reason is required to reject"},
        {"axe": True},
        {"fill": [f"#reason-{second}", "Not a reseller"]},
        {"click": f"#org-{second} button[value=reject]"},
        {"goto": f"{srv.public_url}/console/review?status=approved"},
        {"click": f"#org-{provider} button[value=suspend]"},
        {"expect_text": "a reason is required to suspend"},
        {"goto": f"{srv.public_url}/console/outbox"},
        {"expect_text": "r35@example.test"},
        {"axe": True},
        # An operator opens no organization's pages.
        {"goto": f"{srv.public_url}/console/invitations"},
        {"goto": f"{srv.public_url}/console/users"},
    ])
    assert result["steps"][-2]["status"] == 404 and result["steps"][-1]["status"] == 404
    assert srv.sql(f"SELECT id, status FROM orgs WHERE id IN ({first}, {second}, {provider})"
                   " ORDER BY id") == [(first, "approved"), (second, "rejected"),
                                       (provider, "approved")]
    assert "Not a reseller" in mailed("r34", "Not a reseller")
    # The approved one's contact got its first sign-in link.
    assert LINK_RE.search(mailed("r35", "/l/"))
    audit = srv.cli("audit").stdout
    assert re.search(rf"\tuser:{op}\torg\.approved\torg:{first}\t", audit), audit[-2000:]

    # A decision posted without the anti-forgery field changes nothing.
    from test_console_signin import sign_in
    session, csrf_cookie = sign_in(srv, "u37@example.test")
    status = srv.http("POST", f"{srv.public_url}/console/review/{provider}",
                      "action=suspend&reason=forged",
                      {"Content-Type": "application/x-www-form-urlencoded",
                       "Cookie": f"{session}; {csrf_cookie}"})[0]
    assert status == 403, status
    assert srv.sql(f"SELECT status FROM orgs WHERE id = {provider}") == [("approved",)]

    # An organization's admin gets 404 for the operator's pages.
    result = browser.run(signed_in(srv, "p36", "p36@example.test") + [
        {"goto": f"{srv.public_url}/console/review"},
        {"goto": f"{srv.public_url}/console/outbox"},
    ])
    assert [s["status"] for s in result["steps"][-2:]] == [404, 404]
    # Removed on the command line, the operator's sessions end.
    srv.cli("user", "remove", op)
    assert srv.sql(f"SELECT count(*) FROM sessions WHERE user_id = {op} AND ended_at IS NULL") \
        == [(0,)]
    assert srv.sql(f"SELECT status FROM users WHERE id = {op}") == [("removed",)]
    # Added again, the same operator comes back, invited until it signs in.
    again = srv.cli("user", "add", "--operator", "--email", "u37@example.test").stdout.strip()
    assert again == op
    assert srv.sql(f"SELECT status, role FROM users WHERE id = {op}") == [("invited", "operator")]


def test_users_through_the_api():
    """An admin key invites, lists, changes and removes its organization's
    users, never its last admin; another organization's key sees none of
    them; a sales key changes nothing."""
    srv = Server.start()
    mailstack.imap_clear("u33")
    org = srv.org_create("reseller", "Contoso 33", "r33@example.test")
    other = srv.org_create("reseller", "Litware 32", "r32@example.test")
    admin, sales, foreign = srv.apikey(org), srv.apikey(org, "sales_agent"), srv.apikey(other)
    from test_console_signin import sign_in
    sign_in(srv, "r33@example.test")  # the contact: the first admin, active
    status, body = srv.api("POST", "/api/v1/users",
                           {"email": "U33@example.test", "name": "Uma", "role": "sales_agent"},
                           key=admin)
    assert status == 201 and body["email"] == "u33@example.test" \
        and body["status"] == "invited", body
    uid = body["id"]
    text = mailed("u33", "partner console of Contoso 33")
    assert LINK_RE.search(text), text
    status, body = srv.api("GET", "/api/v1/users", key=sales)
    assert status == 200 and [u["email"] for u in body["items"]] == [
        "r33@example.test", "u33@example.test"], body
    status, body = srv.api("GET", "/api/v1/users", key=foreign)
    assert [u["email"] for u in body["items"]] == [], body
    for method, path, payload, key, want in (
            ("PATCH", f"/api/v1/users/{uid}", {"role": "admin_agent"}, foreign, 404),
            ("DELETE", f"/api/v1/users/{uid}", None, foreign, 404),
            ("PATCH", f"/api/v1/users/{uid}", {"role": "admin_agent"}, sales, 403),
            ("POST", "/api/v1/users", {"email": "x@example.test", "role": "sales_agent"},
             sales, 403),
            ("POST", "/api/v1/users", {"email": "x@example.test", "role": "operator"},
             admin, 422),
            ("POST", "/api/v1/users", {"email": "u33@example.test", "role": "sales_agent"},
             admin, 409)):
        status, body = srv.api(method, path, payload, key=key)
        assert status == want, (method, path, key == admin, status, body)
    assert srv.sql("SELECT email, role, status FROM users ORDER BY id") == [
        ("r33@example.test", "admin_agent", "active"),
        ("u33@example.test", "sales_agent", "invited")]
    status, body = srv.api("PATCH", f"/api/v1/users/{uid}", {"role": "admin_agent"}, key=admin)
    assert status == 200 and body["role"] == "admin_agent", body
    # The contact is the only active admin: a key cannot remove or demote it.
    [(first,)] = srv.sql("SELECT id FROM users WHERE email = 'r33@example.test'")
    status, body = srv.api("DELETE", f"/api/v1/users/{first}", key=admin)
    assert status == 409 and body["error"]["code"] == "last_admin", body
    status, body = srv.api("PATCH", f"/api/v1/users/{first}", {"role": "sales_agent"},
                           key=admin)
    assert status == 409, body
    status, body = srv.api("DELETE", f"/api/v1/users/{uid}", key=admin)
    assert status == 200 and body["status"] == "removed", body
    # The operator cannot leave it without an admin either.
    p = srv.cli("user", "remove", str(first), check=False)
    assert p.returncode == 1 and "last admin" in p.stderr, p.stderr
    # A suspended organization's key changes no one.
    srv.cli("org", "suspend", str(org), "--reason", "test")
    status, body = srv.api("POST", "/api/v1/users",
                           {"email": "v33@example.test", "role": "sales_agent"}, key=admin)
    assert status == 403 and body["error"]["code"] == "org_not_approved", body
    status, body = srv.api("PATCH", f"/api/v1/users/{first}", {"role": "admin_agent"},
                           key=admin)
    assert status == 403, body
    assert srv.sql("SELECT count(*) FROM users WHERE email = 'v33@example.test'") == [(0,)]


def test_keys_invitation_actions_and_ending_a_relationship():
    """An admin makes an API key (shown once, and it works) and revokes it
    (it stops working); filters, resends and revokes an invitation; and
    ends a relationship, which mails both primary contacts."""
    from test_console_signin import sign_in
    srv = Server.start()
    for user in ("p31", "r31"):
        mailstack.imap_clear(user)
    provider = srv.org_create("provider", "Northwind 31", "p31@example.test")
    reseller = srv.org_create("reseller", "Contoso 31", "r31@example.test")
    key = srv.apikey(provider)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "r31@example.test"}, key=key)
    status, _ = srv.form_post(srv.mailed_link(inv["id"]), consent="yes", action="accept")
    assert status == 200
    status, second = srv.api("POST", "/api/v1/invitations",
                             {"kind": "indirect_provider", "email": "r30@example.test"},
                             key=key)
    assert status == 201, second

    session, csrf_cookie = sign_in(srv, "p31@example.test")
    cookies = f"{session}; {csrf_cookie}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}

    def get(path):
        status, _, page = srv.http("GET", f"{srv.public_url}{path}", headers={"Cookie": cookies})
        return status, page.decode()

    def post(path, **fields):
        csrf = re.search(r'name="csrf" value="([^"]+)"', get("/console/")[1]).group(1)
        return srv.http("POST", f"{srv.public_url}{path}",
                        urllib.parse.urlencode(dict(csrf=csrf, **fields)), headers)

    # API keys: shown once, on the answer to the POST.
    status, _, page = post("/console/keys", label="CRM sync", role="sales_agent")
    assert status == 201, status
    made = re.search(r'id="new-key">(ik_[A-Za-z0-9_-]+)<', page.decode()).group(1)
    status, body = srv.api("GET", "/api/v1/invitations", key=made)
    assert status == 200, body
    status, page = get("/console/keys")
    assert "CRM sync" in page and made not in page
    [(key_row,)] = srv.sql("SELECT id FROM api_keys WHERE label = 'CRM sync'")
    assert post(f"/console/keys/{key_row}", action="revoke")[0] == 303
    status, body = srv.api("GET", "/api/v1/invitations", key=made)
    assert status == 401, body

    # Invitations: the filter, resend (a new link, the old one dead), revoke.
    status, page = get("/console/invitations?status=accepted")
    assert "r31@example.test" in page and "r30@example.test" not in page, page
    status, page = get("/console/invitations?status=nonsense")
    assert status == 400
    old_link = srv.mailed_link(second["id"])
    assert post(f"/console/invitations/{second['id']}", action="resend")[0] == 303
    status, _, page = srv.http("GET", old_link)
    assert status == 410 and b'data-code="revoked"' in page, status
    assert post(f"/console/invitations/{second['id']}", action="revoke")[0] == 303
    assert srv.sql(f"SELECT status FROM invitations WHERE id = {second['id']}") \
        == [("revoked",)]

    # Ending the relationship: a confirm page, then both sides are mailed.
    status, page = get(f"/console/partners/{reseller}/end")
    assert status == 200 and "cannot be undone" in page
    status, h, _ = post(f"/console/partners/{reseller}/end")
    assert status == 303 and h["location"] == "/console/partners?ended=1", (status, h)
    assert srv.sql("SELECT active FROM relationships") == [(0,)]
    for user in ("p31", "r31"):
        assert "Northwind 31 ended the relationship" in mailed(user, "ended the relationship")
    status, page = get(f"/console/partners/{reseller}/customers")
    assert status == 404
