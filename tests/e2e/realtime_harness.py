# SPDX-License-Identifier: MIT
"""The set-up the genesys_realtime end-to-end tests share: a test class's
simulator (made by the class, with its faults), a write_http receiver and
collectd with the plugin for the org "acme" (InstanceFrom "id"), started
and waited for until the plugin is ready; all three stopped after the
class, also when the start failed. With notes, collectd's notifications
too (cls.notes, a NotificationFile)."""
import unittest

from collectd_harness import Collectd
from notif_receiver import NotificationFile
from realtime_truth import PLUGIN, wait_for
from receiver import Receiver

STOCK = ("logfile", "csv", "write_http")


def plugin_config(sim, rx, keys="", interval=2):
    """collectd's configuration of genesys_realtime for the org "acme" of
    sim (its Interval, and keys: more lines of the <Org> block), writing to
    rx."""
    block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n' + keys)
    return (f"<LoadPlugin {PLUGIN}>\n  Interval {interval}\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config())


class RealtimeTestCase(unittest.TestCase):
    """A test class's setUpClass sets cls.sim (a Simulator) and calls
    start_collectd; tearDownClass stops collectd, the receiver and the
    simulator."""

    sim = rx = cd = notes = None

    @classmethod
    def start_collectd(cls, keys="", interval=2, ready=None, timeout=60, step=0.1,
                       extra="", stock=STOCK, make=Collectd,
                       failure="the plugin did not baseline", notes=False):
        """Starts the receiver and collectd with the plugin (plugin_config,
        then extra; with notes, exec writing each notification to
        cls.notes), and waits at most timeout seconds for ready() (None:
        at least one baseline). When it never comes, stops everything and
        fails with failure and the end of collectd's log."""
        if notes:
            cls.notes = NotificationFile()
            stock, extra = stock + ("exec",), extra + cls.notes.config()
        cls.rx = Receiver()
        cls.cd = make(plugin_config(cls.sim, cls.rx, keys, interval) + extra, stock=stock)
        cls.cd.start()
        if not wait_for(ready or cls.has_baselined, timeout, step):
            log = cls.cd.log_text()[-3000:]
            cls.tearDownClass()
            raise AssertionError(f"{failure}:\n{log}")

    @classmethod
    def has_baselined(cls, baselines=1, queues=None):
        """The plugin has baselined that many times (its self-metric), and
        lists queues queues (None: any number)."""
        return ((cls.rx.get(PLUGIN, "self", "notify_baselines") or 0) >= baselines
                and queues in (None, cls.rx.get(PLUGIN, "self", "queues")))

    @classmethod
    def tearDownClass(cls):
        for part, stop in ((cls.cd, "cleanup"), (cls.rx, "stop"), (cls.sim, "stop"),
                           (cls.notes, "cleanup")):
            if part is not None:
                getattr(part, stop)()
        cls.sim = cls.rx = cls.cd = cls.notes = None

    def assert_no_error_lines(self, allow=()):
        """No ERROR line the plugin caused (allow: those a test provokes, each
        by its exact message), no value dispatched without an interval, no
        "Value too old" for a series of ours."""
        bad = self.cd.bad_log_lines(allow=allow)
        self.assertEqual(bad, [], f"{len(bad)} ERROR lines, first: {bad[:5]}")
