#!/usr/bin/env python3
"""Run one integration test case: run.py MODULE CASE.

ctest registers one entry per `def test_...` in tests/integration/test_*.py
and calls this runner with the module and the function name. A case passes
when the function returns; any exception fails it with its traceback.
"""
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    if len(sys.argv) != 3:
        print("usage: run.py MODULE CASE", file=sys.stderr)
        return 2
    module, case = sys.argv[1], sys.argv[2]
    os.chdir(os.environ.get("INVITED_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE))))
    mod = importlib.import_module(module)
    fn = getattr(mod, case, None)
    if fn is None:
        print(f"no case {case} in {module}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        fn()
    except Exception:
        traceback.print_exc()
        print(f"FAIL {module}.{case} ({time.monotonic() - started:.1f}s)")
        return 1
    finally:
        from lib import server
        server.stop_all()
    print(f"ok {module}.{case} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
