# Sourced by the bench scripts: target/bench-venv with onnxruntime (and what the anchor needs),
# and MLE_ORT_DYLIB, the wheel's libonnxruntime.so that benches/common/onnxruntime_c.rs loads.
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# onnx rewrites the ZipMap away for the exports anchor (same work as the runtime serves).
"$venv/bin/pip" install --quiet onnxruntime==1.32.0 tokenizers==0.23.3 numpy==2.4.6 onnx==1.19.1 protobuf==5.29.5
MLE_ORT_DYLIB=$("$venv/bin/python" -c 'import glob, os, onnxruntime
print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))[0])')
export MLE_ORT_DYLIB

# The machine, its CPU flags that matter to the kernels, the commit and the date, for a report.
describe_machine() {
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) vCPUs"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE '\b(avx2|avx512f|avx512_vnni|avx_vnni|fma|f16c)\b' | sort -u | xargs)"
  echo "commit: $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
}
