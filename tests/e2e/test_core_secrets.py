# SPDX-License-Identifier: MIT
"""End to end: the secrets the plugins own stay out of core dumps, and so
do the headers built from them, in use or freed.

collectd runs genesys_flowmetrics (token, channel, receiver over TLS) and
genesys_realtime against the simulator, with the client secret and the
receiver's secret in files (an inline ClientSecret would stay in collectd's
own configuration tree, which the plugins cannot reach). Once both plugins
hold a token, 8 events carrying the receiver's secret are posted, and gdb
writes a core of the running daemon (as the kernel would on a crash) at a
moment when no thread is inside a request. The client secret and the
receiver's key must not be in it; the whole core, freed heap included, must
hold no Basic header, no Bearer header and no copy of the receiver's secret
outside GnuTLS's record buffers (which GnuTLS frees without wiping:
reported, and said in collectd-genesys(5)). Before the plugins gave libcurl
a wiping allocator the core held 1 Basic and 16 Bearer headers."""
import base64
import http.client
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests, write_secret  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_flowmetrics import free_port  # noqa: E402

CLIENT_ID = "core-client"
EVENTS = 8
# An Authorization header's value as built for a request (the format string
# "Bearer %s" does not match: a token has at least 16 characters).
BEARER = re.compile(rb"Bearer [A-Za-z0-9._~+/=-]{16,}")


# A thread in these holds a live Authorization header (in our header list,
# in libcurl's request buffer): a copy that is in use, not one left behind.
IN_REQUEST = re.compile(r"\b(curl_easy_perform|gen_http_request|gen_auth_\w+) \(")


def dump_between_requests(pid, path, tries=40):
    """Writes a core of `pid` as gcore does, at a moment when no thread is
    inside a request (the backtraces and the core come from the same stop).
    False when every try found one."""
    for _ in range(tries):
        out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                              "-ex", "thread apply all bt",
                              "-ex", f"generate-core-file {path}"],
                             capture_output=True, text=True, timeout=120)
        busy = IN_REQUEST.search(out.stdout)
        if not busy and os.path.exists(path):
            return True
        if os.path.exists(path):
            os.unlink(path)
        time.sleep(0.3)
    return False


class CoreSecretsTest(unittest.TestCase):
    def test_core_dump_holds_no_owned_secret(self):
        client_secret = "cs-" + secrets.token_hex(24)
        receiver_secret = "rs-" + secrets.token_hex(24)
        sim = Simulator("--queues", "2", "--agents", "4", "--flows", "2",
                        "--warmup", "0", "--client-id", CLIENT_ID,
                        "--client-secret", client_secret)
        tmp = tempfile.mkdtemp(prefix="gen-core-")
        cd = None
        try:
            cs_file = write_secret(os.path.join(tmp, "client.secret"), client_secret)
            rs_file = write_secret(os.path.join(tmp, "receiver.secret"), receiver_secret)
            state = os.path.join(sim.dir, "state")
            with open(os.path.join(state, "server.key"), "rb") as f:
                key_lines = [line for line in f.read().splitlines()
                             if not line.startswith(b"-----")]
            key_der = b"".join(key_lines)
            port = free_port()

            def block(plugin, extra=""):
                text = sim.org_block("acme", secret="unused", extra='    Host "acme"\n' + extra)
                text = text.replace('    ClientSecret "unused"\n',
                                    f'    ClientSecretFile "{cs_file}"\n')
                return f"LoadPlugin {plugin}\n<Plugin {plugin}>\n{text}</Plugin>\n"

            cd = Collectd(
                block("genesys_flowmetrics",
                      '    ReceiverAddress "127.0.0.1"\n'
                      f"    ReceiverPort {port}\n"
                      f'    ReceiverCertificate "{state}/server.pem"\n'
                      f'    ReceiverKey "{state}/server.key"\n'
                      f'    ReceiverSecretFile "{rs_file}"\n')
                + block("genesys_realtime"))
            self.assertNotIn(client_secret, open(cd.conf).read())
            cd.start()

            def both_have_tokens():
                got = [cd.csv_values(f"{p}-self", "token_refreshes")
                       for p in ("genesys_flowmetrics", "genesys_realtime")]
                return all(rows and rows[-1][1] > 0 for rows in got)
            self.assertTrue(wait_for(both_have_tokens, timeout=60, step=0.5),
                            cd.log_text()[-3000:])
            self.assertIn("receiver listening", cd.log_text())

            # Events with the receiver's secret in their header, so that
            # the receiver's buffers (ours, libmicrohttpd's) have held it.
            ctx = ssl.create_default_context(cafile=sim.ca)
            for i in range(EVENTS):
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                                   timeout=10)
                conn.request("POST", "/events", body=b"{}",
                              headers={"Content-Type": "application/json",
                                       "X-Genesys-Secret": receiver_secret})
                self.assertEqual(conn.getresponse().status, 400)
                conn.close()
            time.sleep(1)

            path = os.path.join(tmp, "core")
            self.assertTrue(dump_between_requests(cd.proc.pid, path))
            with open(path, "rb") as f:
                dump = f.read()
            os.unlink(path)
            self.assertGreater(len(dump), 1 << 20)
            # The test can see the plugins' memory at all: a string every
            # plugin keeps on its heap is in the dump.
            self.assertTrue(b"/oauth/token" in dump, "the core holds no heap")
            # (assertNotIn would print the whole core)
            self.assertFalse(client_secret.encode() in dump, "client secret in the core")
            self.assertFalse(key_der[:48] in dump, "receiver key in the core")
            # Each line of the key's PEM, and the part of each past the 16
            # bytes a freed heap block's own pointers overwrite: GnuTLS's
            # copy of the PEM, freed without wiping, kept them. A line that
            # the certificate holds too (an EC key's last line is mostly its
            # public point) is public, and left out.
            with open(os.path.join(state, "server.pem"), "rb") as f:
                cert_text = b"".join(f.read().splitlines())
            found = [i + 1 for i, line in enumerate(key_lines)
                     if line[16:] not in cert_text
                     and (line in dump or line[16:] in dump)]
            print(f"# receiver key PEM lines in the core: {found} of {len(key_lines)}")
            self.assertEqual(found, [], "lines of the receiver key's PEM in the core")
            basic = base64.b64encode(f"{CLIENT_ID}:{client_secret}".encode())
            rs = receiver_secret.encode()
            # GnuTLS decrypts a TLS 1.3 record with its inner content type
            # (0x17, application data) after it, in buffers it frees
            # without wiping: those copies are GnuTLS's, not ours.
            gnutls = dump.count(rs + b"\r\n\r\n\x17")
            copies = {"Basic header": dump.count(basic),
                      "receiver secret": dump.count(rs) - gnutls,
                      "Bearer header": len(BEARER.findall(dump))}
            print(f"\ncore of {len(dump) >> 20} MiB: client secret and key "
                  f"absent; copies in the whole core (freed heap included): "
                  f"{copies}; receiver secret in GnuTLS's record buffers: "
                  f"{gnutls}")
            self.assertEqual(copies, {k: 0 for k in copies})
        finally:
            if cd is not None:
                cd.cleanup()
            sim.stop()
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    run_tests(__name__)
