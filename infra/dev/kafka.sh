#!/usr/bin/env bash
# Runs one of Kafka's command-line tools from the cached jars, against the dev broker.
#   infra/dev/kafka.sh topics --list
#   infra/dev/kafka.sh topics --create --topic t1 --partitions 3
#   echo hi | infra/dev/kafka.sh console-producer --topic t1
#   infra/dev/kafka.sh console-consumer --topic t1 --from-beginning --max-messages 1
#   infra/dev/kafka.sh consumer-groups --list
# --bootstrap-server is added unless given. Any fully qualified class name also works as tool.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_ports

[[ $# -ge 1 ]] || { sed -n '2,9p' "$0"; exit 2; }
tool="$1"; shift
case "$tool" in
  topics)            class=org.apache.kafka.tools.TopicCommand ;;
  console-producer)  class=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer)  class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups)   class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  api-versions)      class=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  configs)           class=org.apache.kafka.tools.ConfigCommand ;;
  get-offsets)       class=org.apache.kafka.tools.GetOffsetShell ;;
  metadata-quorum)   class=org.apache.kafka.tools.MetadataQuorumCommand ;;
  *.*)               class="$tool" ;;
  *) die "unknown tool '$tool' (topics, console-producer, console-consumer, consumer-groups, api-versions, configs, get-offsets, metadata-quorum, or a class name)" ;;
esac

args=("$@")
if [[ " ${args[*]-} " != *" --bootstrap-server "* && " ${args[*]-} " != *" --bootstrap-controller "* ]]; then
  args=(--bootstrap-server "$KAFKA_BROKERS" "${args[@]}")
fi
fetch_kafka
kafka_tool "$class" "${args[@]}"
