"""Test certificates made with openssl when a test starts: a CA of the
test's own and server certificates it signs, and an NSS database that
trusts the CA, for Chromium (which reads $HOME/.pki/nssdb on Linux)."""
import os
import subprocess


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(folder, name="invited test CA"):
    """(ca.pem, ca.key) in folder."""
    pem, key = os.path.join(folder, "ca.pem"), os.path.join(folder, "ca.key")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", pem, "-days", "30", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return pem, key


def make_cert(folder, ca, name="server", ip="127.0.0.1", days=30, key=None):
    """(cert.pem, key.pem) for ip (and localhost), signed by ca; a new key
    unless key (a path) is given. The key file is 0600."""
    ca_pem, ca_key = ca
    cert = os.path.join(folder, f"{name}.pem")
    if key is None:
        key = os.path.join(folder, f"{name}.key")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", key)
        os.chmod(key, 0o600)
    csr = os.path.join(folder, f"{name}.csr")
    ext = os.path.join(folder, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:{ip},DNS:localhost\n"
                "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    _openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={ip}")
    _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", str(days), "-extfile", ext)
    return cert, key


def serial(pem):
    """A certificate file's serial number, as openssl prints it."""
    p = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", pem], check=True,
                       capture_output=True, text=True)
    return p.stdout.strip().split("=", 1)[1]


def nss_home(folder, ca_pem):
    """A HOME whose NSS database trusts ca_pem for servers: Chromium run
    with it trusts the test CA, and only that one besides its own."""
    home = os.path.join(folder, "home")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db, exist_ok=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-N", "--empty-password"], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", "invited test CA",
                    "-i", ca_pem], check=True, capture_output=True, timeout=60)
    return home
