"""bench/benchlib.py: what the benchmark drivers share."""
import signal
import subprocess


def stop_process(proc, timeout=20):
    """SIGTERM proc and wait for it; SIGKILL it if it takes longer than
    timeout seconds. Nothing to do for None or a process already gone."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
