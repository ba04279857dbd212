# SPDX-License-Identifier: MIT
"""The manual pages match the code: every option the code accepts is
documented, and every documented option is accepted. The pages render with
man(1) without warnings."""
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, ROOT, run_tests  # noqa: E402

ITEM = re.compile(r"^=item B<([A-Za-z]+)>", re.M)
PLUGINS = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics",
           "genesys_platform")


def module_file(name):
    """The path of a module's file in its folder of common/ or of plugins/."""
    paths = [p for d in ("common", "plugins")
             for p in glob.glob(os.path.join(ROOT, d, "*", name))]
    if len(paths) != 1:
        raise AssertionError(f"{{common,plugins}}/*/{name}: {len(paths)} files")
    return paths[0]


def table_keys(which):
    """The keys the code takes, from its tables as collectd-genesys-check
    --keys lists them (which: a plugin, its shared keys first, or "shared"):
    {key: (type, default, bounds, doc)}. A key listed twice, a row without
    its five fields or without a description fails."""
    r = subprocess.run([os.path.join(BUILD, "collectd-genesys-check"), "--keys", which],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"--keys {which}: {r.returncode} {r.stderr}")
    rows = {}
    for line in r.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or fields[4] in ("", "-"):
            raise AssertionError(f"--keys {which}: {line!r}")
        if fields[0].lower() in {k.lower() for k in rows}:
            raise AssertionError(f"--keys {which}: {fields[0]} twice")
        rows[fields[0]] = tuple(fields[1:])
    if not rows:
        raise AssertionError(f"--keys {which}: no keys")
    return rows


def code_keys(which):
    """The keys a page documents: those the tables list, but the ones the
    code names only to refuse them with a reason (type "refused"); for a
    plugin, without the shared keys (collectd-genesys(5) has them)."""
    rows = table_keys(which)
    keys = {k for k, row in rows.items() if row[0] != "refused"}
    if which != "shared":
        keys -= set(table_keys("shared"))
    return keys


def paragraphs(text):
    """POD's paragraphs: text between lines that are empty or only
    whitespace, as pod2man reads them."""
    return [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def misplaced_commands(text):
    """Lines starting with '=' inside a paragraph, not at its start: POD
    reads them as text of the paragraph before (an =item that does not
    follow a blank line vanishes from its list)."""
    return [line for p in paragraphs(text) for line in p.splitlines()[1:]
            if re.match(r"=[a-z]", line)]


def page_items(path):
    """Option items of the page's OPTIONS section (not its VALUES), as POD
    reads them: commands that begin a paragraph."""
    with open(path) as f:
        text = f.read()
    section = re.search(r"^=head1 (?:SHARED )?OPTIONS$(.*?)(?=^=head1 )", text,
                        re.M | re.S)
    if not section:
        return set()
    return {m.group(1) for p in paragraphs(section.group(1))
            for m in [ITEM.match(p.lstrip("\n"))] if m}


class DocsTest(unittest.TestCase):
    def test_shared_options(self):
        code = code_keys("shared")
        page = page_items(os.path.join(ROOT, "man", "collectd-genesys.5.pod"))
        self.assertTrue(code)
        self.assertEqual(sorted(code - page), [], "accepted but not documented")
        self.assertEqual(sorted(page - code), [], "documented but not accepted")

    def test_plugin_options(self):
        for pod in glob.glob(os.path.join(ROOT, "man", "genesys_*.5.pod")):
            plugin = os.path.basename(pod)[: -len(".5.pod")]
            with self.subTest(plugin=plugin):
                code = code_keys(plugin)
                page = page_items(pod)
                self.assertTrue(code)
                self.assertEqual(sorted(code - page), [], "accepted but not documented")
                self.assertEqual(sorted(page - code), [], "documented but not accepted")

    def test_every_plugin_lists_the_shared_keys_first(self):
        shared = list(table_keys("shared"))
        for plugin in PLUGINS:
            with self.subTest(plugin=plugin):
                self.assertEqual(list(table_keys(plugin))[: len(shared)], shared)
                self.assertTrue(os.path.exists(os.path.join(ROOT, "man", plugin + ".5.pod")))

    def test_examples_use_only_accepted_options(self):
        shared = code_keys("shared")
        for conf in glob.glob(os.path.join(ROOT, "examples", "genesys_*.conf")):
            plugin = os.path.basename(conf)[: -len(".conf")]
            keys = shared | code_keys(plugin)
            with open(conf) as f:
                used = set(re.findall(r"^\s*#?\s*([A-Z][A-Za-z]+) [\"0-9]", f.read(), re.M))
            used -= {"LoadPlugin", "TypesDB"}
            with self.subTest(example=plugin):
                self.assertEqual(sorted(used - keys), [])

    def test_commands_follow_a_blank_line(self):
        """A command paragraph (=item, =head2, ...) directly under a line of
        text is not a command: the option it names disappears from the
        rendered list."""
        for pod in glob.glob(os.path.join(ROOT, "man", "*.pod")):
            with self.subTest(page=os.path.basename(pod)), open(pod) as f:
                self.assertEqual(misplaced_commands(f.read()), [])

    def test_structure_checks_catch_a_missing_blank_line(self):
        """The checks above see the case they are for: an item glued to the
        paragraph before is misplaced and not an option."""
        text = "=head1 OPTIONS\n\n=over 4\n\n=item B<A> x\n\ntext\n=item B<B> y\n\n=back\n\n=head1 END\n"
        self.assertEqual(misplaced_commands(text), ["=item B<B> y"])
        with tempfile.NamedTemporaryFile("w", suffix=".pod") as f:
            f.write(text)
            f.flush()
            self.assertEqual(page_items(f.name), {"A"})

    def test_pages_render_without_warnings(self):
        for pod in glob.glob(os.path.join(ROOT, "man", "*.pod")):
            with self.subTest(page=os.path.basename(pod)), tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "page.5")
                subprocess.run(["pod2man", "--section=5", pod, out], check=True)
                r = subprocess.run(["man", "--warnings", "-l", out], capture_output=True,
                                   text=True, env={**os.environ, "MANWIDTH": "80"})
                self.assertEqual(r.returncode, 0)
                self.assertEqual(r.stderr.strip(), "")
                self.assertIn("NAME", r.stdout)


