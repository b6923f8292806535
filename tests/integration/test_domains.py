"""A listed domain is claimed until proven (issue 25): a squatter that
lists someone else's domain next to its own gets nothing from it (no
invitation names it, the real owner can still enroll); the verified
contact proves its own domain; a DNS TXT record, served by a private
dnsmasq the test starts on a loopback port, proves another, fails when it
is missing, and lapses back to claimed when it goes away."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib import browser, mailstack
from lib.server import Server, free_port
from test_console import signed_in
from test_enrollment import LINK_RE, form_post, operator, profile, read_mail


class Dns:
    """dnsmasq on 127.0.0.1:port answering for .test from its TXT records
    only (any other name under .test: NXDOMAIN)."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def serve(self, records=()):
        self.stop()
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=",
                "--local=/test/", "--log-facility=-"]
        if os.geteuid() == 0:
            args.append("--user=root")
        args += [f"--txt-record={name},{value}" for name, value in records]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        assert self.proc.poll() is None, "dnsmasq did not start"

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def enroll_and_verify(srv, user, **changes):
    """An enrollment with its contact verified by the mailed link."""
    mailstack.imap_clear(user)
    status, org = srv.api("POST", "/api/v1/enrollments", profile(user, **changes))
    assert status == 201, org
    _, text = read_mail(user, "Verify your email address")
    link = LINK_RE.search(text).group(1)
    status, _, page = form_post(srv, link, consent="yes", action="verify")
    assert status == 200, page[:300]
    return org["id"]


def proofs(srv, org_id):
    status, org = srv.api("GET", f"/api/v1/orgs/{org_id}", key=operator(srv))
    assert status == 200, org
    return {p["domain"]: p for p in org["domain_proofs"]}


def test_a_listed_domain_is_only_claimed_until_proven():
    srv = Server.start()
    # The squatter lists a domain that is not its own beside its own.
    squatter = enroll_and_verify(srv, "u8", legal_name="Squatter K.K.",
                                 domains=["example.test", "victim.test"])
    got = proofs(srv, squatter)
    assert (got["example.test"]["state"], got["example.test"]["method"]) == \
        ("proven", "contact"), got
    assert (got["victim.test"]["state"], got["victim.test"]["method"]) == ("claimed", None), got
    assert got["victim.test"]["txt"]["name"] == "_invited-challenge.victim.test"
    assert got["victim.test"]["txt"]["value"].startswith("invited-domain-verification=")
    srv.cli("org", "approve", str(squatter))

    # An invitation to someone at the claimed domain does not name it.
    provider = srv.org_create("provider", "Northwind 8", "p8@example.test")
    key = srv.apikey(provider)
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": "alice@victim.test",
                           "delivery": "draft"}, key)
    assert status == 201, inv
    status, _, page = srv.http("GET", inv["link"])
    assert b"Squatter K.K." not in page, page[:2000]
    # ... while one to the proven domain does.
    status, inv2 = srv.api("POST", "/api/v1/invitations",
                           {"kind": "indirect_provider", "email": "bob@example.test",
                            "delivery": "draft"}, key)
    status, _, page = srv.http("GET", inv2["link"])
    assert b"Squatter K.K." in page, page[:2000]

    # The real owner of victim.test can still enroll with it; the
    # squatter's own domain, proven, is taken.
    status, body = srv.api("POST", "/api/v1/enrollments",
                           profile("u9", legal_name="Victim Ltd", domains=["victim.test"],
                                   primary_contact={"name": "V", "email": "v@victim.test",
                                                    "phone": "+81 3-1234-5678"}))
    assert status == 201, body
    status, body = srv.api("POST", "/api/v1/enrollments",
                           profile("u9", legal_name="Copycat", domains=["example.test"]))
    assert status == 409 and body["error"]["code"] == "domain_taken", body
    # The CLI says the same.
    out = srv.cli("org", "domains", str(squatter)).stdout
    assert "example.test proven by contact" in out, out
    assert "victim.test claimed  TXT _invited-challenge.victim.test" in out, out
    # The operator's review queue shows the same, with the record to publish.
    srv.cli("user", "add", "--operator", "--email", "c9@example.test", "--name", "Olive")
    r = browser.run(signed_in(srv, "c9", "c9@example.test")[:2] + [
        {"goto": f"{srv.public_url}/console/review?status=approved"},
        {"expect_text": "Not proven yet: victim.test (TXT _invited-challenge.victim.test "
                        f"\"{got['victim.test']['txt']['value']}\")"}])
    assert r["ok"], r
    # Someone at victim.test made an admin by the squatter and signing in
    # proves nothing: the organization chose whom to invite.
    mailstack.imap_clear("c19")
    key_s = srv.apikey(squatter)
    status, user = srv.api("POST", "/api/v1/users",
                           {"email": "c19@example.test", "role": "admin_agent"}, key_s)
    assert status == 201, user
    srv.sql_exec("UPDATE org_domains SET state = 'claimed', method = '' "
                 f"WHERE org_id = {squatter} AND domain = 'example.test'")
    r = browser.run(signed_in(srv, "c19", "c19@example.test") + [
        {"text": True},
        {"click": "a[href$='/console/domains']:text('2 domain(s) not proven yet')"},
        {"text": True}])
    assert proofs(srv, squatter)["example.test"]["state"] == "claimed"
    # ... and the organization's own console shows it its domains, each
    # with its state and the record that would prove it.
    got = proofs(srv, squatter)
    text = r["steps"][-1]["text"]
    assert "Domains" in text and "Check now" in text, text
    for d in ("example.test", "victim.test"):
        row = f"{d}\tNot proven yet\t_invited-challenge.{d} TXT \"{got[d]['txt']['value']}\""
        assert row in text, text
    # The operator's organizations are proven by the operator's word.
    op = srv.org_create("reseller", "Operator's own", "c8@example.test", domain="op8.test")
    assert proofs(srv, op)["op8.test"]["method"] == "operator"
    srv.cleanup()


