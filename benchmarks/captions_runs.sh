#!/usr/bin/env bash
# Issue 14 first measurement: BERT-CRF (minilm-l6) on Twitter-2017, full training set, 3 epochs,
# text vs caption:blip2 vs caption-shuffled:blip2, seeds 0,1,2. Worker $1 of 2: run
# `benchmarks/captions_runs.sh 0 & benchmarks/captions_runs.sh 1` (two single-thread runs side by side).
# Run from a clean checkout (git worktree) of a commit, so every run names a real commit.
cd "$(git rev-parse --show-toplevel)"
export PYTHONPATH="$PWD" MNER_DATA_DIR="${MNER_DATA_DIR:-../shared/data}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY="${PYTHON:-python}"
i=0
for seed in 0 1 2; do
  for cond in none caption:blip2 caption-shuffled:blip2; do
    i=$((i+1))
    [ $((i % 2)) -eq "$1" ] || continue
    out=results/captions_bert/bert-crf/twitter2017/${cond/:/-}/seed$seed
    [ -f $out/metrics.json ] && continue  # finished (an unfinished run resumes)
    echo "$(date +%T) start $out"
    $PY -m mner_lib train --model bert-crf --dataset twitter2017 --condition $cond --seed $seed \
      --epochs 3 --threads 1 --quiet --out $out
    echo "$(date +%T) end $out rc=$?"
  done
done
