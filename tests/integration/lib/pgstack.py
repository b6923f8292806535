"""The test PostgreSQL cluster (scripts/pgstack) as a test sees it: which
backend a test runs against, a fresh database per server, and SQL on it
through psql (rows come back as tuples of ints, strings and None, as
Python's sqlite3 gives them)."""
import glob
import itertools
import json
import os
import subprocess

_env = None
_names = itertools.count()


def enabled():
    """Whether this run is against PostgreSQL (ctest's pg.* cases)."""
    return os.environ.get("INVITED_TEST_BACKEND") == "postgresql"


def env():
    global _env
    if _env is None:
        folder = os.environ.get("INVITED_PGSTACK_DIR")
        assert folder, "INVITED_PGSTACK_DIR is not set: run under ctest"
        path = os.path.join(folder, "env")
        assert os.path.exists(path), f"{path} is missing: is the test cluster running?"
        with open(path) as f:
            _env = dict(line.strip().split("=", 1) for line in f if "=" in line)
    return _env


def password():
    return env()["PGSTACK_URL"].split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def url(db, with_password=True):
    base = env()["PGSTACK_URL"]
    if not with_password:
        base = base.replace(":" + password() + "@", "@")
    return f"{base}/{db}"


def _psql():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else "psql"


def _run(db, sql):
    p = subprocess.run([_psql(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-d", url(db), "-c", sql], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"psql: {sql}\n{p.stderr}")
    return p.stdout


def createdb():
    """A new, empty database: its name."""
    name = f"it_{os.getpid()}_{next(_names)}"
    _run("postgres", f"CREATE DATABASE {name}")
    return name


def dropdb(name):
    _run("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def query(db, sql):
    """The rows of a SELECT, as tuples in column order (row_to_json keeps
    the order, and object_pairs_hook keeps columns of the same name)."""
    out = _run(db, f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({sql}) q")
    rows = json.loads(out, object_pairs_hook=lambda pairs: pairs)
    return [tuple(_value(v) for _, v in r) for r in rows]


def _value(v):
    """Booleans and bytes as SQLite gives them (0 and 1, bytes; bytea
    comes as "\\x" and hex)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and v.startswith("\\x"):
        try:
            return bytes.fromhex(v[2:])
        except ValueError:
            return v
    return v


def execute(db, sql):
    _run(db, sql)