def set_checked(srv, org_id, domain, at):
    srv.sql_exec(f"UPDATE org_domains SET checked_at = {int(at)} WHERE org_id = {int(org_id)}"
                 f" AND domain = '{domain}'")


def test_a_domain_proven_by_a_dns_txt_record():
    dns = Dns()
    dns.serve()
    srv = Server.start(**{"dns.servers": f"127.0.0.1:{dns.port}", "dns.timeout": "2s",
                          "server.sweep_interval": "1s"})
    try:
        org = enroll_and_verify(srv, "u8", legal_name="Contoso DNS",
                                domains=["example.test", "contoso-dns.test"])
        txt = proofs(srv, org)["contoso-dns.test"]["txt"]
        # Asked for, with no record published: the sweeper finds none (the
        # HTTP thread never waits for DNS).
        status, body = srv.api("POST", f"/api/v1/orgs/{org}/domains/check", None,
                               operator(srv))
        assert status == 202, body
        deadline = time.monotonic() + 30
        while proofs(srv, org)["contoso-dns.test"]["state"] != "failed":
            assert time.monotonic() < deadline, srv.log()[-3000:]
            time.sleep(0.2)
        got = proofs(srv, org)
        assert got["contoso-dns.test"]["checked_at"] is not None
        assert got["example.test"]["state"] == "proven"  # the contact's: no DNS asked

        # A record with another token proves nothing.
        dns.serve([(txt["name"], "invited-domain-verification=someoneelse")])
        out = srv.cli("org", "domains", str(org), "--check").stdout
        assert "contoso-dns.test failed" in out and "0 changed" in out, out

        # The record published: proven by DNS, with an event.
        dns.serve([(txt["name"], txt["value"])])
        out = srv.cli("org", "domains", str(org), "--check").stdout
        assert "contoso-dns.test proven by dns" in out and "1 changed" in out, out
        events = srv.sql(f"SELECT name, details FROM events WHERE org_id = {org} "
                         "AND name LIKE 'domain.%' ORDER BY id")
        assert [e[0] for e in events] == ["domain.proven", "domain.failed", "domain.proven"], \
            events
        # The contact (the first admin) hears of each change.
        _, text = read_mail("u8", "no proof found for Contoso DNS")
        assert f'{txt["name"]}  TXT  "{txt["value"]}"' in text, text
        _, text = read_mail("u8", "contoso-dns.test is proven for Contoso DNS")
        assert "addresses there now reach Contoso DNS" in " ".join(text.split()), text

        # The server is down: nothing changes.
        dns.stop()
        out = srv.cli("org", "domains", str(org), "--check").stdout
        assert "contoso-dns.test proven by dns" in out and "0 changed" in out, out

        # The record is gone, and a day later the sweeper sees it: claimed.
        dns.serve()
        set_checked(srv, org, "contoso-dns.test", int(time.time()) - 2 * 86400)
        deadline = time.monotonic() + 30
        while proofs(srv, org)["contoso-dns.test"]["state"] != "claimed":
            assert time.monotonic() < deadline, srv.log()[-3000:]
            time.sleep(0.3)
        assert srv.sql(f"SELECT name FROM events WHERE org_id = {org} "
                       "ORDER BY id DESC LIMIT 1") == [("domain.lapsed",)]
        assert "contoso-dns.test proven -> claimed" in srv.log()
        _, text = read_mail("u8", "the proof for Contoso DNS is gone")
        assert txt["value"] in text, text
        # An organization's sales agent cannot ask; its admin can.
        srv.cli("org", "approve", str(org))
        status, body = srv.api("POST", f"/api/v1/orgs/{org}/domains/check", None,
                               srv.apikey(org, "sales_agent"))
        assert status == 403 and body["error"]["code"] == "forbidden", body
        status, body = srv.api("POST", f"/api/v1/orgs/{org}/domains/check", None,
                               srv.apikey(org))
        assert status == 202, body
        deadline = time.monotonic() + 30
        while proofs(srv, org)["contoso-dns.test"]["checked_at"] is None:
            assert time.monotonic() < deadline, srv.log()[-3000:]
            time.sleep(0.2)
        assert proofs(srv, org)["contoso-dns.test"]["state"] == "claimed"

        # The organization's admin (its contact) sees the same in the
        # console, publishes the record and asks for a check there.
        set_checked(srv, org, "contoso-dns.test", int(time.time()) - 120)
        dns.serve([(txt["name"], txt["value"])])
        r = browser.run(signed_in(srv, "u8", "u8@example.test") + [
            {"click": "a[href$='/console/domains']:text('1 domain(s) not proven yet')"},
            {"text": True},
            {"click_text": "Check now"},
            {"expect_text": "We look up the records within a few minutes."}])
        text = r["steps"][-3]["text"]
        assert "example.test\tProven by the primary contact's address\t—" in text, text
        assert (f"contoso-dns.test\tNot proven yet\t{txt['name']} TXT \"{txt['value']}\"" in
                text), text
        deadline = time.monotonic() + 30
        while proofs(srv, org)["contoso-dns.test"]["state"] != "proven":
            assert time.monotonic() < deadline, srv.log()[-3000:]
            time.sleep(0.2)
        r = browser.run(signed_in(srv, "u8", "u8@example.test") + [
            {"expect_text": "Nothing right now."},
            {"goto": f"{srv.public_url}/console/domains"}, {"text": True}])
        text = r["steps"][-1]["text"]
        assert "contoso-dns.test\tProven by DNS\t—" in text, text
        assert "Check now" not in text, text
    finally:
        dns.stop()
        srv.cleanup()
