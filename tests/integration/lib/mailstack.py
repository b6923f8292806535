"""The test mail stack as a mail client sees it: IMAP to read, SMTP to
send, and a strict parse that fails on any MIME defect."""
import email
import email.policy
import imaplib
import os
import re
import smtplib
import time

_env = None


def env():
    global _env
    if _env is None:
        folder = os.environ.get("INVITED_MAILSTACK_DIR")
        assert folder, "INVITED_MAILSTACK_DIR is not set: run under ctest"
        path = os.path.join(folder, "env")
        assert os.path.exists(path), f"{path} is missing: is the mail stack running?"
        with open(path) as f:
            _env = dict(line.strip().split("=", 1) for line in f if "=" in line)
    return _env


def imap_login(user):
    """A logged-in IMAP connection to the stack as user."""
    e = env()
    conn = imaplib.IMAP4("127.0.0.1", int(e["MAILSTACK_IMAP_PORT"]))
    conn.login(user, e["MAILSTACK_PASSWORD"])
    return conn


def imap_fetch(user, predicate=None, timeout=30, delete=False, folder="INBOX"):
    """Messages (raw bytes) in the user's folder, once one matches."""
    deadline = time.monotonic() + timeout
    while True:
        conn = imap_login(user)
        try:
            conn.select(folder)
            _, data = conn.uid("SEARCH", None, "ALL")
            found = []
            for uid in data[0].split():
                _, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = parts[0][1]
                found.append((uid, raw))
            if any(predicate is None or predicate(raw) for _, raw in found):
                if delete:
                    for uid, _ in found:
                        conn.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
                    conn.expunge()
                return [raw for _, raw in found]
        finally:
            conn.logout()
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching message for {user} in {folder} after "
                                 f"{timeout}s ({len(found)} other messages)\n--- maillog:\n"
                                 + maillog()[-3000:])
        time.sleep(0.2)


def imap_match(user, predicate, timeout=30, folder="INBOX"):
    """The newest message (raw bytes) in the user's folder that matches,
    once one does: never another message that happens to be newer."""
    found = imap_fetch(user, predicate, timeout=timeout, folder=folder)
    return [raw for raw in found if predicate(raw)][-1]


def imap_folders(user):
    conn = imap_login(user)
    try:
        _, data = conn.list()
        return [line.decode().rsplit(' "/" ', 1)[-1].strip('"') for line in data]
    finally:
        conn.logout()


def imap_count(user, folder="INBOX"):
    conn = imap_login(user)
    try:
        typ, data = conn.select(folder, readonly=True)
        return int(data[0]) if typ == "OK" else 0
    finally:
        conn.logout()


def imap_clear(user):
    """Delete every message in every folder of the user."""
    conn = imap_login(user)
    try:
        _, data = conn.list()
        for line in data:
            name = line.decode().rsplit(' "/" ', 1)[-1].strip('"')
            typ, data = conn.select(f'"{name}"')
            if typ != "OK" or int(data[0]) == 0:
                continue
            conn.store("1:*", "+FLAGS", r"(\Deleted)")
            conn.expunge()
    finally:
        conn.logout()


def parse_strict(raw):
    """Parse as a mail client would; fail on any defect in any part."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems = []
    for part in msg.walk():
        problems += [f"{part.get_content_type()}: {d!r}" for d in part.defects]
        for name, value in part.items():
            problems += [f"header {name}: {d!r}" for d in getattr(value, "defects", ())]
        if not part.is_multipart():
            part.get_content()  # decodes the transfer encoding and charset
    assert not problems, "MIME defects:\n" + "\n".join(problems)
    return msg


def smtp_send(message, mail_from, rcpts):
    """Submit to the stack's Postfix; message is bytes or an EmailMessage."""
    e = env()
    with smtplib.SMTP("127.0.0.1", int(e["MAILSTACK_SMTP_PORT"]), timeout=30) as s:
        if isinstance(message, (bytes, str)):
            s.sendmail(mail_from, rcpts, message)
        else:
            s.send_message(message, from_addr=mail_from, to_addrs=rcpts)


def maillog():
    try:
        with open(os.path.join(env()["MAILSTACK_DIR"], "maillog"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def control(*args):
    """scripts/mailstack COMMAND DIR ARGS…: stop-smtp, start-smtp, access, unaccess."""
    import subprocess
    script = os.path.join(os.environ.get("INVITED_SOURCE_DIR", "."), "scripts", "mailstack")
    p = subprocess.run(["bash", script, args[0], env()["MAILSTACK_DIR"], *args[1:]],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"mailstack {' '.join(args)}: {p.stdout}{p.stderr}"


def message_ids(user, folder="INBOX"):
    """Every Message-ID in the user's folder, one entry per message (so a
    duplicate shows twice), fetched in one command."""
    conn = imap_login(user)
    try:
        typ, data = conn.select(folder)
        if int(data[0]) == 0:
            return []
        _, data = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        ids = []
        for item in data:
            if isinstance(item, tuple):
                m = re.search(rb"<([^>]+)>", item[1])
                ids.append(m.group(1).decode() if m else "")
        return ids
    finally:
        conn.logout()
