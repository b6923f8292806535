#!/usr/bin/env python3
"""tests/fuzz/seeds.py: write the seed corpus of each fuzz target under
tests/fuzz/corpus/<target>/ from the project's own test inputs: the
classifier's mail corpus (tests/corpus), the PASETO/PASERK vectors
(tests/vectors), the templates, the API's requests (docs/openapi.yaml's
paths), and a few hand-made cases. Run it again after changing those;
scripts/fuzz adds what a campaign finds to the same folders.

    python3 tests/fuzz/seeds.py
"""
import email
import email.policy
import glob
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def mails():
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/corpus/classify/*.eml"))):
        with open(path, "rb") as f:
            yield f.read()


def classify_dsn_auth_tag():
    for raw in mails():
        put("classify", raw)
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for v in msg.get_all("Authentication-Results") or []:
            put("auth_results", str(v).replace("\r", "").replace("\n", " "))
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                payload = part.get_payload()
                if isinstance(payload, list):
                    text = "\r\n\r\n".join(p.as_string() for p in payload)
                else:
                    text = str(payload)
                put("dsn", text)
        for line in raw.split(b"\n"):
            if b"+" in line and b"@" in line:
                put("tag", line.strip())
    put("auth_results", "mx.example.test; dkim=pass header.d=contoso.example;"
        " spf=pass smtp.mailfrom=contoso.example; dmarc=pass header.from=contoso.example")
    put("auth_results", "mx.example.test; dkim=fail (bad signature) header.d=x.example\n"
        "other.example; dmarc=pass header.from=contoso.example")
    put("dsn", "Reporting-MTA: dns; mx.example.test\r\n\r\nFinal-Recipient: rfc822;"
        " carol@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <carol@customer.example>: Recipient address"
        " rejected: User unknown\r\n")
    for tag in ("bounces", "verify", "reply"):
        put("tag", f"To: {tag}+abcdefgh2345@invites.example.test")
        put("tag", f"<{tag}+ABCDEFGH2345@INVITES.EXAMPLE.TEST>")


def token_paserk():
    claims = {"jti": "abcdefgh2345", "pur": "invitation", "iat": "2026-11-18T11:06:40Z",
              "exp": "2026-12-18T11:06:40Z", "aud": "https://invites.example.test"}
    put("token", b"\x01" + json.dumps(claims, separators=(",", ":")).encode())
    put("token", b"\x01" + json.dumps(dict(claims, iat="2026-11-18T11:06:40.123+09:00"))
        .encode())
    put("token", b"\x01{\"jti\":1}")
    for path in glob.glob(os.path.join(ROOT, "tests/vectors/*.json")):
        with open(path) as f:
            doc = json.load(f)
        for t in doc.get("tests", []):
            for k in ("token", "paserk"):
                v = t.get(k)
                if isinstance(v, str):
                    if v.startswith("v4.public."):
                        put("token", b"\x00" + v.encode())
                    if v.startswith("k4."):
                        put("paserk", v)
    put("token", b"\x00v4.public.AAAA.eyJraWQiOiJrNC5waWQuQUFBQSJ9")


def template():
    for path in sorted(glob.glob(os.path.join(ROOT, "templates/en/**/*"), recursive=True)):
        if os.path.isfile(path) and os.path.getsize(path) < 20000:
            with open(path, "rb") as f:
                kind = b"\x01" if path.endswith(".html") else b"\x00"
                put("template", kind + f.read())
    put("template", b"\x01<p>{{name}} {{#rows}}<td>{{cell}}</td>{{/rows}}{{^empty}}-{{/empty}}"
        b" {{link|linkify}} {{> part.html}}{{! note }}</p>")
    put("template", b"\x00Hi {{name}},\n{{#rows}}- {{cell}}\n{{/rows}}{{> part.txt}}\n")


def config():
    put("config", "[server]\nlisten = 127.0.0.1:8080\npublic_url = https://invites.example.test\n"
        "database = invited.db\nkeys = keys\n\n[smtp]\nhost = localhost\nport = 25\n"
        "tls = none\n\n[mail]\nfrom = Invitations <invitations@example.test>\n"
        "reply_domain = example.test\nkeep_sent = 30d\n\n[imap]\nenabled = no\n")
    put("config", "[tokens]\ninvitation_lifetime = 14d\n[outbox]\nconcurrency = 2\n"
        "retry_base = 5m\n[log]\ntarget = stderr\nlevel = info\naccess = yes\n")
    put("config", "[webhooks]\nconcurrency = 2\nallow_http = no\n[enrollment]\n"
        "rate_limit = 20\nresend_interval = 1m\n")


