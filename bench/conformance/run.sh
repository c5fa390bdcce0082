#!/usr/bin/env bash
# Runs the HTTP caching conformance suite behind cache-tests.fyi (github.com/http-tests/cache-tests,
# BSD-3-Clause, not vendored here) against `tiercache proxy`, and prints the counts by kind.
# usage: CACHE_TESTS_DIR=<a checkout of the suite, with npm install done> npm run conformance -- [proxy flags...]
#   e.g. npm run conformance -- --targeted cdn-cache-control,surrogate-control
# env: TIERCACHE_DIR (the tiercache checkout, built; default this one), ORIGIN_PORT (8000), PROXY_PORT (8001),
#      OUT (results file), LIST=1 to list every failure
set -u
SUITE=$(cd "${CACHE_TESTS_DIR:?set CACHE_TESTS_DIR to a checkout of github.com/http-tests/cache-tests}" && pwd)
TC_DIR=$(cd "${TIERCACHE_DIR:-$(dirname "$0")/../..}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ORIGIN_PORT=${ORIGIN_PORT:-8000}
PROXY_PORT=${PROXY_PORT:-8001}
RUN_DIR=$(mktemp -d /tmp/tc-conformance-run.XXXXXX)
OUT=${OUT:-$RUN_DIR/results.json}
# never talk to the shared services nor through a proxy
unset DATABASE_URL REDIS_URL TIERCACHE_ORIGIN TIERCACHE_SQLITE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

for p in "$ORIGIN_PORT" "$PROXY_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is already in use" >&2; exit 2; fi
done

cleanup () {
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
  [ -n "${ORIGIN_PID:-}" ] && kill "$ORIGIN_PID" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

cd "$SUITE"
npm_package_config_protocol=http npm_package_config_port=$ORIGIN_PORT \
  npm_package_config_pidfile=$RUN_DIR/origin.pid \
  node test-engine/server/server.mjs > "$RUN_DIR/origin.log" 2>&1 &
ORIGIN_PID=$!

( cd "$TC_DIR" && exec node bin/tiercache.js proxy --origin "http://127.0.0.1:$ORIGIN_PORT" \
    --host 127.0.0.1 --port "$PROXY_PORT" --sqlite "$RUN_DIR/cache.db" "$@" ) > "$RUN_DIR/proxy.log" 2>&1 &
PROXY_PID=$!

for i in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/$ORIGIN_PORT) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$PROXY_PORT) 2>/dev/null; then break; fi
  sleep 0.1
done

echo "origin pid $ORIGIN_PID, proxy pid $PROXY_PID, logs in $RUN_DIR" >&2
npm_config_base="http://127.0.0.1:$PROXY_PORT" npm_config_id='' npm_package_config_id='' \
  timeout 1200 node --no-warnings test-engine/cli.mjs > "$OUT.raw" 2> "$RUN_DIR/cli.err"
rc=$?
# the CLI prints the results JSON last; keep from the first line that is exactly "{"
sed -n '/^{$/,$p' "$OUT.raw" > "$OUT"
if [ $rc -ne 0 ] || ! node -e "JSON.parse(require('fs').readFileSync('$OUT','utf8'))" 2>/dev/null; then
  echo "suite run failed (rc=$rc), see $OUT.raw and $RUN_DIR/cli.err" >&2; exit 1
fi
echo "results: $OUT" >&2
node "$HERE/summarize.mjs" "$SUITE" "$OUT" ${LIST:+--list}
