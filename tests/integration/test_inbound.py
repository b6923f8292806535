"""Inbound mail on the real Postfix and Dovecot: `invited serve` reads the
invites mailbox over IMAP (IDLE), and acts on what comes back: a real DSN
bounces an invitation and tells the inviter, an authenticated reply
verifies a primary contact, a vacation auto-reply is recorded and not
answered, a reply to an invitation from the invitee, authenticated, is
relayed to the inviter (a stranger's, an unproven one or the sixth of a
day is kept), and a
restart in the middle of a full mailbox handles no message twice."""
import email.header
import imaplib
import re
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

from lib import mailstack
from lib.server import Server

TRUSTED = "mx.example.test"


def start(**more):
    mailstack.imap_clear("invites")
    settings = {"imap.enabled": "yes", "imap.trusted_authserv": TRUSTED}
    settings.update(more)
    return Server.start(**settings)


def wait_for(pred, timeout, what, srv=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" +
                         (f"\n--- server log:\n{srv.log()[-4000:]}" if srv else ""))


def inbound(srv, where="1=1"):
    return srv.sql("SELECT uid, class, tag, code, action, detail, "
                   f"coalesce(invitation_id, 0), from_addr FROM inbound WHERE {where} "
                   "ORDER BY id")


def invite(srv, key, email, **more):
    body = {"kind": "indirect_provider", "email": email}
    body.update(more)
    status, inv = srv.api("POST", "/api/v1/invitations", body, key)
    assert status == 201, (status, inv)
    return inv


def provider(srv, user, name="Northwind Inbound"):
    mailstack.imap_clear(user)
    org = srv.org_create("provider", name, f"{user}@example.test", contact_name="Paula Provider")
    return org, srv.apikey(org)


def sent_to(srv, inv_id, kind="invitation"):
    """(code, message_id) of the mail sent for the invitation, once sent."""
    def sent():
        rows = srv.sql(f"SELECT code, message_id FROM outbox WHERE invitation_id = {inv_id} "
                       f"AND kind = '{kind}' AND status = 'sent'")
        return rows[0] if rows else None
    return wait_for(sent, 30, f"the {kind} mail of invitation {inv_id} to be sent", srv)


def subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def text_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def test_real_dsn_bounces_the_invitation_and_tells_the_inviter():
    srv = start()
    _, key = provider(srv, "p21")
    inv = invite(srv, key, "no-such-reseller@example.test")
    code, _ = sent_to(srv, inv["id"])
    # Postfix accepts the unknown user, then returns a DSN to bounces+CODE,
    # which lands in the invites mailbox that the server watches.
    rows = wait_for(lambda: inbound(srv, f"code = '{code}'"), 60, "the DSN to be handled", srv)
    uid, cls, tag, _, action, detail, inv_id, _ = rows[0]
    assert (cls, tag, action, inv_id) == ("bounce", "bounces", "bounced", inv["id"]), rows
    assert "5.1.1" in detail and "no-such-reseller@example.test" in detail, detail
    status, got = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=key)
    assert status == 200 and got["status"] == "bounced", got
    assert "5.1.1" in got["status_reason"], got
    assert [(i["class"], i["action"]) for i in got["inbound"]] == [("bounce", "bounced")], got
    # The inviter is told, in their own mailbox, with the server's words.
    raw = mailstack.imap_fetch("p21", lambda r: b"could not be delivered" in r)
    msg = mailstack.parse_strict(raw[-1])
    assert "no-such-reseller@example.test" in subject(msg), subject(msg)
    assert "5.1.1" in text_of(msg), text_of(msg)
    # Handled mail leaves the watched mailbox for the processed folder.
    wait_for(lambda: mailstack.imap_count("invites") == 0, 30, "the DSN to be moved", srv)
    assert mailstack.imap_count("invites", "Processed") == 1
    # The link of a bounced invitation no longer works.
    assert srv.sql(f"SELECT l.state FROM links l JOIN invitations i ON i.jti = l.jti "
                   f"WHERE i.id = {inv['id']}") == [("revoked",)]
    srv.cleanup()


def verification_reply(contact, code, auth_results):
    """auth_results: one header's value, or a list of them, topmost first."""
    m = EmailMessage()
    for value in [auth_results] if isinstance(auth_results, str) else auth_results or []:
        m["Authentication-Results"] = value
    m["From"] = f"Rita Reseller <{contact}>"
    m["To"] = f"verify+{code}@example.test"
    m["Subject"] = "Re: Confirm your address"
    m["Message-ID"] = make_msgid(domain="example.test")
    m.set_content("Yes, this is me.\n")
    return m


