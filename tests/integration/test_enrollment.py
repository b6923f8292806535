"""Enrollment and primary-contact verification on the real Postfix and
Dovecot: a reseller enrolls, its contact reads the verification mail over
IMAP and verifies in Chromium, the operator decides, and the contact reads
every status mail."""
import email.header
import re
import time
import urllib.parse

from lib import browser, mailstack
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def profile(user, **changes):
    """An enrollment for Contoso at example.test, contact user@example.test."""
    body = {
        "kind": "reseller",
        "legal_name": "Contoso Resellers K.K.",
        "address": "1-2-3 Marunouchi\nChiyoda-ku, Tokyo",
        "country": "JP",
        "domains": ["example.test"],
        "partner_id": "MPN-4711",
        "primary_contact": {"name": "Rita Reseller", "email": f"{user}@example.test",
                            "phone": "+81 3-1234-5678"},
        "support_contact": {"email": "help@example.test", "url": "https://example.test/help"},
    }
    body.update(changes)
    return body


def enroll(srv, user, **changes):
    mailstack.imap_clear(user)
    status, org = srv.api("POST", "/api/v1/enrollments", profile(user, **changes))
    assert status == 201, (status, org)
    assert org["enrollment_status"] == "pending_verification", org
    assert org["verification"]["sent_to"] == f"{user}@example.test", org
    return org


def subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def read_mail(user, words, timeout=60):
    """The newest mail to user containing words (in its decoded subject or
    text), parsed strictly; its text part as a string."""
    def match(raw):
        m = mailstack.parse_strict(raw)
        return words in subject(m) or words in text_of(m)
    raw = [r for r in mailstack.imap_fetch(user, match, timeout=timeout) if match(r)][-1]
    msg = mailstack.parse_strict(raw)
    return msg, text_of(msg)


def text_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def operator(srv):
    if not hasattr(srv, "_operator"):
        srv._operator = srv.apikey()
    return srv._operator


def org_status(srv, org_id):
    status, org = srv.api("GET", f"/api/v1/orgs/{org_id}", key=operator(srv))
    assert status == 200, org
    return org["enrollment_status"]


def test_enroll_verify_in_chromium_and_approve_with_cli():
    srv = Server.start()
    org = enroll(srv, "u1")
    oid = org["id"]

    msg, text = read_mail("u1", "Verify your email address")
    assert subject(msg) == "Verify your email address for “Contoso Resellers K.K.”"
    assert msg["To"].addresses[0].addr_spec == "u1@example.test"
    assert re.fullmatch(r"verify\+[a-z2-7]+@example\.test",
                        msg["Reply-To"].addresses[0].addr_spec), msg["Reply-To"]
    assert re.fullmatch(r"<?bounces\+[a-z2-7]+@example\.test>?", msg["Return-Path"]), \
        msg["Return-Path"]
    link = LINK_RE.search(text).group(1)
    claims = srv.cli("token", "verify", link.rsplit("/l/", 1)[1]).stdout
    assert '"pur": "verify_contact"' in claims, claims

    # The page names the organization and the person; GETs change nothing.
    for _ in range(3):
        status, headers, page = srv.http("GET", link)
        assert status == 200, page[:300]
        page = page.decode()
        assert "Contoso Resellers K.K." in page and "Rita Reseller" in page
        assert "u1@example.test" in page and "Verify email address" in page
        assert headers["cache-control"] == "no-store"
    assert org_status(srv, oid) == "pending_verification"

    # Not verified yet: the operator cannot approve.
    p = srv.cli("org", "approve", str(oid), check=False)
    assert p.returncode == 1 and "not verified" in p.stderr, (p.returncode, p.stderr)

    result = browser.run([
        {"goto": link},
        {"expect_text": "Verify your email address"},
        {"click_text": "Verify email address"},        # without the box: refused
        {"expect_text": "Tick the box to confirm"},
        {"check": "#consent"},
        {"click_text": "Verify email address"},
        {"expect_text": "Email address verified"},
    ])
    assert result["steps"][2]["status"] == 400, result["steps"][2]
    assert result["steps"][5]["status"] == 200, result["steps"][5]
    # the only console line is the refused post's 400
    assert [c for c in result.get("console", []) if "status of 400" not in c] == [], result
    assert org_status(srv, oid) == "in_review"

    msg, text = read_mail("u1", "is in review")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "u1@example.test is verified" in text

    # The link worked once.
    status, _, page = srv.http("GET", link)
    assert status == 410 and b'data-code="verified"' in page, (status, page[:400])

    # The operator's queue, by status, then the decision.
    listing = srv.cli("org", "list", "--status", "in_review").stdout
    assert f"{oid}\treseller\tin_review\tu1@example.test\tContoso Resellers K.K." in listing
    status, body = srv.api("GET", "/api/v1/enrollments?status=in_review", key=operator(srv))
    assert status == 200 and [o["id"] for o in body["items"]] == [oid], body
    p = srv.cli("org", "approve", str(oid))
    assert p.stdout.strip() == f"{oid}\tapproved", p.stdout
    assert org_status(srv, oid) == "approved"
    msg, text = read_mail("u1", "is approved")
    assert subject(msg) == "Contoso Resellers K.K. is approved"
    # No operator hands out a key: the contact's first sign-in link is in
    # the mail, and makes it the first admin user.
    first = re.search(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)", text).group(1)
    assert srv.sql("SELECT role, status FROM users WHERE email = 'u1@example.test'") \
        == [("admin_agent", "invited")]
    status, page = form_post(srv, first)[:2]
    assert status == 303, status
    assert srv.sql("SELECT role, status FROM users WHERE email = 'u1@example.test'") \
        == [("admin_agent", "active")]

    # Suspension carries its reason; so does reinstatement's note.
    p = srv.cli("org", "suspend", str(oid), "--reason", "Unpaid invoices since March")
    assert p.stdout.strip() == f"{oid}\tsuspended"
    msg, text = read_mail("u1", "is suspended")
    assert "Unpaid invoices since March" in text

    # Every change is in the event log (`invited audit`).
    audit = srv.cli("audit").stdout
    for action in ("enrollment.created", "verification.sent", "verification.verified",
                   "org.approved", "org.suspended"):
        assert re.search(rf"\t{re.escape(action)}\torg:{oid}\t", audit), (action, audit)
    assert "Unpaid invoices since March" in audit


