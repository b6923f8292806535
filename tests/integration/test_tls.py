"""TLS against the real mail stack, whose Postfix offers STARTTLS on its
SMTP and submission ports and whose Dovecot offers STARTTLS and implicit
TLS, all with a certificate for 127.0.0.1 signed by the stack's own test
CA. The server trusts that CA through ca_file and checks chain and name:
a certificate from another CA, or for another name (the stack's is for
127.0.0.1; "localhost" is another name), is refused before any password or
mail goes out, with the reason in the outbox, the log and the CLI's error,
and the mail kept."""
import os
import shutil
import subprocess
import tempfile

from lib import mailstack
from lib.server import Server, invited_bin
from test_inbound import append_all, auto_reply, inbound
from test_outbox import integrity_ok, invite_many, outbox_listing, setup, wait_for


def env():
    return mailstack.env()


def smtp_server(user="invites", **more):
    """A server sending over STARTTLS with AUTH to the submission port."""
    e = env()
    settings = {"invitations.org_rate_limit": "0", "invitations.recipient_rate_limit": "0",
                "smtp.port": e["MAILSTACK_SUBMISSION_PORT"], "smtp.tls": "starttls",
                "smtp.ca_file": e["MAILSTACK_CA"], "smtp.user": user,
                "smtp.retry_base": "1s", "smtp.retry_cap": "1s"}
    settings.update(more)
    os.environ["INVITED_SMTP_PASSWORD"] = e["MAILSTACK_PASSWORD"]
    try:
        return Server.start(**settings)
    finally:
        del os.environ["INVITED_SMTP_PASSWORD"]


def submission_log(since):
    """The submission service's maillog lines written after `since` chars."""
    return [l for l in mailstack.maillog()[since:].splitlines() if "mailstack-submission" in l]


def test_starttls_with_auth_sends_over_a_verified_connection():
    since = len(mailstack.maillog())
    srv = smtp_server()
    _, key = setup(srv, "u26")
    invite_many(srv, key, "u26", 2)
    wait_for(lambda: srv.sql("SELECT count(*) FROM outbox WHERE kind = 'invitation' "
                             "AND status = 'sent'")[0][0] == 2, 30, "two sent")
    raws = mailstack.imap_fetch("u26", lambda r: b"u26+1@example.test" in r)
    assert len(raws) == 2, len(raws)
    log = submission_log(since)
    assert any("TLS connection established from" in l for l in log), log
    assert any("sasl_username=invites" in l for l in log), log
    srv.cleanup()


def refused(srv, user, why, alert):
    """The invitation's mail waits with `why` on show; the handshake ended
    with our `alert` (Postfix's log says so), so nothing reached AUTH or
    MAIL and nothing was delivered."""
    _, key = setup(srv, user)
    since = len(mailstack.maillog())
    [inv] = invite_many(srv, key, user, 1)
    wait_for(lambda: srv.sql("SELECT attempts FROM outbox WHERE kind = 'invitation'")[0][0]
             >= 2, 30, "two refused attempts")
    [m], listing = outbox_listing(srv)
    assert m["status"] in ("queued", "sending") and why in m["reason"], listing
    assert "nothing was sent" in m["reason"], listing
    assert why in srv.log(), srv.log()[-2000:]
    status, body = srv.api("GET", f"/api/v1/invitations/{inv}", key=key)
    assert body["status"] == "queued", body
    log = submission_log(since)
    disconnects = [l for l in log if " disconnect from " in l]
    assert disconnects and all("starttls=0/1" in l and " auth=" not in l and " mail=" not in l
                               for l in disconnects), log
    assert any(f"alert {alert}" in l for l in log), log
    assert mailstack.imap_count(user) == 0
    integrity_ok(srv)
    return inv


def test_a_certificate_from_another_ca_is_refused_and_the_mail_kept():
    srv = smtp_server(**{"smtp.ca_file": env()["MAILSTACK_OTHER_CA"]})
    refused(srv, "u27", "certificate does not verify (unable to get local issuer certificate)",
            "unknown ca")
    srv.cleanup()


def test_a_certificate_for_another_name_is_refused():
    srv = smtp_server(**{"smtp.host": "localhost"})
    refused(srv, "u28", "certificate does not verify (hostname mismatch)",
            "bad certificate")
    srv.cleanup()


