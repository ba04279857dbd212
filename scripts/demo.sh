#!/usr/bin/env bash
# The demo: gets the machine ready, starts the Genesys Cloud simulator and a
# real collectd with the three plugins against it, and prints a short live
# summary until interrupted (Ctrl-C). DEMO_SECONDS=N stops it after N s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh

WORK=$(mktemp -d /tmp/collectd-genesys-demo.XXXXXX)
SIM_PID=""
CD_PID=""
cleanup() {
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
cp build/.libs/genesys_*.so "$WORK/plugins/"
cp /usr/lib/collectd/{logfile,csv}.so "$WORK/plugins/"
CA_LINE=""
[ -n "$CA" ] && CA_LINE="CACert \"$CA\""
ORG=$(cat <<ORGEOF
  <Org "demo">
    ApiBaseURL "$BASE"
    LoginBaseURL "$BASE"
    ClientId "demo-client"
    ClientSecret "demo-secret"
    $CA_LINE
    Host "demo-org"
  </Org>
ORGEOF
)
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
<Plugin genesys_realtime>
$ORG
</Plugin>
<Plugin genesys_analytics>
$ORG
</Plugin>
<Plugin genesys_flowmetrics>
$ORG
</Plugin>
CONF
/usr/sbin/collectd -C "$WORK/collectd.conf" -f &
CD_PID=$!
echo "demo: collectd running (config $WORK/collectd.conf, log $WORK/collectd.log)"
echo "demo: values are written as CSV under $WORK/csv; Ctrl-C stops"

last() { # plugin type -> last value or "-"
  local f
  f=$(ls "$WORK"/csv/demo-org/"$1"-self/"$2"-* 2>/dev/null | tail -n 1)
  [ -n "$f" ] && tail -n 1 "$f" | cut -d, -f2 || echo "-"
}
start=$(date +%s)
while kill -0 "$CD_PID" 2>/dev/null; do
  sleep 5
  printf '%s ' "$(date +%T)"
  for p in genesys_realtime genesys_analytics genesys_flowmetrics; do
    printf '%s: up=%s requests(200)=%s  ' "${p#genesys_}" "$(last "$p" api_up)" \
      "$(last "$p" api_requests-200)"
  done
  echo
  if [ -n "${DEMO_SECONDS:-}" ] && [ $(($(date +%s) - start)) -ge "$DEMO_SECONDS" ]; then
    break
  fi
done
