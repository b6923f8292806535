"""Inbound mail handled per second: `invited mail poll` over 10,000 bounces,
replies, auto-replies and strays in the invites mailbox of the mail stack,
against a bare libetpan client (bench/bench_fetch.c) that only fetches and
parses (mailmime_parse) the same messages, and against the peer a user
would pick instead, npm imapflow fetching them and mailparser parsing each
(bench/peers/inbound.mjs: fetch + parse alone, no store, no MOVE), in the
same run.

    python3 bench/inbound.py --build BUILD_DIR --work WORK_DIR

with INVITED_MAILSTACK_DIR naming a running scripts/mailstack, and
INVITED_BENCH_PEERS the folder where bench/peers/package.json was installed
(scripts/bench: build-bench/peers; without it the peer's row is left out).
INVITED_BENCH_SMALL=1: 1,000 messages answering 300 invitations (the same
mix, a tenth of each) and one round, a sanity check of the script, not a
figure. Prints the table rows on stdout (libetpan, then the peer),
progress on stderr; exits non-zero on any failure.

The invitations are real: bench/invite_fill creates them through
invitation_create (link, rendered mail queued in the outbox, reply code).
The mail answers them: RFC 3464 reports (permanent ones returning the whole
original, delayed ones its headers) to bounces+CODE, replies to
reply+CODE (each relayed: a mail queued for the inviter), vacation
auto-replies in the usual dialects, and a few messages that match nothing.
It is delivered into the Maildir of the stack's invites user (as a local
delivery agent would; not through Postfix, and not by APPEND, which costs
Dovecot an fsync per message), then taken in by a SELECT before any timing.

Each round runs the baseline on the waiting messages, then the peer (it
opens the mailbox read-only: nothing changes), then the poll, each pinned
to one core; between rounds the store is restored and the messages are
moved back to INBOX. The best run of each counts. The baseline and the poll
are timed from outside, the peer by itself from its connect() to its last
parse (Node's start-up is not counted).
"""
import argparse
import os
import pwd
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from lib import mailstack  # noqa: E402

USER = "invites"
DOMAIN = "example.test"
SMALL = os.environ.get("INVITED_BENCH_SMALL") == "1"
SCALE = 10 if SMALL else 1
INVITATIONS = 3000 // SCALE
MESSAGES = 10000 // SCALE
ROUNDS = 1 if SMALL else 3
GOAL = 0.5       # of the bare libetpan fetch + parse loop
PEER_GOAL = 1.0  # of imapflow + mailparser
PEERS = os.environ.get("INVITED_BENCH_PEERS")
CPU = "0"  # the client measured, poll, baseline or peer; Dovecot runs where it may

# The mix, by what each message should be recorded as.
MIX = {
    "bounced": 2500 // SCALE,      # permanent reports, one per invitation
    "bounce_noted": 500 // SCALE,  # delayed reports
    "relayed": 3000 // SCALE,      # replies to reply+CODE
    "auto_reply": 3800 // SCALE,   # vacation and out-of-office answers
    "unmatched": 200 // SCALE,     # unknown codes, untagged mail
}
assert sum(MIX.values()) == MESSAGES


def log(*args):
    print("inbound:", *args, file=sys.stderr, flush=True)


def fail(msg):
    log("FAIL:", msg)
    sys.exit(1)


def crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


# ------------------------------------------------------------ the messages
DATE = "Mon, 23 Nov 2026 10:02:11 +0000"


