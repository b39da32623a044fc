"""Fixtures for the kiln-serve end-to-end tests: start a real `kiln-serve` on 127.0.0.1 with an
ephemeral port (read from its JSON "ready" log line), stop it with SIGTERM afterwards."""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("KILN_BUILD_DIR", ROOT / ".build" / "debug"))
MODEL = ROOT / "Fixtures" / "models" / "efficientnet_lite0.kiln"
IMAGES = ROOT / "Fixtures" / "images"


class Server:
    """A running kiln-serve process."""

    def __init__(self, *flags, timeout=120):
        self.log = []
        self.proc = subprocess.Popen(
            [str(BUILD / "kiln-serve"), str(MODEL), "--port", "0", "--threads", "1", "--log-format", "json", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("msg") == "ready":
                    self.port = int(event["address"].rsplit(":", 1)[1])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            self.proc.kill()
            raise RuntimeError("kiln-serve did not become ready:\n" + "".join(self.log))
        self.url = f"127.0.0.1:{self.port}"

    def terminate(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    assert s.terminate() == 0


def kiln(*args):
    """Runs the `kiln` CLI of the same build and returns its stdout."""
    return subprocess.run([str(BUILD / "kiln"), *map(str, args)], check=True, capture_output=True, text=True,
                          timeout=300).stdout
