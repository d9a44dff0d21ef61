#!/usr/bin/env bash
# Transfer experiment for docs/results.md: pre-train on Fashion-MNIST classes 0-4 (full Debian data), then
# fine-tune few-shot (1, 5, 10 per class) on classes 5-9 with the HyperRule, against the same network from
# scratch with the same budget. Needs: apt-get install -y dataset-fashion-mnist.
#   bench/TrainerPipeline/run-transfer.sh [OUT_DIR] [SEEDS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/runs/transfer}
shift || true
seeds=${*:-0}
dotnet build -c Release "$root/src/TrainerImage" -o "$out/bin" >/dev/null
trainer="dotnet $out/bin/bit-trainer.dll"
mkdir -p "$out/manifests"
if [ ! -f "$out/upstream/final/model.npz" ]; then
  $trainer run "$root/bench/TrainerPipeline/experiments/upstream-fashion-mnist-0-4.yaml" --workdir "$out/upstream" --eval-every 0
fi
finetune() { # name k seed weights-line lr
  cat > "$out/manifests/$1.yaml" <<YAML
apiVersion: bit.training/v1alpha1
kind: BiTFineTuneJob
metadata: {name: $1}
spec:
  model:
    architecture: Custom
    blocks: [1, 1, 1, 1]
    widthFactor: 0.5
$4
  dataset:
    format: Idx
    path: /usr/share/datasets/fashion-mnist
    classes: [5, 6, 7, 8, 9]
    numClasses: 5
    fewShot: {examplesPerClass: $2, seed: $3}
  hyperparameters:
    batchSize: 32
    totalSteps: 200
    precropSize: 36
    cropSize: 32
$5
  checkpoint: {everySteps: 1000, keep: 1}
  seed: $3
YAML
  [ -f "$out/$1/final/metrics.json" ] || $trainer run "$out/manifests/$1.yaml" --workdir "$out/$1" --eval-every 0 >"$out/$1.log" 2>&1
  top1=$(python3 -c "import json;print('%.1f' % (100*json.load(open('$out/$1/final/metrics.json'))['top1']))")
  echo "| $2 | $3 | $6 | $top1 |"
}
echo "| shots/class | seed | start | top-1 % (5 classes, 5,000 test images) |"
echo "| --- | --- | --- | --- |"
for seed in $seeds; do
  for k in 1 5 10; do
    finetune "bit-k$k-s$seed" $k $seed "    weights: {fromPretrainJob: {name: upstream}}" "" "BiT upstream, HyperRule lr 0.003"
    finetune "bit-lr03-k$k-s$seed" $k $seed "    weights: {fromPretrainJob: {name: upstream}}" "    baseLearningRate: 0.03" "BiT upstream, lr 0.03"
    finetune "scratch-k$k-s$seed" $k $seed "" "" "scratch, lr 0.003"
    finetune "scratch-lr03-k$k-s$seed" $k $seed "" "    baseLearningRate: 0.03" "scratch, lr 0.03"
  done
done
top1=$(python3 -c "import json;print('%.1f' % (100*json.load(open('$out/upstream/final/metrics.json'))['top1']))")
echo "upstream (classes 0-4) top-1: $top1 %"
