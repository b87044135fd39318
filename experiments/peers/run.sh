#!/usr/bin/env bash
# Ours (lra_bench) against the PyTorch peers, in one run, alternately: every round measures each
# attention length and each train-step length on both sides back to back (ours first in odd
# rounds, the peers first in even ones), so both see the same machine conditions; then
# summarize.py prints peer/ours per case, median and min-max over the rounds.
#
# Usage: experiments/peers/run.sh [--quick] [--rounds R] [--lengths "1024 2048"]
#          [--train-lengths "1000 2000"] [--sparse-lengths "1024 4096"] [--sections "..."]
#          [--threads N] [--out DIR]
# env (the flags win): ROUNDS=3 LENGTHS="1024 2048 4096 8192" MASKED_LENGTHS="1024 4096"
# TRAIN_LENGTHS="1000 2000" TRAIN_BACKENDS="softmax favor schoenbat" THREADS=2
#   SECTIONS="attention masked train", plus "sparse" when SKYFORMER_REPO is set: the Skyformer
#   paper's bigbird, reformer and informer modules (SKYFORMER_REPO = a checkout of
#   github.com/pkuzengqi/Skyformer) against ours, forward+backward at SPARSE_LENGTHS="1024 2048
#   4096 8192 16384", ours with SPARSE_BACKENDS="softmax bigbird reformer informer" (softmax for
#   ours-vs-softmax; it has no peer in this section); "lra_sparse": the LRA paper's fixed patterns
#   (LRA_SPARSE_BACKENDS="softmax local longformer sparse_transformer") against the faster of
#   their plain-PyTorch dense-mask and block forms (peer_lra_sparse.py), at LRA_SPARSE_LENGTHS="2048
#   4096"
#   REPEATS=5 WARMUP=2 TIME_CAP=15 TRAIN_STEPS=30 TRAIN_BATCH=32 BUILD=build PY=.venv/bin/python OUT=
#   PEER_MALLOC=same (both sides run with the heap settings lra_train sets for itself in
#   src/util/allocator.cpp; keep the two values in step) or default (the peers get glibc's own,
#   what a user running them gets)
# --quick: L = 128 256, train-step at padded length 600 with batch 8 and 5 steps, sparse at
#   L = 1024, 1 round, 2 repeats: a smoke test of the whole pipeline, not a measurement.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=experiments/peers

ROUNDS=${ROUNDS:-3}
LENGTHS=${LENGTHS:-1024 2048 4096 8192}
TRAIN_LENGTHS=${TRAIN_LENGTHS:-1000 2000}
TRAIN_BACKENDS=${TRAIN_BACKENDS:-softmax favor schoenbat}  # the peer's softmax step at L = 2000: ~20 s
MASKED_LENGTHS=${MASKED_LENGTHS:-1024 4096}  # attention with the last 1/8 of the keys padded
SKYFORMER_REPO=${SKYFORMER_REPO:-}
SECTIONS=${SECTIONS:-attention masked train${SKYFORMER_REPO:+ sparse}}
SPARSE_LENGTHS=${SPARSE_LENGTHS:-1024 2048 4096 8192 16384}
SPARSE_BACKENDS=${SPARSE_BACKENDS:-softmax bigbird reformer informer}
SPARSE_PEERS=${SPARSE_PEERS:-bigbird reformer informer}
LRA_SPARSE_LENGTHS=${LRA_SPARSE_LENGTHS:-2048 4096}
LRA_SPARSE_BACKENDS=${LRA_SPARSE_BACKENDS:-softmax local longformer sparse_transformer}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
WARMUP=${WARMUP:-2}
TIME_CAP=${TIME_CAP:-15}
TRAIN_STEPS=${TRAIN_STEPS:-30}
TRAIN_BATCH=${TRAIN_BATCH:-32}
BUILD=${BUILD:-build}
PY=${PY:-.venv/bin/python}
OUT=${OUT:-}
PEER_MALLOC=${PEER_MALLOC:-same}
QUICK=0

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --lengths) LENGTHS=$2; shift ;;
    --train-lengths) TRAIN_LENGTHS=$2; shift ;;
    --sparse-lengths) SPARSE_LENGTHS=$2; shift ;;
    --sections) SECTIONS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (--help lists them)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  ROUNDS=1 LENGTHS="128 256" MASKED_LENGTHS=256 TRAIN_LENGTHS=600 REPEATS=2 WARMUP=1 TRAIN_STEPS=5 TRAIN_BATCH=8
  LRA_SPARSE_LENGTHS=1024
  SPARSE_LENGTHS=1024  # BigBird's block-sparse path needs L > (5 + 2 x 3 random blocks) x 64