def init(folder, *settings):
    """`invited init` in a folder of its own with `section.key=value`s."""
    args = [a for kv in settings for a in ("--set", kv)]
    return subprocess.run([invited_bin(), "-c", os.path.join(folder, "invited.conf"), "init",
                           *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_plaintext_beyond_loopback_and_implicit_tls_are_refused_at_start():
    top = tempfile.mkdtemp(prefix="invited-tls-")
    for i, (settings, words) in enumerate((
            (["smtp.host=mx.example.test"], "allow_plaintext = yes"),
            (["smtp.host=mx.example.test", "smtp.user=x"], "and the AUTH password in the clear"),
            (["smtp.tls=tls"], "smtp_tls_wrappermode = yes"),
            (["smtp.tls=starttls", "smtp.ca_file=/nonexistent/ca.pem"],
             "no certificates could be read"),
            (["imap.host=imap.example.test"], "mailbox password in the clear"),
            (["imap.tls=tls", "imap.ca_file=/nonexistent/ca.pem"],
             "no certificates could be read"))):
        folder = os.path.join(top, str(i))
        os.makedirs(folder)
        p = init(folder, *settings)
        assert p.returncode == 1 and words in p.stderr, (settings, p.stdout, p.stderr)
        assert not os.path.exists(os.path.join(folder, "invited.db")), settings
    # Loopback needs nothing; elsewhere, allow_plaintext says the operator means it.
    for i, settings in enumerate((["smtp.host=localhost", "imap.host=::1"],
                                  ["smtp.host=mx.example.test", "smtp.allow_plaintext=yes",
                                   "imap.host=imap.example.test", "imap.allow_plaintext=yes"])):
        folder = os.path.join(top, f"ok{i}")
        os.makedirs(folder)
        p = init(folder, *settings)
        assert p.returncode == 0, (settings, p.stderr)
    shutil.rmtree(top)


def dovecot_log(since=0):
    """Dovecot's log after `since` bytes."""
    with open(os.path.join(env()["MAILSTACK_DIR"], "dovecot.log"), "rb") as f:
        f.seek(since)
        return f.read().decode(errors="replace")


def dovecot_log_size():
    return os.path.getsize(os.path.join(env()["MAILSTACK_DIR"], "dovecot.log"))


def imap_server(**more):
    mailstack.imap_clear("invites")
    e = env()
    settings = {"imap.enabled": "no", "imap.ca_file": e["MAILSTACK_CA"]}
    settings.update(more)
    return Server.start(**settings)


def test_imap_starttls_and_implicit_tls_verify_the_certificate():
    """`mail poll` reads over STARTTLS and over implicit TLS, trusting the
    stack's CA; the CLI goes through the same checks as the server."""
    e = env()
    for tls, port, i in (("starttls", e["MAILSTACK_IMAP_PORT"], 1),
                         ("tls", e["MAILSTACK_IMAPS_PORT"], 2)):
        srv = imap_server(**{"imap.tls": tls, "imap.port": port})
        append_all("invites", [auto_reply(i)])
        p = srv.cli("mail", "poll")
        assert p.stdout.startswith("1 handled"), (tls, p.stdout, p.stderr)
        assert inbound(srv)[0][1] == "auto_reply", (tls, inbound(srv))
        srv.cleanup()
    # Implicit TLS against the plain port fails with a clear error.
    srv = imap_server(**{"imap.tls": "tls"})
    p = srv.cli("mail", "poll", check=False)
    assert p.returncode != 0 and "IMAP 127.0.0.1:" in p.stderr, p.stderr
    srv.cleanup()


def test_imap_refuses_a_wrong_certificate_before_login():
    e = env()
    for tls, port in (("starttls", e["MAILSTACK_IMAP_PORT"]), ("tls", e["MAILSTACK_IMAPS_PORT"])):
        for more, why in (({"imap.ca_file": e["MAILSTACK_OTHER_CA"]},
                           "The certificate issuer is unknown"),
                          ({"imap.host": "localhost"},
                           "The name in the certificate does not match")):
            srv = imap_server(**{"imap.tls": tls, "imap.port": port, **more})
            append_all("invites", [auto_reply(3)])
            since = dovecot_log_size()
            p = srv.cli("mail", "poll", check=False)
            assert p.returncode != 0, p.stdout
            assert "certificate does not verify" in p.stderr and why in p.stderr, p.stderr
            assert "not logging in" in p.stderr, p.stderr
            log = wait_for(lambda: "no auth attempts" in dovecot_log(since) and
                           dovecot_log(since), 10, "Dovecot's account of the connection")
            # The mailbox was filled just before over plain IMAP on loopback
            # ("secured"); Dovecot may log that login after `since`. Ours
            # would have come over TLS.
            assert not [l for l in log.splitlines()
                        if "Login: user=<invites>" in l and " TLS" in l], log
            srv.cleanup()
    # The server's reader, started with a wrong CA, says the same in its log.
    srv = imap_server(**{"imap.enabled": "yes", "imap.tls": "tls",
                         "imap.port": e["MAILSTACK_IMAPS_PORT"],
                         "imap.ca_file": e["MAILSTACK_OTHER_CA"]})
    wait_for(lambda: "certificate does not verify" in srv.log(), 30, "the reader's refusal")
    assert inbound(srv) == []
    srv.cleanup()


def test_a_server_without_starttls_gets_nothing():
    """Postfix's smtp-sink offers no STARTTLS: with tls = starttls nothing
    is sent to it, and the outbox says why."""
    from lib.server import free_port
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "10"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        srv = smtp_server(user="", **{"smtp.port": str(port)})
        _, key = setup(srv, "u29")
        invite_many(srv, key, "u29", 1)
        wait_for(lambda: srv.sql("SELECT attempts FROM outbox WHERE kind = 'invitation'")[0][0]
                 >= 2, 30, "two refused attempts")
        [m], listing = outbox_listing(srv)
        assert m["status"] in ("queued", "sending"), listing
        assert "does not offer STARTTLS" in m["reason"], listing
        assert "does not offer STARTTLS" in srv.log()
        srv.cleanup()
    finally:
        sink.terminate()
        sink.wait()