def test_reply_to_verify_needs_authentication_results_from_the_trusted_relay():
    srv = start()
    contact = "u21@example.test"
    mailstack.imap_clear("u21")
    status, org = srv.api("POST", "/api/v1/enrollments", {
        "kind": "reseller", "legal_name": "Contoso Inbound K.K.",
        "address": "1-2-3 Marunouchi, Tokyo", "country": "JP", "domains": ["example.test"],
        "primary_contact": {"name": "Rita Reseller", "email": contact,
                            "phone": "+81 3-1234-5678"},
        "support_contact": {"email": "help@example.test"}})
    assert status == 201, org
    (code,) = srv.sql(f"SELECT reply_code FROM verifications WHERE org_id = {org['id']}")[0]
    operator = srv.apikey()

    def org_status():
        return srv.api("GET", f"/api/v1/orgs/{org['id']}", key=operator)[1]["enrollment_status"]

    # A reply whose results come from a server we do not trust proves nothing.
    forged = f"mx.attacker.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test"
    mailstack.smtp_send(verification_reply(contact, code, forged), contact,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: inbound(srv, "tag = 'verify'"), 60, "the first reply", srv)
    assert rows[-1][4] == "verify_ignored", rows
    assert "trusted" in rows[-1][5], rows
    # A trusted server that saw DKIM fail proves nothing either.
    failing = f"{TRUSTED}; dkim=fail header.d=example.test; dmarc=fail header.from=example.test"
    mailstack.smtp_send(verification_reply(contact, code, failing), contact,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'verify'")) == 2 and
                    inbound(srv, "tag = 'verify'"), 60, "the second reply", srv)
    assert rows[-1][4] == "verify_ignored" and "neither" in rows[-1][5], rows
    # Our relay's header on top saw no signature; a passing one below it,
    # naming our relay too, was written by the sender (RFC 8601 section 5).
    forged_below = [f"{TRUSTED}; dkim=none; dmarc=none header.from=example.test",
                    f"{TRUSTED}; dkim=pass header.d=example.test; "
                    f"dmarc=pass header.from=example.test"]
    mailstack.smtp_send(verification_reply(contact, code, forged_below), contact,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'verify'")) == 3 and
                    inbound(srv, "tag = 'verify'"), 60, "the forged-below reply", srv)
    assert rows[-1][4] == "verify_ignored" and "neither" in rows[-1][5], rows
    # A signature by a public suffix proves nothing.
    suffix = f"{TRUSTED}; dkim=pass header.d=test"
    mailstack.smtp_send(verification_reply(contact, code, suffix), contact,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'verify'")) == 4 and
                    inbound(srv, "tag = 'verify'"), 60, "the public-suffix reply", srv)
    assert rows[-1][4] == "verify_ignored", rows
    # Someone else at the domain, even authenticated, is not the contact.
    other = "u22@example.test"
    good = f"{TRUSTED}; dkim=pass header.d=example.test; dmarc=pass header.from=example.test"
    mailstack.smtp_send(verification_reply(other, code, good), other,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'verify'")) == 5 and
                    inbound(srv, "tag = 'verify'"), 60, "the third reply", srv)
    assert rows[-1][4] == "verify_ignored" and other in rows[-1][5], rows
    assert org_status() == "pending_verification"
    # The contact, with DKIM and DMARC passing at our trusted relay: verified.
    mailstack.smtp_send(verification_reply(contact, code, good), contact,
                        [f"verify+{code}@example.test"])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'verify'")) == 6 and
                    inbound(srv, "tag = 'verify'"), 60, "the fourth reply", srv)
    assert rows[-1][4] == "verified", rows
    assert TRUSTED in rows[-1][5], rows
    assert org_status() == "in_review"
    assert srv.sql(f"SELECT status, method FROM verifications WHERE org_id = {org['id']}") == \
        [("verified", "reply")]
    # The contact hears that the enrollment is now in review.
    mailstack.imap_fetch("u21", lambda r: b"review" in r.lower())
    srv.cleanup()


