#!/usr/bin/env bash
# Creates the contract's topics on Apache Kafka before any service starts, with the Kafka image's own
# kafka-topics.sh: aireg.submission.v1, aireg.analysis.v1 and their .dlq twins, never expiring
# (retention.ms=-1: the topics are the system of record that reporting and the audit replay from 0).
# Idempotent: existing topics keep their partitions, and get retention, min.insync.replicas and
# max.message.bytes set again.
#
#   KAFKA_BOOTSTRAP_SERVERS          where the brokers are (required)
#   AIREG_TOPIC_PARTITIONS           partitions per topic (default 6): the most replicas of a service
#                                    that consume in parallel
#   AIREG_TOPIC_REPLICATION_FACTOR   copies of each partition (default 1; 3 on a three-broker cluster)
#   AIREG_TOPIC_MIN_INSYNC_REPLICAS  copies an acks=all write waits for (default 1; 2 with 3 copies)
#   AIREG_TOPIC_NAMESPACE            prefix of every topic name (default none), as the services use it
#   AIREG_MAX_EVENT_BYTES            the largest event the services record (default 1048576, as theirs):
#                                    max.message.bytes is 65536 above it (a record's key, headers, framing)
#   KAFKA_HOME                       the Kafka installation (default /opt/kafka, as in apache/kafka)
set -euo pipefail

bootstrap="${KAFKA_BOOTSTRAP_SERVERS:?set KAFKA_BOOTSTRAP_SERVERS}"
partitions="${AIREG_TOPIC_PARTITIONS:-6}"
replication="${AIREG_TOPIC_REPLICATION_FACTOR:-1}"
min_insync="${AIREG_TOPIC_MIN_INSYNC_REPLICAS:-1}"
namespace="${AIREG_TOPIC_NAMESPACE:-}"
max_event="${AIREG_MAX_EVENT_BYTES:-1048576}"
bin="${KAFKA_HOME:-/opt/kafka}/bin"

for number in "$partitions" "$replication" "$min_insync" "$max_event"; do
  if [[ ! "$number" =~ ^[1-9][0-9]*$ ]]; then
    echo "create-topics: '$number' is not a positive whole number" >&2
    exit 2
  fi
done
if (( min_insync > replication )); then
  echo "create-topics: min.insync.replicas $min_insync exceeds the replication factor $replication" >&2
  exit 2
fi
max_message=$(( max_event + 65536 ))

# Every broker the cluster has now; a replication factor above it would leave the topics unwritable.
brokers=$("$bin/kafka-broker-api-versions.sh" --bootstrap-server "$bootstrap" | grep -c ' (id: ' || true)
if (( brokers < replication )); then
  echo "create-topics: replication factor $replication needs $replication brokers, $bootstrap has $brokers" >&2
  exit 1
fi
if (( brokers >= 3 && replication == 1 )); then
  echo "create-topics: warning: $brokers brokers but replication factor 1 (set AIREG_TOPIC_REPLICATION_FACTOR=3)" >&2
fi

for topic in aireg.submission.v1 aireg.analysis.v1; do
  for name in "$namespace$topic" "$namespace$topic.dlq"; do
    "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
      --partitions "$partitions" --replication-factor "$replication" \
      --config retention.ms=-1 --config min.insync.replicas="$min_insync" \
      --config max.message.bytes="$max_message"
    "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --alter --entity-type topics \
      --entity-name "$name" \
      --add-config "retention.ms=-1,min.insync.replicas=$min_insync,max.message.bytes=$max_message"
  done
done
prefix=$(printf '%s' "$namespace" | sed 's/[.]/[.]/g')
"$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --describe \
  --topic "^${prefix}aireg[.](submission|analysis)[.]v1([.]dlq)?\$"
