#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo: gets the machine ready, starts the Genesys Cloud simulator, a
# real collectd with the three plugins against it and write_prometheus, and a
# Prometheus server scraping it (with the example alerting rules); prints
# where to look and a short live summary until interrupted (Ctrl-C).
# DEMO_SECONDS=N stops it after N s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh

WORK=$(mktemp -d /tmp/collectd-genesys-demo.XXXXXX)
SIM_PID=""
CD_PID=""
PROM_PID=""
cleanup() {
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  [ -n "$CD_PID" ] && kill "$CD_PID" 2>/dev/null && wait "$CD_PID" 2>/dev/null
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "demo: starting the simulator (tests/sim/gensim.py)"
python3 tests/sim/gensim.py --port 0 --queues 8 --agents 60 --flows 3 --speed 10 \
  --tls --state-dir "$WORK/sim" --ready-file "$WORK/sim.ready" \
  >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/sim.ready" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim.log"; exit 1; }
  sleep 0.1
done
BASE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.ready")
CA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ca") or "")' "$WORK/sim.ready")
echo "demo: simulator at $BASE"

mkdir -p "$WORK/plugins"
cp build/.libs/genesys_*.so build/.libs/libgenesys-core.so "$WORK/plugins/"  # the core beside the plugins
cp /usr/lib/collectd/{logfile,csv,write_prometheus}.so "$WORK/plugins/"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EXPORT_PORT=$(free_port)
PROM_PORT=$(free_port)
CA_LINE=""
[ -n "$CA" ] && CA_LINE="CACert \"$CA\""
# the <Org> block of every plugin, with $1 (a key of that plugin) in it
org() {
  cat <<ORGEOF
  <Org "demo">
    ApiBaseURL "$BASE"
    LoginBaseURL "$BASE"
    ClientId "demo-client"
    ClientSecret "demo-secret"
    $CA_LINE
    Host "demo-org"
    $1
  </Org>
ORGEOF
}
ORG=$(org "")
cat >"$WORK/collectd.conf" <<CONF
BaseDir "$WORK"
PIDFile "$WORK/collectd.pid"
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db" "$ROOT/types/genesys.db"
Interval 5
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$WORK/collectd.log"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/csv"
</Plugin>
LoadPlugin genesys_realtime
LoadPlugin genesys_analytics
LoadPlugin genesys_flowmetrics
LoadPlugin genesys_platform
<Plugin genesys_realtime>
$ORG
</Plugin>
<Plugin genesys_analytics>
$ORG
</Plugin>
<Plugin genesys_flowmetrics>
$ORG
</Plugin>
<Plugin genesys_platform>
$(org "StatusPageURL \"$BASE/sim/status/api/v2/components.json\"")
</Plugin>
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$EXPORT_PORT"
</Plugin>
CONF
/usr/sbin/collectd -C "$WORK/collectd.conf" -f &
CD_PID=$!

# Prometheus with the example scrape job and alerting rules
# (examples/prometheus/), on loopback, data in the demo's directory.
sed -e "s/localhost:9103/127.0.0.1:$EXPORT_PORT/" -e "s/: 15s/: 5s/" \
  -e "s|genesys-alerts.yml|$ROOT/examples/prometheus/genesys-alerts.yml|" \
  examples/prometheus/prometheus.yml >"$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

echo "demo: collectd running (config $WORK/collectd.conf, log $WORK/collectd.log)"
echo "demo: write_prometheus serves http://127.0.0.1:$EXPORT_PORT/metrics"
echo "demo: Prometheus at http://127.0.0.1:$PROM_PORT/graph (alerts: /alerts), e.g."
echo "        sum by (genesys_realtime) (collectd_genesys_realtime_waiting)"
echo "demo: Grafana dashboards to import: $ROOT/examples/grafana/*.json"
echo "demo: values are also written as CSV under $WORK/csv; Ctrl-C stops"

# One line every 5 s from Prometheus: conversations waiting (and in how
# many queues), the longest wait, idle agents (per queue membership), edges
# online and trunks connected, and each plugin's api_up.
summary() {
  python3 - "$PROM_PORT" <<'PY'
import json, sys, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?"
def q(expr):
    try:
        with urllib.request.urlopen(base + urllib.parse.urlencode({"query": expr}), timeout=3) as r:
            return json.loads(r.read())["data"]["result"]
    except (OSError, ValueError, KeyError):
        return []
def one(expr, fmt="{:.0f}"):
    r = q(expr)
    return fmt.format(float(r[0]["value"][1])) if r else "-"
rt = "collectd_genesys_realtime"
ups = {s["metric"].get("plugin", "?"): s["value"][1] for s in q(
    'label_replace({__name__=~"collectd_genesys_.+_api_up"}, "plugin", "$1", "__name__", '
    '"collectd_genesys_([a-z]+)_api_up")')}
idle = one('sum(' + rt + '_agents_routing{type="idle"})')
print(f"waiting={one(f'sum({rt}_waiting)')} "
      f"in {one(f'count(sum by (instance, genesys_realtime) ({rt}_waiting) > 0) or vector(0)')}"
      f"/{one(f'sum({rt}_queues)')} queues  "
      f"longest_wait={one(f'max({rt}_longest_waiting_seconds)', '{:.0f}s')}  "
      f"agents_idle={idle}  "
      f"edges_online={one('sum(collectd_genesys_platform_edge_online)')}"
      f"/{one('count(collectd_genesys_platform_edge_online)')}  "
      f"trunks_connected={one('sum(collectd_genesys_platform_trunk_connected)')}"
      f"/{one('count(collectd_genesys_platform_trunk_connected)')}  "
      "api_up: " + (" ".join(f"{k}={v}" for k, v in sorted(ups.items())) or "-"))
PY
}
start=$(date +%s)
while kill -0 "$CD_PID" 2>/dev/null; do
  sleep 5
  printf '%s %s\n' "$(date +%T)" "$(summary)"
  if [ -n "${DEMO_SECONDS:-}" ] && [ $(($(date +%s) - start)) -ge "$DEMO_SECONDS" ]; then
    break
  fi
done