def test_vacation_auto_reply_is_recorded_and_never_answered():
    srv = start()
    _, key = provider(srv, "p22")
    mailstack.imap_clear("c21")
    inv = invite(srv, key, "c21@example.test")
    code, message_id = sent_to(srv, inv["id"])
    original = mailstack.imap_match("c21", lambda r: message_id.encode() in r)
    assert f"bounces+{code}@example.test".encode() in original  # Return-Path
    # What a vacation responder sends: to the envelope sender (RFC 3834).
    m = EmailMessage()
    m["From"] = "Cora Customer <c21@example.test>"
    m["To"] = f"bounces+{code}@example.test"
    m["Subject"] = "Out of office: Re: your invitation"
    m["Auto-Submitted"] = "auto-replied (vacation)"
    m["X-Autoreply"] = "yes"
    m["Precedence"] = "bulk"
    m["In-Reply-To"] = f"<{message_id}>"
    m["Message-ID"] = make_msgid(domain="example.test")
    m.set_content("I am away until Monday.\n")
    before = srv.sql("SELECT count(*) FROM outbox")[0][0]
    mailstack.smtp_send(m, "", [f"bounces+{code}@example.test"])
    rows = wait_for(lambda: inbound(srv, f"code = '{code}'"), 60, "the auto-reply", srv)
    _, cls, _, _, action, detail, inv_id, _ = rows[0]
    assert (cls, action, inv_id) == ("auto_reply", "auto_reply", inv["id"]), rows
    assert "not answered" in detail, detail
    # Nothing was sent in answer, and the invitation is still open.
    time.sleep(2)
    assert srv.sql("SELECT count(*) FROM outbox")[0][0] == before
    status, got = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=key)
    assert got["status"] == "sent", got
    wait_for(lambda: mailstack.imap_count("invites", "Processed") == 1, 30, "the move", srv)
    srv.cleanup()


AUTHENTIC = f"{TRUSTED}; dkim=pass header.d=example.test; dmarc=pass header.from=example.test"


def invitee_reply(sender, reply_to, original, message_id, words, auth, name=None):
    """A reply to the invitation from sender, with one Authentication-Results
    header (auth) or none."""
    m = EmailMessage()
    if auth:
        m["Authentication-Results"] = auth
    m["From"] = f"{name} <{sender}>" if name else sender
    m["To"] = reply_to
    m["Subject"] = f"Re: {subject(original)}"
    m["In-Reply-To"] = f"<{message_id}>"
    m["Message-ID"] = make_msgid(domain="example.test")
    m.set_content(words + "\n")
    return m


