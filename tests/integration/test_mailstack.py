"""The test mail stack itself: delivery, and a real bounce for an unknown
user returned to the VERP envelope sender in the server's mailbox."""
import os
import time
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
    dsn = mailstack.imap_match("invites", lambda r: b"Undelivered Mail" in r)
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
    # The same from a mailbox file (its "From " line first), with no config
    # file at all: the default reply domain, example.test.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "saved.mbox")
        with open(path, "wb") as f:
            f.write(b"From MAILER-DAEMON Sun Dec  6 05:00:00 2026\n" + dsn)
        p = subprocess.run([invited_bin(), "-c", os.path.join(d, "none.conf"), "mail",
                            "classify", path], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    again = json.loads(p.stdout)
    assert again == res, (again, res)
    assert res["returned_message_id"] == "q7k2m4n6p3r2s4t6v5x2@example.test", res
    [r] = res["recipients"]
    assert r["address"] == "nobody-here@example.test" and r["status"] == "5.1.1", r
    assert r["action"] == "failed" and r["diagnostic"], r


# ------------------------------------------------ the stack's own start and stop
# Each case below starts a second stack of its own, on free ports, beside the
# suite's, and removes it at the end.

STATE_ROOT = "/var/tmp/invited-mailstack"


def _free_base(exclude=()):
    """A port p with p and p+1 free on 127.0.0.1 and 127.0.0.2 (SMTP and
    submission, or IMAP and IMAPS), below the ephemeral range."""
    import random
    import socket
    for _ in range(200):
        p = random.randrange(20000, 32000, 2)
        if p in exclude or p + 1 in exclude or 22525 in (p, p + 1):
            continue  # 22525: test_outbox's port that nobody may hold
        try:
            for port in (p, p + 1):
                for host in ("127.0.0.1", "127.0.0.2"):
                    with socket.socket() as s:
                        s.bind((host, port))
            return p
        except OSError:
            continue
    raise AssertionError("no two free ports")


def _stack(cmd, folder, smtp=None, imap=None, umask=None, check_ports=True):
    """scripts/mailstack CMD FOLDER, with the given ports and umask."""
    import subprocess
    env = dict(os.environ)
    env.pop("MAILSTACK_PORT_CHECK", None)
    if smtp:
        env["MAILSTACK_SMTP_PORT"], env["MAILSTACK_IMAP_PORT"] = str(smtp), str(imap)
    if not check_ports:
        env["MAILSTACK_PORT_CHECK"] = "no"
    script = os.path.join(os.environ.get("INVITED_SOURCE_DIR", "."), "scripts", "mailstack")
    line = f"umask {umask:03o}; " if umask is not None else ""
    return subprocess.run(["bash", "-c", line + 'exec bash "$0" "$@"', script, cmd, folder],
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _daemons_of(state):
    """Pids of every Postfix master and Dovecot whose config lies in the
    state folder, read from /proc as the test sees it."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        conf = f"{state}/".encode()
        if any(a.startswith(conf) for a in args) or \
                any(e.startswith(b"MAIL_CONFIG=" + conf) for e in environ):
            found.append(int(name))
    return found


def _listening(port):
    import socket
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _closed_folder():
    """A folder only root may enter, as root's home is."""
    import tempfile
    top = tempfile.mkdtemp(prefix="invited-ms-")
    os.chmod(top, 0o700)
    return top


def _setup(*names):
    """A closed folder, the stack folders named in it, and two free port
    pairs: (top, [handles], smtp, imap)."""
    top = _closed_folder()
    smtp = _free_base()
    return top, [os.path.join(top, *n.split("/")) for n in names], smtp, \
        _free_base(exclude=(smtp, smtp + 1))


def _stop_leaves_nothing(handle, state, smtp, imap):
    """scripts/mailstack stop: no daemon of the state folder, no port held."""
    p = _stack("stop", handle)
    assert p.returncode == 0, p.stderr
    assert _daemons_of(state) == []
    assert not _listening(smtp) and not _listening(imap)


def _cleanup(top, *handles):
    import shutil
    for h in handles:
        _stack("remove", h)
    shutil.rmtree(top, ignore_errors=True)


def test_stack_runs_from_a_closed_folder_with_umask_077():
    """From a checkout in a folder only root may enter, with umask 077, the
    daemons still reach their state: mail goes in over SMTP and comes out
    over IMAP. Stop leaves nothing running."""
    import imaplib
    import smtplib
    top, [handle], smtp, imap = _setup("checkout/build/mailstack")
    try:
        p = _stack("start", handle, smtp, imap, umask=0o077)
        assert p.returncode == 0, p.stdout + p.stderr
        state = os.readlink(handle)
        assert os.path.dirname(state) == STATE_ROOT, state
        assert state in p.stdout, p.stdout  # the output names the state folder
        assert os.stat(state).st_mode & 0o777 == 0o755
        assert _daemons_of(state), "no Postfix or Dovecot of the stack"

        m = EmailMessage()
        m["From"] = "someone@example.test"
        m["To"] = "u7@example.test"
        tag = uuid.uuid4().hex
        m["Subject"] = f"closed folder {tag}"
        m.set_content("hello")
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as s:
            s.send_message(m)
        import time
        deadline = time.monotonic() + 30
        while True:
            conn = imaplib.IMAP4("127.0.0.1", imap)
            conn.login("u7", "test")
            _, data = conn.select("INBOX", readonly=True)
            _, hits = conn.search(None, "SUBJECT", tag)
            conn.logout()
            if hits[0].split():
                break
            assert time.monotonic() < deadline, "the mail did not arrive:\n" + \
                open(os.path.join(state, "maillog"), errors="replace").read()[-3000:]
            time.sleep(0.2)

        _stop_leaves_nothing(handle, state, smtp, imap)
    finally:
        _cleanup(top, handle)
    assert not os.path.lexists(handle)


def test_start_on_a_taken_port_names_the_holder_and_starts_nothing():
    """A test listener holds the SMTP port: start fails, names the holder as
    ss shows it, and no Postfix or Dovecot of its own is left running."""
    import socket
    top, [handle], smtp, imap = _setup("mailstack")
    try:
        with socket.socket() as held:
            held.bind(("127.0.0.1", smtp))
            held.listen()
            before = sorted(_daemons_of(STATE_ROOT))
            p = _stack("start", handle, smtp, imap)
            assert p.returncode != 0, p.stdout
            assert f"port {smtp} is taken" in p.stderr, p.stderr
            with open("/proc/self/comm") as f:
                me = f.read().strip()
            assert f'("{me}",pid={os.getpid()},' in p.stderr, p.stderr
            assert f"pid {os.getpid()} ({me}) is not a mail stack of invited" in p.stderr
            assert sorted(_daemons_of(STATE_ROOT)) == before
            assert not _listening(imap)

            # Past the check (as when a port is taken after it), the start
            # fails at Postfix and stops the Dovecot it had started.
            p = _stack("start", handle, smtp, imap, check_ports=False)
            assert p.returncode != 0, p.stdout
            assert "stopping what it started" in p.stderr, p.stderr
            state = os.readlink(handle)
            assert "Address already in use" in open(os.path.join(state, "maillog")).read()
            assert _daemons_of(state) == []
            assert not _listening(imap) and not _listening(imap + 1)
    finally:
        _cleanup(top, handle)


def test_a_port_held_by_another_stack_gets_its_stop_command():
    """A stack of another checkout holds the ports: start names it and the
    command that stops it; that command works, and then the start does."""
    import re
    import subprocess
    top, [first, second], smtp, imap = _setup("one/mailstack", "two/mailstack")
    try:
        p = _stack("start", first, smtp, imap)
        assert p.returncode == 0, p.stdout + p.stderr
        state = os.readlink(first)
        p = _stack("start", second, smtp, imap)
        assert p.returncode != 0, p.stdout
        assert f"is the mail stack in {state}" in p.stderr, p.stderr
        stop = re.search(r"^    (bash \S+ stop \S+)$", p.stderr, re.M)
        assert stop and stop.group(1).endswith(f" stop {state}"), p.stderr
        assert not os.path.lexists(second) or \
            _daemons_of(os.path.realpath(second)) == []
        subprocess.run(stop.group(1).split(), check=True, timeout=60,
                       stdin=subprocess.DEVNULL)
        assert _daemons_of(state) == []
        p = _stack("start", second, smtp, imap)
        assert p.returncode == 0, p.stderr
        assert _listening(smtp) and _listening(imap)
    finally:
        _cleanup(top, first, second)


def test_stop_finds_a_stack_whose_state_folder_was_deleted():
    """The state folder and even the checkout are gone: stop still finds the
    daemons by their config path and stops them."""
    import shutil
    top, [handle], smtp, imap = _setup("checkout/mailstack")
    try:
        p = _stack("start", handle, smtp, imap)
        assert p.returncode == 0, p.stdout + p.stderr
        state = os.readlink(handle)
        assert _daemons_of(state)
        # The daemons still write into it (a queue file, an index): a
        # file made between rmtree's listing and its rmdir fails that
        # rmdir, so it is tried again until the folder is gone.
        last = None
        for _ in range(50):
            try:
                shutil.rmtree(state)
                break
            except OSError as e:
                last = e
                time.sleep(0.1)
        assert not os.path.lexists(state), f"{state} could not be deleted: {last}"
        shutil.rmtree(os.path.join(top, "checkout"))
        _stop_leaves_nothing(handle, state, smtp, imap)
    finally:
        _cleanup(top, handle)


def test_a_planted_state_folder_is_refused_and_never_run():
    """The script runs as root over /var/tmp, where anyone may create files:
    a stack folder that another user owns or may write to is refused by
    every command, and an env file is read for its numbers, never run."""
    import subprocess
    top, [handle], _, _ = _setup("planted/mailstack")
    state = _stack("status", handle).stdout.split("\n")[0].split(" ")[1]
    pwned = os.path.join(top, "pwned")
    try:
        os.makedirs(state)
        with open(os.path.join(state, "env"), "w") as f:
            f.write(f"MAILSTACK_SMTP_PORT=1; touch {pwned}\nMAILSTACK_IMAP_PORT=$(touch {pwned})\n")
        for mode, owner in ((0o777, 0), (0o755, 65534)):
            os.chmod(state, mode)
            os.chown(state, owner, owner)
            for cmd in ("stop", "status", "start", "remove"):
                p = _stack(cmd, handle)
                assert p.returncode != 0 and "only root may write" in p.stderr, (cmd, p)
        os.chmod(state, 0o755)
        os.chown(state, 0, 0)
        p = _stack("stop", handle)
        assert p.returncode != 0 and "names no ports" in p.stderr, p
        assert not os.path.exists(pwned), "the env file was run"
    finally:
        subprocess.run(["rm", "-rf", state], check=False)
        _cleanup(top, handle)
