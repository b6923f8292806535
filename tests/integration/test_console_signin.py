"""Signing in to the partner console by a mailed one-time link, in
Chromium, with the mail read from Dovecot: the primary contact becomes the
first admin user; a scanner's GET signs nobody in; a link works once; an
address that may not sign in gets the same answer and no mail; sign-out
everywhere ends the other sessions."""
import email.policy
import re
import urllib.parse

from lib import browser, mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def newest_signin_link(srv):
    """The link of the newest sign-in mail, from the outbox's copy."""
    import email as email_mod
    [(data,)] = srv.sql("SELECT d.data FROM outbox o JOIN outbox_data d ON d.id = o.id"
                        " WHERE o.kind = 'signin' ORDER BY o.id DESC LIMIT 1")
    msg = email_mod.message_from_bytes(data, policy=email.policy.default)
    return LINK_RE.search(msg.get_body(preferencelist=("plain",)).get_content()).group(1)


def sign_in(srv, address):
    """Ask for a link for address and use it as a browser would: the
    session cookie ("invited_session=…") and the csrf cookie."""
    status, page = srv.form_post(f"{srv.public_url}/console", email=address)
    assert status == 200 and 'data-code="signin_sent"' in page, (status, page[:300])
    link = newest_signin_link(srv)
    status, headers, page = srv.http("GET", link)
    assert status == 200, (status, page[:300])
    csrf_cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    status, headers, _ = srv.http("POST", link, urllib.parse.urlencode({"csrf": csrf}),
                                  {"Content-Type": "application/x-www-form-urlencoded",
                                   "Cookie": csrf_cookie})
    assert status == 303 and headers["location"] == "/console/", (status, headers)
    session = headers["set-cookie"]
    assert "HttpOnly" in session and "SameSite=Lax" in session, session
    return session.split(";")[0], csrf_cookie


def console_post(srv, path, cookies):
    """POST a console form with cookies, its anti-forgery field read as a
    browser would: from the dashboard, or the sign-in page for a session
    that has ended. (status, headers)."""
    status, _, page = srv.http("GET", f"{srv.public_url}/console/", headers={"Cookie": cookies})
    if status == 303:
        _, _, page = srv.http("GET", f"{srv.public_url}/console", headers={"Cookie": cookies})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    status, headers, _ = srv.http("POST", f"{srv.public_url}{path}",
                                  urllib.parse.urlencode({"csrf": csrf}),
                                  {"Content-Type": "application/x-www-form-urlencoded",
                                   "Cookie": cookies})
    return status, headers


