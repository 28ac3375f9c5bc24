#!/bin/bash
# featviz atlas on one machine (or, with parallel's --sshlogin, several) with GNU
# parallel: N shards, J at a time. Shard i of N is `--shard i/N` with i from seq:
# GNU parallel's {#} (the job's sequence number, also $PARALLEL_SEQ) works as well,
# but not its {%}, a job *slot*: slots are reused, so with fewer slots than shards
# two jobs would get the same one and a shard would never run.
#
#   examples/parallel-atlas.sh                  # every CPU, as many shards
#   N=16 J=4 examples/parallel-atlas.sh         # 16 shards, 4 at a time; run it again to resume
#
# Settings as in examples/slurm-atlas.sbatch: FEATVIZ, FEATVIZ_ATLAS_MODEL,
# FEATVIZ_ATLAS_LAYERS, FEATVIZ_ATLAS_OUT, FEATVIZ_ATLAS_FLAGS.
set -euo pipefail

N=${N:-$(nproc)}
J=${J:-$N}
FEATVIZ=${FEATVIZ:-npx featviz}
model=()
[ -n "${FEATVIZ_ATLAS_MODEL:-}" ] && model=("$FEATVIZ_ATLAS_MODEL")
# word splitting is wanted for the command and the extra flags; -q quotes each word for
# parallel's shell, so a glob in --layers reaches featviz as written
# shellcheck disable=SC2086
seq "$N" | parallel -q --line-buffer -j "$J" \
  $FEATVIZ atlas "${model[@]}" --layers "${FEATVIZ_ATLAS_LAYERS:-all}" \
  --out "${FEATVIZ_ATLAS_OUT:-atlas}" ${FEATVIZ_ATLAS_FLAGS:-} --shard "{}/$N"
$FEATVIZ site "${FEATVIZ_ATLAS_OUT:-atlas}"
