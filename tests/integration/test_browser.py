"""The test tools themselves: the Chromium driver clicks a real form, and
the independent PASETO library verifies the official vectors."""
import base64
import http.server
import json
import threading
import urllib.parse

from lib import browser

FORM = b"""<!DOCTYPE html><html><body><h1>Form</h1>
<form method="post" action="/done"><label><input type="checkbox" id="ok" name="ok" value="yes">
I agree</label><button type="submit">Send it</button></form></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("X-Probe", "get")
        self.end_headers()
        self.wfile.write(FORM)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()
        fields = urllib.parse.parse_qs(body)
        ok = fields.get("ok") == ["yes"]
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<p>agreed</p>" if ok else b"<p>not agreed</p>")


def test_driver_ticks_clicks_and_reports_status():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        r = browser.run([{"goto": url}, {"check": "#ok"}, {"click_text": "Send it"},
                         {"expect_text": "agreed"}])
        assert r["steps"][0]["status"] == 200 and r["steps"][0]["headers"]["x-probe"] == "get"
        assert r["steps"][2]["status"] == 200, r["steps"][2]
        r = browser.run([{"goto": url}, {"click_text": "Send it"},
                         {"expect_text": "not agreed"}])
        assert r["steps"][1]["status"] == 400, r["steps"][1]
        r = browser.run([{"goto": url}, {"expect_text": "no such words"}], allow_fail=True)
        assert not r["ok"] and "lacks" in r["error"], r
    finally:
        srv.shutdown()


def test_independent_paseto_verifies_official_vectors():
    with open("tests/vectors/paseto-v4.json") as f:
        cases = {c["name"]: c for c in json.load(f)["tests"]}
    for name in ("4-S-1", "4-S-2", "4-S-3"):
        c = cases[name]
        if c["implicit-assertion"]:
            continue  # the tool takes no implicit assertion
        pk = bytes.fromhex(c["public-key"])
        paserk = "k4.public." + base64.urlsafe_b64encode(pk).rstrip(b"=").decode()
        claims = browser.paseto_verify(c["token"], paserk, ignore_exp=True)
        assert claims == json.loads(c["payload"]), (name, claims)
