"""Logs as an operator reads them: one line per mail and outcome, Postfix's
way (queue id, recipient, relay, kind, attempt, status and the server's
reply), and journald's priority prefixes when standard error is the
journal's stream (JOURNAL_STREAM names it)."""
import os
import re
import subprocess
import time

from lib import mailstack
from lib.server import Server, invited_bin


def wait_log(srv, pattern, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, srv.log())
        if m:
            return m
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} in the log:\n{srv.log()[-3000:]}")


def test_each_mail_outcome_is_one_line_with_its_reply():
    srv = Server.start(**{"invitations.org_rate_limit": "0",
                          "invitations.recipient_rate_limit": "0",
                          "smtp.retry_base": "60s"})
    mailstack.imap_clear("u44")
    org = srv.org_create("provider", "Northwind Logs", "p44@example.test")
    key = srv.apikey(org)
    ids = {}
    for email in ("u44@example.test", "reject@example.test", "tempfail@example.test"):
        status, inv = srv.api("POST", "/api/v1/invitations",
                              {"kind": "indirect_provider", "email": email}, key)
        assert status == 201, inv
        ids[email] = srv.sql(f"SELECT id FROM outbox WHERE invitation_id = {inv['id']}")[0][0]
    port = mailstack.env()["MAILSTACK_SMTP_PORT"]
    relay = re.escape(f"relay=127.0.0.1:{port}")
    wait_log(srv, rf"info: outbox: id={ids['u44@example.test']} to=<u44@example\.test> "
                  rf"{relay} kind=invitation attempt=1 status=sent \(250 ")
    wait_log(srv, rf"warning: outbox: id={ids['reject@example.test']} "
                  rf"to=<reject@example\.test> {relay} kind=invitation attempt=1 "
                  rf"status=failed \(550 <reject@example\.test>: Recipient address rejected")
    wait_log(srv, rf"warning: outbox: id={ids['tempfail@example.test']} "
                  rf"to=<tempfail@example\.test> {relay} kind=invitation attempt=1 "
                  rf"status=deferred \(451 <tempfail@example\.test>: ")
    srv.stop()


def run_with_stderr_to(conf, journal_stream):
    """`invited config` (which warns of AUTH without TLS) with stderr on a
    pipe; JOURNAL_STREAM names that pipe, or something else."""
    r, w = os.pipe()
    st = os.fstat(w)
    env = dict(os.environ, INVITED_SMTP_USER="someone",
               JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}" if journal_stream else "1:1")
    subprocess.run([invited_bin(), "-c", conf, "config"], stdout=subprocess.DEVNULL,
                   stderr=w, env=env, check=True, timeout=30)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    return out.decode()


def test_to_the_journal_lines_carry_their_priority():
    srv = Server.start()
    text = run_with_stderr_to(srv.conf, True)
    assert re.search(r"^<4>warning: smtp: AUTH without TLS", text, re.M), text
    assert not re.search(r"^\d{4}-\d\d-\d\dT", text, re.M), text
    text = run_with_stderr_to(srv.conf, False)
    assert re.search(r"^\d{4}-\d\d-\d\dT\S+ invited\[\d+\]: warning: smtp: AUTH without TLS",
                     text, re.M), text
    srv.stop()
