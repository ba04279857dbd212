# SPDX-License-Identifier: MIT
"""A collectd notification receiver for end-to-end tests: the stock exec
plugin's NotificationExec runs a small shell script for each notification,
which appends what collectd wrote to its stdin (the header lines, an empty
line, the message) to one file. exec runs nothing as root, so the script
runs as nobody:nogroup; its directory and file are writable by it."""
import os
import shutil
import stat
import tempfile
import time

SCRIPT = """#!/bin/sh
# One write per notification: the whole text first, then appended at once.
text=$(cat)
printf '%s\\n==END==\\n' "$text" >> "$1"
"""


class NotificationFile:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gen-notif-")
        os.chmod(self.dir, 0o755)
        self.script = os.path.join(self.dir, "notify.sh")
        with open(self.script, "w") as f:
            f.write(SCRIPT)
        os.chmod(self.script, 0o755)
        self.path = os.path.join(self.dir, "notifications")
        with open(self.path, "w"):
            pass
        os.chmod(self.path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
                 | stat.S_IROTH | stat.S_IWOTH)

    def config(self):
        """The exec plugin's part of collectd.conf (exec must be among the
        Collectd harness's stock plugins)."""
        return ("LoadPlugin exec\n<Plugin exec>\n"
                f'  NotificationExec "nobody:nogroup" "{self.script}" "{self.path}"\n'
                "</Plugin>\n")

    def read(self, plugin_prefix="genesys_"):
        """Every notification so far, oldest first, as dicts of the header
        fields (Severity, Time, Host, Plugin, PluginInstance, Type,
        TypeInstance; "" when exec left one out) and "message"."""
        with open(self.path) as f:
            text = f.read()
        out = []
        for block in text.split("==END==\n"):
            if not block.strip():
                continue
            head, _, message = block.partition("\n\n")
            n = {k: "" for k in ("Severity", "Time", "Host", "Plugin", "PluginInstance",
                                 "Type", "TypeInstance")}
            for line in head.splitlines():
                key, _, value = line.partition(": ")
                n[key] = value
            n["message"] = message.rstrip("\n")
            if n["Plugin"].startswith(plugin_prefix):
                out.append(n)
        out.sort(key=lambda n: float(n["Time"] or 0))
        return out

    def wait(self, pred, timeout=30):
        """Waits until pred(notifications) is true; the last reading."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.read()
            if pred(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
