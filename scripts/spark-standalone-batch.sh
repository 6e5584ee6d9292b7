#!/usr/bin/env bash
# Runs `woq batch` on a real Spark standalone cluster: a master and a worker started as separate
# JVMs from the Maven jars (no Spark distribution), then spark-submit in client mode with
# woq-cli-spark-submit.jar; the executor is a third JVM, started by the worker.
# Usage: scripts/spark-standalone-batch.sh MODEL_DIR INPUT OUTPUT [woq batch options...]
# Needs: mvn -B -q -DskipTests -Pspark-submit package -pl cli -am
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 3 ]]; then
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
model="$1"; input="$2"; output="$3"; shift 3
jar="$here/cli/target/woq-cli-spark-submit.jar"
[[ -f "$jar" ]] || { echo "spark-standalone-batch: build $jar first (see Needs:)" >&2; exit 1; }
work="$(mktemp -d)"
# A SPARK_HOME holding only jars/: Spark's jars from cli/target/lib, without what the fat jar carries.
mkdir -p "$work/spark-home/jars"
for j in "$here"/cli/target/lib/*.jar; do
  case "$(basename "$j")" in
    woq-*|api-0.35*|pytorch-*|tokenizers-*|picocli-*|gson-*|jna-*|jline-*|slf4j-nop-*) ;;
    *) ln -s "$j" "$work/spark-home/jars/" ;;
  esac
done
# Spark's own logging for the master, worker and executor logs (woq's class path logs to slf4j-nop).
log4j="$(find "${MAVEN_REPO:-$HOME/.m2/repository}/org/apache/logging/log4j/log4j-slf4j2-impl" -name '*.jar' | head -1)"
[[ -n "$log4j" ]] && ln -s "$log4j" "$work/spark-home/jars/"
export SPARK_HOME="$work/spark-home"
# The worker builds each executor's class path as a distribution's launcher does: SPARK_HOME/jars, found
# through a RELEASE file and the Scala version (a distribution has both; a Maven class path has neither).
touch "$SPARK_HOME/RELEASE"
export SPARK_SCALA_VERSION=2.12
opens=(-XX:+IgnoreUnrecognizedVMOptions -Djdk.reflect.useDirectMethodHandle=false)
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
    java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
cp="$SPARK_HOME/jars/*"
port=$((20000 + RANDOM % 20000))
java "${opens[@]}" -Xmx512m -cp "$cp" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
  --webui-port 0 > "$work/master.log" 2>&1 &
master=$!
java "${opens[@]}" -Xmx512m -cp "$cp" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 2 \
  --memory 4g --webui-port 0 --work-dir "$work/work" "spark://127.0.0.1:$port" > "$work/worker.log" 2>&1 &
worker=$!
trap 'kill $worker $master 2>/dev/null || true' EXIT
echo "spark-standalone-batch: master pid $master, worker pid $worker, in $work" >&2
# The driver gives up on a master that does not answer: wait until it listens (JVM start on a busy host).
for _ in $(seq 1 180); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 1
done
rc=0
java "${opens[@]}" -Xmx1g -cp "$cp" org.apache.spark.deploy.SparkSubmit --master "spark://127.0.0.1:$port" \
  --deploy-mode client --conf spark.driver.host=127.0.0.1 --conf spark.executor.memory=1g \
  --conf "spark.executor.extraJavaOptions=-Dai.djl.offline=true -DOPT_OUT_TRACKING=true" \
  --class dev.woq.cli.Main "$jar" batch --model "$model" --input "$input" --output "$output" "$@" || rc=$?
echo "spark-standalone-batch: executors the worker ran:" >&2
ls "$work/work"/*/ 2>/dev/null >&2 || true
exit $rc