def form_post(srv, link, **fields):
    status, headers, page = srv.http("GET", link)
    assert status == 200, page[:300]
    cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
    form = urllib.parse.urlencode(dict(csrf=csrf, **fields))
    return srv.http("POST", link, form, {"Content-Type": "application/x-www-form-urlencoded",
                                         "Cookie": cookie})


def test_japanese_enrollment_rejected_over_the_api_with_reason():
    srv = Server.start()
    org = enroll(srv, "u2", locale="ja", legal_name="コントソ株式会社")
    oid = org["id"]
    msg, text = read_mail("u2", "メールアドレスの確認")
    assert subject(msg) == "「コントソ株式会社」のメールアドレスの確認"
    raw_subject = re.search(rb"^Subject:(.*(?:\r?\n[ \t].*)*)",
                            mailstack.imap_fetch("u2")[0], re.M).group(1)
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower(), raw_subject
    link = LINK_RE.search(text).group(1)
    status, _, page = srv.http("GET", link)
    assert "メールアドレスを確認" in page.decode()

    status, _, page = form_post(srv, link, consent="yes", action="verify")
    assert status == 200 and "確認しました" in page.decode(), (status, page[:400])
    read_mail("u2", "審査")

    key = operator(srv)
    # Forbidden moves: suspend before approval, approve twice.
    status, err = srv.api("POST", f"/api/v1/orgs/{oid}/suspend", {"reason": "x"}, key)
    assert status == 409 and err["error"]["code"] == "not_approved", err
    status, err = srv.api("POST", f"/api/v1/orgs/{oid}/reject", {}, key)
    assert status == 422 and err["error"]["field"] == "reason", err
    status, body = srv.api("POST", f"/api/v1/orgs/{oid}/reject",
                           {"reason": "パートナー ID を確認できませんでした"}, key)
    assert status == 200 and body["enrollment_status"] == "rejected", body
    assert body["status_reason"] == "パートナー ID を確認できませんでした"
    msg, text = read_mail("u2", "承認されませんでした")
    assert "パートナー ID を確認できませんでした" in text
    status, err = srv.api("POST", f"/api/v1/orgs/{oid}/approve", {}, key)
    assert status == 409 and err["error"]["code"] == "rejected", err


