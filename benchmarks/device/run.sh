#!/usr/bin/env bash
# The GPU references (fast_cnn with airbench's tricks, and ResNet-9) on Keras 3's JAX backend,
# on a bare machine without TensorFlow, e.g. the project's accelerator machine:
#
#   bash benchmarks/device/fetch-wheels          # here, once: wheels in .whl/, data in .device-data/
#   bash benchmarks/device/run.sh                # there (carry .whl and .device-data); result in $OUT
#
# Steps, each timed in the log: install the wheels of .whl/ (Keras and the small packages the
# machine lacks) into /tmp/site, when PYTHON has no Keras; decode the offline CIFAR-10 copy of .device-data/ (unless
# CIFAR10_DIR is set); train each recipe of RECIPES (default both): gpu-airbench (fast_cnn at
# airbench94's widths with its tricks, 16 epochs, TTA level 2 at the end: the goal is 94% in
# 10 s of training) and gpu-reference (ResNet-9, 18 epochs, flip TTA); write each JSON record
# (benchmarks/train.py's format) to OUT. Settings (environment): RECIPES, EPOCHS (overrides each
# recipe's), OUT (benchmarks/results), TRAIN_SIZE / TEST_SIZE (stratified subsets, for a quick
# check), PYTHON.
# tests/test_device_command.py runs this same script on a CPU with a tiny budget.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
python="${PYTHON:-python3}"
epochs="${EPOCHS:-18}"
out="${OUT:-benchmarks/results}"
mkdir -p "${out}"
say() { echo "[device $(( $(date +%s) - t0 )) s] $*"; }

has_keras() { "${python}" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("keras") is None)'; }
if ! has_keras && compgen -G ".whl/*.whl" >/dev/null; then
  "${python}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:${PYTHONPATH}}"
  say "wheels installed: $(ls .whl | tr '\n' ' ')"
fi
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"

if [ -z "${CIFAR10_DIR:-}" ]; then
  if [ ! -f .device-data/cifar10_offline.py ]; then
    echo "no CIFAR-10: set CIFAR10_DIR, or run benchmarks/device/fetch-wheels first (.device-data/)" >&2
    exit 2
  fi
  CIFAR10_DIR="$("${python}" .device-data/cifar10_offline.py /tmp/cifar10-offline)"
  export CIFAR10_DIR
  say "data decoded: ${CIFAR10_DIR}"
fi

"${python}" -c 'import jax, keras; print("keras", keras.__version__, "| backend", keras.backend.backend(), "| devices", jax.devices())'
subsets=()
[ -n "${TRAIN_SIZE:-}" ] && subsets+=(--train-size "${TRAIN_SIZE}")
[ -n "${TEST_SIZE:-}" ] && subsets+=(--test-size "${TEST_SIZE}")
for recipe in ${RECIPES:-gpu-airbench gpu-reference}; do
  case "${recipe}" in
    gpu-airbench) epochs="${EPOCHS:-16}"; tta=(--tta-level 2) ;;  # helpers.training.GPU_FAST_RECIPE
    gpu-reference) epochs="${EPOCHS:-18}"; tta=(--tta) ;;  # helpers.training.GPU_RECIPE
    *) echo "unknown recipe ${recipe}: choose gpu-airbench or gpu-reference" >&2; exit 2 ;;
  esac
  result="${out}/${recipe//-/_}_${epochs}ep_jax.json"
  "${python}" -m benchmarks.train "${recipe}" --epochs "${epochs}" "${tta[@]}" "${subsets[@]}" --out "${result}"
  say "done: ${result}"
  "${python}" -c "
import json, sys
r = json.load(open(sys.argv[1]))
s = r['summary']
tta = {k: v for k, v in r.items() if k.endswith('test_accuracy') and k != 'test_accuracy'}
print(r['recipe'], '| final test acc', s['final_test_accuracy'], '| TTA', tta, '| time to 94%', s['time_to'].get('94%'),
      '| train_s', s['train_s'], '| compile_s_estimate', s['compile_s_estimate'],
      '| median images/s', s['median_images_per_s'], '| precision', r.get('precision'))
" "${result}"
done
