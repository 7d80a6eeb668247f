"""Model files: every shipped model has its files, their sha256 matches PROVENANCE.md, and its
golden file holds at least 50 real inputs made with onnxruntime. Standard library only.
"""
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ["minilm-l3-promptinj", "minilm-l3-promptinj-int8", "profanity-tfidf", "magika", "digits-mlp",
          "breast-cancer-logreg"]
TEXT = {"minilm-l3-promptinj", "minilm-l3-promptinj-int8", "profanity-tfidf"}


def main():
    for name in MODELS:
        folder = ROOT / "models" / name
        provenance = (folder / "PROVENANCE.md").read_text()
        for needed in ["licence", "sha256"]:
            assert needed in provenance.lower(), f"{name}: PROVENANCE.md does not mention {needed}"
        rows = re.findall(r"^\| ([^|]+?) \| (\d+) \| `([0-9a-f]{64})` \|$", provenance, re.M)
        listed = {file for file, _, _ in rows}
        expected = {"model.onnx", "golden.json"} | ({"tokenizer.json"} if name in TEXT else set())
        assert expected <= listed, f"{name}: PROVENANCE.md lists {sorted(listed)}, missing {sorted(expected - listed)}"
        for file, size, digest in rows:
            data = (folder / file).read_bytes()
            assert len(data) == int(size), f"{name}/{file}: {len(data)} bytes, PROVENANCE.md says {size}"
            actual = hashlib.sha256(data).hexdigest()
            assert actual == digest, f"{name}/{file}: sha256 {actual} != PROVENANCE.md {digest}"
        golden = json.loads((folder / "golden.json").read_text())
        assert golden["reference"].startswith("onnxruntime"), f"{name}: golden not from onnxruntime"
        assert len(golden["cases"]) >= 50, f"{name}: {len(golden['cases'])} golden cases"
        assert (ROOT / golden["generator"]).is_file(), f"{name}: generator {golden['generator']} missing"
        print(f"{name}: {len(rows)} files match PROVENANCE.md, {len(golden['cases'])} golden cases")


if __name__ == "__main__":
    main()
