"""The walking skeleton: a provider invites a reseller, end to end, on the
real Postfix and Dovecot, with the consent page clicked in Chromium."""
import json
import re
import urllib.parse

from lib import browser, mailstack, tokens
from lib.server import Server

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+)")


def setup_pair(srv, provider_user, reseller_user):
    """An approved provider with an admin key, and an approved reseller."""
    for u in (provider_user, reseller_user):
        mailstack.imap_clear(u)
    provider = srv.org_create("provider", "Northwind Distribution",
                              f"{provider_user}@example.test", contact_name="Paula Provider")
    reseller = srv.org_create("reseller", "Contoso Resellers",
                              f"{reseller_user}@example.test", contact_name="Rita Reseller")
    return provider, reseller, srv.apikey(provider)


def invite(srv, key, email, name="Rita Reseller"):
    status, inv = srv.api("POST", "/api/v1/invitations",
                          {"kind": "indirect_provider", "email": email, "name": name}, key)
    assert status == 201, (status, inv)
    assert inv["kind"] == "indirect_provider" and inv["email"] == email, inv
    return inv


def read_invitation_mail(user, marker=b"Northwind Distribution"):
    raw = mailstack.imap_match(user, lambda r: marker in r and b"/l/" in r, timeout=60)
    msg = mailstack.parse_strict(raw)
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    parts = [p for p in msg.walk() if not p.is_multipart()]
    types = [p.get_content_type() for p in parts]
    assert types == ["text/plain", "text/html"], types
    for p in parts:
        assert p.get_content_charset() == "utf-8", p.get_content_charset()
    for h in ("Message-ID", "Date", "From", "To", "Subject", "Reply-To"):
        assert msg[h], f"missing {h}"
    assert re.match(r"reply\+[a-z2-7]+@example\.test", msg["Reply-To"].addresses[0].addr_spec)
    text = parts[0].get_content()
    html = parts[1].get_content()
    links = LINK_RE.findall(text)
    assert links, text
    assert links[0] in html.replace("&amp;", "&"), "the HTML part must carry the same link"
    return msg, links[0]


def count_relationships(srv):
    return srv.sql("SELECT count(*) FROM relationships")[0][0]


def test_invitation_flow_end_to_end():
    srv = Server.start()
    provider, reseller, key = setup_pair(srv, "p1", "r1")
    inv = invite(srv, key, "r1@example.test")
    msg, link = read_invitation_mail("r1")
    assert "Northwind Distribution" in msg["Subject"]

    # A link scanner fetches the link three times: nothing changes.
    for _ in range(3):
        status, headers, body = srv.http("GET", link)
        assert status == 200, (status, body[:300])
        page = body.decode()
        assert "Authorize indirect provider" in page
        assert "submit orders and add subscriptions on behalf of your customers" in page
        assert "Contoso Resellers" in page and "Northwind Distribution" in page
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert count_relationships(srv) == 0
    assert srv.sql(f"SELECT state FROM links WHERE jti = "
                   f"(SELECT jti FROM invitations WHERE id = {inv['id']})") == [("live",)]

    # A person ticks the box and authorizes, in Chromium.
    result = browser.run([
        {"goto": link},
        {"expect_text": "Authorize indirect provider"},
        {"check": "#consent"},
        {"click_text": "Authorize indirect provider"},
        {"expect_text": "has authorized"},
    ])
    assert result["steps"][3]["status"] == 200, result["steps"][3]
    assert not result.get("console"), result.get("console")

    status, body = srv.api("GET", f"/api/v1/orgs/{provider}/indirect-resellers", key=key)
    assert status == 200, body
    assert [i["org"]["id"] for i in body["items"]] == [reseller], body
    reseller_key = srv.apikey(reseller)
    status, body = srv.api("GET", f"/api/v1/orgs/{reseller}/indirect-providers", key=reseller_key)
    assert status == 200, body
    assert [i["org"]["id"] for i in body["items"]] == [provider], body
    status, body = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=key)
    assert body["status"] == "accepted" and body["accepted_org_id"] == reseller, body
    assert body["link"] is None, "a used link is not shown"

    # The provider hears that the reseller accepted.
    raw = mailstack.imap_match("p1", lambda r: b"accepted the invitation" in r, timeout=60)
    note = mailstack.parse_strict(raw)
    assert note["Auto-Submitted"] == "auto-generated"
    assert "Contoso Resellers" in note["Subject"]


