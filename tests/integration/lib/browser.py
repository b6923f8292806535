"""Headless Chromium through tests/browser/driver.mjs (playwright-core on
Debian's /usr/bin/chromium), and the independent PASETO check."""
import json
import os
import subprocess
import tempfile


def _root():
    return os.environ.get("INVITED_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def run(steps, timeout=90, allow_fail=False, home=None):
    """Run the steps in one fresh browser; return the driver's result.
    home: the HOME Chromium runs with (certs.nss_home: the CAs it trusts)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(steps, f)
        script = f.name
    env = dict(os.environ, HOME=home) if home else None
    try:
        p = subprocess.run(["node", os.path.join(_root(), "tests", "browser", "driver.mjs"),
                            script], capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        os.unlink(script)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"browser driver failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if not result["ok"] and not allow_fail:
        raise AssertionError(f"browser: {result.get('error')}\n"
                             f"{json.dumps(result['steps'][-2:], indent=1)[:3000]}\n{p.stderr}")
    return result


def paseto_verify(token, paserk_public, audience=None, ignore_exp=False):
    """Claims of a token as panva's paseto library reads them."""
    req = {"token": token, "key": paserk_public, "audience": audience,
           "ignoreExp": ignore_exp}
    p = subprocess.run(["node", os.path.join(_root(), "tests", "browser", "paseto_verify.mjs")],
                       input=json.dumps(req), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"paseto refused the token: {p.stderr.strip()}")
    return json.loads(p.stdout)["claims"]
