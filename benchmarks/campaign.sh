#!/usr/bin/env bash
# Issue 15: the replication campaign, as one resumable job queue, highest priority first.
#
#   benchmarks/campaign.sh            start 2 single-thread workers (WORKERS=n to change)
#   benchmarks/campaign.sh --list     print the queue with each job's state
#
# Run it from a clean checkout of a commit (`git worktree add ../measure <commit>`), so every run
# names a real commit, never +dirty. A job is one `python -m mner_lib train` run; its folder is
# `results/<experiment>/<model>/<dataset>/<condition>/seed<k>`. A finished run (metrics.json) is
# skipped, an unfinished one resumes from its last checkpoint, so stopping anywhere (kill, end of
# a session) loses only the epoch in progress. Workers claim jobs with an atomic mkdir.
set -u
cd "$(git rev-parse --show-toplevel)"
export PYTHONPATH="$PWD" MNER_DATA_DIR="${MNER_DATA_DIR:-../shared/data}" HF_HUB_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY="${PYTHON:-python}"
CLAIMS=.campaign-claims

# experiment|model|dataset|condition|seeds|extra train arguments
jobs() {
  # 1. fidelity probes: GMF's tagging head at its own learning rate, on the budget protocol
  #    (Twitter-2017, 1000 training tweets, 500 dev/test, 3 epochs, blank images), seed 0
  local G="--max-train 1000 --max-eval 500 --epochs 3 --batch-size 16"
  echo "probe_gmf_head-lr-none|gmf|twitter2017|blank|0|$G"
  echo "probe_gmf_head-lr5e-2|gmf|twitter2017|blank|0|$G --head-lr 5e-2"
  echo "probe_gmf_head-lr1e-3|gmf|twitter2017|blank|0|$G --head-lr 1e-3"
  # 2. the text baselines at the paper's 30 epochs (early stopping on dev F1, patience 5)
  for m in bilstm-crf hbilstm-crf; do for d in twitter2015 twitter2017; do
    echo "campaign|$m|$d|none|0 1 2|"
  done; done
  # 3. what explains the baseline gaps: one change at a time, on the two rows > 2 F1 off
  for pair in "bilstm-crf twitter2015" "hbilstm-crf twitter2017"; do
    set -- $pair
    echo "campaign_text_momentum0|$1|$2|none|0 1|--momentum 0"
    echo "campaign_text_adam|$1|$2|none|0 1|--optimizer adam --lr 1e-3 --schedule constant"
    echo "campaign_text_hidden200|$1|$2|none|0 1|--option hidden=200"
    echo "campaign_text_lowercase|$1|$2|none|0 1|--option lowercase=true"
  done
  # 4. the multimodal rows: blank (the papers' w/o VF), real-image captions, shuffled captions
  for d in twitter2015 twitter2017; do
    for m in hsn cwi trimod; do
      for c in blank caption:blip2 caption-shuffled:blip2; do
        echo "campaign|$m|$d|$c|0 1 2|"
      done
    done
  done
}

expand() {  # one line per run: out|model|dataset|condition|seed|extra
  jobs | while IFS='|' read -r exp model data cond seeds extra; do
    for s in $seeds; do
      echo "results/$exp/$model/$data/${cond/:/-}/seed$s|$model|$data|$cond|$s|$extra"
    done
  done
}

if [ "${1:-}" = "--list" ]; then
  expand | while IFS='|' read -r out _ _ _ _ _; do
    if [ -f "$out/metrics.json" ]; then st=done; elif [ -d "$out" ]; then st=started; else st=-; fi
    printf '%-8s %s\n' "$st" "$out"
  done
  exit 0
fi

worker() {
  while true; do
    local job=""
    while IFS='|' read -r out model data cond seed extra; do
      [ -f "$out/metrics.json" ] && continue
      mkdir -p "$CLAIMS/$(dirname "$out")" 2>/dev/null
      if mkdir "$CLAIMS/$out" 2>/dev/null; then job="$out|$model|$data|$cond|$seed|$extra"; break; fi
    done < <(expand)
    [ -z "$job" ] && return 0
    IFS='|' read -r out model data cond seed extra <<<"$job"
    echo "$(date -u +%FT%TZ) worker $1 start $out"
    # shellcheck disable=SC2086
    $PY -m mner_lib train --model "$model" --dataset "$data" --condition "$cond" --seed "$seed" \
      --threads 1 --quiet --out "$out" $extra > "$CLAIMS/$out/log" 2>&1
    echo "$(date -u +%FT%TZ) worker $1 end $out rc=$?"
    [ -f "$out/metrics.json" ] || tail -3 "$CLAIMS/$out/log"
  done
}

rm -rf "$CLAIMS"  # no worker runs now: stale claims of a killed session go
for w in $(seq 1 "${WORKERS:-2}"); do worker "$w" & done
wait
