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
