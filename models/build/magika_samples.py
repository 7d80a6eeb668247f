"""Writes the sample files that models/magika/golden.json is made from (all authored or generated here).

Each sample is a real file of its type (a program that compiles, an image that decodes, an archive
that unpacks); none is copied from elsewhere.
"""
import bz2
import csv
import gzip
import io
import json
import lzma
import random
import struct
import tarfile
import zipfile
import zlib


def png(width=16, height=16, seed=1):
    rnd = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rnd.randrange(256) for _ in range(width * 3)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(width=8, height=8):
    row = b"".join(bytes((x * 30 % 256, y * 30 % 256, 128)) for x in range(width) for y in [0])
    pad = (4 - (width * 3) % 4) % 4
    pixels = b"".join(row + b"\x00" * pad for _ in range(height))
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def gif():
    # 1x1 transparent GIF89a, written field by field
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"!\xf9\x04\x01\x00\x00\x00\x00" + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00" + b"\x02\x02D\x01\x00;")


def pdf():
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"]
    stream = b"BT /F1 12 Tf 20 100 Td (libmlops_edge sample) Tj ET"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{o}\nendobj\n".encode())
    offsets.append(out.tell())
    out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 5\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def wav(seconds=0.05, rate=8000):
    n = int(seconds * rate)
    data = b"".join(struct.pack("<h", int(8000 * ((i * 440 // rate) % 2 * 2 - 1))) for i in range(n))
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


PY = '''"""Running statistics over a stream of numbers."""
import math
from dataclasses import dataclass


@dataclass
class Welford:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def push(self, x: float) -> None:
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)

    @property
    def stddev(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0


if __name__ == "__main__":
    w = Welford()
    for value in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]:
        w.push(value)
    print(f"mean={w.mean:.3f} stddev={w.stddev:.3f}")
'''

C = '''#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\\n' || c == '\\t' || c == '\\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\\n", words);
    return EXIT_SUCCESS;
}
'''

CPP = '''#include <iostream>
#include <map>
#include <string>
#include <vector>

// Groups words by their first letter and prints each group.
int main() {
    std::vector<std::string> words{"apple", "avocado", "banana", "blueberry", "cherry"};
    std::map<char, std::vector<std::string>> groups;
    for (const auto &word : words) {
        groups[word.front()].push_back(word);
    }
    for (const auto &[letter, members] : groups) {
        std::cout << letter << ':';
        for (const auto &m : members) std::cout << ' ' << m;
        std::cout << '\\n';
    }
    return 0;
}
'''

RUST = '''use std::collections::HashMap;

/// Counts how often each word appears in a text.
fn word_counts(text: &str) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

fn main() {
    let counts = word_counts("the cat and the hat and the bat");
    let mut pairs: Vec<_> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (word, n) in pairs {
        println!("{word}: {n}");
    }
}
'''

JS = '''// Debounce: call fn only after `wait` ms without another call.
function debounce(fn, wait) {
  let timer = null;
  return function (...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  };
}

const log = debounce((msg) => console.log(`saved: ${msg}`), 200);
document.querySelector('#editor').addEventListener('input', (event) => {
  log(event.target.value);
});
module.exports = { debounce };
'''

JAVA = '''package sample;

import java.util.ArrayList;
import java.util.List;

/** A fixed-capacity stack of integers. */
public final class IntStack {
    private final int[] items;
    private int size;

    public IntStack(int capacity) {
        items = new int[capacity];
    }

    public void push(int value) {
        if (size == items.length) {
            throw new IllegalStateException("stack is full");
        }
        items[size++] = value;
    }

    public int pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return items[--size];
    }

    public List<Integer> toList() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < size; i++) out.add(items[i]);
        return out;
    }
}
'''

GO = '''package main

import (
	"fmt"
	"sort"
	"strings"
)

// main prints the distinct letters of a sentence in order.
func main() {
	sentence := "the quick brown fox jumps over the lazy dog"
	seen := map[rune]bool{}
	for _, r := range strings.ReplaceAll(sentence, " ", "") {
		seen[r] = true
	}
	letters := make([]string, 0, len(seen))
	for r := range seen {
		letters = append(letters, string(r))
	}
	sort.Strings(letters)
	fmt.Println(strings.Join(letters, ""))
}
'''

HTML = '''<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Device status</title>
  <link rel="stylesheet" href="style.css">
</head>
<body>
  <header><h1>Device status</h1></header>
  <main>
    <table id="metrics">
      <thead><tr><th>Metric</th><th>Value</th></tr></thead>
      <tbody>
        <tr><td>p95 latency</td><td>4.2 ms</td></tr>
        <tr><td>requests</td><td>10,240</td></tr>
      </tbody>
    </table>
    <p>Last updated <time datetime="2026-11-01T10:00">1 November</time>.</p>
  </main>
  <script src="app.js"></script>
</body>
</html>
'''

CSS = '''/* Layout for the status page */
:root {
  --fg: #1d2433;
  --accent: #2f6fed;
}

body {
  margin: 0;
  font-family: system-ui, sans-serif;
  color: var(--fg);
}

header h1 {
  font-size: 1.5rem;
  padding: 1rem 2rem;
  border-bottom: 2px solid var(--accent);
}

table#metrics td:last-child {
  text-align: right;
  font-variant-numeric: tabular-nums;
}
'''

XML = '''<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns="urn:example:catalog">
  <book id="b1">
    <title>Operating Models on Small Devices</title>
    <author>R. Example</author>
    <year>2024</year>
    <price currency="EUR">39.00</price>
  </book>
  <book id="b2">
    <title>Statistics for Monitoring</title>
    <author>K. Sample</author>
    <year>2021</year>
    <price currency="EUR">25.50</price>
  </book>
</catalog>
'''

YAML = '''# Deployment settings for the classifier service
service:
  name: text-classifier
  replicas: 3
  resources:
    cpu: "500m"
    memory: 256Mi
rollout:
  stages: [10, 25, 50, 100]
  requests_per_stage: 500
alerts:
  latency_p95_warning: 0.5
  latency_p95_critical: 1.0
  confidence_drop_warning: 0.1
'''

MARKDOWN = '''# Release notes

## 1.2.0

- **Faster start-up**: models are optimised once at load time.
- Drift detection now uses the two-sample Kolmogorov-Smirnov test.
- Fixed a crash when the input text was empty.

## 1.1.0

1. Added A/B variants with deterministic assignment.
2. Added the `health` call.

See [the guide](docs/guide.md) for details, or run:

```sh
cargo run --example demo
```
'''

SHELL = '''#!/bin/sh
# Rotate log files: keep the newest five.
set -eu
dir=${1:-/var/log/sample}
cd "$dir"
for f in $(ls -1t *.log 2>/dev/null | tail -n +6); do
    echo "removing $f"
    rm -f -- "$f"
done
gzip -9 -- *.log.1 2>/dev/null || true
echo "done"
'''

SQL = '''-- Daily request counts per model version
CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY,
    model_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    latency_ms REAL NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

SELECT model_version,
       date_trunc('day', created_at) AS day,
       count(*) AS requests,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
FROM requests
WHERE created_at > now() - interval '7 days'
GROUP BY model_version, day
ORDER BY day, model_version;
'''

LATEX = r'''\documentclass{article}
\usepackage{amsmath}
\title{A Note on the Kolmogorov--Smirnov Statistic}
\begin{document}
\maketitle
\section{Definition}
For two samples with empirical distribution functions $F_n$ and $G_m$,
\begin{equation}
  D_{n,m} = \sup_x \left| F_n(x) - G_m(x) \right|.
\end{equation}
The null hypothesis is rejected at level $\alpha$ when $D_{n,m}$ exceeds the critical value.
\end{document}
'''

INI = '''[server]
host = 127.0.0.1
port = 8080
workers = 4

[model]
path = models/minilm-l3-promptinj
max_sequence_length = 128

[logging]
level = info
file = /var/log/classifier.log
'''

TOML = '''[package]
name = "sample"
version = "0.3.1"
edition = "2021"

[dependencies]
serde = { version = "1", features = ["derive"] }
anyhow = "1"

[profile.release]
lto = true
codegen-units = 1
'''

MAKEFILE = '''CC ?= cc
CFLAGS ?= -O2 -Wall -Wextra
OBJS = main.o util.o

all: wordcount

wordcount: $(OBJS)
\t$(CC) $(CFLAGS) -o $@ $(OBJS)

%.o: %.c
\t$(CC) $(CFLAGS) -c -o $@ $<

clean:
\trm -f wordcount $(OBJS)

.PHONY: all clean
'''

TEXT = '''The monitoring loop runs on the device itself. Every request leaves one small record
behind: how long it took, what the model answered and how sure it was. When the host asks,
those records are summarised into percentiles and compared with a baseline taken when the
model was known to be healthy. If the answers drift, an alert is raised, and the host decides
what to do about it: roll back, notify someone, or simply keep watching.
'''


def csv_text(rows=40, seed=3):
    rnd = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["timestamp", "device", "latency_ms", "label", "confidence"])
    for i in range(rows):
        w.writerow([f"2026-11-01T10:{i:02d}:00Z", f"dev-{rnd.randrange(100):03d}", f"{rnd.uniform(1, 9):.2f}",
                    rnd.choice(["BENIGN", "INJECTION"]), f"{rnd.uniform(0.5, 1):.4f}"])
    return out.getvalue()


def json_text(seed=4):
    rnd = random.Random(seed)
    doc = {"device": "dev-042", "model": {"name": "minilm-l3-promptinj", "version": "1.0.0"},
           "latency_ms": {"p50": 3.1, "p95": 4.4, "p99": 6.0},
           "labels": [{"label": rnd.choice(["BENIGN", "INJECTION"]), "score": round(rnd.random(), 4)} for _ in range(20)]}
    return json.dumps(doc, indent=2) + "\n"


def svg():
    return '''<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">
  <rect x="1" y="1" width="118" height="38" rx="6" fill="#2f6fed" stroke="#1d2433"/>
  <text x="60" y="25" font-family="sans-serif" font-size="14" text-anchor="middle" fill="#fff">p95 4.2ms</text>
</svg>
'''


def samples():
    """(file name, bytes) of every sample, deterministic."""
    text_files = {
        "stats.py": PY, "wordcount.c": C, "groups.cpp": CPP, "counts.rs": RUST, "debounce.js": JS,
        "IntStack.java": JAVA, "letters.go": GO, "status.html": HTML, "style.css": CSS,
        "catalog.xml": XML, "deploy.yaml": YAML, "NOTES.md": MARKDOWN, "rotate.sh": SHELL,
        "report.sql": SQL, "ks.tex": LATEX, "server.ini": INI, "package.toml": TOML, "Makefile": MAKEFILE,
        "monitoring.txt": TEXT, "requests.csv": csv_text(), "status.json": json_text(), "badge.svg": svg(),
        "requests.tsv": csv_text(30, 5).replace(",", "\t"),
    }
    out = [(name, body.encode()) for name, body in text_files.items()]
    # Variants: the same kinds with other content and sizes (long files exercise the end features).
    out += [("stats_long.py", (PY * 20).encode()), ("wordcount_long.c", (C * 12).encode()),
            ("requests_long.csv", csv_text(400, 9).encode()), ("status_long.json", json_text(11).encode() * 3),
            ("padded.txt", b"\n\n   \t" * 300 + TEXT.encode() + b"   \n" * 500),
            ("crlf.txt", TEXT.replace("\n", "\r\n").encode()),
            ("counts_long.rs", (RUST * 10).encode()), ("status_long.html", (HTML * 6).encode()),
            ("Grouping.java", JAVA.replace("IntStack", "Grouping").encode() * 4)]
    rnd = random.Random(7)
    random_bytes = bytes(rnd.randrange(256) for _ in range(6000))
    out += [("image.png", png()), ("image_big.png", png(64, 64, 2)), ("image.bmp", bmp()), ("image.gif", gif()),
            ("doc.pdf", pdf()), ("tone.wav", wav()),
            ("random.bin", random_bytes), ("zeros.bin", bytes(3000)),
            ("text.gz", gzip.compress((TEXT * 20).encode(), mtime=0)),
            ("text.bz2", bz2.compress((TEXT * 20).encode())),
            ("text.xz", lzma.compress((TEXT * 20).encode())),
            ("tiny.txt", b"hi\n"), ("empty.bin", b""), ("one_line.txt", b"just one short line of text\n")]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in list(text_files.items())[:5]:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body)
    out.append(("sources.zip", zbuf.getvalue()))
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, body in list(text_files.items())[5:10]:
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            t.addfile(info, io.BytesIO(data))
    out.append(("sources.tar", tbuf.getvalue()))
    # Unicode and mixed-language text
    out += [("greeting_de.txt", "Grüße aus München! Schöne Straße, übermäßig große Äpfel.\n".encode() * 5),
            ("greeting_ja.txt", "こんにちは、世界。今日はいい天気ですね。\n".encode() * 5),
            ("script_inline.html", b"<html><body><script>alert('xss')</script></body></html>\n"),
            ("data.jsonl", b"".join(json.dumps({"id": i, "ok": i % 3 != 0}).encode() + b"\n" for i in range(50)))]
    return out
