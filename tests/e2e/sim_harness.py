# SPDX-License-Identifier: MIT
"""Starts the Genesys Cloud simulator (tests/sim/gensim.py) for a test."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENSIM = os.path.join(ROOT, "tests", "sim", "gensim.py")


def stop_process(proc, timeout=20):
    """Terminates proc (a Popen) and waits; killed after timeout seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Simulator:
    def __init__(self, *args, tls=True, start_timeout=60):
        """start_timeout: seconds for the simulator to be ready (a long
        --warmup of a large org takes minutes)."""
        self.dir = tempfile.mkdtemp(prefix="gen-sim-")
        ready = os.path.join(self.dir, "ready.json")
        cmd = [sys.executable, GENSIM, "--port", "0", "--quiet",
               "--state-dir", os.path.join(self.dir, "state"),
               "--ready-file", ready, *args]
        if tls:
            cmd.append("--tls")
        self.log = open(os.path.join(self.dir, "sim.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("simulator did not start: " + self.log_text())
            time.sleep(0.05)
        with open(ready) as f:
            self.info = json.load(f)
        self.base_url = self.info["base_url"]
        self.ca = self.info.get("ca")

    def _open(self, path, data=None):
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca) if self.ca else None
        req = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"Content-Type": "application/json"},
        )
        # long: at tens of thousands of queues the truth takes the
        # simulator (one Python process) tens of seconds
        with urllib.request.urlopen(req, context=ctx, timeout=120) as r:
            return json.loads(r.read())

    def stats(self):
        return self._open("/sim/stats")

    def truth(self):
        return self._open("/sim/truth")

    def fault(self, spec):
        return self._open("/sim/faults", spec)

    def forms(self, spec=None):
        """The answer forms (GET), or changes them (POST /sim/forms)."""
        return self._open("/sim/forms", spec)

    def org_block(self, name, secret=None, extra=""):
        """An <Org> block that reaches this simulator."""
        return (
            f'  <Org "{name}">\n'
            f'    ApiBaseURL "{self.base_url}"\n'
            f'    LoginBaseURL "{self.base_url}"\n'
            f'    ClientId "{self.info["client_id"]}"\n'
            f'    ClientSecret "{secret or self.info["client_secret"]}"\n'
            + (f'    CACert "{self.ca}"\n' if self.ca else "")
            + extra
            + "  </Org>\n"
        )

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "sim.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
