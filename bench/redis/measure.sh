#!/bin/bash
# Redis commands and platform CPU per predict, services mode (helper "redis", issue 18).
#   bench/redis/measure.sh <label> [predicts=2000] [concurrency=8]
# Starts node dist/platform/src/main.js of the checkout in $DIST (default: this one) with
# DATABASE_URL, REDIS_URL (DB 13 of the local Redis: MONITOR shows its commands as "[13 …"),
# AMQP_URL, ports 5600–5605, budgets raised; sends predicts with distinct inputs (SAME=1: one
# input, the result cache answers), counts the Redis commands of DB 13 with MONITOR and the
# platform's CPU time (utime+stime) over the run. Needs createdb h_redis_bench once.
set -e
here=$(cd "$(dirname "$0")" && pwd)
label=$1; n=${2:-2000}; c=${3:-8}; dist=${DIST:-$(cd "$here/../.." && pwd)}
work=${WORK:-/tmp/redis-bench}; mkdir -p "$work"
export PORT=5600 SUBGRAPH_BASE_PORT=5601 DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/h_redis_bench}
export REDIS_URL=redis://127.0.0.1:6379/13 AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672} QUEUE_NAME=redis-predictions
export DATA_DIR=$work/data LOG_LEVEL=warn RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_PER_USER=1000000 RATE_LIMIT_INFERENCE=1000000
export BUILD_MODEL_JS=$dist/dist/lib/onnx/build-model.js
cd "$dist"
node dist/platform/src/main.js > "$work/platform-$label.log" 2>&1 & pid=$!
for i in $(seq 1 240); do curl -sf localhost:5600/readyz >/dev/null && break; sleep 0.25; done
node "$here/predict.mjs" 5600 500 "$c" >/dev/null   # warm-up (and, the first time, the account and model)
t0=$(awk '{print $14+$15}' /proc/$pid/stat)
timeout 600 redis-cli MONITOR > "$work/monitor-$label.txt" & mpid=$!
sleep 0.3
node "$here/predict.mjs" 5600 "$n" "$c" > "$work/run-$label.json"
sleep 0.3; kill $mpid
t1=$(awk '{print $14+$15}' /proc/$pid/stat)
cmds=$(grep '\[13 127' "$work/monitor-$label.txt" | grep -vi '"xread"\|"ping"' | wc -l)
echo "{\"label\":\"$label\",\"predicts\":$n,\"concurrency\":$c,\"cpuMsPerPredict\":$(echo "scale=3; ($t1-$t0)*10/$n" | bc),\"redisCommandsPerPredict\":$(echo "scale=3; $cmds/$n" | bc),\"run\":$(cat "$work/run-$label.json"),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
grep '\[13 127' "$work/monitor-$label.txt" | grep -vi '"xread"\|"ping"' | awk '{print $4}' | sort | uniq -c
kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.2; done