def permanent_dsn(i, inv):
    code, rcpt = inv["code"], inv["email"]
    qid = f"4Xk{i:06d}Lq"
    said = [
        f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual "
        "mailbox table",
        f"552 5.2.2 <{rcpt}>: Mailbox full",
        f"550 5.7.1 <{rcpt}>: Relay access denied",
    ][i % 3]
    status = said.split()[1]
    return crlf(f"""Return-Path: <>
Delivered-To: bounces+{code}@{DOMAIN}
Received: from mx.sender.test (mx.sender.test [192.0.2.1])
	by mail.{DOMAIN} (Postfix) with ESMTPS id {qid}
	for <bounces+{code}@{DOMAIN}>; {DATE}
Date: {DATE}
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces+{code}@{DOMAIN}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{qid}.1795000000/mx.sender.test"
Content-Transfer-Encoding: 8bit
Message-Id: <20261123100211.{qid}@mx.sender.test>

This is a MIME-encapsulated message.

--{qid}.1795000000/mx.sender.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.sender.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{rcpt}>: host mx.{rcpt.split('@')[1]}[192.0.2.10] said:
    {said} (in reply to RCPT TO command)

--{qid}.1795000000/mx.sender.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test
X-Postfix-Queue-ID: {qid}
X-Postfix-Sender: rfc822; bounces+{code}@{DOMAIN}
Arrival-Date: {DATE}

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; mx.{rcpt.split('@')[1]}
Diagnostic-Code: smtp; {said}

--{qid}.1795000000/mx.sender.test
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

Return-Path: <bounces+{code}@{DOMAIN}>
""".encode()) + crlf(inv["data"]) + crlf(f"""
--{qid}.1795000000/mx.sender.test--
""".encode())


def delayed_dsn(i, inv):
    code, rcpt = inv["code"], inv["email"]
    qid = f"8Yz{i:06d}Mr"
    return crlf(f"""Return-Path: <>
Delivered-To: bounces+{code}@{DOMAIN}
Date: {DATE}
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: bounces+{code}@{DOMAIN}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{qid}.1795000000/mx.sender.test"
Message-Id: <20261123120000.{qid}@mx.sender.test>

This is a MIME-encapsulated message.

--{qid}.1795000000/mx.sender.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.sender.test.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

                   The mail system

<{rcpt}>: connect to mx.{rcpt.split('@')[1]}[192.0.2.7]:25: Connection timed
    out

--{qid}.1795000000/mx.sender.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test
X-Postfix-Queue-ID: {qid}
X-Postfix-Sender: rfc822; bounces+{code}@{DOMAIN}
Arrival-Date: {DATE}

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.{rcpt.split('@')[1]}[192.0.2.7]:25:
    Connection timed out
Will-Retry-Until: Sat, 28 Nov 2026 10:02:11 +0000

--{qid}.1795000000/mx.sender.test
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces+{code}@{DOMAIN}>
""".encode()) + crlf(inv["data"]).split(b"\r\n\r\n", 1)[0] + b"\r\n" + crlf(f"""
--{qid}.1795000000/mx.sender.test--
""".encode())


def reply(i, inv):
    rcpt, name = inv["email"], inv["name"]
    words = [
        "Thanks, we are interested. Could you send the price list first?",
        "Can we talk on Tuesday before I accept? Our legal team has a question.",
        "We accepted the invitation. Who is our contact for onboarding?",
    ][i % 3]
    head = f"""Return-Path: <{rcpt}>
Delivered-To: reply+{inv['reply_code']}@{DOMAIN}
Authentication-Results: mx.{DOMAIN}; dkim=pass header.d={rcpt.split('@')[1]}
From: {name} <{rcpt}>
To: Invitations <reply+{inv['reply_code']}@{DOMAIN}>
Subject: Re: {inv['subject']}
Date: {DATE}
Message-ID: <reply-{i}.{inv['code']}@mail.{rcpt.split('@')[1]}>
In-Reply-To: <{inv['message_id']}>
References: <{inv['message_id']}>
MIME-Version: 1.0
"""
    quoted = f"""> Hello {name},
>
> Northwind Traders invites your organization to authorize it as an
> indirect provider."""
    if i % 2:
        return crlf(f"""{head}Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 7bit

Hello,

{words}

Regards, {name}

On Mon, 23 Nov 2026 Invitations wrote:
{quoted}
""".encode())
    return crlf(f"""{head}Content-Type: multipart/alternative; boundary="000000alt{i}"

--000000alt{i}
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hello,

{words}

Regards, {name}

{quoted}

--000000alt{i}
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr"><p>Hello,</p><p>{words}</p><p>Regards, {name}</p></div>

--000000alt{i}--
""".encode())