def test_review_needs_the_operator():
    srv = Server.start()
    org = enroll(srv, "u3")
    provider = srv.org_create("provider", "Northwind", "p3@example.test")
    org_key = srv.apikey(provider)
    status, err = srv.api("POST", f"/api/v1/orgs/{provider}/approve", {}, org_key)
    assert status == 403, err
    # Another org's enrollment is not even visible to an org key.
    status, err = srv.api("POST", f"/api/v1/orgs/{org['id']}/approve", {}, org_key)
    assert status == 404, err
    status, err = srv.api("GET", "/api/v1/enrollments", key=org_key)
    assert status == 403, err
    status, err = srv.api("GET", "/api/v1/enrollments")
    assert status == 401, err
    # The operator: an unverified enrollment cannot be approved.
    status, err = srv.api("POST", f"/api/v1/orgs/{org['id']}/approve", {}, operator(srv))
    assert status == 409 and err["error"]["code"] == "not_verified", err
    status, err = srv.api("POST", f"/api/v1/orgs/{org['id']}/promote", {}, operator(srv))
    assert status == 404, err
    assert org_status(srv, org["id"]) == "pending_verification"


def test_resend_kills_the_old_link():
    srv = Server.start(**{"enrollment.resend_interval": "2s"})
    org = enroll(srv, "u4")
    _, text = read_mail("u4", "Verify your email address")
    old = LINK_RE.search(text).group(1)

    def verification_mails():
        return srv.sql(f"SELECT count(*) FROM outbox WHERE kind = 'verification'"
                       f" AND org_id = {org['id']}")[0][0]

    # Anyone may ask, so every answer is the same 202: too soon (no mail),
    # pending (a mail), decided or missing (no mail) alike.
    path = f"/api/v1/enrollments/{org['id']}/resend-verification"
    status, too_soon = srv.api("POST", path)
    assert status == 202 and verification_mails() == 1, (status, too_soon)
    time.sleep(2.2)
    status, body = srv.api("POST", path)
    assert status == 202 and body["status"] == too_soon["status"], body
    assert verification_mails() == 2

    deadline = time.monotonic() + 60
    while mailstack.imap_count("u4") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    msgs = mailstack.imap_fetch("u4")
    links = [LINK_RE.search(text_of(mailstack.parse_strict(m))).group(1) for m in msgs]
    assert len(set(links)) == 2 and old in links, links
    new = [lk for lk in links if lk != old][0]

    status, _, page = srv.http("GET", old)
    assert status == 410 and b'data-code="replaced"' in page, (status, page[:300])
    status, _, page = form_post(srv, new, consent="yes", action="verify")
    assert status == 200, page[:300]
    assert org_status(srv, org["id"]) == "in_review"
    time.sleep(2.2)
    status, decided = srv.api("POST", path)
    assert status == 202 and decided["status"] == too_soon["status"], decided
    status, missing = srv.api("POST", "/api/v1/enrollments/9999/resend-verification")
    assert status == 202 and missing["status"] == too_soon["status"], missing
    assert verification_mails() == 2


def test_enrollment_cannot_flood_a_contact_address():
    """One pending enrollment per contact address: a newer one withdraws the
    older (no one can hold an address by enrolling with it first), and at
    most enrollment.recipient_rate_limit verification mails go to an address
    an hour, whoever enrolls or asks."""
    srv = Server.start(**{"enrollment.resend_interval": "1s",
                          "enrollment.recipient_rate_limit": "2"})
    first = enroll(srv, "u5")
    _, text = read_mail("u5", "Verify your email address")
    first_link = LINK_RE.search(text).group(1)
    status, second = srv.api("POST", "/api/v1/enrollments", profile("u5", legal_name="Other K.K."))
    assert status == 201, second
    assert org_status(srv, first["id"]) == "rejected"
    assert srv.sql(f"SELECT status_reason FROM orgs WHERE id = {first['id']}")[0][0] \
        .startswith("withdrawn"), "the older enrollment says why"
    status, _, page = srv.http("GET", first_link)
    assert status == 410, (status, page[:300])
    assert srv.sql("SELECT count(*) FROM orgs WHERE status = 'pending_verification'") == [(1,)]
    # Two mails this hour to u5: a resend sends none, a third enrollment is refused.
    time.sleep(1.2)
    path = f"/api/v1/enrollments/{second['id']}/resend-verification"
    assert srv.api("POST", path)[0] == 202
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'verification'") == [(2,)]
    status, err = srv.api("POST", "/api/v1/enrollments", profile("u5", legal_name="Third K.K."))
    assert status == 429 and err["error"]["code"] == "rate_limited", err
    assert err["error"]["field"] == "primary_contact.email", err
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'verification'") == [(2,)]
    assert org_status(srv, second["id"]) == "pending_verification"

