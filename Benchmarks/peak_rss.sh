#!/usr/bin/env bash
# Peak resident memory of Kiln and ONNX Runtime on the same models, each in a fresh process.
#
#   Benchmarks/peak_rss.sh DIR [MODEL ...]
#
# DIR holds <model>.kiln and <model>.onnx (for instance the --workdir of Benchmarks/compare.py);
# MODEL defaults to the six benchmark models. Kiln: `kiln-bench <model>.kiln --threads T
# --iterations 10` (load, the self-test probe, warm-up, 10 timed inferences). ORT: a Python process
# that creates an InferenceSession (intra-op threads T) and runs 10 inferences on a random input of
# the model's input shape. Both peaks come from GNU time's "Maximum resident set size". Each is also
# shown minus its baseline (kiln-bench on a one-op model; Python with numpy and onnxruntime
# imported), the part the model itself costs.
#
# Environment: KILN_BENCH (default .build/release/kiln-bench), PYTHON (default the venv's python,
# else python3), THREADS (default "1 2").
set -euo pipefail
dir=${1:?usage: Benchmarks/peak_rss.sh DIR [MODEL ...]}
shift
models=${*:-resnet18 resnet50 mobilenet_v2 mobilenet_v3_large efficientnet_b0 squeezenet1_1}
bench=${KILN_BENCH:-.build/release/kiln-bench}
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
threads=${THREADS:-1 2}
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

# Peak RSS in MB of a command.
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident/ { printf "%.0f", $6 / 1024 }'; }

ort_run='
import sys, numpy as np, onnx, onnxruntime as ort
path, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if runs == 0: sys.exit(0)
o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
i = s.get_inputs()[0]
shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
x = np.random.rand(*shape).astype(np.float32)
for _ in range(runs): s.run(None, {i.name: x})
'

# Baselines: kiln-bench on a one-op model made here; Python with the same imports and no session.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" - "$tmp/one.onnx" <<'EOF'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "one",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]); m.ir_version = 8
onnx.save(m, sys.argv[1])
EOF
"$py" -c "import sys; from kiln_export.cli import main; sys.exit(main())" "$tmp/one.onnx" -o "$tmp/one.kiln" >/dev/null
kiln0=$(rss "$bench" "$tmp/one.kiln" --threads 1 --iterations 3)
ort0=$(rss "$py" -c "$ort_run" "$tmp/one.onnx" 1 0)
echo "baselines: kiln-bench on a one-op model ${kiln0} MB; $py with numpy, onnx and onnxruntime imported ${ort0} MB"
echo
echo "| model | threads | Kiln peak MB (minus baseline) | ORT peak MB (minus baseline) | Kiln/ORT |"
echo "| --- | --- | --- | --- | --- |"
for m in $models; do
    for t in $threads; do
        k=$(rss "$bench" "$dir/$m.kiln" --threads "$t" --iterations 10)
        o=$(rss "$py" -c "$ort_run" "$dir/$m.onnx" "$t" 10)
        echo "| $m | $t | $k ($((k - kiln0))) | $o ($((o - ort0))) | $(awk -v a="$k" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
    done
done
