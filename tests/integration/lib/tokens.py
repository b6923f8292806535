"""Tokens made outside the server, with the independent `paseto` npm
library: expired ones signed with the server's own key, ones signed with a
key the server does not hold, ones naming the wrong purpose."""
import base64
import datetime
import glob
import hashlib
import json
import os
import secrets
import subprocess


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _root():
    return os.environ.get("INVITED_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _node(request):
    script = os.path.join(_root(), "tests", "browser", "paseto_sign.mjs")
    p = subprocess.run(["node", script], input=json.dumps(request), capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"paseto_sign.mjs failed: {p.stderr}")
    return json.loads(p.stdout)


def pid(paserk_public):
    """PASERK k4.pid of a k4.public key (BLAKE2b-264 of "k4.pid." + key)."""
    h = "k4.pid."
    d = hashlib.blake2b((h + paserk_public).encode(), digest_size=33).digest()
    return h + _b64url(d)


def public_of(paserk_secret):
    raw = _unb64url(paserk_secret[len("k4.secret."):])
    return "k4.public." + _b64url(raw[32:])


def signing_key_file(srv):
    """The server's newest signing key file."""
    files = sorted(glob.glob(os.path.join(srv.dir, "keys", "*.key")))
    assert files, "no key files"
    return files[-1]


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(key_file, aud, pur, exp_offset, jti=None):
    """A v4.public token with our claim set. key_file None: a fresh key."""
    if key_file is None:
        secret = _node({"op": "generate"})["secret"]
    else:
        with open(key_file) as f:
            secret = f.read().strip()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    payload = {
        "jti": jti or _b64url(secrets.token_bytes(16)),
        "pur": pur,
        "iat": rfc3339(now - datetime.timedelta(seconds=120)),
        "exp": rfc3339(now + datetime.timedelta(seconds=exp_offset)),
        "aud": aud,
    }
    footer = json.dumps({"kid": pid(public_of(secret))}, separators=(",", ":"))
    return _node({"op": "sign", "secret": secret, "payload": payload, "footer": footer})["token"]
