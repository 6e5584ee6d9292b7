#!/usr/bin/env bash
# Batch summarization three ways (SparkBatchBench): (a) the model loaded per row, (b) one row at a
# time with the model kept, (c) woq-spark batched on a local[2] Spark.
# Usage: benchmarks/run-spark-batch.sh MODEL DTYPE a|b|c ROWS PROMPT_TOKENS NEW_TOKENS THREADS
# MODEL: a registry name (with $WOQ_HOME) or a model directory.
# Needs: mvn -B -q -DskipTests package -pl cli,benchmarks -am (cli/target/lib holds Spark).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -ne 7 ]]; then
  sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
opens=(-XX:+IgnoreUnrecognizedVMOptions -Djdk.reflect.useDirectMethodHandle=false)
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
    java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
exec java -Xmx2g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true "${opens[@]}" \
  -cp "$here/benchmarks/target/woq-benchmarks.jar:$here/cli/target/lib/*" dev.woq.bench.SparkBatchBench "$@"
