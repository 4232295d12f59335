"""net_lib.py - what the python-can clients of tests/cli/net_*.sh share (PYTHONPATH=$NET_PY)."""
import time


def recv_id(b, want, timeout=3.0):
    """The next message with arbitration id want on python-can bus b, or None after timeout s."""
    end = time.time() + timeout
    while time.time() < end:
        m = b.recv(0.2)
        if m is not None and m.arbitration_id == want:
            return m
    return None
