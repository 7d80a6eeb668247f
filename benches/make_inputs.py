"""Writes benches/inputs.json: real texts grouped by the sequence bucket they fall in, for the
criterion benches and the onnxruntime anchor (both read the same file).

Texts come from the S-Labs test split shipped in models/minilm-l3-promptinj/data; texts for the
long buckets are runs of consecutive rows joined by spaces. Needs the `tokenizers` package.
"""
import csv
import json
import pathlib

from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUCKETS = [16, 32, 64, 128]
PER_BUCKET = 40


def texts():
    with open(ROOT / "models/minilm-l3-promptinj/data/s-labs-test.csv", newline="") as f:
        rows = [r["text"] for r in csv.DictReader(f)]
    yield from rows
    for width in (3, 6, 10):
        for start in range(0, len(rows) - width, width * 7):
            yield " ".join(rows[start:start + width])


def bucket_of(n):
    return next((b for b in BUCKETS if n <= b), None)


def main():
    out = {}
    for model in ["minilm-l3-promptinj", "profanity-tfidf"]:
        tok = Tokenizer.from_file(str(ROOT / "models" / model / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        groups = {str(b): [] for b in BUCKETS}
        for text in texts():
            n = len(tok.encode(text).ids)
            b = bucket_of(n)
            # Keep texts that fill their bucket's upper half, so each bucket is a distinct length.
            if b and n > b // 2 and len(groups[str(b)]) < PER_BUCKET:
                groups[str(b)].append(text)
        out[model] = groups
        print(model, {b: len(v) for b, v in groups.items()})
    (ROOT / "benches/inputs.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