def test_bad_links_change_nothing():
    srv = Server.start()
    provider, reseller, key = setup_pair(srv, "p2", "r2")
    inv = invite(srv, key, "r2@example.test")
    _, link = read_invitation_mail("r2")
    token = link.rsplit("/l/", 1)[1]
    claims = json.loads(srv.cli("token", "verify", token).stdout)
    assert claims["pur"] == "indirect_provider" and claims["state"] == "live", claims

    # Accept once through a plain HTTP client, as a form post would.
    status, headers, body = srv.http("GET", link)
    cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', body.decode()).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "consent": "yes", "action": "accept"})
    post_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, _, body = srv.http("POST", link, form, post_headers)
    assert status == 200 and b"has authorized" in body, (status, body[:400])
    assert count_relationships(srv) == 1

    def refused(url, code, words, via="GET"):
        st, _, page = (srv.http("GET", url) if via == "GET"
                       else srv.http("POST", url, form, post_headers))
        assert 400 <= st < 500, (via, url, st)
        text = page.decode()
        assert f'data-code="{code}"' in text, (code, text[:600])
        assert words in text, (words, text[:600])
        assert count_relationships(srv) == 1

    # Replaying the POST: already used. Its page, fetched (and its token
    # verified, so cached) before, says so at once: the store is read on
    # every GET, the cache only spares the signature check.
    refused(link, "used", "already been used", via="POST")
    refused(link, "used", "already been used")

    # One character changed, in every part of the token: damaged or altered.
    for pos in (3, 20, len(token) // 2, len(token) - 5):
        c = token[pos]
        bad = token[:pos] + ("A" if c != "A" else "B") + token[pos + 1:]
        st, _, page = srv.http("GET", link.replace(token, bad))
        assert 400 <= st < 500, (pos, st)
        assert re.search(r'data-code="(tampered|malformed|unknown_key)"', page.decode()), pos

    # An expired token, signed with our own key.
    key_file = tokens.signing_key_file(srv)
    expired = tokens.sign(key_file, srv.public_url, "indirect_provider", exp_offset=-60,
                          jti=claims["jti"])
    refused(srv.public_url + "/l/" + expired, "expired", "expired")

    # A token signed by a key we do not hold.
    foreign = tokens.sign(None, srv.public_url, "indirect_provider", exp_offset=3600)
    refused(srv.public_url + "/l/" + foreign, "unknown_key", "key this server does not hold")

    # A token of ours whose purpose does not match the link it names.
    wrong = tokens.sign(key_file, srv.public_url, "reseller", exp_offset=3600, jti=claims["jti"])
    refused(srv.public_url + "/l/" + wrong, "wrong_purpose", "meant for something else")

    # The command line says why it refuses a token, and exits 1.
    bad = srv.cli("token", "verify", token[:-3] + "AAA", check=False)
    assert bad.returncode == 1 and "refused:" in bad.stderr, (bad.returncode, bad.stderr)
    bad = srv.cli("token", "verify", foreign, check=False)
    assert bad.returncode == 1 and "unknown" in bad.stderr, bad.stderr

    # The tokens we issue verify with an independent PASETO library.
    status, keys = srv.api("GET", "/.well-known/invited/keys")
    assert status == 200 and keys["keys"][0]["paserk"].startswith("k4.public."), keys
    got = browser.paseto_verify(token, keys["keys"][0]["paserk"])
    assert got["jti"] == claims["jti"] and got["aud"] == srv.public_url, got

    status, body = srv.api("GET", f"/api/v1/invitations/{inv['id']}", key=key)
    assert body["status"] == "accepted", body


def test_api_rejects_bad_input_with_field_errors():
    srv = Server.start()
    if srv.pg_db is None:  # SQLite's: WAL, and typed (STRICT) tables
        assert srv.sql("PRAGMA journal_mode") == [("wal",)]
        strict = dict((r[1], r[5]) for r in srv.sql("PRAGMA table_list") if r[2] == "table"
                      and not r[1].startswith("sqlite_"))
        assert strict and all(strict.values()), f"tables not STRICT: {strict}"
    provider, reseller, key = setup_pair(srv, "p3", "r3")
    cases = [
        ({"email": "r3@example.test"}, 422, "kind"),
        ({"kind": "indirect_provider"}, 422, "email"),
        ({"kind": "indirect_provider", "email": "not an address"}, 422, "email"),
        ({"kind": "partner", "email": "r3@example.test"}, 422, "kind"),
        ({"kind": "indirect_provider", "email": "r3@example.test", "colour": "red"}, 422, "colour"),
        ({"kind": "indirect_provider", "email": "r3@example.test", "name": 7}, 422, "name"),
        ({"kind": "indirect_provider", "email": "r3@example.test", "name": "a\r\nBcc: x@y"},
         422, "name"),
        ({"kind": "indirect_provider", "email": "r3@example.test", "delivery": "fax"},
         422, "delivery"),
    ]
    for body, want, field in cases:
        status, out = srv.api("POST", "/api/v1/invitations", body, key)
        assert status == want, (body, status, out)
        assert out["error"]["field"] == field, (body, out)
        assert out["error"]["message"], out
    for raw, want in ((b"{not json", 400), (b"[1,2]", 400), (b"", 400),
                      (b'{"kind": "x", "kind": "y"}', 400)):
        status, out = srv.api("POST", "/api/v1/invitations", raw=raw, key=key)
        assert status == want and out["error"]["code"] == "bad_json", (raw, status, out)
    big = json.dumps({"kind": "indirect_provider", "email": "r3@example.test",
                      "message": "x" * 70000})
    status, out = srv.api("POST", "/api/v1/invitations", raw=big, key=key)
    assert status == 413 and out["error"]["code"] == "body_too_large", (status, out)
    status, out = srv.api("POST", "/api/v1/invitations", {"kind": "indirect_provider",
                                                           "email": "r3@example.test"})
    assert status == 401, (status, out)
    status, out = srv.api("POST", "/api/v1/invitations", {"kind": "indirect_provider",
                                                           "email": "r3@example.test"},
                          key="ik_0000000000000000_" + "A" * 43)
    assert status == 401, (status, out)
    # Nothing was created, and the server is still healthy.
    assert srv.sql("SELECT count(*) FROM invitations")[0][0] == 0
    assert srv.http("GET", "/healthz")[0] == 200
