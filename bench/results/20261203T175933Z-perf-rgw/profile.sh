#!/usr/bin/env bash
# perf profile of hoist cp --recursive against rgw-local; 2000 x 256KiB tree
set -euo pipefail
H=/work/main/build/release/tools/hoist
T=/dev/shm/bulkrgw15-tree
if [ ! -d $T ]; then mkdir -p $T; for d in $(seq 0 19); do mkdir -p $T/d$(printf %03d $d); done
  python3 -c "
import os
for i in range(2000):
    open('$T/d%03d/f%06d.bin' % (i % 20, i), 'wb').write(os.urandom(262144))"; fi
out=/tmp/bulkrgw15-rgw.out
setsid /work/wt-bulkrgw15/tools/rgw-local --bucket bench > $out 2>/tmp/bulkrgw15-rgw.err &
rgwpid=$!
for i in $(seq 100); do grep -q READY $out 2>/dev/null && break; sleep 0.3; done
eval "$(grep = $out | sed 's/^/export /')"
export AWS_SHARED_CREDENTIALS_FILE=$HOIST_S3_CREDENTIALS
unset AWS_CA_BUNDLE
n=0
for mode in "$@"; do n=$((n+1))
  case $mode in
    perf-*) sum=${mode#perf-}; uptime
      perf record -q -e cpu-clock:u -F 2000 -o /tmp/bulkrgw15-$sum.perf.data -- /usr/bin/time -f "%e s wall %U user %S sys" $H cp --recursive $T s3://bench/p$n/ --endpoint-url $HOIST_S3_ENDPOINT --ca-bundle $HOIST_S3_CA --checksum $sum --quiet ;;
    *) uptime; /usr/bin/time -f "$mode: %e s wall %U user %S sys" $H cp --recursive $T s3://bench/p$n/ --endpoint-url $HOIST_S3_ENDPOINT --ca-bundle $HOIST_S3_CA --checksum $mode --quiet ;;
  esac
done
kill -TERM $rgwpid; wait $rgwpid || true
