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


def test_to_the_journal_lines_carry_their_priority():  # sqlite only: the warning is of the database file's mode
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


SYSLOG_LAUNCH = r'''
set -e
# A private mount namespace whose /dev is a fresh tmpfs holding the few
# devices a server opens, and /dev/log: the test's socket.
mkdir -p "$1/olddev"
mount --bind /dev "$1/olddev"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero random urandom; do
	touch "/dev/$n"
	mount --bind "$1/olddev/$n" "/dev/$n"
done
ln -s /proc/self/fd /dev/fd
ln -s "$1/log" /dev/log
shift
exec "$@"
'''


def test_syslog_target_debug_level_and_access_log():
    """[log] target = syslog: serve writes to /dev/log (here a socket of the
    test's, in a mount namespace of its own) at each line's priority,
    facility daemon; level = debug adds the debug lines, warning drops the
    info ones; access = yes logs one line per answer, a link's token left
    out."""
    import socket
    import tempfile
    tmp = tempfile.mkdtemp(prefix="invited-syslog-")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(os.path.join(tmp, "log"))
    rx.settimeout(0.2)
    srv = Server.start(**{"log.target": "syslog", "log.level": "debug", "log.access": "yes",
                          "invitations.org_rate_limit": "0",
                          "invitations.recipient_rate_limit": "0"})
    srv.stop()
    launch = os.path.join(tmp, "launch.sh")
    with open(launch, "w") as f:
        f.write(SYSLOG_LAUNCH)
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "bash", launch,
                             tmp, invited_bin(), "-c", srv.conf, "serve"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(srv.log_path, "ab"), env=child_env())
    lines = []

    def read_until(pred, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                lines.append(rx.recv(65536).decode())
            except socket.timeout:
                pass
            if any(pred(line) for line in lines):
                return
        raise AssertionError(f"no {what} in syslog:\n" + "\n".join(lines[-40:]) +
                             f"\nstderr:\n{srv.log()[-2000:]}")

    try:
        read_until(lambda line: "listening" in line or "serving" in line, "start-up line")
        org = srv.org_create("provider", "Northwind Syslog", "p45@example.test")
        status, inv = srv.api("POST", "/api/v1/invitations",
                              {"kind": "indirect_provider", "email": "u45@example.test"},
                              srv.apikey(org))
        assert status == 201, inv
        link = srv.mailed_link(inv["id"])
        token = link.rsplit("/", 1)[1]
        srv.http("GET", link)
        srv.http("GET", f"//l/{token}")   # a 404, its token left out all the same
        srv.http("GET", "/x%ff%E2%80%AE%22%0a%25y")  # bytes that would forge or hide a line
        # <30> is daemon.info, <31> daemon.debug: RFC 3164 lines from syslog(3).
        info = r"^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d invited\[\d+\]: info: "
        read_until(lambda line: re.match(info + r'access: 127\.0\.0\.1 "POST '
                                         r'/api/v1/invitations" 201 \d+ [\d.]+ms$', line),
                   "access line for the POST")
        read_until(lambda line: re.match(info + r'access: 127\.0\.0\.1 "GET /l/\(token left '
                                         r'out\)" 200 ', line),
                   "access line for the link, token left out")
        read_until(lambda line: re.match(info + r'access: 127\.0\.0\.1 "GET //l/\(token left '
                                         r'out\)" 404 ', line),
                   "access line for another path holding a token")
        read_until(lambda line: re.match(info + r'access: 127\.0\.0\.1 "GET '
                                         r'/x%FF%E2%80%AE%22%0A%25y" 404 \d+ [\d.]+ms$', line),
                   "access line with its path's bytes escaped")
        read_until(lambda line: re.match(r"^<31>.* invited\[\d+\]: debug: outbox: 1 message "
                                         r"claimed for one SMTP session", line),
                   "debug line")
        read_until(lambda line: re.match(info + r"outbox: id=\d+ to=<u45@example\.test> .*"
                                         r"status=sent", line), "the mail's line")
        assert not any(token in line for line in lines), "a link's token reached the log"
        assert "access:" not in srv.log(), srv.log()  # all of it went to syslog
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    # warning: no info line any more, the warnings still.
    with open(srv.conf, "a") as f:
        f.write("\n[log]\nlevel = warning\ntarget = stderr\n")
    srv.serve()
    srv.http("GET", "/healthz")
    srv.stop()
    assert "info:" not in srv.log().split("warning: config: [log]")[-1], srv.log()
    rx.close()
    srv.cleanup()
