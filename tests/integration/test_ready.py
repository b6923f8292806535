"""/readyz: 200 while the store answers, with the SMTP senders' and the
IMAP reader's last news (never an address or a password); 503 once the
store cannot be read. /healthz stays liveness only."""
import json
import os
import re
import time

import subprocess

from lib import pgstack, mailstack
from lib.server import Server, invited_bin


def ready(srv):
    status, _, body = srv.http("GET", "/readyz")
    return status, json.loads(body)


def wait_ready(srv, pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, r = ready(srv)
        if pred(status, r):
            return status, r
        time.sleep(0.2)
    raise AssertionError(f"/readyz never showed {what}: {status} {r}")


def fail_now(why):
    raise AssertionError(why)


def invite(srv, user):
    org = srv.org_create("provider", "Northwind Ready", "p43@example.test")
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": f"{user}@example.test"},
                          srv.apikey(org))
    assert status == 201, inv


def test_ready_reports_smtp_and_imap_and_fails_without_a_store():
    mailstack.imap_clear("invites")
    srv = Server.start(**{"imap.enabled": "yes"})
    status, r = ready(srv)
    assert status == 200 and r["status"] == "ready" and r["store"] == "ok", r
    assert r["smtp"]["state"] == "unknown" and r["smtp"]["last_ok"] is None, r
    invite(srv, "u45")
    status, r = wait_ready(srv, lambda s, r: r["smtp"]["state"] == "ok" and
                           r["imap"].get("last_pass") is not None, "mail sent and a pass")
    assert r["imap"]["enabled"] is True and r["imap"]["connected"] is True, r
    assert r["smtp"]["error"] is None and "error" not in r["imap"], r
    if srv.pg_db is None:
        # The database file moved away under the server: not ready (its
        # writes would go to a file nobody reads), /healthz still alive;
        # back: ready.
        db = os.path.join(srv.dir, "invited.db")
        os.rename(db, db + ".away")
        status, r = wait_ready(srv, lambda s, r: s == 503, "503")
        assert r["status"] == "unready" and r["store"] == "unusable", r
        assert srv.http("GET", "/healthz")[0] == 200
        os.rename(db + ".away", db)
        assert ready(srv)[0] == 200
    else:
        # PostgreSQL goes away (its connections cut, new ones refused):
        # not ready, /healthz still alive; back: the server connects
        # again by itself and is ready.
        pgstack.execute("postgres", f"ALTER DATABASE {srv.pg_db} ALLOW_CONNECTIONS false")
        pgstack.execute("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        f" WHERE datname = '{srv.pg_db}'")
        status, r = wait_ready(srv, lambda s, r: s == 503, "503")
        assert r["status"] == "unready" and r["store"] == "unusable", r
        assert srv.http("GET", "/healthz")[0] == 200
        pgstack.execute("postgres", f"ALTER DATABASE {srv.pg_db} ALLOW_CONNECTIONS true")
        status, r = wait_ready(srv, lambda s, r: s == 200, "ready again")
        # Each HTTP thread has its own connection, opened at its first
        # request: the probe that saw ready may have come to a thread that
        # connected afresh. The thread whose connection was cut connects
        # again when a probe reaches it; every probe meanwhile is ready.
        wait_ready(srv, lambda s, r: (s == 200 or
                                      fail_now(f"unready again: {s} {r}")) and
                   "connection lost; connected again" in srv.log(),
                   "the cut connection made again")
    srv.stop()


def test_ready_says_why_smtp_and_imap_fail():
    srv = Server.start(**{"smtp.port": "9", "imap.enabled": "yes", "imap.port": "9"})
    invite(srv, "u46")
    status, r = wait_ready(srv, lambda s, r: r["smtp"]["state"] == "failing" and
                           "error" in r["imap"], "both failing")
    assert status == 200 and r["status"] == "ready", r  # the store answers
    assert "refused" in r["smtp"]["error"], r
    assert r["imap"]["connected"] is False and "refused" in r["imap"]["error"], r
    assert "test" not in json.dumps(r), r  # no password, no address
    srv.stop()


def parse_metrics(text):
    """Prometheus text format, checked as a scraper reads it: each family's
    HELP and TYPE once, before its samples; samples as name{labels} value."""
    import re
    helped, typed, samples = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in helped and name not in samples, line
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name in helped and name not in typed, line
            assert kind in ("counter", "gauge", "histogram", "summary"), line
            typed[name] = kind
        else:
            m = re.fullmatch(r'([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+]+)',
                             line)
            assert m, line
            name = m.group(1)
            fam = next((name[:-len(s)] for s in ("_bucket", "_sum", "_count")
                        if name.endswith(s) and typed.get(name[:-len(s)]) == "histogram"),
                       name)
            assert fam in typed, f"{line}: no TYPE before it"
            if typed[fam] == "counter":
                assert name.endswith("_total"), line
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    return samples


def test_metrics_are_well_formed_and_for_the_operator_only():
    mailstack.imap_clear("invites")
    srv = Server.start(**{"imap.enabled": "yes"})
    assert srv.http("GET", "/metrics")[0] == 401
    org = srv.org_create("provider", "Northwind Metrics", "p42@example.test")
    status, _, _ = srv.http("GET", "/metrics",
                            headers={"Authorization": f"Bearer {srv.apikey(org)}"})
    assert status == 403
    op = {"Authorization": f"Bearer {srv.apikey(None, role='operator')}"}
    status, r = srv.api("POST", "/api/v1/invitations",
                        {"kind": "indirect_provider", "email": "u47@example.test"},
                        srv.apikey(org))
    assert status == 201, r
    wait_ready(srv, lambda s, r: r["smtp"]["state"] == "ok" and
               r["imap"].get("last_pass") is not None, "a mail sent and a pass")
    status, headers, body = srv.http("GET", "/metrics", headers=op)
    assert status == 200 and headers["content-type"].startswith("text/plain"), headers
    m = parse_metrics(body.decode())
    version = subprocess.run([invited_bin(), "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    assert m[f'invited_build_info{{version="{version}"}}'] == 1, m
    assert m["invited_invitations_created_total"] >= 1, m
    assert m["invited_mails_sent_total"] >= 1, m
    assert m['invited_outbox_messages{status="sent"}'] >= 1, m
    assert m["invited_smtp_last_ok_timestamp_seconds"] > time.time() - 60, m
    assert m["invited_imap_connected"] == 1, m
    assert m["invited_imap_last_pass_timestamp_seconds"] > 0, m
    srv.stop()


def histogram(m, name):
    """(count, sum, [(le, cumulative count)]) of a histogram, checked:
    buckets rise, +Inf last and equal to the count."""
    buckets = sorted(((float(k.split('"')[1]), v) for k, v in m.items()
                      if k.startswith(name + "_bucket{")), key=lambda b: b[0])
    assert buckets and buckets[-1][0] == float("inf"), (name, buckets)
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), (name, buckets)
    assert buckets[-1][1] == m[name + "_count"], (name, buckets, m[name + "_count"])
    return m[name + "_count"], m[name + "_sum"], buckets


def test_metrics_histograms_and_inbound_move_and_promtool_accepts_the_page():
    """Each latency histogram counts what it measures (an HTTP request, a
    redeem, an SMTP session, an IMAP pass), the outbox's oldest queued
    age, inbound mail by action (a real Postfix bounce), and Prometheus'
    own promtool finds nothing wrong with the page."""
    mailstack.imap_clear("invites")
    srv = Server.start(**{"imap.enabled": "yes", "smtp.retry_base": "60s"})
    op = {"Authorization": f"Bearer {srv.apikey(None, role='operator')}"}
    org = srv.org_create("provider", "Northwind Histograms", "p43@example.test")
    key = srv.apikey(org)
    srv.org_create("reseller", "Contoso Histograms", "u46@example.test")
    status, good = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "u46@example.test"}, key)
    assert status == 201, good
    status, bad = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "no-such-u46@example.test"}, key)
    assert status == 201, bad
    status, _ = srv.form_post(srv.mailed_link(good["id"]), consent="yes", action="accept")
    assert status == 200

    deadline = time.monotonic() + 90
    while True:
        status, _, body = srv.http("GET", "/metrics", headers=op)
        assert status == 200
        m = parse_metrics(body.decode())
        if m.get('invited_inbound_messages_total{action="bounced"}', 0) >= 1:
            break
        assert time.monotonic() < deadline, f"no bounce read in 90 s:\n{body.decode()}"
        time.sleep(1)
    count, total, _ = histogram(m, "invited_http_request_duration_seconds")
    assert count >= 5 and total > 0, (count, total)
    assert histogram(m, "invited_redeem_duration_seconds")[0] == 1
    assert m["invited_redeem_commits_total"] == 1, m
    assert histogram(m, "invited_smtp_batch_duration_seconds")[0] >= 1
    assert histogram(m, "invited_imap_pass_duration_seconds")[0] >= 1
    # Nothing queued (the notices of the accept may still be): no age.
    if m['invited_outbox_messages{status="queued"}'] == 0:
        assert m["invited_outbox_oldest_queued_age_seconds"] == 0, m
    assert m["invited_outbox_oldest_queued_age_seconds"] < 60, m
    # The bounce is the mail's own log line too, as a send is.
    assert re.search(r"warning: outbox: id=\d+ to=<no-such-u46@example\.test> relay=imap "
                     r"kind=invitation status=bounced \((550 )?5\.1\.1 ", srv.log()), srv.log()
    for action in ("bounced", "relayed", "reply_kept", "unmatched"):
        assert f'invited_inbound_messages_total{{action="{action}"}}' in m, (action, m)

    promtool = os.environ.get("PROMTOOL", "/var/cache/invited-test-tools/promtool")
    p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.returncode, p.stdout, p.stderr)
    # promtool does see what is wrong: a counter without _total.
    p = subprocess.run([promtool, "check", "metrics"], capture_output=True, timeout=60,
                       input=b"# HELP x_sent mails\n# TYPE x_sent counter\nx_sent 1\n")
    assert b"counter metrics should have" in p.stdout + p.stderr, (p.stdout, p.stderr)

    # A message that cannot go now ages in the outbox, and the gauge says so.
    srv.stop()
    srv2 = Server.start(**{"smtp.port": "9", "smtp.retry_base": "60s"})
    org2 = srv2.org_create("provider", "Northwind Queue", "p43@example.test")
    status, _ = srv2.api("POST", "/api/v1/invitations",
                         {"kind": "indirect_provider", "email": "u46@example.test"},
                         srv2.apikey(org2))
    assert status == 201
    time.sleep(2.2)
    _, _, body = srv2.http("GET", "/metrics",
                           headers={"Authorization": f"Bearer {srv2.apikey(None, role='operator')}"})
    m = parse_metrics(body.decode())
    assert m["invited_outbox_oldest_queued_age_seconds"] >= 2, m
    srv2.stop()