def test_enrollment_is_rate_limited_per_client():
    srv = Server.start(**{"enrollment.rate_limit": "3"})
    for i in range(3):
        status, _ = srv.api("POST", "/api/v1/enrollments", {"kind": "reseller"})
        assert status == 422
    status, headers, body = srv.http("POST", "/api/v1/enrollments", b"{}",
                                     {"Content-Type": "application/json"})
    assert status == 429, body
    wait = int(headers["retry-after"])
    assert 60 <= wait <= 1200, wait  # 3 per hour: one back every 1200 s
    assert b'"rate_limited"' in body


def test_every_bad_field_is_named():
    srv = Server.start(**{"enrollment.rate_limit": "0"})
    approved = srv.org_create("reseller", "Fabrikam", "p4@fabrikam.test", domain="fabrikam.test")
    assert approved
    cases = [
        ({"kind": "customer"}, 422, "kind"),
        ({"legal_name": ""}, 422, "legal_name"),
        ({"legal_name": "x" * 201}, 422, "legal_name"),
        ({"address": None}, 422, "address"),
        ({"country": "XX"}, 422, "country"),
        ({"country": "Japan"}, 422, "country"),
        ({"partner_id": "no spaces please"}, 422, "partner_id"),
        ({"domains": []}, 422, "domains"),
        ({"domains": "example.test"}, 422, "domains"),
        ({"domains": ["example.test", "not_a domain"]}, 422, "domains[1]"),
        ({"domains": ["gmail.com"]}, 422, "domains[0]"),
        ({"domains": ["example.test", "fabrikam.test"]}, 409, "domains[1]"),
        ({"primary_contact": None}, 422, "primary_contact"),
        ({"primary_contact": {"name": "R", "email": "not-an-address", "phone": "+1 555 0100"}},
         422, "primary_contact.email"),
        ({"primary_contact": {"name": "R", "email": "r@gmail.com", "phone": "+1 555 0100"}},
         422, "primary_contact.email"),
        ({"primary_contact": {"name": "R", "email": "r@other.test", "phone": "+1 555 0100"}},
         422, "primary_contact.email"),
        ({"primary_contact": {"name": "R", "email": "u5@example.test", "phone": 5550100}},
         422, "primary_contact.phone"),
        ({"primary_contact": {"name": "R", "email": "u5@example.test", "phone": "+1 555",
                              "title": "CEO"}}, 422, "primary_contact.title"),
        ({"support_contact": {}}, 422, "support_contact"),
        ({"support_contact": {"url": "ftp://example.test"}}, 422, "support_contact.url"),
        ({"locale": "xx"}, 422, "locale"),
        ({"colour": "blue"}, 422, "colour"),
    ]
    for change, want_status, want_field in cases:
        status, err = srv.api("POST", "/api/v1/enrollments", profile("u5", **change))
        assert status == want_status, (change, status, err)
        assert err["error"]["field"] == want_field, (change, err)
        assert err["error"]["message"], err
    for raw, want in ((b"{not json", 400), (b"[]", 400), (b"x" * 70000, 413)):
        status, err = srv.api("POST", "/api/v1/enrollments", raw=raw)
        assert status == want, (raw[:20], status, err)
    # Nothing was stored or mailed by any of them.
    assert srv.sql("SELECT count(*) FROM orgs WHERE status = 'pending_verification'") == [(0,)]
    assert srv.sql("SELECT count(*) FROM outbox") == [(0,)]


def test_undeliverable_verification_is_marked_bounced():
    """Postfix refuses the contact (550): the verification is bounced with the
    server's words, and the audit log says so."""
    srv = Server.start()
    status, org = srv.api("POST", "/api/v1/enrollments", profile("reject"))
    assert status == 201, org
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = srv.sql(f"SELECT status, status_reason FROM verifications "
                       f"WHERE org_id = {org['id']}")
        if rows[0][0] != "pending":
            break
        time.sleep(0.2)
    assert rows[0][0] == "bounced" and "550" in rows[0][1], rows
    outbox = srv.cli("mail", "outbox").stdout
    assert "failed" in outbox and "550" in outbox, outbox
    assert "verification.bounced" in srv.cli("audit").stdout
    # the enrollment still waits: a new mail may be asked for (to a fixed address)
    assert org_status(srv, org["id"]) == "pending_verification"
