# SPDX-License-Identifier: MIT
"""Real time-series servers from Debian's packages, for end-to-end tests:
Prometheus, carbon-cache (Graphite, whisper files) and InfluxDB 1.x. Each
runs as the test's own process on free loopback ports with its data in a
temporary directory, and is stopped (and its directory removed) by stop().
The system services these packages ship are never used."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples")


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port nobody listens on now (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, data=None, timeout=30):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=timeout) as r:
        return json.loads(r.read())


def wait_until(cond, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def example_plugin_block(example, plugin, **replace):
    """The <LoadPlugin>/LoadPlugin line and the <Plugin> block of one write
    plugin as an example file in examples/ has them, with quoted option
    values replaced (Port="1234" sets `Port "1234"`), so that the tests run
    the very settings the examples give users."""
    with open(os.path.join(EXAMPLES, example)) as f:
        text = f.read()
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line in (f"LoadPlugin {plugin}",) or line.startswith(f"<LoadPlugin {plugin}>") \
                or line.startswith(f"<Plugin {plugin}>") or line.startswith(f'<Plugin "{plugin}">'):
            if line.startswith("<"):
                end = "</LoadPlugin>" if line.startswith("<LoadPlugin") else "</Plugin>"
                block = []
                while True:
                    block.append(lines[i])
                    if lines[i].strip() == end:
                        break
                    i += 1
                out.extend(block)
            else:
                out.append(lines[i])
        i += 1
    if not out:
        raise AssertionError(f"{example} has no {plugin} block")
    conf = "\n".join(out) + "\n"
    for key, value in replace.items():
        new, n = _replace_option(conf, key, value)
        if n == 0:
            raise AssertionError(f"{example}: {plugin} has no option {key}")
        conf = new
    return conf


def _replace_option(conf, key, value):
    import re

    pattern = re.compile(rf'^(\s*{key}\s+)(.*)$', re.M)
    return pattern.subn(lambda m: m.group(1) + value, conf)


class Server:
    """A server process with its own temporary directory."""

    name = "server"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=f"gen-{self.name}-")
        self.proc = None
        self.logfile = os.path.join(self.dir, self.name + ".log")

    def spawn(self, cmd, **kw):
        self._log = open(self.logfile, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, **kw)

    def ready_or_fail(self, cond, timeout=60):
        ok = wait_until(lambda: self.proc.poll() is None and cond(), timeout)
        if not ok:
            log = self.log_text()
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{log[-3000:]}")

    def log_text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # Its own session: the server and anything it started.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrometheusAPI:
    """Queries of a running Prometheus at self.url."""

    def __init__(self, url):
        self.url = url

    def query(self, expr, at=None):
        """The result vector (or matrix) of an instant query; raises on an
        error answer."""
        data = {"query": expr}
        if at is not None:
            data["time"] = f"{at:.3f}"
        r = http_json(self.url + "/api/v1/query", data)
        if r.get("status") != "success":
            raise AssertionError(f"{expr}: {r}")
        return r["data"]["result"]

    def series(self, match):
        r = http_json(self.url + "/api/v1/series?" + urllib.parse.urlencode({"match[]": match}))
        return r["data"]

    def rules(self):
        return http_json(self.url + "/api/v1/rules")["data"]["groups"]


def dashboard_panels(panels):
    """Every panel of a Grafana dashboard, rows' panels included."""
    for p in panels:
        yield p
        yield from dashboard_panels(p.get("panels", []))


def substitute(expr, values):
    """expr with Grafana's $name and ${name} replaced from values."""
    def repl(m):
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)


def dashboard_variables(prom, board, name):
    """Values of a dashboard's template variables, asked from Prometheus as
    Grafana would (label_values), in order; "All" where the variable has
    it, else the first value."""
    values = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
    for var in board.get("templating", {}).get("list", []):
        if var["type"] == "datasource":
            continue
        if var["type"] != "query":
            raise AssertionError(f"{name}: {var['name']} is a {var['type']} variable")
        q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", substitute(q, values))
        if m is None:
            raise AssertionError(f"{name}: {var['name']}: {q}")
        found = sorted({s[m.group(2)] for s in prom.series(m.group(1)) if m.group(2) in s})
        if not found:
            raise AssertionError(f"{name}: variable {var['name']} has no values ({q})")
        if var.get("includeAll") and var.get("allValue"):
            values[var["name"]] = var["allValue"]
        else:
            values[var["name"]] = found[0]
    return values


