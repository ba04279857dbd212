# SPDX-License-Identifier: MIT
"""End to end: the secrets the plugins own stay out of core dumps.

collectd runs genesys_flowmetrics (token, channel, receiver over TLS) and
genesys_realtime against the simulator, with the client secret and the
receiver's secret in files (an inline ClientSecret would stay in collectd's
own configuration tree, which the plugins cannot reach). Once both plugins
hold a token, gdb's gcore writes a core of the running daemon, as the kernel
would on a crash. The client secret, the receiver's secret and the
receiver's private key must not be in it: the plugins keep them (and the
token) in pages marked MADV_DONTDUMP, and wipe the buffers they built from
them. What libcurl and OpenSSL keep of the requests (the Authorization
header of the last request, the token in the answer's TLS buffers) is
theirs: the test reports it and collectd-genesys(5) says so."""
import base64
import os
import secrets
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests, write_secret  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_flowmetrics import free_port  # noqa: E402

CLIENT_ID = "core-client"


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
                key_der = b"".join(line for line in f.read().splitlines()
                                   if not line.startswith(b"-----"))
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

            core = os.path.join(tmp, "core")
            out = subprocess.run(["gcore", "-o", core, str(cd.proc.pid)],
                                 capture_output=True, text=True, timeout=120)
            path = f"{core}.{cd.proc.pid}"
            self.assertTrue(os.path.exists(path), out.stdout + out.stderr)
            with open(path, "rb") as f:
                dump = f.read()
            os.unlink(path)
            self.assertGreater(len(dump), 1 << 20)
            # The test can see the plugins' memory at all: a string every
            # plugin keeps on its heap is in the dump.
            self.assertTrue(b"/oauth/token" in dump, "the core holds no heap")
            # (assertNotIn would print the whole core)
            self.assertFalse(client_secret.encode() in dump, "client secret in the core")
            self.assertFalse(receiver_secret.encode() in dump,
                             "receiver secret in the core")
            self.assertFalse(key_der[:48] in dump, "receiver key in the core")
            basic = base64.b64encode(f"{CLIENT_ID}:{client_secret}".encode())
            print(f"\ncore of {len(dump) >> 20} MiB: client secret, receiver secret "
                  f"and key absent; Basic header (libcurl's request buffer) "
                  f"{'present' if basic in dump else 'absent'}")
        finally:
            if cd is not None:
                cd.cleanup()
            sim.stop()
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    run_tests(__name__)