def test_invitation_reply_is_relayed_to_the_inviter():
    srv = start()
    _, key = provider(srv, "p23")
    mailstack.imap_clear("c22")
    inv = invite(srv, key, "c22@example.test", name="Carl Customer")
    _, message_id = sent_to(srv, inv["id"])
    raw = mailstack.imap_match("c22", lambda r: message_id.encode() in r)
    original = mailstack.parse_strict(raw)
    reply_to = original["Reply-To"].addresses[0].addr_spec
    assert re.fullmatch(r"reply\+[a-z2-7]{20}@example\.test", reply_to), reply_to
    tag = uuid.uuid4().hex[:8]
    # The reply quotes the invitation, its link with it.
    link = re.search(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)",
                     text_of(original)).group(1)

    # A stranger who learned the reply address, and the invitee's address
    # without proof: kept on the invitation, relayed to no one.
    for sender, auth in (("mallory@example.test", AUTHENTIC),
                         ("c22@example.test", None),
                         ("c22@example.test", AUTHENTIC.replace(TRUSTED, "mx.attacker.test"))):
        mailstack.smtp_send(invitee_reply(sender, reply_to, original, message_id,
                                          f"Pay here ({tag})", auth), sender, [reply_to])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'reply'")) == 3 and
                    inbound(srv, "tag = 'reply'"), 60, "the three replies", srv)
    assert [r[4] for r in rows] == ["reply_kept"] * 3, rows
    why = sorted((r[7], "invited address" in r[5], "not authenticated" in r[5]) for r in rows)
    assert why == [("c22@example.test", False, True), ("c22@example.test", False, True),
                   ("mallory@example.test", True, False)], rows

    m = invitee_reply("c22@example.test", reply_to, original, message_id,
                      f"Can we talk on Tuesday before I accept? ({tag})\n\n> {link}",
                      AUTHENTIC, name="Carl Customer")
    mailstack.smtp_send(m, "c22@example.test", [reply_to])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'reply'")) == 4 and
                    inbound(srv, "tag = 'reply'"), 60, "the reply", srv)
    _, cls, _, _, action, _, inv_id, from_addr = rows[3]
    assert (cls, action, inv_id, from_addr) == ("reply", "relayed", inv["id"],
                                                 "c22@example.test"), rows
    # The inviter's contact gets it, and answering reaches the customer.
    raw = mailstack.imap_fetch("p23", lambda r: tag.encode() in r)
    relayed = mailstack.parse_strict([r for r in raw if tag.encode() in r][-1])
    assert relayed["Reply-To"].addresses[0].addr_spec == "c22@example.test"
    assert relayed["Auto-Submitted"] == "auto-generated", relayed["Auto-Submitted"]
    assert "Carl Customer" in subject(relayed), subject(relayed)
    assert f"Can we talk on Tuesday before I accept? ({tag})" in text_of(relayed)
    assert "its sender was authenticated" in text_of(relayed), text_of(relayed)
    assert f"{TRUSTED}: dkim=pass header.d=example.test" in text_of(relayed)
    assert b"Pay here" not in b"".join(raw), "a stranger's words were relayed"
    # The inviter never gets the link: cut from what is relayed, and from
    # now on the link alone proves nothing (it asks the invitee to confirm).
    assert link.rsplit("/", 1)[1] not in relayed.as_string(), "the link was relayed"
    assert "[link removed]" in text_of(relayed)
    srv.org_create("reseller", "Carl Resellers", "c22@example.test")
    status, page = srv.form_post(link, action="accept", consent="yes")
    assert status == 202 and 'data-code="confirm_sent"' in page, (status, page[:400])
    assert srv.sql(f"SELECT count(*) FROM events WHERE name = 'invitation.replied' AND "
                   f"subject = 'invitation:{inv['id']}'") == [(1,)]
    # The inviter sees it on the invitation, and the relay among its mails.
    status, got = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=key)
    assert status == 200, got
    assert sorted((i["class"], i["action"], i["from"]) for i in got["inbound"]) == \
        [("reply", "relayed", "c22@example.test"),
         ("reply", "reply_kept", "c22@example.test"),
         ("reply", "reply_kept", "c22@example.test"),
         ("reply", "reply_kept", "mallory@example.test")], got["inbound"]
    assert all(tag not in i["detail"] for i in got["inbound"])  # words go by mail only
    assert [m["kind"] for m in got["messages"]].count("relay") == 1, got["messages"]
    srv.cleanup()


def append_all(user, messages):
    """APPEND raw messages to the user's INBOX in one session."""
    e = mailstack.env()
    conn = imaplib.IMAP4("127.0.0.1", int(e["MAILSTACK_IMAP_PORT"]))
    conn.login(user, e["MAILSTACK_PASSWORD"])
    try:
        for raw in messages:
            typ, _ = conn.append("INBOX", None, None, raw)
            assert typ == "OK"
    finally:
        conn.logout()


