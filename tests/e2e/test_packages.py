# SPDX-License-Identifier: MIT
"""Packages, as a user gets them. From the `make dist` tarball: the .deb is
built with dpkg-buildpackage (its own `make check` included) and linted; it
is installed with dpkg into this system, where the system collectd loads the
four plugins from /usr/lib/collectd, with the installed example snippet
(credentials filled in) against the simulator; the installed snippets pass
`collectd -t` and `collectd -T`; then the package is purged. The RPM is
built with rpmbuild and its file list checked.

Runs as root on a disposable CI machine (dpkg -i); it leaves the system as
it found it, even after a run of it was killed (its journal), and refuses
to run where collectd-genesys is already installed by anyone else.
"""
import fcntl
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from backends_harness import PrometheusAPI, dashboard_queries, wait_until  # noqa: E402
from collectd_harness import (BUILD, COLLECTD, PLUGINS, ROOT, csv_values,  # noqa: E402
                              run_tests, write_secret)
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PACKAGE = "collectd-genesys"
PLUGIN_DIR = "/usr/lib/collectd"  # where collectd-core keeps its plugins
TYPES_FILE = "/usr/share/collectd/genesys.db"
CORE_LIB = PLUGIN_DIR + "/libgenesys-core.so"  # shared by the four plugins
EXAMPLES = "/usr/share/doc/collectd-genesys/examples"
PAGES = sorted(os.path.basename(p)[: -len(".pod")]
               for p in glob.glob(os.path.join(ROOT, "man", "*.5.pod")))
# debian/ as a developer's tree may hold it after an in-tree build.
DEBIAN_ARTEFACTS = shutil.ignore_patterns(
    "build", ".debhelper", PACKAGE, "tmp", "files", "*.substvars",
    "*.debhelper.log", "debhelper-build-stamp", "autoreconf.*")


def configure_version():
    with open(os.path.join(ROOT, "configure.ac")) as f:
        return re.search(r"^AC_INIT\(\[collectd-genesys\],\s*\[([^]]+)\]",
                         f.read(), re.M).group(1)


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def dpkg_status():
    """The package's dpkg status, or "" when it is not on the system."""
    r = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE])
    return "" if r.returncode != 0 or r.stdout.endswith(" not-installed") else r.stdout


def csv_last(csv_dir, host, plugin_dir, type_name):
    """Latest value of one csv series, or None."""
    rows = csv_values(csv_dir, plugin_dir, type_name, host)
    return rows[-1][1] if rows else None


def fill_in(snippet, sim, secret_file):
    """The snippet as a user completes it: the simulator instead of a
    region (and its CA), its client id, a secret file. Everything else as
    shipped. Each replaced key must be there, once per <Org>."""
    orgs = len(re.findall(r"^\s*<Org ", snippet, re.M))
    replacements = [
        (r'^(\s*)Region "[^"]*"',
         lambda m: f'{m[1]}ApiBaseURL "{sim.base_url}"\n{m[1]}LoginBaseURL '
                   f'"{sim.base_url}"\n{m[1]}CACert "{sim.ca}"'),
        (r'^(\s*)ClientId "[^"]*"', lambda m: f'{m[1]}ClientId "{sim.info["client_id"]}"'),
        (r'^(\s*)ClientSecretFile "[^"]*"', lambda m: f'{m[1]}ClientSecretFile "{secret_file}"'),
    ]
    for pattern, repl in replacements:
        snippet, n = re.subn(pattern, repl, snippet, flags=re.M)
        if n != orgs or orgs == 0:
            raise AssertionError(f"the example should set {pattern} once per <Org>")
    # genesys_platform: the simulator's status page, never the real one
    # from a test
    snippet = re.sub(r'^(\s*)#StatusPageURL "[^"]*"',
                     lambda m: f'{m[1]}StatusPageURL '
                               f'"{sim.base_url}/sim/status/api/v2/components.json"',
                     snippet, flags=re.M)
    return snippet