class GeneratedTest(unittest.TestCase):
    """What is written from the code by a committed script is current."""

    def run_check(self, script):
        r = subprocess.run([sys.executable, os.path.join(ROOT, script), "--check"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_catalogue_pages_match_the_code(self):
        """genesys_analytics(5) and genesys_flowmetrics(5) carry the
        catalogues of plugins/analytics/gen_conv_agg.c and
        plugins/flowmetrics/gen_action_agg.c as man/make_catalogue.py
        writes them; and, apart from that script, the analytics page lists
        each of the GEN_CONV_AGG_METRICS measures once with its API
        metric."""
        self.run_check("man/make_catalogue.py")
        with open(module_file("gen_conv_agg.h")) as f:
            size = int(re.search(r"#define GEN_CONV_AGG_METRICS (\d+)", f.read()).group(1))
        with open(module_file("gen_conv_agg.c")) as f:
            code = re.findall(r'\b(?:COUNT|DURATION|RATIO|TARGET|ORG_COUNT)\(\s*"(\w+)",'
                              r'\s*"(\w+)"', f.read())
        self.assertEqual(len(code), size)
        with open(os.path.join(ROOT, "man", "genesys_analytics.5.pod")) as f:
            page = f.read()
        section = page.split("=head1 CATALOGUE IN THE BACKENDS", 1)[1]
        rows = re.findall(r"^  ([a-z_]+) +([nto][A-Z]\w+) +\S", section, re.M)
        self.assertEqual(sorted(rows), sorted(code))

    def test_generated_dashboards_are_current(self):
        self.run_check("examples/grafana/make-dashboards.py")


class LayersTest(unittest.TestCase):
    def test_modules_include_only_their_folder_or_below(self):
        """common/README.md draws the core's layers, top first, one row per
        folder of common/ ("net/  gen_http ..."; a line without a label
        continues the row above it). Every folder is drawn, every module is
        drawn in the row of its folder, no source lies directly under
        common/, and a module includes headers of its own folder or of the
        folders below it only."""
        with open(os.path.join(ROOT, "common", "README.md")) as f:
            text = f.read()
        drawing = text.split("```")[1].split("-----\n", 1)[1]
        rank, drawn = {}, {}  # folder -> 0 for the top row; module -> folder
        folder = None
        for line in drawing.splitlines():
            if line[:1] != " ":
                label = re.match(r"(\w+)/\s", line)
                self.assertIsNotNone(label, f"a row without a folder: {line!r}")
                folder = label.group(1)
                if folder in rank:
                    self.fail(f"{folder}/ drawn twice")
                rank[folder] = len(rank)
            for m in re.findall(r"\bgen_\w+", line):
                if drawn.setdefault(m, folder) != folder:
                    self.fail(f"{m} drawn in the rows of {drawn[m]}/ and {folder}/")
        common = os.path.join(ROOT, "common")
        self.assertEqual(glob.glob(os.path.join(common, "*.[ch]")), [],
                         "sources directly under common/")
        folders = {d for d in os.listdir(common) if os.path.isdir(os.path.join(common, d))}
        self.assertEqual(sorted(folders ^ set(rank)), [], "folders and rows differ")
        home = {}  # module -> the folder its files are in
        for path in glob.glob(os.path.join(common, "*", "*.[ch]")):
            home[os.path.basename(path)[:-2]] = os.path.basename(os.path.dirname(path))
        self.assertEqual(sorted(set(home) - set(drawn)), [], "modules missing from the drawing")
        self.assertEqual(sorted(set(drawn) - set(home)), [], "drawn modules without a file")
        self.assertEqual(sorted(m for m in home if home[m] != drawn[m]), [],
                         "modules drawn in another folder's row")
        # A plugin's own modules (plugins/<name>/) lie above every layer:
        # nothing in common/ includes one of their files, by name or path.
        beside = {}  # file name -> its plugin folder
        for path in glob.glob(os.path.join(ROOT, "plugins", "*", "*.[ch]")):
            beside[os.path.basename(path)] = os.path.basename(os.path.dirname(path))
        self.assertEqual(sorted(set(f[:-2] for f in beside) & set(home)), [],
                         "modules both in common/ and beside a plugin")
        wrong = []
        for path in glob.glob(os.path.join(common, "*", "*.[ch]")):
            me = os.path.basename(path)[:-2]
            with open(path) as f:
                text = f.read()
            for inc in re.findall(r'#\s*include\s*"([^"]+)"', text):
                name = os.path.basename(inc)
                if name in beside or "plugins/" in inc:
                    wrong.append(f"{me} ({home[me]}/) includes {inc} of "
                                 f"plugins/{beside.get(name, '?')}/")
            for inc in re.findall(r'#include "(gen_\w+)\.h"', text):
                if inc + ".h" in beside:
                    continue  # said above
                if inc not in home:
                    wrong.append(f"{me} includes {inc}, which no folder holds")
                elif rank[home[inc]] < rank[home[me]]:
                    wrong.append(f"{me} ({home[me]}/) includes {inc} ({home[inc]}/)")
        self.assertEqual(sorted(wrong), [])

    def test_no_module_of_common_needs_another_both_ways(self):
        """A module of common/ is its .c and .h (a header <module>_private.h
        without a .c is the module's too); one needs another when one of its
        files includes the other's header. No circle of modules, of any
        length: a module's part can be read, built and tested with what it
        needs below it only."""
        common = os.path.join(ROOT, "common")
        files = {}
        for path in glob.glob(os.path.join(common, "*", "*.[ch]")):
            name = os.path.basename(path)[:-2]
            files.setdefault(name, []).append(path)
        def module(name):
            if name.endswith("_private") and name[:-8] in files and not any(
                    p.endswith(".c") for p in files[name]):
                return name[:-8]
            return name
        needs = {}
        for name, paths in files.items():
            me = module(name)
            for path in paths:
                with open(path) as f:
                    for inc in re.findall(r'#include "(gen_\w+)\.h"', f.read()):
                        if inc in files and module(inc) != me:
                            needs.setdefault(me, set()).add(module(inc))
        circles = []
        def walk(start, at, path):
            for nxt in sorted(needs.get(at, ())):
                if nxt == start:
                    circles.append(" -> ".join(path + [start]))
                elif nxt not in path and nxt > start:
                    walk(start, nxt, path + [nxt])
        for m in sorted(needs):
            walk(m, m, [m])
        self.assertEqual(circles, [])

    def test_every_e2e_file_is_in_the_tarball(self):
        """make distcheck runs the suite from the tarball: an e2e or
        simulator file that Makefile.am does not carry is missing there (the
        simulator imports every sim*.py module)."""
        with open(os.path.join(ROOT, "Makefile.am")) as f:
            text = f.read()
        files = sorted(glob.glob(os.path.join(ROOT, "tests", "e2e", "*.py")) +
                       glob.glob(os.path.join(ROOT, "tests", "sim", "*.py")))
        self.assertGreater(len(files), 20)
        missing = [os.path.relpath(p, ROOT) for p in files
                   if os.path.relpath(p, ROOT) not in text]
        self.assertEqual(missing, [])

    def test_plugin_folders_are_described(self):
        """Every module of a plugin's folder (plugins/<name>/) has its row
        under that folder's heading of common/README.md ("Beside a
        plugin"), and no row there names a module the folder lacks."""
        with open(os.path.join(ROOT, "common", "README.md")) as f:
            text = f.read()
        folders = sorted(os.path.basename(os.path.dirname(p)) for p in
                         glob.glob(os.path.join(ROOT, "plugins", "*", "")))
        self.assertGreater(len(folders), 0)
        for name in folders:
            section = re.search(r"^### `plugins/%s/`.*?\n(.*?)(?=^##)" % name,
                                text, re.M | re.S)
            self.assertIsNotNone(section, f"plugins/{name}/ has no section")
            rows = {m for line in section.group(1).splitlines()
                    if line.startswith("| `")
                    for m in re.findall(r"`(g[a-z]*_\w+)`", line.split(" | ")[0])}
            files = {os.path.basename(p)[:-2] for p in
                     glob.glob(os.path.join(ROOT, "plugins", name, "*.[ch]"))}
            # gen_receiver_none stands in for gen_receiver, in its row.
            files -= {f for f in files if f.endswith("_none")}
            self.assertEqual(sorted(files ^ rows), [],
                             f"plugins/{name}/: files and rows differ")


class HackingTest(unittest.TestCase):
    """HACKING.md stays short, and every repository path it names exists."""

    def test_hacking_short_and_paths_exist(self):
        with open(os.path.join(ROOT, "HACKING.md")) as f:
            text = f.read()
        self.assertLessEqual(text.count("\n"), 500, "HACKING.md over 500 lines")
        named = set(re.findall(
            r"`((?:common|plugins|tools|tests|bench|man|examples|scripts|debian|rpm|types)"
            r"/[A-Za-z0-9_./-]+\.(?:c|h|py|sh|md|pod|db|in))`", text))
        self.assertTrue(named, "no path found: the pattern is wrong")
        missing = sorted(p for p in named
                         if not os.path.exists(os.path.join(ROOT, p)))
        self.assertEqual(missing, [], "HACKING.md names files that do not exist")


class LicenceTest(unittest.TestCase):
    def test_every_source_file_names_the_licence(self):
        patterns = ["common/*/*.[ch]", "plugins/*.c", "plugins/*/*.[ch]", "tools/*.[ch]", "tests/unit/*.[ch]",
                    "tests/unit/*/*.[ch]",
                    "tests/fuzz/*.[ch]", "bench/*.[ch]", "bench/*.py", "tests/e2e/*.py",
                    "tests/sim/*.py", "scripts/*.sh", "scripts/*.py", "tests/*.sh", "man/*.py",
                    "examples/grafana/*.py"]
        files = [f for p in patterns for f in glob.glob(os.path.join(ROOT, p))]
        self.assertGreater(len(files), 100)
        missing = []
        for path in files:
            with open(path, encoding="utf-8") as f:
                head = f.read(400)
            if "SPDX-License-Identifier: MIT" not in head:
                missing.append(os.path.relpath(path, ROOT))
        self.assertEqual(missing, [])
        with open(os.path.join(ROOT, "LICENSE")) as f:
            self.assertTrue(f.read().startswith("MIT License"))


if __name__ == "__main__":
    run_tests(__name__)
