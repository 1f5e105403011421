#!/usr/bin/env bash
# Accept rate, durable, ringmta next to Postfix in the same run: Postfix's smtp-source drives
# the same load into each (one SMTP session per message, as smtp-source does by default), and
# neither delivers (ringmta's delivery is not part of this measurement; Postfix runs with
# defer_transports = smtp). Prints one line per run and a median table.
#
#   bench/accept-compare.sh [--sizes "1024 102400"] [--conc "10 50"] [--runs 3] [--n N]
#
# Needs root (for Postfix: a private instance in a temporary directory beside ringmta's spool,
# see bench/postfix-relay.sh; the system Postfix is left alone) and a built build/mta/ringmta
# (or RINGMTA_BIN). Both queues go under WORKDIR (default /var/tmp, a disk; /tmp may be tmpfs).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="1024 102400"; CONC="10 50"; RUNS=3; N_FIXED=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2;; --conc) CONC=$2; shift 2;;
    --runs) RUNS=$2; shift 2;; --n) N_FIXED=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
BIN=${RINGMTA_BIN:-build/mta/ringmta}
PF_PORT=2725; RM_PORT=2625; SINK_PORT=2726
WORKDIR=${WORKDIR:-/var/tmp}
for port in $PF_PORT $RM_PORT; do
  if ss -Htln "sport = :$port" | grep -q .; then echo "port $port is in use" >&2; exit 1; fi
done
. bench/postfix-relay.sh
rm_pid=""; work=""; pfdir=""
cleanup() {
  [ -n "$rm_pid" ] && kill -TERM "$rm_pid" 2>/dev/null && wait "$rm_pid" 2>/dev/null
  postfix_remove "$pfdir"
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
work=$(mktemp -d "$WORKDIR/ringmta-accept.XXXXXX")
pfdir=$(mktemp -d "$WORKDIR/ringmta-postfix.XXXXXX")

n_for() { [ -n "$N_FIXED" ] && { echo "$N_FIXED"; return; }; [ "$1" -le 4096 ] && echo 5000 || echo 1500; }

cat > "$work/ringmta.json" <<JSON
{ "server": { "spool_dir": "$work/spool" },
  "listeners": [ { "address": "127.0.0.1:$RM_PORT" } ],
  "connectors": [ { "name": "sink", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:$SINK_PORT"] } ] }
JSON
"$BIN" serve -c "$work/ringmta.json" > "$work/ringmta.log" 2>&1 &
rm_pid=$!
postfix_setup "$pfdir" $PF_PORT $SINK_PORT defer
postfix_same_disk "$pfdir" "$work"
postfix_start "$pfdir"
for _ in $(seq 1 50); do ss -Htln "sport = :$RM_PORT" | grep -q . && ss -Htln "sport = :$PF_PORT" | grep -q . && break; sleep 0.1; done

one_run() {  # label port conc size n
  local label=$1 port=$2 conc=$3 size=$4 n=$5 t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$conc" -m "$n" -l "$size" -f from@example.org -t to@example.net "127.0.0.1:$port" \
    > "$work/source.log" 2>&1 || { echo "smtp-source failed:"; cat "$work/source.log"; }
  t1=$(date +%s.%N)
  awk -v l="$label" -v c="$conc" -v s="$size" -v n="$n" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%s conc=%d size=%d n=%d seconds=%.2f accept_msgs_per_s=%.0f\n", l, c, s, n, b-a, n/(b-a) }'
}

results="$work/results.txt"
# warm-up, not reported
smtp-source -s 10 -m 300 -l 1024 -f a@example.org -t b@example.net 127.0.0.1:$RM_PORT >/dev/null 2>&1
smtp-source -s 10 -m 300 -l 1024 -f a@example.org -t b@example.net 127.0.0.1:$PF_PORT >/dev/null 2>&1
for size in $SIZES; do
  for conc in $CONC; do
    for run in $(seq 1 "$RUNS"); do
      n=$(n_for "$size")
      one_run ringmta $RM_PORT "$conc" "$size" "$n" | tee -a "$results"
      one_run postfix $PF_PORT "$conc" "$size" "$n" | tee -a "$results"
      postfix_flush_queue "$pfdir"
    done
  done
done

echo
echo "median accept rate (msgs/s), $RUNS runs each, same machine, same run:"
printf "%-8s %-6s %10s %10s %7s\n" size conc ringmta postfix ratio
for size in $SIZES; do
  for conc in $CONC; do
    med() { grep "^$1 conc=$conc size=$size " "$results" | sed 's/.*accept_msgs_per_s=//' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    r=$(med ringmta); p=$(med postfix)
    awk -v s="$size" -v c="$conc" -v r="$r" -v p="$p" 'BEGIN { printf "%-8d %-6d %10.0f %10.0f %6.1fx\n", s, c, r, p, r/p }'
  done
done
