#!/usr/bin/env bash
# Runs a three-node KRaft Kafka cluster on loopback (each node a broker and a controller),
# every topic replicated three times and a write acknowledged once two replicas have it
# (min.insync.replicas=2): one node may die, the cluster neither loses nor refuses a
# write. For the scale and failure tests; `./dev up` keeps the single node (kafka.sh).
#
#   infra/kafka/cluster.sh start|stop|status|bootstrap
#   infra/kafka/cluster.sh kill N | start-node N | stop-node N    (N = 1, 2 or 3)
#   infra/kafka/cluster.sh leader                                  the active controller's id
#
# Environment: KAFKA_CLUSTER_PORT (first client port, default 29092; node N listens on
# PORT + 10(N-1), its controller one above), KAFKA_CLUSTER_DIR (default
# <repo>/.data/kafka-cluster), KAFKA_HEAP (default 384m a node).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${KAFKA_CLUSTER_PORT:-29092}
root=${KAFKA_CLUSTER_DIR:-$repo/.data/kafka-cluster}
nodes=(1 2 3)

port_of() { echo $((base + 10 * ($1 - 1))); }
voters() {
  local n out=()
  for n in "${nodes[@]}"; do out+=("$n@127.0.0.1:$(($(port_of "$n") + 1))"); done
  (IFS=,; echo "${out[*]}")
}
bootstrap() {
  local n out=()
  for n in "${nodes[@]}"; do out+=("127.0.0.1:$(port_of "$n")"); done
  (IFS=,; echo "${out[*]}")
}

cluster_id() {
  # One cluster id, which every node formats its storage with (made before any starts).
  mkdir -p "$root"
  if [ ! -s "$root/cluster.id" ]; then
    python3 -c 'import base64, uuid
print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))' >"$root/cluster.id.new"
    mv "$root/cluster.id.new" "$root/cluster.id"
  fi
  if [ ! -s "$root/cluster.id" ]; then
    echo "kafka cluster: could not make a cluster id in $root/cluster.id" >&2
    exit 1
  fi
}

node() {
  # kafka.sh, configured as node $1 of the cluster.
  local n=$1
  shift
  cluster_id
  KAFKA_PORT=$(port_of "$n") KAFKA_NODE_ID=$n KAFKA_VOTERS=$(voters) \
    KAFKA_REPLICATION=3 KAFKA_MIN_ISR=2 KAFKA_CLUSTER_ID=$(cat "$root/cluster.id") \
    KAFKA_DATA_DIR=$root/node$n KAFKA_HEAP=${KAFKA_HEAP:-384m} "$here/kafka.sh" "$@"
}

start_all() {
  # Together: a node answers only once a quorum of controllers (two of three) is up.
  local n pids=() failed=0
  cluster_id
  for n in "${nodes[@]}"; do node "$n" start & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  [ "$failed" = 0 ] && echo "kafka cluster: up on $(bootstrap)" >&2
  return "$failed"
}

leader() {
  # The active controller: the leader of the newest epoch the live nodes' quorum state
  # records (each voter writes it on every election; kafka-tools is not assembled here).
  local n
  for n in "${nodes[@]}"; do
    KAFKA_DATA_DIR=$root/node$n KAFKA_PORT=$(port_of "$n") "$here/kafka.sh" status >/dev/null 2>&1 \
      && cat "$root/node$n/logs/__cluster_metadata-0/quorum-state" 2>/dev/null && echo
  done | python3 -c 'import json, sys
states = [json.loads(line) for line in sys.stdin if line.strip()]
best = max(states, key=lambda s: s["leaderEpoch"], default=None)
if best and best["leaderId"] >= 0: print(best["leaderId"])'
}

case "${1:-}" in
  start) start_all ;;
  stop) for n in "${nodes[@]}"; do node "$n" stop & done; wait ;;
  status) for n in "${nodes[@]}"; do node "$n" status || true; done ;;
  bootstrap) bootstrap ;;
  leader) leader ;;
  kill) node "${2:?node 1, 2 or 3}" kill ;;
  start-node) node "${2:?node 1, 2 or 3}" start ;;
  stop-node) node "${2:?node 1, 2 or 3}" stop ;;
  *) echo "usage: $0 start|stop|status|bootstrap|leader|kill N|start-node N|stop-node N" >&2
     exit 2 ;;
esac