fi
has_section() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for section in $SECTIONS; do
  case "$section" in attention|masked|train|sparse|lra_sparse) ;; *) echo "run.sh: unknown section '$section' (attention masked train sparse lra_sparse)" >&2; exit 2 ;; esac
done
if has_section sparse; then
  export SKYFORMER_REPO  # peer_attention.py imports the Skyformer modules from there
  [ -d "$SKYFORMER_REPO/src/models" ] ||
    { echo "run.sh: section sparse needs SKYFORMER_REPO=<checkout of github.com/pkuzengqi/Skyformer>" >&2; exit 1; }
fi

# The same OpenMP behaviour and thread count on both sides: passive waiting, so that idle
# worker threads do not spin against the other process's leftovers on a 2-core machine.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS
export PYTHONWARNINGS=ignore
# lra_train and lra_bench's train-step keep freed heap blocks (mallopt at start-up); giving the
# peers' process (and lra_bench attention, which does not call mallopt) the same two settings
# keeps the comparison about the code, not the allocator.
case "$PEER_MALLOC" in
  same) heap_env=(env GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824) ;;
  default) heap_env=(env) ;;
  *) echo "run.sh: PEER_MALLOC must be same or default, not '$PEER_MALLOC'" >&2; exit 2 ;;
esac

commit=$(git rev-parse --short HEAD)
[ -n "$(git status --porcelain -- src cmake CMakeLists.txt 2>/dev/null)" ] && commit="$commit-dirty"
OUT=${OUT:-$HERE/results/$(date -u +%Y-%m-%d)-$commit$(if [ "$QUICK" = 1 ]; then echo -quick; fi)}
mkdir -p "$OUT/raw"

