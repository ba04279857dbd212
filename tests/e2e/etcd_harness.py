# SPDX-License-Identifier: MIT
"""A real etcd for the standby's tests and benchmark (Debian's etcd-server),
and a TCP relay to it that can be cut."""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from sim_harness import stop_process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(d):
    """A CA, etcd's server certificate for 127.0.0.1 and a client
    certificate, signed by it (openssl), in directory d: their paths."""
    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=test etcd CA", "-keyout", "ca.key", "-out", "ca.pem")
    # clientAuth on the server's too: etcd's JSON gateway calls its own
    # gRPC port with it, which --client-cert-auth checks (HTTP 503 without).
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", name + ".key", "-out", name + ".csr")
        ssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
            "-out", name + ".pem")
    return {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key",
                                            "client.pem", "client.key")}


class Etcd:
    """A one-member etcd on loopback ports, its data in a temporary
    directory. tls: its client port takes https only, from clients with a
    certificate its own CA signed (self.certs). extra: more of etcd's
    flags (a compaction mode, a quota)."""

    def __init__(self, tls=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="gen-e2e-etcd-")
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{free_port()}"
        self.certs = make_certs(self.dir) if tls else None
        more = ["--cert-file", self.certs["server.pem"], "--key-file",
                self.certs["server.key"], "--client-cert-auth",
                "--trusted-ca-file", self.certs["ca.pem"]] if tls else []
        self.args = ["etcd", "--data-dir", os.path.join(self.dir, "data"),
                     "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                     "--initial-cluster", f"default={peer}"] + more + list(extra)
        self.start()

    def start(self):
        """etcd started (again: its data and ports as before), once it
        answers."""
        with open(os.path.join(self.dir, "log"), "a") as log:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                         stderr=log)
        deadline = time.monotonic() + 30
        while self.get("/health") is None:
            assert time.monotonic() < deadline, "etcd did not start"
            time.sleep(0.2)

    def kill(self):
        """etcd killed (SIGKILL), its data kept for start()."""
        self.proc.kill()
        self.proc.wait()

    def get(self, path):
        ctx = None
        if self.certs:
            import ssl
            ctx = ssl.create_default_context(cafile=self.certs["ca.pem"])
            ctx.load_cert_chain(self.certs["client.pem"], self.certs["client.key"])
        try:
            with urllib.request.urlopen(self.url + path, timeout=2, context=ctx) as r:
                return r.read()
        except OSError:
            return None

    def post(self, path, body):
        """etcd's JSON gateway (plain http): the answer of a POST."""
        req = urllib.request.Request(self.url + path, json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def range(self, key, prefix=False):
        """{key: (value bytes, mod_revision)} of key, or of every key under it."""
        body = {"key": base64.b64encode(key.encode()).decode()}
        if prefix:
            end = key[:-1] + chr(ord(key[-1]) + 1)
            body["range_end"] = base64.b64encode(end.encode()).decode()
        return {base64.b64decode(kv["key"]).decode():
                (base64.b64decode(kv.get("value", "")), int(kv["mod_revision"]))
                for kv in self.post("/v3/kv/range", body).get("kvs", [])}

    def put(self, key, value):
        self.post("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                 "value": base64.b64encode(value).decode()})

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay:
    """A TCP relay to etcd that the test can cut: connections open then are
    closed, new ones refused (the listening socket closed)."""

    def __init__(self, port):
        self.target = port
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.srv.listen(16)
        self.conns = []
        self.cut_ = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.cut_:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            if self.cut_:  # accepted as it was cut
                c.close()
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.cut_ = True
        # shutdown wakes the accept() blocked in the other thread (a close
        # alone leaves it accepting until it returns)
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
