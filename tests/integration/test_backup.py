"""`invited db backup` while the server writes: the copy opens, passes
PRAGMA integrity_check, holds every invitation whose creation had been
answered before the backup began, and has the signing keys beside it,
all of it the owner's only."""
import os
import sqlite3
import stat
import tempfile
import threading

from lib.server import Server


def test_a_backup_during_500_creations_is_whole_and_consistent():
    srv = Server.start(**{"invitations.org_rate_limit": "0",
                          "invitations.recipient_rate_limit": "0"})
    org = srv.org_create("provider", "Northwind Backup", "p45@example.test")
    key = srv.apikey(org)
    answered, lock = [], threading.Lock()

    def create():
        for i in range(500):
            status, inv = srv.api("POST", "/api/v1/invitations",
                                  {"kind": "indirect_provider",
                                   "email": f"r45+{i}@example.test", "delivery": "draft"}, key)
            assert status == 201, inv
            with lock:
                answered.append(inv["id"])

    worker = threading.Thread(target=create)
    worker.start()
    while True:
        with lock:
            if len(answered) >= 150:
                before = list(answered)
                break
    dest = os.path.join(tempfile.mkdtemp(prefix="invited-backup-"), "copy.db")
    p = srv.cli("db", "backup", dest)
    worker.join()
    assert p.stdout.split() == [dest, dest + ".keys/"], p.stdout
    assert len(answered) == 500

    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest + ".keys").st_mode) == 0o700
    keys = os.listdir(dest + ".keys")
    assert keys and sorted(keys) == sorted(os.listdir(os.path.join(srv.dir, "keys"))), keys
    assert all(stat.S_IMODE(os.stat(os.path.join(dest + ".keys", k)).st_mode) == 0o600
               for k in keys)
    db = sqlite3.connect(dest)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    held = {r[0] for r in db.execute("SELECT id FROM invitations")}
    assert set(before) <= held, sorted(set(before) - held)[:10]
    # A snapshot: every invitation in it has its link and its event.
    assert db.execute("SELECT count(*) FROM invitations i WHERE NOT EXISTS"
                      " (SELECT 1 FROM links l WHERE l.jti = i.jti)").fetchone()[0] == 0
    assert held <= set(answered), sorted(held - set(answered))[:10]
    # An existing file is never overwritten.
    p = srv.cli("db", "backup", dest, check=False)
    assert p.returncode == 1 and "cannot create" in p.stderr, p.stderr
    srv.stop()
