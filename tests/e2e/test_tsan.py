# SPDX-License-Identifier: MIT
"""End to end under ThreadSanitizer: the four plugins built with
--enable-tsan (build-tsan, made by the suite before the end-to-end tests,
or GEN_TSAN_BUILD_DIR) in Debian's collectd, with TSan's runtime preloaded,
two orgs each: eight read callbacks on collectd's read threads, the two
streaming plugins of each org sharing their client's notification hub (its
channel threads), the flowmetrics dispatch and the analytics engine. The
sockets are dropped halfway so that reconnects and baselines run beside the
reads. Every instance must dispatch, collectd must stay up, and TSan must
report nothing."""
import glob
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import collectd_harness  # noqa: E402
from collectd_harness import ROOT, Collectd, run_tests  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

TSAN_BUILD = os.environ.get("GEN_TSAN_BUILD_DIR", os.path.join(ROOT, "build-tsan"))
TSAN_RUNTIME = "/usr/lib/x86_64-linux-gnu/libtsan.so.2"
PLUGINS = {
    "genesys_realtime": "    ConversationEvents true\n    AgentActivity true\n",
    "genesys_analytics": '    Granularity "PT1M"\n    SettleDelay 5\n',
    "genesys_flowmetrics": "",
    # its status page the simulator's ({base}: the simulator's URL)
    "genesys_platform": '    StatusPageURL "{base}/sim/status/api/v2/components.json"\n',
}


class TsanTwoOrgs(unittest.TestCase):
    def test_two_orgs_no_race(self):
        self.assertTrue(os.path.exists(os.path.join(TSAN_BUILD, ".libs",
                                                    "genesys_realtime.so")),
                        f"no ThreadSanitizer build in {TSAN_BUILD} "
                        "(configure --enable-tsan; the suite makes build-tsan)")
        self.assertTrue(os.path.exists(TSAN_RUNTIME), TSAN_RUNTIME)
        sim = Simulator("--queues", "6", "--agents", "30", "--flows", "2", "--speed", "10",
                        "--warmup", "300", "--heartbeat", "2")
        rx = Receiver()
        saved = collectd_harness.BUILD
        collectd_harness.BUILD = TSAN_BUILD
        try:
            conf = ""
            for plugin, extra in PLUGINS.items():
                streams = plugin in ("genesys_realtime", "genesys_flowmetrics")
                blocks = "".join(
                    sim.org_block(org, extra=f'    Host "{org}-{plugin[8:]}"\n'
                                  + ("    HeartbeatTimeout 8\n" if streams else "")
                                  + extra.replace("{base}", sim.base_url))
                    for org in ("one", "two"))
                conf += (f"<LoadPlugin {plugin}>\n  Interval 1\n</LoadPlugin>\n"
                         f"<Plugin {plugin}>\n{blocks}</Plugin>\n")
            cd = Collectd(conf + rx.config(), stock=("logfile", "csv", "write_http"))
        finally:
            collectd_harness.BUILD = saved
        reports = os.path.join(cd.dir, "tsan")
        env = dict(os.environ, LD_PRELOAD=TSAN_RUNTIME,
                   TSAN_OPTIONS=f"log_path={reports} halt_on_error=0")
        try:
            cd.start(env=env)
            want = {(f"{org}-{p[8:]}", p) for org in ("one", "two") for p in PLUGINS}

            def hosts():
                return {(k[0], k[1]) for k in rx.snapshot()}
            self.assertTrue(wait_for(lambda: want <= hosts(), 90, 0.5),
                            f"not every instance dispatched: {want - hosts()}\n"
                            + cd.log_text()[-2000:])
            sockets = sim.stats()["sockets_total"]
            sim.fault({"fault": "drop_sockets"})
            self.assertTrue(wait_for(lambda: sim.stats()["sockets_total"] > sockets
                                     and sim.stats()["sockets_open"] >= 1, 60, 0.5))
            time.sleep(15)
            self.assertIsNone(cd.proc.poll(), "collectd died")
            cd.stop()
            found = sorted(glob.glob(reports + "*"))
            text = "".join(open(f).read()[:4000] for f in found[:2])
            self.assertEqual(found, [], text)
            self.assertEqual(cd.bad_log_lines(), [])
        finally:
            cd.cleanup()
            rx.stop()
            sim.stop()


if __name__ == "__main__":
    run_tests(__name__)
