#!/usr/bin/env bash
# Runs a real single-node KRaft Apache Kafka broker assembled from Maven Central.
#
#   infra/kafka/kafka.sh start|stop|status|restart
#
# Environment (all optional):
#   KAFKA_PORT            client port on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR        where logs, config and the pid live (default <repo>/.data/kafka)
#   KAFKA_HEAP            JVM heap (default 512m)
#   KAFKA_NODE_ID         this node's id (default 1)
#   KAFKA_VOTERS          the controller quorum, "1@host:port,2@..." (default: this node alone)
#   KAFKA_REPLICATION     replication factor of every topic (default 1)
#   KAFKA_MIN_ISR         replicas a write needs before it is acknowledged (default 1)
#   KAFKA_CLUSTER_ID      the cluster id every node of a cluster formats with (default: one
#                         made once and kept in the data directory)
#   KAFKA_SASL_PORT       also listen here with SASL_PLAINTEXT, mechanism PLAIN (off by default)
#   KAFKA_SASL_USERS      its users, "name:password name:password" (default liandong:liandong)
#   KAFKA_ACLS            1: least privilege. Every listener authenticates (clients and the
#                         broker itself with SCRAM-SHA-256 on KAFKA_PORT, the controller link
#                         with PLAIN); the StandardAuthorizer refuses whatever no ACL allows;
#                         the only super user is "admin" (KAFKA_ADMIN_PASSWORD). Other SCRAM
#                         users come from KAFKA_SCRAM_USERS ("name:password ..."), added when
#                         storage is formatted. `liandong kafka-acls` grants each role its ACLs.
#
# `start` is idempotent: a broker already answering on the port is left alone.
# Storage is formatted once; stop then start keeps every topic and message.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
data=${KAFKA_DATA_DIR:-$repo/.data/kafka}
heap=${KAFKA_HEAP:-512m}
node_id=${KAFKA_NODE_ID:-1}
voters=${KAFKA_VOTERS:-$node_id@127.0.0.1:$controller_port}
replication=${KAFKA_REPLICATION:-1}
min_isr=${KAFKA_MIN_ISR:-1}
lib=$here/lib
pidfile=$data/broker.pid
config=$data/server.properties
python=$(command -v python3)

log() { printf 'kafka: %s\n' "$*" >&2; }

ensure_java() {
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    log "installing Java 17 and Maven from Debian's packages"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
  fi
}

