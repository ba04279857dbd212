# SPDX-License-Identifier: MIT
"""Test CA and server certificate for the simulator, made with the openssl CLI.

Files in state_dir: ca.pem (give this to clients as CACert), ca.key,
server.pem, server.key.  Existing files are reused, so a test suite can
start the simulator many times with one CA; the server certificate is made
again when the names it must cover change.
"""
import os
import ssl
import subprocess


def ensure_certs(state_dir, hosts=("localhost", "127.0.0.1")):
    os.makedirs(state_dir, exist_ok=True)
    ca, cakey = os.path.join(state_dir, "ca.pem"), os.path.join(state_dir, "ca.key")
    crt, key = os.path.join(state_dir, "server.pem"), os.path.join(state_dir, "server.key")
    ext = os.path.join(state_dir, "server.ext")
    sans = ",".join(("IP:" if h.replace(".", "").isdigit() or ":" in h else "DNS:") + h
                    for h in hosts)
    ext_text = ("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % sans)

    def same_names():
        try:
            with open(ext) as f:
                return f.read() == ext_text
        except OSError:
            return False
    if all(os.path.exists(p) for p in (ca, cakey, crt, key)) and same_names():
        return ca, crt, key

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=state_dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not (os.path.exists(ca) and os.path.exists(cakey)):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=gensim test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write(ext_text)
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "825", "-sha256",
        "-extfile", "server.ext")
    for p in (cakey, key):
        os.chmod(p, 0o600)
    return ca, crt, key


def server_context(state_dir, hosts=("localhost", "127.0.0.1")):
    ca, crt, key = ensure_certs(state_dir, hosts)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(crt, key)
    return ctx, ca
