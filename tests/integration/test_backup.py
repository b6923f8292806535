"""`invited db backup` while the server writes: the copy opens, passes
PRAGMA integrity_check, holds every invitation whose creation had been
answered before the backup began, and has the signing keys beside it,
all of it the owner's only; and `invited db migrate`."""
import os
import sqlite3
import stat
import tempfile
import threading

from lib.server import Server


def test_a_backup_during_500_creations_is_whole_and_consistent():  # sqlite only: SQLite's backup API; PostgreSQL's is pg_dump
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


# What migration 15 (the last) made, undone: the database as 14 left it.
UNDO_LAST = ("ALTER TABLE outbox DROP COLUMN claimed_by;"
             "ALTER TABLE deliveries DROP COLUMN claimed_by;"
             "DROP TABLE servers; DROP TABLE rate_buckets;")


def set_schema_version(srv, version):
    """The database's version set to version; one back from the current
    also undoes the last migration, so that migrating again redoes it."""
    db = sqlite3.connect(os.path.join(srv.dir, "invited.db"))
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if version == current - 1 and db.execute(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'servers'").fetchone()[0]:
        db.executescript(UNDO_LAST)
    db.execute(f"PRAGMA user_version = {int(version)}")
    db.commit()
    db.close()


def test_migrations_are_explicit_logged_and_never_backwards():  # sqlite only: SQLite's user_version and backup
    """A database that needs migrating is refused by every command but
    `db migrate` and `serve`, which say what they do, step by step; a schema
    newer than the build's is refused by all. (set_schema_version undoes
    the last migration to put a database one version back.)"""
    srv = Server.start()
    try:
        current = int(srv.sql("PRAGMA user_version")[0][0])
        assert current >= 12
        org = srv.org_create("provider", "Migrate Co", "admin@migrate.example")
        srv.stop()

        set_schema_version(srv, current - 1)
        p = srv.cli("org", "show", str(org), check=False)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert f"schema version {current - 1}" in p.stderr and \
            "invited db migrate" in p.stderr, p.stderr
        assert int(srv.sql("PRAGMA user_version")[0][0]) == current - 1  # changed nothing
        # The backup to take before migrating works on the old schema.
        copy = os.path.join(srv.dir, "before-migrate.db")
        srv.cli("db", "backup", copy)
        db = sqlite3.connect(copy)
        assert db.execute("PRAGMA user_version").fetchone()[0] == current - 1
        db.close()
        p = srv.cli("db", "migrate")
        assert f"schema version {current - 1} -> {current}" in p.stdout, p.stdout
        assert f"migration {current} of {current} applied" in p.stderr, p.stderr
        assert "Migrate Co" in srv.cli("org", "show", str(org)).stdout
        p = srv.cli("db", "migrate")
        assert f"schema version {current}, nothing to do" in p.stdout, p.stdout

        set_schema_version(srv, current - 1)
        srv.serve()  # migrates at start, and says so
        assert f"migration {current} of {current} applied" in srv.log(), srv.log()
        assert int(srv.sql("PRAGMA user_version")[0][0]) == current
        srv.stop()

        set_schema_version(srv, current + 1)
        for args in (("db", "migrate"), ("org", "show", str(org))):
            p = srv.cli(*args, check=False)
            assert p.returncode == 1 and "newer than this build's" in p.stderr, \
                (args, p.returncode, p.stderr)
        assert int(srv.sql("PRAGMA user_version")[0][0]) == current + 1
        srv.serve(wait=False)
        assert srv.proc.wait(timeout=20) == 1
        assert "newer than this build's" in srv.log(), srv.log()
    finally:
        srv.cleanup()
