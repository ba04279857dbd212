# SPDX-License-Identifier: MIT
"""End to end: one API's outage does not starve the daemon. Three orgs in
each of the four plugins read a simulator that answers every API request
503 (tokens still work); collectd's stock load plugin, with its 1 s
interval, must keep its values coming, because a failing read returns at
once and the org's next reads are skipped until its retry is due instead
of sleeping in one of collectd's five read threads (before: 18 of 60 load
values). The orgs still report the outage (api errors logged) and retry.

Run alone: GEN_BUILD_DIR=$PWD/build python3 tests/e2e/test_outage.py
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collectd_harness import PLUGINS, Collectd, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

ORGS = 3
RUN_S = 30


class OutageTest(unittest.TestCase):
    def test_503_api_does_not_starve_other_plugins(self):
        sim = Simulator("--queues", "2", "--agents", "4", "--flows", "1")
        cd = None
        try:
            sim.fault({"fault": "http_5xx", "status": 503, "count": 1000000,
                       "path": "/api/v2"})
            blocks = "".join(
                f"LoadPlugin {p}\n<Plugin {p}>\n"
                + "".join(sim.org_block(f"org{i}", extra=f'    Host "{p}-org{i}"\n')
                          for i in range(ORGS))
                + "</Plugin>\n" for p in PLUGINS)
            cd = Collectd("LoadPlugin load\n" + blocks, stock=("logfile", "csv", "load"))
            cd.start()
            t0 = time.time()
            time.sleep(RUN_S)
            rows = [t for t, _ in cd.csv_values("load", "load") if t >= t0 + 5]
            window = time.time() - (t0 + 5)
            log = cd.log_text()
            served = sim.stats()["requests"]
            failed = sum(e.get("by_status", {}).get("503", 0) for e in served.values())
            print(f"# load values in the last {window:.0f} s: {len(rows)}; "
                  f"API requests answered 503: {failed} "
                  f"({len(PLUGINS) * ORGS} orgs over {RUN_S} s)")
            self.assertIsNone(cd.proc.poll(), "collectd died")
            # one value a second, give or take the machine's load
            self.assertGreaterEqual(len(rows), 0.8 * window, log[-3000:])
            # the outage was met, and told
            self.assertGreater(failed, 0)
            self.assertIn("503", log)
        finally:
            if cd:
                cd.cleanup()
            sim.stop()


if __name__ == "__main__":
    run_tests(__name__)
