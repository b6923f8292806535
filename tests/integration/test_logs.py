"""Logs as an operator reads them: one line per mail and outcome, Postfix's
way (queue id, recipient, relay, kind, attempt, status and the server's
reply), and journald's priority prefixes when standard error is the
journal's stream (JOURNAL_STREAM names it)."""
import os
import re
import subprocess
import time

from lib import mailstack
from lib.server import Server, child_env, invited_bin


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


def run_with_stderr_to(srv, journal_stream):
    """`invited init` on a database that others could read (which it
    warns of, and mends) with stderr on a pipe; JOURNAL_STREAM names that
    pipe, or something else."""
    os.chmod(os.path.join(srv.dir, "invited.db"), 0o644)
    r, w = os.pipe()
    st = os.fstat(w)
    env = child_env(JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}" if journal_stream else "1:1")
    subprocess.run([invited_bin(), "-c", srv.conf, "init"], stdout=subprocess.DEVNULL,
                   stderr=w, env=env, check=True, timeout=30)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    return out.decode()


def test_to_the_journal_lines_carry_their_priority():
    srv = Server.start()
    text = run_with_stderr_to(srv, True)
    assert re.search(r"^<4>warning: store: \S+ was readable by others", text, re.M), text
    assert not re.search(r"^\d{4}-\d\d-\d\dT", text, re.M), text
    text = run_with_stderr_to(srv, False)
    assert re.search(r"^\d{4}-\d\d-\d\dT\S+ invited\[\d+\]: warning: store: \S+ was "
                     r"readable by others", text, re.M), text
    srv.stop()


def test_config_warnings_are_logged_once_by_serve_and_listed_by_check():
    """A key given twice, an INVITED_* variable that names no setting, AUTH
    in the clear: serve logs each once at start, `config check` lists them
    (and still says ok), the other commands do not repeat them."""
    srv = Server.start()
    srv.stop()
    with open(srv.conf, "a") as f:
        f.write("\n[server]\nthreads = 2\n")
    more = {"INVITED_SMTP_PROT": "587", "INVITED_SMTP_USER": "someone"}
    p = subprocess.run([invited_bin(), "-c", srv.conf, "config", "check"], env=child_env(**more),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    assert "warning: [server] threads given twice; the last one counts" in lines, lines
    assert any(line.startswith("warning: the environment variable INVITED_SMTP_PROT names "
                               "no setting") for line in lines), lines
    assert "warning: [smtp] AUTH without TLS sends the password in the clear" in lines, lines
    assert lines[-1] == "ok", lines
    p = subprocess.run([invited_bin(), "-c", srv.conf, "org", "list"], env=child_env(**more),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr
    os.environ.update(more)  # read by serve
    try:
        srv.serve()
        for what in (r"\[server\] threads given twice", r"INVITED_SMTP_PROT names no setting",
                     r"AUTH without TLS"):
            assert len(re.findall(r"warning: config: .*" + what, srv.log())) == 1, srv.log()
        srv.stop()
    finally:
        for k in more:
            del os.environ[k]
    assert srv.log().count("names no setting") == 1, srv.log()  # no other variable
