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