def mime():
    put("mime", "Contoso Invitations\0Rita Reseller\0Your invitation\0Hello Rita,\n\n"
        "Please follow the link.\n\0<p>Hello Rita,</p>\n")
    put("mime", "株式会社テスト\0山田 太郎\0招待状: 株式会社テストがあなたを招待しています\0"
        "日本語の本文\n\0")
    put("mime", "Smith, John \"JJ\"\0=?UTF-8?B?eA==?=\0Re: =?x?=\0line\r\n.dot\r\n\0")
    put("mime", "\0\0" + "word12345 " * 60 + "\0" + "a" * 1200 + "\n\0")


def http():
    reqs = [
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /l/@LINK@ HTTP/1.1\r\nHost: x\r\nAccept-Language: ja,en;q=0.5\r\n\r\n",
        "POST /l/@LINK@ HTTP/1.1\r\nHost: x\r\nCookie: invited_session=abc\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 39\r\n\r\n"
        "csrf=x&action=accept&consent=yes&org=a",
        "GET /api/v1/invitations?limit=5&status=draft HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer @ADMIN@\r\n\r\n",
        "POST /api/v1/invitations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @ADMIN@\r\n"
        "Content-Type: application/json\r\nContent-Length: 86\r\n\r\n"
        "{\"kind\":\"reseller\",\"email\":\"dave@customer.example\",\"name\":\"Dave\",\"delivery\":\"draft\"}",
        "GET /api/v1/orgs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @OP@\r\n\r\n",
        "POST /api/v1/orgs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @OP@\r\n"
        "Content-Type: application/json\r\nContent-Length: 74\r\n\r\n"
        "{\"kind\":\"provider\",\"legal_name\":\"P K.K.\",\"contact_email\":\"p@p.example\"}",
        "GET /api/v1/events?since=0&limit=10 HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer @OP@\r\n\r\n",
        "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @ADMIN@\r\n"
        "Content-Type: application/json\r\nContent-Length: 61\r\n\r\n"
        "{\"url\":\"https://hooks.example.test/x\",\"events\":[\"invitation.*\"]}",
        "GET /api/v1/relationships HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @ADMIN@\r\n\r\n",
        "POST /api/v1/enrollments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 80\r\n\r\n"
        "{\"kind\":\"reseller\",\"legal_name\":\"R\",\"contact_email\":\"r@r.example\",\"country\":\"JP\"}",
        "GET /console/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /console/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        "\r\nContent-Length: 22\r\n\r\nemail=rita%40contoso.e",
        "GET /.well-known/invited/keys HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @OP@\r\n\r\n",
        "DELETE /api/v1/invitations/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @ADMIN@\r\n\r\n",
        "POST /api/v1/invitations/1/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @ADMIN@\r\n"
        "Content-Length: 0\r\n\r\n",
    ]
    for r in reqs:
        put("http", r)


def found():
    """What the fuzzers found (each fixed, with a unit test): kept as seeds."""
    put("paserk", b"k4.public.AAAAAAAAAAAAA\xbf\xbe\xbe\xbfAAAAAAAAAAAAAAAAAAAAAAAAAA")
    put("template", b"\x00--\nThis message was sent by {{public_url}} on behalf \x00\x00{{x}}")
    put("template", b"AHi {{name}},\n{{#rows}}- {{ceil}}\n{{/rows}}{{> part.txt}}\n")
    put("mime", b"Smith, Jo=?UTF-8?B?UTF-8?B?eA==?=\x00Re: =?x?=\x00lin\x00\r\n.dot\r\x00")
    put("mime", b"\x00\x00" + b"word12345 " * 60 + b"word1234" + b"a" * 620 + b"\x00x\x00")
    put("mime", b"Smith, \x00\x00\x00\r\r\t\r\r\r\r\r\r\r\r\r\r\n.dot\r:\n\x00")
    put("http", b"GET /api/v1/relations(hips HTTP/0.1\r\nHost: x\r\n\r\n")


if __name__ == "__main__":
    classify_dsn_auth_tag()
    token_paserk()
    template()
    config()
    mime()
    http()
    found()