def sanitise(name):
    # The plugins' instance names: letters, digits, _ - . and UTF-8 stay.
    return re.sub(r"[^A-Za-z0-9_.\x80-\U0010ffff-]", "_", name)


# What the first hour writes (README.md), and the system files it changes.
SECRET = "/etc/collectd/genesys-acme.secret"
SNIPPET = "/etc/collectd/collectd.conf.d/genesys.conf"
PROM_SNIPPET = "/etc/collectd/collectd.conf.d/prometheus.conf"
PROM_RULES = "/etc/prometheus/genesys-alerts.yml"
TEST_CA = "/usr/local/share/ca-certificates/collectd-genesys-test-ca.crt"
KEPT_FILES = ("/etc/hosts", "/etc/prometheus/prometheus.yml")
STATE_DIRS = ("/var/lib/collectd", "/var/lib/prometheus/metrics2", "/var/log/prometheus",
              "/run/prometheus", "/etc/collectd/collectd.conf.d")


def port_in_use(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def snapshot_system():
    files = {}
    for path in KEPT_FILES:
        with open(path) as f:
            files[path] = f.read()
    dirs = {d: sorted(os.listdir(d)) if os.path.isdir(d) else None for d in STATE_DIRS}
    return {"files": files, "dirs": dirs}


def restore_system(snapshot):
    """Services stopped, files as they were, what the run made removed."""
    for service in ("collectd", "prometheus"):
        run(["service", service, "stop"], timeout=120)
    # A daemon an init script lost track of (no pidfile) goes too: the
    # system's own users run them, never the tests' servers.
    run(["pkill", "-u", "prometheus", "-x", "prometheus"])
    run(["pkill", "-x", "collectdmon"])
    for path in (SECRET, PROM_RULES, TEST_CA):
        if os.path.exists(path):
            os.unlink(path)
    run(["update-ca-certificates", "--fresh"])
    for path, text in snapshot["files"].items():
        # In place: /etc/hosts may be a bind mount that cannot be replaced.
        with open(path, "w") as f:
            f.write(text)
    for d, before in snapshot["dirs"].items():
        if before is None:
            shutil.rmtree(d, ignore_errors=True)
        elif os.path.isdir(d):
            for name in set(os.listdir(d)) - set(before):
                p = os.path.join(d, name)
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)


# A run that is killed (a CI timeout, a machine stopped) runs no cleanup.
# What it is about to change is written here first, so the next run puts
# the system back before it starts: the package it installed, the system
# files as they were before the first-hour test, the simulator on port 443.
JOURNAL = "/var/lib/collectd-genesys-package-test"