def dashboard_queries(prom, board, name):
    """(panel title, expression) of every panel target, variables resolved."""
    variables = dashboard_variables(prom, board, name)
    for panel in dashboard_panels(board["panels"]):
        for target in panel.get("targets", []):
            yield panel["title"], target.get("refId"), substitute(target["expr"], variables)


class Prometheus(Server, PrometheusAPI):
    """prometheus scraping one target every second, with rule files."""

    name = "prometheus"

    def __init__(self, target, rule_files=(), scrape_interval="1s"):
        super().__init__()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = os.path.join(self.dir, "prometheus.yml")
        # The scrape job is the example's (examples/prometheus/prometheus.yml):
        # honor_labels keeps collectd's "instance" (the org) as it is.
        with open(os.path.join(EXAMPLES, "prometheus", "prometheus.yml")) as f:
            example = f.read()
        example = example.replace("localhost:9103", target)
        example = example.replace("scrape_interval: 15s", f"scrape_interval: {scrape_interval}")
        example = example.replace("evaluation_interval: 15s",
                                  f"evaluation_interval: {scrape_interval}")
        lines = [ln for ln in example.splitlines() if "genesys-alerts.yml" not in ln]
        text = "\n".join(lines) + "\n"
        if rule_files:
            text = text.replace("rule_files:\n", "rule_files:\n" + "".join(
                f"  - {os.path.abspath(p)}\n" for p in rule_files))
        with open(conf, "w") as f:
            f.write(text)
        self.spawn(["prometheus", f"--config.file={conf}",
                    f"--storage.tsdb.path={self.dir}/data",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn"])
        self.ready_or_fail(lambda: urllib.request.urlopen(self.url + "/-/ready",
                                                          timeout=2).status == 200)


class Carbon(Server):
    """carbon-cache with whisper files at one-second resolution (or
    retentions, storage-schemas.conf's)."""

    name = "carbon"

    def __init__(self, retentions="1s:1h"):
        super().__init__()
        self.port = free_port()
        self.whisper = os.path.join(self.dir, "whisper")
        conf_dir = os.path.join(self.dir, "conf")
        os.makedirs(conf_dir)
        os.makedirs(self.whisper)
        with open(os.path.join(conf_dir, "storage-schemas.conf"), "w") as f:
            f.write(f"[everything]\npattern = .*\nretentions = {retentions}\n")
        with open(os.path.join(conf_dir, "carbon.conf"), "w") as f:
            f.write(
                "[cache]\n"
                f"STORAGE_DIR = {self.dir}/storage\n"
                f"LOCAL_DATA_DIR = {self.whisper}\n"
                f"WHITELISTS_DIR = {self.dir}/lists\n"
                f"CONF_DIR = {conf_dir}\n"
                f"LOG_DIR = {self.dir}/log\n"
                f"PID_DIR = {self.dir}\n"
                "DATABASE = whisper\n"
                "MAX_CACHE_SIZE = inf\n"
                "MAX_UPDATES_PER_SECOND = inf\n"
                "MAX_CREATES_PER_MINUTE = inf\n"
                "LINE_RECEIVER_INTERFACE = 127.0.0.1\n"
                f"LINE_RECEIVER_PORT = {self.port}\n"
                "ENABLE_UDP_LISTENER = False\n"
                "PICKLE_RECEIVER_INTERFACE = 127.0.0.1\n"
                f"PICKLE_RECEIVER_PORT = {free_port()}\n"
                "CACHE_QUERY_INTERFACE = 127.0.0.1\n"
                f"CACHE_QUERY_PORT = {free_port()}\n"
                "WHISPER_AUTOFLUSH = True\n"
                "LOG_LISTENER_CONN_SUCCESS = False\n"
                # no carbon.agents.* self-metrics among the paths checked
                "CARBON_METRIC_INTERVAL = 0\n"
            )
        self.spawn(["carbon-cache", f"--config={conf_dir}/carbon.conf",
                    f"--pidfile={self.dir}/carbon.pid", "--nodaemon",
                    f"--logdir={self.dir}/log", "start"])

        def listening():
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        self.ready_or_fail(listening)

    def paths(self):
        """Every metric path carbon has a whisper file for."""
        out = []
        for path in glob.glob(os.path.join(self.whisper, "**", "*.wsp"), recursive=True):
            out.append(os.path.relpath(path, self.whisper)[:-4].replace(os.sep, "."))
        return out

    def last(self, paths, since):
        """{path: (time, value)} of the newest point at or after `since` in
        each path's whisper file (absent when there is none), read with
        python3-whisper in Debian's python3 (one process for all paths)."""
        files = {p: os.path.join(self.whisper, *p.split(".")) + ".wsp" for p in paths}
        script = (
            "import json, sys, whisper\n"
            "files, since = json.load(sys.stdin)\n"
            "out = {}\n"
            "for path, file in files.items():\n"
            "    try:\n"
            "        (start, end, step), values = whisper.fetch(file, since - 1)\n"
            "    except Exception:\n"
            "        continue\n"
            "    for i, v in enumerate(values):\n"
            "        t = start + i * step\n"
            "        if v is not None and t >= since:\n"
            "            out[path] = (t, v)\n"
            "json.dump(out, sys.stdout)\n")
        r = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           input=json.dumps([files, int(since)]), timeout=60, check=True)
        return {p: tuple(v) for p, v in json.loads(r.stdout).items()}


class InfluxDB(Server):
    """influxd with its collectd listener (collectd's network protocol)."""

    name = "influxdb"

    def __init__(self, types_files, read_buffer=None):
        super().__init__()
        self.http_port = free_port()
        self.collectd_port = free_port(socket.SOCK_DGRAM)
        self.url = f"http://127.0.0.1:{self.http_port}"
        # The listener reads every types file of one directory (as
        # examples/influxdb/influxdb-collectd.conf tells: links to
        # collectd's types.db and genesys.db).
        types_dir = os.path.join(self.dir, "collectd-types")
        os.makedirs(types_dir)
        for path in types_files:
            os.symlink(path, os.path.join(types_dir, os.path.basename(path)))
        with open(os.path.join(EXAMPLES, "influxdb", "influxdb-collectd.conf")) as f:
            listener = f.read()
        for old, new in (('"0.0.0.0:25826"', f'"127.0.0.1:{self.collectd_port}"'),
                         ('"/etc/influxdb/collectd-types"', f'"{types_dir}"'),
                         ('batch-timeout = "10s"', 'batch-timeout = "200ms"')):
            if old not in listener:
                raise AssertionError(f"influxdb-collectd.conf: no {old}")
            listener = listener.replace(old, new)
        if read_buffer is not None:  # the example's, else
            listener, n = re.subn(r"(?m)^  read-buffer = \d+$", f"  read-buffer = {read_buffer}",
                                  listener)
            if n != 1:
                raise AssertionError("influxdb-collectd.conf: no read-buffer")
        conf = os.path.join(self.dir, "influxdb.conf")
        with open(conf, "w") as f:
            f.write(
                "reporting-disabled = true\n"
                f'bind-address = "127.0.0.1:{free_port()}"\n'
                f'[meta]\n  dir = "{self.dir}/meta"\n  logging-enabled = false\n'
                f'[data]\n  dir = "{self.dir}/data"\n  wal-dir = "{self.dir}/wal"\n'
                "  query-log-enabled = false\n"
                f'[http]\n  bind-address = "127.0.0.1:{self.http_port}"\n'
                "  log-enabled = false\n"
                "[monitor]\n  store-enabled = false\n"
                + listener
            )
        self.spawn(["influxd", "-config", conf])
        self.ready_or_fail(lambda: urllib.request.urlopen(self.url + "/ping",
                                                          timeout=2).status == 204)

    def query(self, q, db="collectd"):
        r = http_json(self.url + "/query?" + urllib.parse.urlencode({"db": db, "q": q,
                                                                      "epoch": "ms"}))
        result = r["results"][0]
        if "error" in result:
            raise AssertionError(f"{q}: {result['error']}")
        return result.get("series", [])