def test_restart_mid_mailbox_handles_no_message_twice():
    srv = start(**{"mail.relay_per_day": "1000"})
    _, key = provider(srv, "p24")
    inv = invite(srv, key, "c23@example.test")
    code, message_id = sent_to(srv, inv["id"])
    (reply_code,) = srv.sql(f"SELECT reply_code FROM invitations WHERE id = {inv['id']}")[0]
    srv.stop()
    # 3,000 messages wait in the mailbox: auto-replies, and every tenth a
    # reply that the server relays (one outbox message per reply handled).
    n, messages = 3000, []
    for i in range(n):
        m = EmailMessage()
        m["From"] = "c23@example.test"
        m["Message-ID"] = f"<restart-{i}-{uuid.uuid4().hex}@example.test>"
        m["In-Reply-To"] = f"<{message_id}>"
        if i % 10 == 0:
            m["Authentication-Results"] = AUTHENTIC
            m["To"] = f"reply+{reply_code}@example.test"
            m["Subject"] = f"Re: invitation, question {i}"
            m.set_content(f"Question number {i}.\n")
        else:
            m["To"] = f"bounces+{code}@example.test"
            m["Subject"] = f"Auto: away {i}"
            m["Auto-Submitted"] = "auto-replied"
            m.set_content("Away.\n")
        messages.append(m.as_bytes())
    append_all("invites", messages)
    srv.serve()
    # Kill as soon as the first batch is committed: the reader commits up to
    # 256 messages at a time and moves them only every 4,096 and at the end of
    # a pass, so the kill lands with messages recorded but not moved, and most
    # not read at all.
    deadline = time.monotonic() + 60
    while srv.sql("SELECT count(*) FROM inbound")[0][0] == 0:
        assert time.monotonic() < deadline, "no message handled in 60 s\n" + srv.log()[-4000:]
        time.sleep(0.01)
    srv.kill9()
    at_kill = srv.sql("SELECT count(*) FROM inbound")[0][0]
    print(f"{at_kill} of {n} messages were handled at the kill")
    assert at_kill < n, "the whole mailbox was handled before the kill; nothing was tested"
    srv.serve()
    wait_for(lambda: srv.sql("SELECT count(*) FROM inbound")[0][0] == n and
             mailstack.imap_count("invites") == 0, 120, "the rest to be handled", srv)
    time.sleep(1)
    assert srv.sql("SELECT count(*), count(DISTINCT message_id), count(DISTINCT uid) "
                   "FROM inbound") == [(n, n, n)]
    assert srv.sql("SELECT action, count(*) FROM inbound GROUP BY action ORDER BY action") == \
        [("auto_reply", n - n // 10), ("relayed", n // 10)]
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'relay'") == [(n // 10,)]
    assert mailstack.imap_count("invites", "Processed") == n
    srv.integrity_ok()
    srv.cleanup()


def auto_reply(i, code="aaaaaaaaaaaaaaaaaaaa"):
    m = EmailMessage()
    m["From"] = "c24@example.test"
    m["To"] = f"bounces+{code}@example.test"
    m["Subject"] = f"Automatic reply {i}"
    m["Auto-Submitted"] = "auto-replied"
    m["Message-ID"] = f"<auto-{i}-{uuid.uuid4().hex}@example.test>"
    m.set_content("Away.\n")
    return m.as_bytes()


def hostile():
    """Messages meant to break a parser, each ending in CRLF lines."""
    head = b"From: x@example.test\r\nTo: invites@example.test\r\n"
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                      for i in range(2000))
    return {
        "comment_bomb": head + b"Subject: x\r\nReceived: " + b"(" * 200000 + b"\r\n\r\nbody\r\n",
        "deep_multipart": head + b"MIME-Version: 1.0\r\n" + nested + b"end\r\n",
        "open_boundary": head + b"Content-Type: multipart/report; report-type=delivery-status;"
                                b" boundary=zz\r\n\r\n--zz\r\nContent-Type: message/delivery-status"
                                b"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64"
                                b"\r\n",
        "bad_encodings": head + b"Subject: =?x-unknown?B?////?= =?utf-8?Q?=FF=FE?=\r\n"
                                b"Content-Type: text/plain; charset=nonsense\r\n"
                                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                b"=ZZ\xff\xfe\xc3\x28 broken\r\n",
        "huge_header": head + b"Subject: " + b"A" * 1_000_000 + b"\r\n\r\nbody\r\n",
        "binary_junk": bytes((i * 7 + 128) % 256 or 1 for i in range(50000)).replace(b"\0", b"x"),
        "too_large": head + b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 11000,
    }


def test_hostile_mail_and_a_server_without_idle_or_move():
    """`invited mail poll` against the stack's 127.0.0.2, which offers
    neither IDLE nor MOVE: COPY + EXPUNGE moves the mail, and messages
    meant to break a parser go to the unmatched folder without stopping
    the next one. Then `serve` against it polls."""
    srv = start(**{"imap.host": "127.0.0.2", "imap.enabled": "no"})
    bad = hostile()
    append_all("invites", list(bad.values()) + [auto_reply(1)])
    p = srv.cli("mail", "poll")
    assert p.stdout.startswith(f"{len(bad) + 1} handled, {len(bad) + 1} unmatched, "), p.stdout
    rows = inbound(srv)
    assert len(rows) == len(bad) + 1, rows
    assert {r[4] for r in rows} == {"unmatched"}, rows  # code aaaa… matches nothing
    assert sum("not read" in r[5] for r in rows) == 1, rows  # too_large, never fetched
    assert mailstack.imap_count("invites") == 0
    assert mailstack.imap_count("invites", "Unmatched") == len(bad) + 1
    # A second pass finds nothing new.
    assert srv.cli("mail", "poll").stdout.startswith("0 handled"), "second pass"
    # serve against the same server polls, and handles the next message.
    _, key = provider(srv, "p25")
    inv = invite(srv, key, "c24@example.test")
    code, _ = sent_to(srv, inv["id"])
    srv.stop()
    srv.settings["imap.enabled"] = "yes"
    srv.cli("init", "--force", *sum((["--set", f"{k}={v}"] for k, v in srv.settings.items()), []))
    srv.serve()
    append_all("invites", [auto_reply(2, code)])
    rows = wait_for(lambda: inbound(srv, f"code = '{code}'"), 30, "the polled message", srv)
    assert rows[0][4] == "auto_reply", rows
    assert "(polling)" in srv.log(), srv.log()
    wait_for(lambda: mailstack.imap_count("invites", "Processed") == 1, 30, "the move", srv)
    srv.cleanup()


def test_a_reply_without_a_valid_from_is_unmatched_and_moved():
    """Replies to a real invitation with no From, or a From that is no
    address, cannot be relayed: each is recorded as unmatched and moved,
    and the good reply after them in the same pass is still relayed."""
    srv = start(**{"imap.enabled": "no"})
    _, key = provider(srv, "p26")
    inv = invite(srv, key, "c26@example.test")
    sent_to(srv, inv["id"])
    [(code,)] = srv.sql(f"SELECT reply_code FROM invitations WHERE id = {inv['id']}")
    replies = []
    for i, sender in enumerate((None, "not an address", "Carl <c26@example.test>")):
        m = EmailMessage()
        m["Authentication-Results"] = AUTHENTIC
        if sender is not None:
            m["From"] = sender
        m["To"] = f"reply+{code}@example.test"
        m["Subject"] = f"Re: your invitation ({i})"
        m["Message-ID"] = make_msgid(domain="example.test")
        m.set_content(f"reply {i}\n")
        replies.append(m.as_bytes())
    append_all("invites", replies)
    p = srv.cli("mail", "poll")
    assert p.stdout.startswith("3 handled, 2 unmatched, "), p.stdout
    rows = inbound(srv, "tag = 'reply'")
    assert [r[4] for r in rows] == ["unmatched", "unmatched", "relayed"], rows
    assert all("From" in r[5] for r in rows[:2]), rows
    assert mailstack.imap_count("invites") == 0
    assert mailstack.imap_count("invites", "Unmatched") == 2
    assert mailstack.imap_count("invites", "Processed") == 1
    srv.cleanup()


def test_lost_imap_connection_comes_back_with_backoff():
    srv = start()
    _, key = provider(srv, "p26")
    inv = invite(srv, key, "c25@example.test")
    code, _ = sent_to(srv, inv["id"])
    wait_for(lambda: "imap: watching INBOX" in srv.log(), 20, "the reader to start", srv)
    mailstack.control("stop-imap")
    try:
        # The server keeps trying, waiting longer each time.
        wait_for(lambda: "trying again in 4 s" in srv.log(), 30, "three refused attempts", srv)
        log = srv.log()
        assert "reconnecting" in log, log  # the IDLE connection dropped
        assert "trying again in 1 s" in log and "trying again in 2 s" in log, log
        status, _, _ = srv.http("GET", "/healthz")
        assert status == 200  # the rest of the server does not care
    finally:
        mailstack.control("start-imap")
    append_all("invites", [auto_reply(3, code)])
    rows = wait_for(lambda: inbound(srv, f"code = '{code}'"), 30,
                    "the message after the reconnect", srv)
    assert rows[0][4] == "auto_reply", rows
    assert srv.log().count("imap: watching INBOX") >= 2
    srv.cleanup()


def test_the_sixth_relay_of_a_day_is_kept():
    srv = start()
    _, key = provider(srv, "p24")
    mailstack.imap_clear("c24")
    inv = invite(srv, key, "c24@example.test")
    _, message_id = sent_to(srv, inv["id"])
    raw = mailstack.imap_match("c24", lambda r: message_id.encode() in r)
    original = mailstack.parse_strict(raw)
    reply_to = original["Reply-To"].addresses[0].addr_spec
    for i in range(6):
        mailstack.smtp_send(invitee_reply("c24@example.test", reply_to, original, message_id,
                                          f"Question {i}", AUTHENTIC),
                            "c24@example.test", [reply_to])
    rows = wait_for(lambda: len(inbound(srv, "tag = 'reply'")) == 6 and
                    inbound(srv, "tag = 'reply'"), 60, "six replies", srv)
    assert [r[4] for r in rows] == ["relayed"] * 5 + ["reply_kept"], rows
    assert "relay_per_day" in rows[5][5], rows
    assert srv.sql(f"SELECT count(*) FROM outbox WHERE kind = 'relay' AND "
                   f"invitation_id = {inv['id']}") == [(5,)]
    srv.cleanup()