def journal_write(name, value):
    os.makedirs(JOURNAL, exist_ok=True)
    path = os.path.join(JOURNAL, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def journal_read(name):
    try:
        with open(os.path.join(JOURNAL, name + ".json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def journal_forget(name):
    try:
        os.unlink(os.path.join(JOURNAL, name + ".json"))
    except FileNotFoundError:
        pass


def alive(pid):
    """Running (not gone, not a zombie nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def installed_version():
    return run(["dpkg-query", "-W", "-f=${Version}", PACKAGE]).stdout


def put_back_interrupted_run():
    """What a killed run left, put back and forgotten: its first-hour
    simulator, the system files of its snapshot, the package it installed
    (only that version: another one is somebody else's). Returns what it
    did."""
    done = []
    sim = journal_read("simulator")
    if sim is not None:
        # Its parent's death does not stop it, and it holds port 443.
        try:
            with open(f"/proc/{sim['pid']}/cmdline", "rb") as f:
                if b"api.mypurecloud.ie" in f.read():
                    os.kill(sim["pid"], signal.SIGKILL)
                    done.append("its simulator stopped")
        except (FileNotFoundError, ProcessLookupError):
            pass
    snapshot = journal_read("snapshot")
    if snapshot is not None:
        restore_system(snapshot)
        done.append("system files restored")
    installed = journal_read("installed")
    if installed is not None and dpkg_status() and installed_version() == installed["version"]:
        r = run(["dpkg", "--purge", PACKAGE])
        assert r.returncode == 0, r.stdout + r.stderr
        done.append(f"{PACKAGE} {installed['version']} purged")
    shutil.rmtree(JOURNAL, ignore_errors=True)
    return done


def log_tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError as e:
        return str(e)


def add_hosts_line(line):
    with open("/etc/hosts", "a") as f:
        f.write(line + "\n")


def selected_queues(snippet, sim):
    """The queues of the truth that the snippet's QueueName patterns pick,
    as the plugin names them."""
    patterns = re.search(r'(?m)^\s*QueueName (.*)$', snippet)[1]
    patterns = [p.lower() for p in re.findall(r'"([^"]+)"', patterns)]
    truth = sim.truth()["queues"]
    return {sanitise(q["name"]) for q in truth.values()
            if any(fnmatch.fnmatchcase(q["name"].lower(), p) for p in patterns)}


class PackagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("the test installs a .deb with dpkg: run it as root")
        # One package test per machine at a time (dpkg and the system paths).
        cls.lock = open(os.path.join(tempfile.gettempdir(), "collectd-genesys-packages.lock"), "w")
        fcntl.flock(cls.lock, fcntl.LOCK_EX)
        cls.addClassCleanup(cls.lock.close)
        left = put_back_interrupted_run()
        if left:
            print(f"# a run killed earlier left the system changed: {', '.join(left)}")
        if dpkg_status():
            raise AssertionError(f"{PACKAGE} is already on this system ({dpkg_status()}); "
                                 "the test installs and purges its own build, so it stops")
        cls.dir = tempfile.mkdtemp(prefix="gen-pkg-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.version = configure_version()

        # The release tarball, as a user would download it.
        r = run(["make", "-C", BUILD, "dist"])
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        cls.tarball = os.path.join(cls.dir, f"{PACKAGE}-{cls.version}.tar.gz")
        shutil.move(os.path.join(BUILD, os.path.basename(cls.tarball)), cls.tarball)

        # It becomes the .orig.tar.gz of the Debian source package.
        shutil.copy(cls.tarball, os.path.join(cls.dir, f"{PACKAGE}_{cls.version}.orig.tar.gz"))
        subprocess.run(["tar", "xzf", cls.tarball], cwd=cls.dir, check=True)
        src = os.path.join(cls.dir, f"{PACKAGE}-{cls.version}")
        shutil.copytree(os.path.join(ROOT, "debian"), os.path.join(src, "debian"),
                        ignore=DEBIAN_ARTEFACTS)
        r = run(["dpkg-source", "-b", os.path.basename(src)], cwd=cls.dir)
        assert r.returncode == 0, r.stdout + r.stderr
        # make check runs inside the build (about 5 s): the package is only
        # made from a tree whose unit tests pass.
        # VERBOSE: a failing test's log goes into the build log.
        env = {**os.environ, "DEB_BUILD_OPTIONS": f"parallel={os.cpu_count() or 1}",
               "VERBOSE": "1"}
        r = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=600)
        cls.build_log = r.stdout + r.stderr
        assert r.returncode == 0, cls.build_log[-4000:]
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        stem = f"{PACKAGE}_{cls.version}-"
        cls.deb = glob.glob(os.path.join(cls.dir, f"{stem}*_{arch}.deb"))[0]
        cls.changes = glob.glob(os.path.join(cls.dir, f"{stem}*_{arch}.changes"))[0]
        cls.dsc = glob.glob(os.path.join(cls.dir, f"{stem}*.dsc"))[0]

        cls.addClassCleanup(cls.purge)
        version = run(["dpkg-deb", "-f", cls.deb, "Version"]).stdout.strip()
        journal_write("installed", {"version": version})
        r = run(["dpkg", "-i", cls.deb])
        assert r.returncode == 0, r.stdout + r.stderr

    @classmethod
    def purge(cls):
        if dpkg_status():
            run(["dpkg", "--purge", PACKAGE])
        shutil.rmtree(JOURNAL, ignore_errors=True)

    # ---- the .deb ----------------------------------------------------------

    def test_1_build_ran_unit_tests(self):
        self.assertIn("dh_auto_test", self.build_log)
        passed = re.findall(r"^# PASS: +(\d+)$", self.build_log, re.M)
        failed = re.findall(r"^# FAIL: +(\d+)$", self.build_log, re.M)
        self.assertTrue(passed and int(passed[-1]) > 0, "make check did not run")
        self.assertEqual(failed, ["0"])

    def test_2_lintian_finds_no_error(self):
        r = run(["lintian", "-I", "--pedantic", self.changes, self.dsc])
        tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
        print("\n  lintian: " + ("\n  lintian: ".join(tags) if tags else "no tags"))
        self.assertEqual([t for t in tags if t.startswith("E: ")], [])
        # lintian ran and read the packages (an unreadable file is exit 2).
        self.assertIn(r.returncode, (0, 1), r.stderr)

    def test_3_control_fields(self):
        fields = run(["dpkg-deb", "-f", self.deb, "Package", "Version", "Depends"]).stdout
        self.assertIn(f"Version: {self.version}-", fields)
        depends = re.search(r"^Depends: (.*)$", fields, re.M)[1]
        # collectd-core, and the shared libraries dpkg-shlibdeps found.
        for dep in ("collectd-core", "libcurl4", "libjson-c5", "libssl3", "libwslay1",
                    "libc6"):
            self.assertRegex(depends, rf"(^|, ){re.escape(dep)}( |,|$)")
        # yajl is a build dependency only (the scanner's reference in tests).
        self.assertNotRegex(depends, r"(^|, )libyajl2( |,|$)")

    def test_4_installed_files(self):
        files = set(run(["dpkg", "-L", PACKAGE]).stdout.split())
        want = {f"{PLUGIN_DIR}/{p}.so" for p in PLUGINS} | {TYPES_FILE}
        want |= {f"/usr/share/man/man5/{page}.gz" for page in PAGES}
        want |= {"/usr/bin/collectd-genesys-check",
                 "/usr/share/man/man1/collectd-genesys-check.1.gz"}
        want |= {f"{EXAMPLES}/{os.path.basename(c)}"
                 for c in glob.glob(os.path.join(ROOT, "examples", "genesys_*.conf"))}
        self.assertEqual(sorted(want - files), [])
        for path in want:
            self.assertTrue(os.path.isfile(path), path)
        # No configuration is enabled: nothing goes to /etc.
        self.assertEqual([f for f in files if f.startswith("/etc")], [])
        self.assertEqual(sorted(f for f in files if f.startswith(PLUGIN_DIR + "/")
                                and os.path.isfile(f)),
                         sorted([f"{PLUGIN_DIR}/{p}.so" for p in PLUGINS] + [CORE_LIB]))
        # The plugins find the private core library beside them, and share
        # it: one copy in the process.
        for p in PLUGINS:
            dyn = run(["readelf", "-d", f"{PLUGIN_DIR}/{p}.so"]).stdout
            self.assertIn("[libgenesys-core.so]", dyn, p)
            self.assertIn("RUNPATH", dyn, p)
            self.assertIn("[$ORIGIN]", dyn, p)
        # The licence: MIT, which Debian's copyright format calls Expat.
        with open("/usr/share/doc/collectd-genesys/copyright") as f:
            self.assertRegex(f.read(), r"(?m)^Files: \*\n(?:.*\n)*?License: Expat$")
        with open(TYPES_FILE) as f, open(os.path.join(ROOT, "types", "genesys.db")) as g:
            self.assertEqual(f.read(), g.read())
        # man finds the pages by name.
        for page in PAGES:
            name, section = page.rsplit(".", 1)
            r = run(["man", "-w", section, name])
            self.assertEqual(r.stdout.strip(), f"/usr/share/man/man5/{page}.gz", r.stderr)

    def test_5_system_collectd_loads_installed_plugins(self):
        sim = Simulator("--queues", "40", "--agents", "200", "--flows", "4",
                        "--speed", "1", "--start", "now")
        work = tempfile.mkdtemp(prefix="gen-pkg-run-", dir=self.dir)
        try:
            secret = write_secret(os.path.join(work, "genesys-acme.secret"), sim.info["client_secret"])
            includes, selected = "", None
            for plugin in PLUGINS:
                example = os.path.join(EXAMPLES, plugin + ".conf")
                if os.path.exists(example):
                    with open(example) as f:
                        filled = fill_in(f.read(), sim, secret)
                    path = os.path.join(work, plugin + ".conf")
                    with open(path, "w") as f:
                        f.write(filled)
                    includes += f'Include "{path}"\n'
                    if plugin == "genesys_realtime":
                        selected = filled
                else:  # no example yet: the shared keys only
                    includes += (f"LoadPlugin {plugin}\n<Plugin {plugin}>\n"
                                 + sim.org_block("acme", extra='    Host "acme"\n')
                                 + "</Plugin>\n")
            self.assertIsNotNone(selected, "genesys_realtime has no installed example")
            log, csv = os.path.join(work, "collectd.log"), os.path.join(work, "csv")
            conf = os.path.join(work, "collectd.conf")
            # Like Debian's collectd.conf: no TypesDB of its own, so the
            # snippet's TypesDB line is what brings the installed genesys.db.
            with open(conf, "w") as f:
                f.write(f'BaseDir "{work}"\nPIDFile "{work}/collectd.pid"\n'
                        f'PluginDir "{PLUGIN_DIR}"\nInterval 1\n'
                        f'LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n'
                        f'  File "{log}"\n</Plugin>\n'
                        f'LoadPlugin csv\n<Plugin csv>\n  DataDir "{csv}"\n</Plugin>\n'
                        + includes)

            # The example picks queues by name: those of the truth that match.
            self.assertNotRegex(selected, r"(?m)^\s*(QueueId|DivisionId|MediaType) ")
            want = selected_queues(selected, sim)
            self.assertTrue(want)

            def realtime_queues():
                return {os.path.basename(d)[len("genesys_realtime-"):]
                        for d in glob.glob(os.path.join(csv, "acme", "genesys_realtime-*"))
                        } - {"self"}

            def all_up():
                return all(csv_last(csv, "acme", f"{p}-self", "api_up") == 1.0
                           for p in PLUGINS)

            # The installed check command reads the same configuration.
            r = run(["/usr/bin/collectd-genesys-check", conf])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for plugin in PLUGINS:
                self.assertIn(f'{plugin} Org "acme": token: OK', r.stdout)
            # One token per <Org> block it checked.
            checked = sim.stats()["requests"]["POST /oauth/token"]["by_status"]["200"]
            self.assertEqual(checked, len(PLUGINS))

            proc = subprocess.Popen([COLLECTD, "-C", conf, "-f"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                ok = wait_for(lambda: all_up() and realtime_queues() == want
                              and csv_last(csv, "acme", "genesys_realtime-self", "queues")
                              == len(want), timeout=90, step=0.5)
            finally:
                proc.terminate()
                status = proc.wait(timeout=30)
            with open(log) as f:
                text = f.read()
            self.assertTrue(ok, text[-3000:])
            self.assertEqual(status, 0, text[-3000:])
            for plugin in PLUGINS:
                self.assertIn(f'plugin "{plugin}" successfully loaded', text)
            self.assertNotIn("error(s)", text)
            self.assertNotIn("Dataset not found", text)
            self.assertNotIn(sim.info["client_secret"], text)
            # The tokens came from the simulator: one for genesys_analytics,
            # one for genesys_platform, one for the notification hub that
            # genesys_realtime and genesys_flowmetrics share (the same
            # client), so one core library was loaded for both.
            tokens = sim.stats()["requests"]["POST /oauth/token"]
            self.assertEqual(tokens["by_status"].get("200", 0) - checked, 3)
        finally:
            sim.stop()

    def test_6_installed_examples_pass_collectd_t_and_T(self):
        sim = Simulator("--queues", "16", "--agents", "60", "--flows", "2")
        work = tempfile.mkdtemp(prefix="gen-pkg-t-", dir=self.dir)
        try:
            secret = write_secret(os.path.join(work, "secret"), sim.info["client_secret"])
            examples = sorted(glob.glob(os.path.join(EXAMPLES, "genesys_*.conf")))
            self.assertIn(os.path.join(EXAMPLES, "genesys_realtime.conf"), examples)
            for example in examples:
                plugin = os.path.basename(example)[: -len(".conf")]
                with self.subTest(example=plugin), open(example) as f:
                    shipped = f.read()
                    filled = os.path.join(work, plugin + ".conf")
                    with open(filled, "w") as out:
                        out.write(fill_in(shipped, sim, secret))
                    # The done-when check. Debian 12's collectd 5.12.0 exits
                    # from -t before reading the file (fixed upstream later),
                    # so -T below is the check that can fail.
                    r = run([COLLECTD, "-t", "-C", filled], timeout=60)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    # -T: reads the snippet, starts the plugin, reads once.
                    # A wrapper keeps BaseDir and the PID file out of /var.
                    edges = sim.stats()["requests"].get(
                        "GET /api/v2/telephony/providers/edges", {}).get("total", 0)
                    out = self.collectd_T(work, filled)
                    self.assertIn(f'plugin "{plugin}" successfully loaded', out)
                    self.assertNotIn("error(s)", out)
                    self.assertNotIn("cannot", out)
                    self.assertNotIn("Dataset not found", out)  # genesys.db was read
                    # It read: it says what it monitors after listing, or
                    # (genesys_platform, which says nothing when all is well)
                    # the simulator answered its edge listing. (No write
                    # plugin is loaded here: collectd warns that nothing
                    # stores the values, as it should.)
                    if plugin == "genesys_platform":
                        self.assertGreater(sim.stats()["requests"].get(
                            "GET /api/v2/telephony/providers/edges", {}).get("total", 0), edges)
                    else:
                        self.assertRegex(out, rf'{plugin} plugin: Org "acme": \d+ (queues|flows)')
                    # As shipped (no secret file yet) the same check refuses it.
                    out = self.collectd_T(work, example)
                    self.assertRegex(out, rf'{plugin} plugin: Org "[^"]+": ClientSecretFile ')
                    self.assertIn("1 error(s) in the block; it is ignored", out)
        finally:
            sim.stop()

    def collectd_T(self, work, snippet):
        wrapper = os.path.join(work, "wrapper.conf")
        with open(wrapper, "w") as f:
            f.write(f'BaseDir "{work}"\nPIDFile "{work}/collectd.pid"\nInclude "{snippet}"\n')
        r = run([COLLECTD, "-T", "-C", wrapper], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout + r.stderr

    # ---- the RPM -----------------------------------------------------------

    def test_7_rpm(self):
        top = os.path.join(self.dir, "rpmbuild")
        # rpmbuild checks BuildRequires against rpm's own database, which is
        # empty on Debian (the libraries are dpkg's): --nodeps. The spec
        # comes from the tarball (configure wrote its Version).
        r = run(["rpmbuild", "-tb", "--nodeps", "--define", f"_topdir {top}", self.tarball],
                timeout=600)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr)[-4000:])
        self.assertRegex(r.stdout, r"(?m)^# FAIL: +0$")  # %check ran make check
        rpms = glob.glob(os.path.join(top, "RPMS", "*", f"{PACKAGE}-{self.version}-*.rpm"))
        self.assertEqual(len(rpms), 1)
        files = set(run(["rpm", "-qlp", rpms[0]]).stdout.split())
        libdir = run(["rpm", "--eval", "%{_libdir}"]).stdout.strip()
        self.assertEqual(sorted(f for f in files if f.startswith(f"{libdir}/collectd/")
                                and f.endswith(".so")),
                         sorted([f"{libdir}/collectd/{p}.so" for p in PLUGINS]
                                + [f"{libdir}/collectd/libgenesys-core.so"]))
        self.assertIn(TYPES_FILE, files)
        for page in PAGES:
            self.assertTrue({f"/usr/share/man/man5/{page}", f"/usr/share/man/man5/{page}.gz"}
                            & files, page)
        self.assertTrue([f for f in files if f.endswith("/examples/genesys_realtime.conf")])
        self.assertIn("/usr/bin/collectd-genesys-check", files)
        self.assertEqual(run(["rpm", "-qp", "--qf", "%{VERSION}", rpms[0]]).stdout, self.version)
        self.assertEqual(run(["rpm", "-qp", "--qf", "%{LICENSE}", rpms[0]]).stdout, "MIT")
        self.assertTrue([f for f in files if f.endswith("/LICENSE")], "LICENSE not installed")
        requires = run(["rpm", "-qpR", rpms[0]]).stdout.splitlines()
        self.assertIn("collectd >= 5.12", requires)
        self.assertTrue([q for q in requires if q.startswith("libcurl.so.4")], requires)

    # ---- the README's first hour, as written --------------------------------

    def test_8_first_hour_as_written(self):
        """README.md's "first hour" block, run by bash as it is written
        (only its REGION and CLIENT_ID lines filled in, the secret typed on
        stdin), in the directory of the .deb, against the simulator standing
        in for eu_west_1: it answers on port 443 as api.mypurecloud.ie and
        login.mypurecloud.ie (/etc/hosts), with a certificate of a CA the
        system trusts (update-ca-certificates). The system collectd and
        Prometheus run as services from /etc. The Grafana step is done as
        Grafana does it: every query of the wallboard, its variables
        resolved from Prometheus, must return data, and the queues it shows
        are those of the truth the snippet selects. Everything it touched
        is put back."""
        with open(os.path.join(ROOT, "README.md")) as f:
            block = re.search(r"^```sh first-hour\n(.*?)^```$", f.read(), re.M | re.S)
        self.assertIsNotNone(block, "README.md has no first-hour block")
        for busy in (443, 9090, 9103):
            self.assertFalse(port_in_use(busy), f"port {busy} is taken: the test needs it")
        for path in (SECRET, SNIPPET, PROM_SNIPPET, PROM_RULES):
            self.assertFalse(os.path.exists(path), f"{path} exists: the test would replace it")
        # The package is installed by the block itself.
        self.assertEqual(run(["dpkg", "--purge", PACKAGE]).returncode, 0)
        snapshot = snapshot_system()
        journal_write("snapshot", snapshot)
        self.addCleanup(journal_forget, "snapshot")
        self.addCleanup(restore_system, snapshot)

        add_hosts_line("127.0.0.1 api.mypurecloud.ie login.mypurecloud.ie")
        sim = Simulator("--queues", "40", "--agents", "200", "--flows", "2",
                        "--speed", "1", "--start", "now", "--port", "443",
                        "--public-host", "api.mypurecloud.ie",
                        "--tls-name", "api.mypurecloud.ie",
                        "--tls-name", "login.mypurecloud.ie")
        self.addCleanup(sim.stop)
        journal_write("simulator", {"pid": sim.proc.pid})
        self.addCleanup(journal_forget, "simulator")
        self.assertEqual(sim.base_url, "https://api.mypurecloud.ie:443")
        shutil.copy(sim.ca, TEST_CA)
        self.assertEqual(run(["update-ca-certificates"]).returncode, 0)

        script, n = re.subn(r"^REGION=\S+", "REGION=eu_west_1", block[1], flags=re.M)
        self.assertEqual(n, 1)
        script, n = re.subn(r"^CLIENT_ID=\S+", f"CLIENT_ID={sim.info['client_id']}",
                            script, flags=re.M)
        self.assertEqual(n, 1)
        r = run(["bash", "-euo", "pipefail", "-c", script], timeout=600, cwd=self.dir,
                input=sim.info["client_secret"] + "\n",
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr)[-4000:])
        self.assertIn('genesys_realtime Org "acme": token: OK', r.stdout)
        self.assertRegex(r.stdout, r"(?m)^collectd_genesys_realtime_queues")
        self.assertNotIn(sim.info["client_secret"], r.stdout + r.stderr)
        self.assertTrue(dpkg_status().startswith("install ok installed"))
        with open(SECRET) as f:
            self.assertEqual(f.read(), sim.info["client_secret"])
        self.assertEqual(os.stat(SECRET).st_mode & 0o777, 0o600)

        # Grafana's part: the wallboard's queries against the system Prometheus.
        prom = PrometheusAPI("http://127.0.0.1:9090")
        with open(SNIPPET) as f:
            want = selected_queues(f.read(), sim)
        shown = 'collectd_genesys_realtime_waiting{instance="acme"}'
        # (wait_until: Prometheus takes a moment to listen after its start.)
        self.assertTrue(wait_until(lambda: {s["genesys_realtime"] for s in prom.series(shown)}
                                   == want, timeout=120, step=2),
                        f"Prometheus never had the queues {sorted(want)}\n" + log_tail(
                            "/var/log/prometheus/prometheus.log"))
        board_path = os.path.join(EXAMPLES, "grafana", "genesys-queue-wallboard.json")
        with open(board_path) as f:
            board = json.load(f)
        executed = 0
        for title, ref, expr in dashboard_queries(prom, board, "wallboard"):
            with self.subTest(panel=title, ref=ref):
                # The summaries (Summaries true in the example) come once a
                # window has closed whole: two of collectd's intervals.
                self.assertTrue(wait_until(lambda: prom.query(expr), timeout=90, step=2),
                                f"no data: {expr}")
                executed += 1
        self.assertGreaterEqual(executed, 10)
        print(f"# first hour: {executed} wallboard queries returned data")

    # ---- last: the system is as before --------------------------------------

    def test_9_killed_run_is_put_back_by_the_next(self):
        """A run killed after it changed the system (SIGKILL: no cleanup
        runs; its simulator lives on) is put back by the next run's first
        step, package and all; the purge leaves none of the package's
        files."""
        files = [f for f in run(["dpkg", "-L", PACKAGE]).stdout.split()
                 if os.path.isfile(f)]
        self.assertTrue(files)
        with open("/etc/hosts") as f:
            hosts = f.read()
        stray = os.path.join(STATE_DIRS[0], "left-by-a-killed-run")
        child = f"""
import os, signal, sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import test_packages as t
t.journal_write("snapshot", t.snapshot_system())
t.add_hosts_line("127.0.0.1 killed-run.invalid")
sim = t.Simulator("--queues", "2", "--agents", "4", "--flows", "1",
                  "--public-host", "api.mypurecloud.ie")
t.journal_write("simulator", {{"pid": sim.proc.pid}})
print(sim.proc.pid, sim.dir, flush=True)
os.makedirs(os.path.dirname({stray!r}), exist_ok=True)
open({stray!r}, "w").close()
os.kill(os.getpid(), signal.SIGKILL)
"""
        r = run([sys.executable, "-c", child])
        self.assertEqual(r.returncode, -9, r.stderr)
        sim_pid, sim_dir = r.stdout.split()
        sim_pid = int(sim_pid)
        self.addCleanup(shutil.rmtree, sim_dir, ignore_errors=True)
        self.assertTrue(alive(sim_pid))
        with open("/etc/hosts") as f:
            self.assertIn("killed-run.invalid", f.read())
        self.assertTrue(os.path.exists(stray))

        version = installed_version()
        self.assertEqual(journal_read("installed"), {"version": version})
        self.assertEqual(put_back_interrupted_run(),
                         ["its simulator stopped", "system files restored",
                          f"{PACKAGE} {version} purged"])
        self.assertTrue(wait_until(lambda: not alive(sim_pid), timeout=10, step=0.1))
        with open("/etc/hosts") as f:
            self.assertEqual(f.read(), hosts)
        self.assertFalse(os.path.exists(stray))
        self.assertFalse(os.path.exists(JOURNAL))
        self.assertEqual(dpkg_status(), "")
        self.assertEqual([f for f in files if os.path.exists(f)], [])


if __name__ == "__main__":
    run_tests(__name__)
