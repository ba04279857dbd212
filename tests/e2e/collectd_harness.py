# SPDX-License-Identifier: MIT
"""Runs the real collectd daemon with the built plugins, for end-to-end tests.

collectd refuses plugins behind symlinks, so the harness copies our plugins
and the few stock plugins a test needs into a private plugin directory.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

from sim_harness import stop_process

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("GEN_BUILD_DIR", os.path.join(ROOT, "build"))
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
STOCK_PLUGINS = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
OUR_TYPES_DB = os.path.join(ROOT, "types", "genesys.db")
PLUGINS = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics", "genesys_platform")


# A line of the logfile plugin with PrintSeverity: "[date] [level] message".
LOG_LINE = re.compile(r"\[[^]]*\] \[(\w+)\] (.*)")


class Collectd:
    """A collectd instance in a temporary directory."""

    def __init__(self, body, stock=("logfile", "csv"), write_threads=None,
                 interval=1):
        """interval: collectd's global Interval (the tests' 1 s; it is also
        how often collectd walks its whole value cache for series past
        their timeout). write_threads: collectd's WriteThreads (None: its
        default, 5).
        Tests that compare every value of history with the truth take 1:
        the write queue is then first in, first out, where five threads may
        write two queued values of one series in either order (see
        collectd-genesys(5))."""
        self.dir = tempfile.mkdtemp(prefix="gen-e2e-")
        self.plugin_dir = os.path.join(self.dir, "plugins")
        os.makedirs(self.plugin_dir)
        # the plugins and the core library they find beside them ($ORIGIN)
        for name in PLUGINS + ("libgenesys-core",):
            shutil.copy(os.path.join(BUILD, ".libs", name + ".so"), self.plugin_dir)
        for name in stock:
            shutil.copy(os.path.join(STOCK_PLUGINS, name + ".so"), self.plugin_dir)
        self.log = os.path.join(self.dir, "collectd.log")
        self.csv = os.path.join(self.dir, "csv")
        # with unixsock in stock, its socket (SocketFile) is this
        self.sock = os.path.join(self.dir, "collectd.sock")
        self.conf = os.path.join(self.dir, "collectd.conf")
        with open(self.conf, "w") as f:
            f.write(
                f'BaseDir "{self.dir}"\n'
                f'PIDFile "{self.dir}/collectd.pid"\n'
                f'PluginDir "{self.plugin_dir}"\n'
                f'TypesDB "{TYPES_DB}" "{OUR_TYPES_DB}"\n'
                f"Interval {interval}\n"
                + (f"WriteThreads {write_threads}\n" if write_threads else "")
                + "LoadPlugin logfile\n"
                "<Plugin logfile>\n"
                "  LogLevel info\n"
                f'  File "{self.log}"\n'
                "  PrintSeverity true\n"
                "</Plugin>\n"
                # csv writes a file per series: left out where stock lacks
                # it (thousands of queues are a disk's worth of small writes)
                + ("LoadPlugin csv\n"
                   f'<Plugin csv>\n  DataDir "{self.csv}"\n</Plugin>\n'
                   if "csv" in stock else "")
                + ("LoadPlugin unixsock\n"
                   f'<Plugin unixsock>\n  SocketFile "{self.sock}"\n</Plugin>\n'
                   if "unixsock" in stock else "")
                + body
            )
        self.proc = None

    def unixsock(self, line):
        """collectd's answer to one unixsock command (unixsock in stock):
        its status line and the lines that follow it."""
        import socket

        # a daemon just started may not listen yet: wait while the process
        # lives (up to 30 s), then let the error through
        deadline = time.monotonic() + 30
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if (time.monotonic() > deadline or self.proc is None
                        or self.proc.poll() is not None):
                    raise
                time.sleep(0.1)
        with s:
            s.sendall(line.encode() + b"\n")
            f = s.makefile()
            head = f.readline()
            n = int(head.split()[0])
            return head, [f.readline().strip() for _ in range(max(n, 0))]

    def listval(self):
        """The identifiers in collectd's cache (LISTVAL), without times."""
        return [ln.split()[1] for ln in self.unixsock("LISTVAL")[1]]

    def write_conf(self, body, interval=10):
        """Replaces the configuration: logfile and exactly the plugins body
        loads (the default one also writes every value to csv); for
        benchmarks."""
        with open(self.conf, "w") as f:
            f.write(f'BaseDir "{self.dir}"\nPIDFile "{self.dir}/collectd.pid"\n'
                    f'PluginDir "{self.plugin_dir}"\n'
                    f'TypesDB "{TYPES_DB}" "{OUR_TYPES_DB}"\n'
                    f"Interval {interval}\n"
                    "LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n"
                    f'  File "{self.log}"\n  PrintSeverity true\n</Plugin>\n' + body)

    def run_until(self, done, timeout=60):
        """Runs the daemon until done() is true (polled) or timeout seconds,
        then stops it. (collectd -T exits before its write threads have
        written everything, so tests run the real daemon instead.) Returns
        the exit status, which is 0 after a clean stop."""
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if done():
                break
            time.sleep(0.2)
        crashed = self.proc.poll()
        if crashed is not None:
            self.proc = None
            return crashed
        self.proc.terminate()
        status = self.proc.wait(timeout=30)
        self.proc = None
        return status

    def start(self, env=None):
        self.proc = subprocess.Popen(
            [COLLECTD, "-C", self.conf, "-f"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def bad_log_lines(self, allow=()):
        """The ERROR lines of the log that our plugins caused, as messages
        (without date and level): every line naming genesys_, collectd's own
        plugin_get_interval complaint (a value dispatched without an interval
        from a thread without a plugin context), and uc_update's "Value too
        old" for a series of ours. allow: regular expressions, each matching
        a whole message, for the errors a test provokes on purpose."""
        allow = [re.compile(a) for a in allow]
        bad = []
        for line in self.log_text().splitlines():
            m = LOG_LINE.match(line)
            if m is None or m.group(1) != "error":
                continue
            msg = m.group(2)
            ours = ("genesys_" in msg or "plugin_get_interval" in msg
                    or "Unable to determine" in msg)
            if msg.startswith("uc_update: Value too old"):
                ours = "/genesys_" in msg
            if ours and not any(a.fullmatch(msg) for a in allow):
                bad.append(msg)
        return bad

    def csv_values(self, plugin_dir_name, type_name, host="*"):
        """Rows (epoch, value) of one csv file, across date suffixes."""
        return csv_values(self.csv, plugin_dir_name, type_name, host)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_secret(path, secret):
    """A secret file as an operator makes one: mode 0600, one line."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(secret + "\n")
    return path


def csv_values(csv_dir, plugin_dir_name, type_name, host="*"):
    """Rows (epoch, value) of one series of the csv plugin's DataDir, across
    date suffixes."""
    rows = []
    pattern = os.path.join(csv_dir, host, plugin_dir_name, type_name + "-*")
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for line in f:
                if line.startswith("epoch"):
                    continue
                t, v = line.strip().split(",")[:2]
                rows.append((float(t), float(v)))
    return rows


def run_tests(module_name):
    """Runs a test module's tests and ends with the suite's summary line."""
    import sys
    import unittest

    module = sys.modules[module_name]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    total = suite.countTestCases()
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    # A failed setUpClass is one error and its tests never run: each test
    # that did not pass counts as failed.
    passed = max(0, result.testsRun - len(result.failures) - len(result.errors)
                 - len(result.skipped))
    failed = max(total - passed, 0 if result.wasSuccessful() else 1)
    print(f"e2e: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def iso_ms(text):
    """Epoch ms of an ISO-8601 UTC instant."""
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def sim_ms(sim):
    """The simulator's time, in ms."""
    return iso_ms(sim._open("/sim/info")["sim_time"])


def wait_sim(sim, until, timeout=120):
    """Waits (at most timeout real seconds) until the simulator's time is
    until (ms)."""
    deadline = time.monotonic() + timeout
    while sim_ms(sim) < until and time.monotonic() < deadline:
        time.sleep(0.2)


class FakeClockCollectd(Collectd):
    """collectd whose clock runs at the simulator's time and speed
    (libfaketime), so the plugin's own clock decides what is closed, as in
    production. libfaketime takes a start in whole seconds: collectd is
    started when the simulated clock is at one, so the two agree to within
    the start-up latency times the speed. ahead_ms puts collectd's clock that
    far ahead of the simulator's (a host whose clock is wrong); a test may
    change it between a stop and a start."""

    def __init__(self, body, sim, speed, ahead_ms=0, **kw):
        super().__init__(body, **kw)
        self.sim = sim
        self.speed = speed
        self.ahead_ms = ahead_ms

    def start(self):
        # The fake clock starts on the simulator's next whole second; on a
        # busy machine that second may pass before we sleep: then ask again.
        for _ in range(20):
            before = time.time()
            info = self.sim._open("/sim/info")
            after = time.time()
            sim_ms = iso_ms(info["sim_time"]) + (after - before) / 2 * 1000 * self.speed
            wait_ms = 1000 - sim_ms % 1000
            delay = wait_ms / self.speed / 1000 - (time.time() - after)
            if delay >= 0:
                break
        time.sleep(max(delay, 0.0))
        anchor = time.strftime("%Y-%m-%d %H:%M:%S",
                               time.gmtime((sim_ms + wait_ms + self.ahead_ms) / 1000))
        env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, TZ="UTC",
                   FAKETIME=f"@{anchor} x{self.speed}", FAKETIME_NO_CACHE="1",
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        self.proc = subprocess.Popen([COLLECTD, "-C", self.conf, "-f"], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)


class FakeClockRun:
    """A history run on a fake clock, as a context manager: the simulator
    (sim_args), a receiver of write_http and collectd (FakeClockCollectd,
    logfile, csv and write_http, one write thread) running plugin at
    interval with the <Org "acme"> block the simulator makes with extra;
    all three stopped and cleaned up at the end, whatever happened. Yields
    (sim, rx, cd); collectd is not started."""

    def __init__(self, sim_args, extra, interval, speed,
                 plugin="genesys_analytics", ahead_ms=0):
        self.args = (sim_args, extra, interval, speed, plugin, ahead_ms)
        self.sim = self.rx = self.cd = None

    def __enter__(self):
        from receiver import Receiver
        from sim_harness import Simulator
        sim_args, extra, interval, speed, plugin, ahead_ms = self.args
        try:
            self.sim = Simulator(*sim_args)
            self.rx = Receiver()
            block = self.sim.org_block("acme", extra=extra)
            self.cd = FakeClockCollectd(
                f"<LoadPlugin {plugin}>\n  Interval {interval}\n</LoadPlugin>\n"
                f"<Plugin {plugin}>\n{block}</Plugin>\n" + self.rx.config(),
                self.sim, speed, ahead_ms=ahead_ms,
                stock=("logfile", "csv", "write_http"), write_threads=1)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.sim, self.rx, self.cd

    def __exit__(self, *exc):
        if self.cd is not None:
            self.cd.cleanup()
        if self.sim is not None:
            self.sim.stop()
        if self.rx is not None:
            self.rx.stop()
        return False