def auto_reply(i, inv):
    rcpt, name = inv["email"], inv["name"]
    to = f"bounces+{inv['code']}@{DOMAIN}" if i % 4 else \
        f"reply+{inv['reply_code']}@{DOMAIN}"
    mid = f"<auto-{i}.{inv['code']}@mail.{rcpt.split('@')[1]}>"
    dialect = i % 3
    if dialect == 0:  # RFC 3834
        more = ("Auto-Submitted: auto-replied (vacation)\n"
                f"Subject: Out of office: Re: {inv['subject']}\n")
    elif dialect == 1:  # Exchange
        more = ("X-Auto-Response-Suppress: All\nX-Autoreply: yes\n"
                f"Subject: Automatic reply: {inv['subject']}\n")
    else:  # vacation(1)
        more = "Precedence: bulk\nSubject: away from my mail\n"
    return crlf(f"""Return-Path: <>
Delivered-To: {to}
From: {name} <{rcpt}>
To: {to}
Date: {DATE}
Message-ID: {mid}
In-Reply-To: <{inv['message_id']}>
{more}MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

I am out of the office until 30 November with limited access to mail.
Your message concerning "{inv['subject']}" will be read when I am back.
""".encode())


def stray(i):
    if i % 2:  # a report for a code we never sent
        inv = {"code": f"zz{i:018d}", "email": f"gone{i}@old.example",
               "data": b"Subject: something old\n\nold\n"}
        return permanent_dsn(MIX["bounced"] + i, inv)
    return crlf(f"""Return-Path: <offers{i}@promo.example>
Delivered-To: invites@{DOMAIN}
From: Offers <offers{i}@promo.example>
To: invites@{DOMAIN}
Subject: Your partner portal could do more
Date: {DATE}
Message-ID: <promo-{i}@promo.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

Dear partner team, book a demo of our portal today.
""".encode())


def invitations(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT o.code, o.message_id, d.data, i.reply_code, i.email, i.name, i.subject "
            "FROM outbox o JOIN outbox_data d USING (id)"
            " JOIN invitations i ON i.id = o.invitation_id "
            "WHERE o.kind = 'invitation' ORDER BY i.id").fetchall()
    finally:
        db.close()
    keys = ("code", "message_id", "data", "reply_code", "email", "name", "subject")
    return [dict(zip(keys, r)) for r in rows]


def build_messages(invs):
    """MESSAGES raw messages in a shuffled arrival order."""
    n_bounced, n_delayed = MIX["bounced"], MIX["bounce_noted"]
    assert len(invs) == INVITATIONS >= n_bounced + n_delayed
    bounced, rest = invs[:n_bounced], invs[n_bounced:]
    out = [permanent_dsn(i, inv) for i, inv in enumerate(bounced)]
    out += [delayed_dsn(i, inv) for i, inv in enumerate(rest[:n_delayed])]
    out += [reply(i, rest[i % len(rest)]) for i in range(MIX["relayed"])]
    out += [auto_reply(i, rest[(i * 7) % len(rest)]) for i in range(MIX["auto_reply"])]
    out += [stray(i) for i in range(MIX["unmatched"])]
    random.Random(7).shuffle(out)
    return out


# ------------------------------------------------------------------- IMAP
def folder_counts():
    return {folder: mailstack.imap_count(USER, folder)
            for folder in ("INBOX", "Processed", "Unmatched")}


def move_back():
    """The handled messages back into INBOX, for the next round."""
    conn = mailstack.imap_login(USER)
    try:
        for folder in ("Processed", "Unmatched"):
            typ, data = conn.select(folder)
            if typ == "OK" and int(data[0]) > 0:
                typ, said = conn.uid("MOVE", "1:*", "INBOX")
                if typ != "OK":
                    fail(f"MOVE {folder} to INBOX: {said}")
    finally:
        conn.logout()


def deliver(env, messages):
    """Into the user's Maildir, as a local delivery agent does (tmp/, then
    a rename into new/; sizes in the name, as Dovecot writes them). Much
    faster than APPEND, which fsyncs every message; Dovecot takes them in
    at the next SELECT."""
    maildir = os.path.join(env["MAILSTACK_DIR"], "mail", USER, "Maildir")
    if not os.path.isdir(os.path.join(maildir, "new")):
        fail(f"{maildir}/new is missing: is this a scripts/mailstack folder?")
    owner = pwd.getpwnam("vmail")
    stamp = int(time.time())
    for i, raw in enumerate(messages):
        data = raw.replace(b"\r\n", b"\n")
        name = f"{stamp}.M{i}P{os.getpid()}.bench,S={len(data)},W={len(raw)}"
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        os.rename(tmp, os.path.join(maildir, "new", name))


