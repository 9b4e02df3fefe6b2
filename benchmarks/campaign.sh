#!/usr/bin/env bash
# Issue 15: the replication campaign, as one resumable job queue, highest priority first.
#
#   benchmarks/campaign.sh            start 2 single-thread workers (WORKERS=n to change)
#   benchmarks/campaign.sh --list     print the queue with each job's state (= python -m mner_lib campaign status)
#   kill <its pid> (or Ctrl-C)       stop it, its workers and their running jobs
#
# Run it from a clean checkout of a commit (`git worktree add ../measure <commit>`), so every run
# names a real commit, never +dirty. A job is one `python -m mner_lib train` run; its folder is
# `results/<experiment>/<model>/<dataset>/<condition>/seed<k>`. A finished run (metrics.json) is
# skipped, an unfinished one resumes from its last checkpoint, so stopping anywhere (kill, end of
# a session) loses only the epoch in progress. Workers claim jobs with an atomic mkdir.
# Stopping the script (Ctrl-C, `kill <its pid>`, a closed terminal) stops its workers and their
# running jobs with it: no job goes on writing without its queue.
#
# One writer at a time: a checkout runs one queue (the script locks .campaign-claims/lock for as
# long as it and its jobs run; a second one is refused at once, naming the first), and every job
# is a `train` run, which holds its run folder's lock: two queues of two checkouts that share a
# run folder never write it together (the second is refused, its worker goes on to other jobs).
set -u
cd "$(git rev-parse --show-toplevel)"
export PYTHONPATH="$PWD" MNER_DATA_DIR="${MNER_DATA_DIR:-../shared/data}" HF_HUB_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY="${PYTHON:-python}"
CLAIMS=.campaign-claims
QUEUE="$CLAIMS/queue"

# The queue comes from the plan in mner_lib/experiments/campaign.py (one line per run, priority order):
# out|model|dataset|condition|seed|extra train arguments. CAMPAIGN_JOBS=FILE works through the
# lines of FILE instead (a part of the plan; the tests).
expand() {
  if [ -n "${CAMPAIGN_JOBS:-}" ]; then cat -- "$CAMPAIGN_JOBS"; else $PY -m mner_lib campaign jobs; fi
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
      mkdir -p "$QUEUE/$(dirname "$out")" 2>/dev/null
      if mkdir "$QUEUE/$out" 2>/dev/null; then job="$out|$model|$data|$cond|$seed|$extra"; break; fi
    done < <(expand)
    [ -z "$job" ] && return 0
    IFS='|' read -r out model data cond seed extra <<<"$job"
    echo "$(date -u +%FT%TZ) worker $1 start $out"
    # shellcheck disable=SC2086
    $PY -m mner_lib train --model "$model" --dataset "$data" --condition "$cond" --seed "$seed" \
      --threads 1 --quiet --out "$out" $extra > "$QUEUE/$out/log" 2>&1
    local rc=$?
    echo "$(date -u +%FT%TZ) worker $1 end $out rc=$rc"
    [ -f "$out/metrics.json" ] || tail -3 "$QUEUE/$out/log"
  done
}

mkdir -p "$CLAIMS" || exit 2
# the queue's lock: held through descriptor 9 by this script and every job it starts, released by
# the system when the last of them ends (however it ends)
exec 9<>"$CLAIMS/lock" || exit 2
$PY -m mner_lib campaign lock --fd 9 --file "$CLAIMS/lock" --pid $$ || exit 2
rm -rf "$QUEUE"  # no other queue runs in this checkout: stale claims of a killed session go
# stop: each worker first (so it claims nothing more), then the job it was running (its children)
stop() {
  trap - TERM INT HUP
  local w jobs
  for w in $WORKER_PIDS; do
    jobs=$(pgrep -P "$w" 2>/dev/null)
    # shellcheck disable=SC2086
    kill -TERM "$w" $jobs 2>/dev/null
  done
  wait
  echo "$(date -u +%FT%TZ) queue stopped; unfinished runs resume from their checkpoints" >&2
  exit 143
}
WORKER_PIDS=""
trap stop TERM INT HUP
for w in $(seq 1 "${WORKERS:-2}"); do worker "$w" & WORKER_PIDS="$WORKER_PIDS $!"; done
wait
