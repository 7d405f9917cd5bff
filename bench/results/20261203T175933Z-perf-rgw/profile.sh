#!/usr/bin/env bash
# How the perf figures in bench/README ("Against Ceph RGW, and where hoist's CPU goes") were taken.
#   HOIST=build/release/tools/hoist bench/results/20261203T175933Z-perf-rgw/profile.sh perf-crc32c perf-none
# Each argument is one upload of a 2,000 x 256 KiB tree (20 folders) to a fresh prefix of one
# tools/rgw-local bucket: "perf-MODE" under `perf record -e cpu-clock:u` (user time only where
# perf_event_paranoid is 2) with --checksum MODE, plain "MODE" under GNU time only. Then:
#   perf report -i /tmp/hoist-perf-MODE.data --no-children --sort dso,sym --stdio
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
H=${HOIST:-$root/build/release/tools/hoist}
T=${TREE:-/dev/shm/hoist-perf-tree}
if [ ! -d "$T" ]; then
  python3 - "$T" <<'PY'
import os, sys
for i in range(2000):
    d = os.path.join(sys.argv[1], "d%03d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(262144))
PY
fi
out=$(mktemp)
setsid "$root/tools/rgw-local" --bucket bench >"$out" 2>"$out.err" &
rgwpid=$!
trap 'kill -TERM $rgwpid 2>/dev/null; wait $rgwpid 2>/dev/null; rm -f "$out" "$out.err"' EXIT
for _ in $(seq 200); do grep -q READY "$out" && break; sleep 0.3; done
grep -q READY "$out" || { echo "rgw-local did not start: $(tail -3 "$out.err")" >&2; exit 1; }
eval "$(grep '^HOIST_S3_[A-Z_]*=' "$out" | sed 's/^/export /')"
export AWS_SHARED_CREDENTIALS_FILE=$HOIST_S3_CREDENTIALS  # the keys stay in the file
unset AWS_CA_BUNDLE
n=0
for mode in "$@"; do
  n=$((n + 1)); uptime
  cmd=("$H" cp --recursive "$T" "s3://bench/p$n/" --endpoint-url "$HOIST_S3_ENDPOINT" --ca-bundle "$HOIST_S3_CA" --quiet)
  case $mode in
    perf-*) perf record -q -e cpu-clock:u -F 2000 -o "/tmp/hoist-perf-${mode#perf-}.data" -- \
              /usr/bin/time -f "$mode: %e s wall %U user %S sys" "${cmd[@]}" --checksum "${mode#perf-}" ;;
    *) /usr/bin/time -f "$mode: %e s wall %U user %S sys" "${cmd[@]}" --checksum "$mode" ;;
  esac
done