ensure_jars() {
  local version
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
  if [ -f "$lib/kafka_2.13-$version.jar" ] && [ -f "$lib/.complete-$version" ]; then
    return
  fi
  ensure_java
  log "assembling Kafka $version from Maven Central into $lib (once)"
  rm -rf "$lib"
  (cd "$here" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib")
  touch "$lib/.complete-$version"
}

pid_alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() {
  # An authenticating listener answers ApiVersions before any login (the probe has none).
  local mode=()
  if [ "${KAFKA_ACLS:-}" = 1 ]; then mode=(--before-authentication); fi
  "$python" "$repo/gateways/kafka_probe.py" "127.0.0.1:$port" "${mode[@]}" 2>/dev/null
}

run_java() { java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -cp "$lib/*" "$@"; }

write_config() {
  mkdir -p "$data/logs" "$data/server-logs"
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" -e "s|@DATA_DIR@|$data|g" \
    -e "s|@NODE_ID@|$node_id|g" -e "s|@VOTERS@|$voters|g" -e "s|@REPLICATION@|$replication|g" \
    -e "s|@MIN_ISR@|$min_isr|g" "$here/server.properties.template" >"$config"
  if [ -n "${KAFKA_SASL_PORT:-}" ]; then add_sasl_listener; fi
  if [ "${KAFKA_ACLS:-}" = 1 ]; then secure_with_acls; fi
}

secure_with_acls() {
  local listener=SASL_PLAINTEXT://127.0.0.1:$port admin=${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}
  sed -i -e "s|^listeners=.*|listeners=$listener,CONTROLLER://127.0.0.1:$controller_port|" \
    -e "s|^advertised.listeners=.*|advertised.listeners=$listener|" \
    -e "s|^inter.broker.listener.name=.*|inter.broker.listener.name=SASL_PLAINTEXT|" \
    -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT|" \
    "$config"
  cat >>"$config" <<PROPERTIES
sasl.enabled.mechanisms=SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin" user_admin="$admin";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
PROPERTIES
}

scram_users() {
  # --add-scram arguments for the format step: admin, then KAFKA_SCRAM_USERS.
  local pair
  printf '%s\n' "--add-scram" "SCRAM-SHA-256=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
  for pair in ${KAFKA_SCRAM_USERS:-}; do
    printf '%s\n' "--add-scram" "SCRAM-SHA-256=[name=${pair%%:*},password=${pair#*:}]"
  done
}

# A second client listener that authenticates (as a production cluster would), so the
# clients' SASL settings are tested against a real broker. The PLAINTEXT listener stays
# for the controller link and the readiness probe.
add_sasl_listener() {
  local sasl=SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT users="" pair
  for pair in ${KAFKA_SASL_USERS:-liandong:liandong}; do
    users="$users user_${pair%%:*}=\"${pair#*:}\""
  done
  sed -i -e "s|^listeners=\(.*\)|listeners=\1,$sasl|" \
    -e "s|^advertised.listeners=\(.*\)|advertised.listeners=\1,$sasl|" \
    -e "s|^listener.security.protocol.map=\(.*\)|\1,SASL_PLAINTEXT:SASL_PLAINTEXT|" "$config"
  sed -i -e "s|^\(PLAINTEXT:PLAINTEXT.*SASL_PLAINTEXT:SASL_PLAINTEXT\)$|listener.security.protocol.map=\1|" "$config"
  cat >>"$config" <<PROPERTIES
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$users;
PROPERTIES
}

format_once() {
  # The cluster id must stay the same between format and every start.
  if [ -n "${KAFKA_CLUSTER_ID:-}" ]; then
    echo "$KAFKA_CLUSTER_ID" >"$data/cluster.id"
  elif [ ! -f "$data/cluster.id" ]; then
    run_java kafka.tools.StorageTool random-uuid >"$data/cluster.id"
  fi
  local extra=()
  if [ "${KAFKA_ACLS:-}" = 1 ]; then mapfile -t extra < <(scram_users); fi
  run_java -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$data/server-logs" \
    kafka.tools.StorageTool format --ignore-formatted -t "$(cat "$data/cluster.id")" -c "$config" \
    "${extra[@]}" >/dev/null
}

start() {
  mkdir -p "$data"
  exec 9>"$data/.lock"
  flock 9
  if pid_alive && answers; then
    log "already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
    return 0
  fi
  if answers; then
    log "something else already answers on 127.0.0.1:$port; not starting a second broker"
    return 0
  fi
  ensure_jars
  command -v java >/dev/null || ensure_java
  write_config
  format_once
  # A broker holds a file per log segment and index: give it every descriptor allowed.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "starting on 127.0.0.1:$port (data in $data)"
  nohup java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$data/server-logs" \
    -cp "$lib/*" kafka.Kafka "$config" >"$data/server-logs/stdout.log" 2>&1 9>&- &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      log "ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"
      return 0
    fi
    if ! pid_alive; then
      log "broker exited during start; last lines of its log:"
      tail -n 30 "$data/server-logs/stdout.log" "$data/server-logs/server.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "broker did not answer within 60 s"
  return 1
}

stop() {
  if ! pid_alive; then
    log "not running"
    rm -f "$pidfile"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
    sleep 0.5
  done
  log "broker ignored SIGTERM for 30 s; killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if pid_alive && answers; then
    echo "kafka: up on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  elif pid_alive; then
    echo "kafka: process $(cat "$pidfile") alive but not answering on 127.0.0.1:$port"
    return 1
  else
    echo "kafka: down"
    return 3
  fi
}

kill_now() {
  # SIGKILL, as a power cut would: no flush, no controlled shutdown.
  if pid_alive; then kill -9 "$(cat "$pidfile")"; fi
  rm -f "$pidfile"
  log "killed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_now ;;
  status) status ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|kill|status|restart" >&2; exit 2 ;;
esac
