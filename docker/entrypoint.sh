#!/usr/bin/env bash
# Entrypoint of the octsearch image; tini (PID 1) reaps Ray's processes and forwards signals.
#
# A Ray driver needs a Ray node on its own machine. With OCTSEARCH_JOIN_RAY=HOST:PORT set,
# `octsearch launch ...` first joins that cluster as a zero-CPU node (no trial runs there), checks
# that every node runs this image's octsearch and torch (octsearch-cluster-check: one line and
# exit 1 otherwise, before the search writes anything), and stops that node when the search ends.
# Every other command runs as it is.
set -euo pipefail

if [[ -z "${OCTSEARCH_JOIN_RAY:-}" || "${1:-}" != "octsearch" || "${2:-}" != "launch" ]]; then
  exec "$@"
fi

address="${OCTSEARCH_JOIN_RAY}"
wait_s="${OCTSEARCH_JOIN_TIMEOUT:-60}"
host="${address%:*}"
port="${address##*:}"
if [[ -z "$host" || "$host" == "$address" || ! "$port" =~ ^[0-9]+$ ]]; then
  echo "octsearch-entrypoint: OCTSEARCH_JOIN_RAY=${address} is not HOST:PORT of a Ray head" >&2
  exit 2
fi
# `ray start --address` waits for minutes on a head that is not there: check the port first.
deadline=$((SECONDS + wait_s))
until timeout 2 bash -c "exec 3<>/dev/tcp/${host}/${port}" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "octsearch-entrypoint: no Ray head at ${address} after ${wait_s} s; start the head first" >&2
    exit 1
  fi
  sleep 1
done

log=/tmp/octsearch-ray-join.log
if ! timeout "$((wait_s + 60))" ray start --address="${address}" --num-cpus=0 --disable-usage-stats >"$log" 2>&1; then
  cat "$log" >&2
  echo "octsearch-entrypoint: could not join the Ray cluster at ${address} (log above)" >&2
  ray stop >/dev/null 2>&1 || true
  exit 1
fi
if ! octsearch-cluster-check; then
  ray stop >/dev/null 2>&1 || true
  exit 1
fi
status=0
"$@" || status=$?
ray stop >/dev/null 2>&1 || true
exit "$status"