# A private copy of lra_bench for the whole run: build/ may be rebuilt meanwhile (it links its
# own code statically, LibTorch from .venv).
scratch=$(mktemp -d /tmp/peers_run_XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  cp "$BUILD/lra_bench" "$scratch/lra_bench" 2>/dev/null && "$scratch/lra_bench" --help > /dev/null 2>&1 && break
  [ "$attempt" = 10 ] && { echo "run.sh: no working $BUILD/lra_bench (build it first)" >&2; exit 1; }
  echo "run.sh: $BUILD/lra_bench missing or being rebuilt; retrying in 30 s" >&2
  sleep 30
done
BENCH=$scratch/lra_bench
"$PY" -c 'import performer_pytorch' 2> /dev/null ||
  { echo "run.sh: performer-pytorch missing: .venv/bin/pip install --no-deps -r $HERE/requirements.txt" >&2; exit 1; }
if has_section sparse; then
  "$PY" -c 'import transformers.models.reformer.modeling_reformer' 2> /dev/null ||
    { echo "run.sh: transformers missing: .venv/bin/pip install --no-deps -r $HERE/requirements.txt" >&2; exit 1; }
  "$BENCH" attention --help > "$scratch/attention_help.txt"
  for backend in $SPARSE_BACKENDS; do
    grep -q "[{,]$backend[,}]" "$scratch/attention_help.txt" ||
      { echo "run.sh: $BUILD/lra_bench has no backend $backend (build the branch that adds it)" >&2; exit 1; }
  done
fi

train_warmup=$(( TRAIN_STEPS / 5 < 10 ? TRAIN_STEPS / 5 : 10 ))  # the trainer's timing_warmup_steps
{
  echo "commit: $commit ($(git log -1 --format=%cd --date=iso-strict))"
  echo "lra_bench sha256: $(sha256sum "$BENCH" | cut -d' ' -f1) (copied from $BUILD/lra_bench, modified $(date -u -r "$BUILD/lra_bench" '+%Y-%m-%d %H:%M UTC'))"
  echo "torch: $("$PY" -c 'import torch; print(torch.__version__)'), performer-pytorch $("$PY" -c 'from importlib.metadata import version; print(version("performer-pytorch"))')"
  if has_section sparse; then
    echo "sparse peers: Skyformer $(git -C "$SKYFORMER_REPO" rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)') at $SKYFORMER_REPO, transformers $("$PY" -c 'from importlib.metadata import version; print(version("transformers"))')"
  fi
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "threads: $THREADS on both sides, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
  echo "peer heap: PEER_MALLOC=$PEER_MALLOC ($([ "$PEER_MALLOC" = same ] && echo "${heap_env[1]}" || echo "glibc defaults"))"
  echo "settings: sections $SECTIONS; rounds $ROUNDS, attention L = $LENGTHS (repeats $REPEATS, warm-up $WARMUP, time cap $TIME_CAP s), train-step L = $TRAIN_LENGTHS (batch $TRAIN_BATCH, $TRAIN_STEPS steps, first $train_warmup untimed)$(has_section sparse && echo ", sparse L = $SPARSE_LENGTHS (ours: $SPARSE_BACKENDS; peers: $SPARSE_PEERS)")$(has_section lra_sparse && echo ", lra_sparse L = $LRA_SPARSE_LENGTHS (ours: $LRA_SPARSE_BACKENDS)")"
  echo "command: $0 $([ "$QUICK" = 1 ] && echo --quick) (PEER_MALLOC=$PEER_MALLOC ROUNDS=$ROUNDS SECTIONS=\"$SECTIONS\" LENGTHS=\"$LENGTHS\" MASKED_LENGTHS=\"$MASKED_LENGTHS\" TRAIN_LENGTHS=\"$TRAIN_LENGTHS\" TRAIN_BACKENDS=\"$TRAIN_BACKENDS\" SPARSE_LENGTHS=\"$SPARSE_LENGTHS\" SPARSE_BACKENDS=\"$SPARSE_BACKENDS\" LRA_SPARSE_LENGTHS=\"$LRA_SPARSE_LENGTHS\" LRA_SPARSE_BACKENDS=\"$LRA_SPARSE_BACKENDS\" THREADS=$THREADS)"
  echo "load before: $(uptime)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

shape=(--batch 4 --heads 2 --head-dim 32 --features 128)
ours_attention() {  # $1 = L, $2 = round folder
  "${heap_env[@]}" "$BENCH" attention --backends softmax favor favor_sharp schoenbat --lengths "$1" --scopes attention \
    --passes forward forward+backward "${shape[@]}" --repeats "$REPEATS" --warmup "$WARMUP" \
    --time-cap "$TIME_CAP" --threads "$THREADS" --json "$2/ours_attention_L$1.json" \
    > "$2/ours_attention_L$1.md" 2> "$2/ours_attention_L$1.log"
}
peer_attention() {
  "${heap_env[@]}" "$PY" "$HERE/peer_attention.py" --lengths "$1" --passes forward forward+backward "${shape[@]}" \
    --repeats "$REPEATS" --warmup "$WARMUP" --time-cap "$TIME_CAP" --threads "$THREADS" \
    --json "$2/peer_attention_L$1.json" > "$2/peer_attention_L$1.md" 2> "$2/peer_attention_L$1.log"
}
# The masked case: the last floor(L/8) keys of every sequence padded, forward+backward.
ours_attention_masked() {
  "${heap_env[@]}" "$BENCH" attention --backends softmax favor favor_sharp schoenbat --lengths "$1" --scopes attention \
    --passes forward+backward --padded-fraction 0.125 "${shape[@]}" --repeats "$REPEATS" \
    --warmup "$WARMUP" --time-cap "$TIME_CAP" --threads "$THREADS" \
    --json "$2/ours_attention_masked_L$1.json" > "$2/ours_attention_masked_L$1.md" 2> "$2/ours_attention_masked_L$1.log"
}
peer_attention_masked() {
  "${heap_env[@]}" "$PY" "$HERE/peer_attention.py" --lengths "$1" --passes forward+backward --masked "${shape[@]}" \
    --repeats "$REPEATS" --warmup "$WARMUP" --time-cap "$TIME_CAP" --threads "$THREADS" \
    --json "$2/peer_attention_masked_L$1.json" > "$2/peer_attention_masked_L$1.md" 2> "$2/peer_attention_masked_L$1.log"
}
# The Skyformer paper's bigbird, reformer and informer modules, forward+backward, every token real
# (ours: softmax too, for ours-vs-softmax).
ours_sparse() {
  "${heap_env[@]}" "$BENCH" attention --backends $SPARSE_BACKENDS --lengths "$1" --scopes attention \
    --passes forward+backward "${shape[@]}" --repeats "$REPEATS" --warmup "$WARMUP" \
    --time-cap "$TIME_CAP" --threads "$THREADS" --json "$2/ours_sparse_L$1.json" \
    > "$2/ours_sparse_L$1.md" 2> "$2/ours_sparse_L$1.log"
}
# The LRA paper's fixed patterns against plain PyTorch (dense mask and block form; the summary
# takes the faster per round).
ours_lra_sparse() {
  "${heap_env[@]}" "$BENCH" attention --backends $LRA_SPARSE_BACKENDS --lengths "$1" --scopes attention \
    --passes forward+backward "${shape[@]}" --repeats "$REPEATS" --warmup "$WARMUP" \
    --time-cap "$TIME_CAP" --threads "$THREADS" --json "$2/ours_lra_sparse_L$1.json" \
    > "$2/ours_lra_sparse_L$1.md" 2> "$2/ours_lra_sparse_L$1.log"
}
peer_lra_sparse() {
  "${heap_env[@]}" "$PY" "$HERE/peer_lra_sparse.py" --lengths "$1" --passes forward+backward \
    --batch 4 --heads 2 --head-dim 32 --repeats "$REPEATS" --warmup "$WARMUP" --time-cap "$TIME_CAP" \
    --threads "$THREADS" --json "$2/peer_lra_sparse_L$1.json" > "$2/peer_lra_sparse_L$1.md" \
    2> "$2/peer_lra_sparse_L$1.log"
}
peer_sparse() {
  "${heap_env[@]}" "$PY" "$HERE/peer_attention.py" --peers $SPARSE_PEERS --lengths "$1" --passes forward+backward \
    "${shape[@]}" --repeats "$REPEATS" --warmup "$WARMUP" --time-cap "$TIME_CAP" --threads "$THREADS" \
    --json "$2/peer_sparse_L$1.json" > "$2/peer_sparse_L$1.md" 2> "$2/peer_sparse_L$1.log"
}
ours_train() {
  # data.max_length pads to L; data.synthetic.max_length keeps expressions shorter than L
  # (schema: max_length - 1 <= data.max_length). Small splits: only the first steps' batches
  # are used, and generating the 100,000 official expressions would dominate the run.
  "$BENCH" train-step --config configs/listops.yaml --set "data.max_length=$1" \
    --set "data.synthetic.max_length=$1" --set "data.synthetic.train_size=$(( TRAIN_BATCH * (TRAIN_STEPS + 1) ))" \
    --set "data.synthetic.val_size=$TRAIN_BATCH" --set "data.synthetic.test_size=$TRAIN_BATCH" \
    --set "train.batch_size=$TRAIN_BATCH" --backends $TRAIN_BACKENDS --steps "$TRAIN_STEPS" \
    --threads "$THREADS" --json "$2/ours_train_L$1.json" > "$2/ours_train_L$1.md" 2> "$2/ours_train_L$1.log"
}
peer_train() {
  "${heap_env[@]}" "$PY" "$HERE/peer_train_step.py" --length "$1" --attention $TRAIN_BACKENDS \
    --batch "$TRAIN_BATCH" --warmup "$train_warmup" --steps $(( TRAIN_STEPS - train_warmup )) \
    --threads "$THREADS" --json "$2/peer_train_L$1.json" > "$2/peer_train_L$1.md" 2> "$2/peer_train_L$1.log"
}

both() {  # $1 = ours function, $2 = peer function, $3 = L, $4 = round number
  local dir=$OUT/raw/round$4
  mkdir -p "$dir"
  if [ $(( $4 % 2 )) = 1 ]; then
    echo "round $4 L=$3: $1, then $2" >&2; "$1" "$3" "$dir"; "$2" "$3" "$dir"
  else
    echo "round $4 L=$3: $2, then $1" >&2; "$2" "$3" "$dir"; "$1" "$3" "$dir"
  fi
}

start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  if has_section attention; then for L in $LENGTHS; do both ours_attention peer_attention "$L" "$round"; done; fi
  if has_section masked; then for L in $MASKED_LENGTHS; do both ours_attention_masked peer_attention_masked "$L" "$round"; done; fi
  if has_section train; then for L in $TRAIN_LENGTHS; do both ours_train peer_train "$L" "$round"; done; fi
  if has_section sparse; then for L in $SPARSE_LENGTHS; do both ours_sparse peer_sparse "$L" "$round"; done; fi
  if has_section lra_sparse; then for L in $LRA_SPARSE_LENGTHS; do both ours_lra_sparse peer_lra_sparse "$L" "$round"; done; fi
  echo "after round $round: $(uptime)" >> "$OUT/machine.txt"
done
wall=$(( $(date +%s) - start ))
echo "load after: $(uptime)" >> "$OUT/machine.txt"
echo "wall: $((wall / 60)) min $((wall % 60)) s" >> "$OUT/machine.txt"
[ "$(sha256sum "$BUILD/lra_bench" 2>/dev/null | cut -d' ' -f1)" = "$(sha256sum "$BENCH" | cut -d' ' -f1)" ] ||
  echo "note: $BUILD/lra_bench changed during the run; the run used the copy named above" >> "$OUT/machine.txt"

"$PY" "$HERE/summarize.py" "$OUT"
echo "results: $OUT (table.md, machine.txt, raw/)" >&2
