"""The test mail stack itself: delivery, and a real bounce for an unknown
user returned to the VERP envelope sender in the server's mailbox."""
import uuid
from email.message import EmailMessage

from lib import mailstack


def test_delivery_and_bounce():
    mailstack.imap_clear("u5")
    mailstack.imap_clear("invites")
    tag = uuid.uuid4().hex
    m = EmailMessage()
    m["From"] = "someone@example.test"
    m["To"] = "u5@example.test"
    m["Subject"] = f"stack check {tag}"
    m.set_content("hello")
    mailstack.smtp_send(m, "bounces+abc123@example.test",
                        ["u5@example.test", "nosuchuser@example.test"])
    got = mailstack.imap_fetch("u5", lambda r: tag.encode() in r)
    assert len(got) == 1
    dsn = mailstack.imap_fetch("invites", lambda r: b"Undelivered Mail" in r)[-1]
    msg = mailstack.parse_strict(dsn)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Delivered-To"] == "bounces+abc123@example.test", msg["Delivered-To"]
    status = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    assert status, "no delivery-status part"
    assert b"5.1.1" in dsn and b"nosuchuser@example.test" in dsn


def test_classify_reads_a_real_postfix_bounce():
    """`invited mail classify` on the DSN Postfix really sends: a permanent
    bounce for the unknown user, matched to our VERP code."""
    import json
    import os
    import subprocess
    import tempfile
    from lib.server import invited_bin
    mailstack.imap_clear("invites")
    m = EmailMessage()
    m["From"] = "invitations@example.test"
    m["To"] = "nobody-here@example.test"
    m["Subject"] = "classify check"
    m["Message-ID"] = "<q7k2m4n6p3r2s4t6v5x2@example.test>"
    m.set_content("hello")
    mailstack.smtp_send(m, "bounces+q7k2m4n6p3r2s4t6v5x2@example.test",
                        ["nobody-here@example.test"])
    dsn = mailstack.imap_fetch("invites", lambda r: b"nobody-here@example.test" in r
                               and b"Undelivered Mail" in r)[-1]
    with tempfile.NamedTemporaryFile(suffix=".eml", delete=False) as f:
        f.write(dsn)
    try:
        p = subprocess.run([invited_bin(), "mail", "classify", "--reply-domain",
                            "example.test", f.name], capture_output=True, text=True,
                           timeout=30)
    finally:
        os.unlink(f.name)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["class"] == "bounce" and res["bounce"] == "permanent", res
    assert res["tag"] == "bounces" and res["code"] == "q7k2m4n6p3r2s4t6v5x2", res
    assert res["returned_message_id"] == "q7k2m4n6p3r2s4t6v5x2@example.test", res
    [r] = res["recipients"]
    assert r["address"] == "nobody-here@example.test" and r["status"] == "5.1.1", r
    assert r["action"] == "failed" and r["diagnostic"], r