def test_sign_in_by_mailed_link_in_chromium():
    srv = Server.start()
    mailstack.imap_clear("p50")
    provider = srv.org_create("provider", "Northwind 50", "p50@example.test",
                              contact_name="Paula Provider")
    result = browser.run([
        {"goto": f"{srv.public_url}/console"},
        {"expect_text": "There is no password"},
        {"fill": ["#email", "p50@example.test"]},
        {"click_text": "Next"},
        {"expect_text": "Check your mail"},
    ])
    assert result["steps"][3]["status"] == 200, result["steps"][3]
    raw = mailstack.imap_match("p50", lambda r: b"/l/" in r and b"sign" in r.lower())
    msg = mailstack.parse_strict(raw)
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Northwind 50:" in text, text
    link = LINK_RE.search(text).group(1)

    # A link scanner fetches it: nobody is signed in, the link still works.
    for _ in range(3):
        status, _, page = srv.http("GET", link)
        assert status == 200 and b"Sign in" in page, status
    assert srv.sql("SELECT count(*) FROM sessions") == [(0,)]

    result = browser.run([
        {"goto": link},
        {"click_text": "Sign in"},
        {"expect_text": "Dashboard"},
        {"expect_text": "Admin agent of Northwind 50"},
    ])
    assert result["steps"][1]["status"] == 200, result["steps"][1]
    # The primary contact is the first admin user, now active.
    assert srv.sql("SELECT org_id, role, status FROM users WHERE email = 'p50@example.test'") \
        == [(provider, "admin_agent", "active")]
    assert srv.sql("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == [(1,)]
    # Once only.
    status, _, page = srv.http("GET", link)
    assert status == 409 and b'data-code="signin_used"' in page, status
    # Signed out, the dashboard sends you to the sign-in form.
    status, headers, _ = srv.http("GET", f"{srv.public_url}/console/")
    assert status == 303 and headers["location"] == "/console", (status, headers)


def test_unknown_address_gets_the_same_answer_and_no_mail():
    srv = Server.start()
    srv.org_create("reseller", "Contoso 51", "r50@example.test")
    for address in ("nobody@example.test", "not an address", "r50@example.test"):
        status, page = srv.form_post(f"{srv.public_url}/console", email=address)
        assert status == 200 and 'data-code="signin_sent"' in page, (address, status)
    # Only the reseller's contact got a mail; no user was made for the others.
    assert srv.sql("SELECT rcpt FROM outbox WHERE kind = 'signin'") == [("r50@example.test",)]
    assert srv.sql("SELECT email FROM users") == [("r50@example.test",)]
    # A suspended organization's people cannot sign in.
    srv.cli("org", "suspend", str(srv.sql("SELECT id FROM orgs")[0][0]), "--reason", "test")
    status, page = srv.form_post(f"{srv.public_url}/console", email="r50@example.test")
    assert status == 200 and 'data-code="signin_sent"' in page
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'signin'") == [(1,)]


def test_sign_out_everywhere_ends_the_other_sessions():
    srv = Server.start()
    srv.org_create("provider", "Northwind 52", "p49@example.test")
    first, csrf_cookie = sign_in(srv, "p49@example.test")
    second, _ = sign_in(srv, "p49@example.test")
    for s in (first, second):
        status, _, page = srv.http("GET", f"{srv.public_url}/console/", headers={"Cookie": s})
        assert status == 200 and b"Dashboard" in page, status
    status, headers = console_post(srv, "/console/signout-everywhere",
                                   f"{first}; {csrf_cookie}")
    assert status == 303 and "Max-Age=0" in headers["set-cookie"], (status, headers)
    for s in (first, second):
        status, headers, _ = srv.http("GET", f"{srv.public_url}/console/",
                                      headers={"Cookie": s})
        assert status == 303 and headers["location"] == "/console", status
    assert srv.sql("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == [(0,)]

    # An old cookie ends nothing: signed in again, the new session lives on
    # when someone posts sign-out everywhere with the ended one.
    third, _ = sign_in(srv, "p49@example.test")
    status, _ = console_post(srv, "/console/signout-everywhere", f"{first}; {csrf_cookie}")
    assert status == 303, status
    status, _, _ = srv.http("GET", f"{srv.public_url}/console/", headers={"Cookie": third})
    assert status == 200, "an ended session's cookie ended a live one"


def test_one_client_cannot_use_up_an_address():
    """A client may ask for only a few of an address's sign-in mails an
    hour (SIGNIN_MAILS_PER_PAIR), with the same answer past it."""
    srv = Server.start()
    srv.org_create("reseller", "Contoso 53", "r49@example.test")
    for _ in range(5):
        status, page = srv.form_post(f"{srv.public_url}/console", email="r49@example.test")
        assert status == 200 and 'data-code="signin_sent"' in page, status
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'signin'") == [(3,)]


def test_forms_without_the_anti_forgery_field_change_nothing():
    """A page elsewhere posting to the console or to a sign-in link, without
    the field bound to the visitor's cookie: 403, no session started or
    ended."""
    srv = Server.start()
    srv.org_create("provider", "Northwind 54", "p48@example.test")
    session, csrf_cookie = sign_in(srv, "p48@example.test")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/console/signout", "/console/signout-everywhere"):
        status, _, _ = srv.http("POST", f"{srv.public_url}{path}", "csrf=forged",
                                {**form, "Cookie": f"{session}; {csrf_cookie}"})
        assert status == 403, (path, status)
    assert srv.sql("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == [(1,)]
    # a sign-in link posted from elsewhere starts no session
    status, page = srv.form_post(f"{srv.public_url}/console", email="p48@example.test")
    link = newest_signin_link(srv)
    status, _, _ = srv.http("POST", link, "csrf=forged", {**form, "Cookie": csrf_cookie})
    assert status == 403, status
    assert srv.sql("SELECT count(*) FROM sessions") == [(1,)]
    status, _, _ = srv.http("GET", link)
    assert status == 200, "the link is still unused"