# ------------------------------------------------------------------ invited
def invited(args, conf, *argv, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    p = subprocess.run([os.path.join(args.build, "invited"), "-c", conf, *argv],
                       capture_output=True, text=True, timeout=300, env=env)
    if p.returncode != 0:
        fail(f"invited {' '.join(argv)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def setup(args, env):
    folder = os.path.join(args.work, "inbound")
    os.makedirs(folder, exist_ok=True)
    conf = os.path.join(folder, "invited.conf")
    settings = {
        "server.listen": "127.0.0.1:42080",
        "server.public_url": "https://partners.example.test",
        # Nothing listens there: the mails stay queued, as no server runs.
        "smtp.port": "42999",
        "mail.reply_domain": DOMAIN,
        "mail.templates": os.path.join(HERE, "..", "templates"),
        "imap.host": "127.0.0.1",
        "imap.port": env["MAILSTACK_IMAP_PORT"],
        "imap.user": USER,
        "imap.trusted_authserv": f"mx.{DOMAIN}",
        # Each reply is the invitee's, authenticated by our relay: relayed.
        "mail.relay_per_day": "1000",
    }
    argv = ["init"]
    for k, v in settings.items():
        argv += ["--set", f"{k}={v}"]
    invited(args, conf, *argv)
    org = invited(args, conf, "org", "create", "--kind", "provider", "--name",
                  "Northwind Traders", "--email", f"paula@{DOMAIN}", "--status",
                  "approved", "--contact-name", "Paula Provider").strip()
    t = time.monotonic()
    p = subprocess.run([os.path.join(args.build, "bench", "invite_fill"), conf, org,
                        str(INVITATIONS)], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"invite_fill: {p.stderr}")
    log(f"{INVITATIONS} invitations created in {time.monotonic() - t:.1f} s")
    return folder, conf


# ---------------------------------------------------------------- measured
def baseline(args, env):
    cmd = ["taskset", "-c", CPU, os.path.join(args.build, "bench", "bench_fetch"),
           "127.0.0.1", env["MAILSTACK_IMAP_PORT"], USER, env["MAILSTACK_PASSWORD"], "INBOX"]
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    dt = time.monotonic() - t
    if p.returncode != 0:
        fail(f"bench_fetch exited {p.returncode}: {p.stderr}")
    n, nbytes, parsed = map(int, p.stdout.split())
    if n != MESSAGES or parsed != MESSAGES:
        fail(f"bench_fetch fetched {n} messages and parsed {parsed}, not {MESSAGES}")
    log(f"baseline: {n} messages ({nbytes} bytes) fetched and parsed in {dt:.2f} s: "
        f"{n / dt:.0f}/s")
    return n / dt


def peer(env):
    """imapflow + mailparser (bench/peers/inbound.mjs) over the waiting
    messages; it times itself. Returns (messages per second, what it is)."""
    cmd = ["taskset", "-c", CPU, "node", os.path.join(HERE, "peers", "inbound.mjs"),
           "--host", "127.0.0.1", "--port", env["MAILSTACK_IMAP_PORT"], "--user", USER,
           "--password", env["MAILSTACK_PASSWORD"], "--mailbox", "INBOX"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"bench/peers/inbound.mjs exited {p.returncode}: {p.stderr}")
    n, nbytes, dt, label = p.stdout.strip().split(" ", 3)
    n, dt = int(n), float(dt)
    if n != MESSAGES:
        fail(f"bench/peers/inbound.mjs fetched and parsed {n} messages, not {MESSAGES}")
    log(f"peer: {n} messages ({nbytes} bytes) fetched and parsed in {dt:.2f} s: "
        f"{n / dt:.0f}/s ({label})")
    return n / dt, label


def poll(args, env, folder, conf):
    # INVITED_BENCH_WRAP="perf record -g -o FILE --": see where the time goes.
    cmd = os.environ.get("INVITED_BENCH_WRAP", "").split() + [
        "taskset", "-c", CPU, os.path.join(args.build, "invited"), "-c", conf, "mail", "poll"]
    run_env = dict(os.environ, INVITED_IMAP_PASSWORD=env["MAILSTACK_PASSWORD"])
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=run_env)
    dt = time.monotonic() - t
    if p.returncode != 0:
        fail(f"invited mail poll exited {p.returncode}:\n{p.stdout}{p.stderr[-3000:]}")
    check(env, folder, p.stdout)
    log(f"poll: {MESSAGES} messages handled in {dt:.2f} s: {MESSAGES / dt:.0f}/s")
    return MESSAGES / dt


def check(env, folder, said):
    """Every message recorded once, as the mix says, and out of INBOX."""
    first = said.splitlines()[0] if said else ""
    if not first.startswith(f"{MESSAGES} handled, {MIX['unmatched']} unmatched, 0 moved"):
        fail(f"invited mail poll said: {said}")
    db = sqlite3.connect(f"file:{os.path.join(folder, 'invited.db')}?mode=ro", uri=True)
    try:
        rows = dict(db.execute("SELECT action, count(*) FROM inbound GROUP BY action"))
        done = db.execute(
            "SELECT (SELECT count(*) FROM outbox WHERE kind = 'relay'),"
            " (SELECT count(*) FROM outbox WHERE kind = 'notice'),"
            " (SELECT count(*) FROM invitations WHERE status = 'bounced')").fetchone()
    finally:
        db.close()
    if rows != MIX:
        fail(f"inbound rows by action: {rows}, expected {MIX}")
    # Each reply relayed, each bounced invitation closed and its inviter told.
    if done != (MIX["relayed"], MIX["bounced"], MIX["bounced"]):
        fail(f"(relays, notices, bounced invitations) = {done}, expected "
             f"({MIX['relayed']}, {MIX['bounced']}, {MIX['bounced']})")
    counts = folder_counts()
    if counts != {"INBOX": 0, "Processed": MESSAGES - MIX["unmatched"],
                  "Unmatched": MIX["unmatched"]}:
        fail(f"mailbox after the poll: {counts}")


def snapshot(folder, name):
    src, dst = os.path.join(folder, "invited.db"), os.path.join(folder, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def restore(folder, name):
    src, dst = os.path.join(folder, name), os.path.join(folder, "invited.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    os.makedirs(args.work, exist_ok=True)
    args.work = os.path.abspath(args.work)
    started = time.monotonic()
    env = mailstack.env()

    folder, conf = setup(args, env)
    snapshot(folder, "filled.db")
    messages = build_messages(invitations(os.path.join(folder, "invited.db")))
    log(f"{len(messages)} messages, {sum(map(len, messages)) // 1024} KiB")
    mailstack.imap_clear(USER)
    t = time.monotonic()
    deliver(env, messages)
    counts = folder_counts()  # Dovecot takes the new mail in
    if counts["INBOX"] != MESSAGES:
        fail(f"INBOX holds {counts['INBOX']} messages, not {MESSAGES}")
    log(f"delivered in {time.monotonic() - t:.1f} s")

    if PEERS is None:
        log("INVITED_BENCH_PEERS is not set: no imapflow + mailparser row")
    best_poll = best_base = best_peer = 0.0
    peer_label = ""
    for r in range(ROUNDS):
        if r > 0:
            restore(folder, "filled.db")
            move_back()
        best_base = max(best_base, baseline(args, env))
        if PEERS is not None:
            rate, peer_label = peer(env)
            best_peer = max(best_peer, rate)
        best_poll = max(best_poll, poll(args, env, folder, conf))
    mailstack.imap_clear(USER)

    what = f"inbound messages classified and handled ({MESSAGES:,} in Dovecot)"
    ratio = best_poll / best_base
    print(f"| {what} | {best_poll:.0f}/s | {best_base:.0f}/s (bare libetpan fetch + "
          f"mailmime_parse loop) | {ratio:.2f} | >= {GOAL} | "
          f"{'yes' if ratio >= GOAL else 'NO'} |")
    if PEERS is not None:
        ratio = best_poll / best_peer
        print(f"| {what} vs imapflow + mailparser (fetch + parse only) | "
              f"{best_poll:.0f}/s | {best_peer:.0f}/s ({peer_label}) | {ratio:.2f} | "
              f">= {PEER_GOAL} | {'yes' if ratio >= PEER_GOAL else 'NO'} |")
    log(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
