"""Build models/profanity-tfidf: alt-profanity-check's TF-IDF + calibrated LinearSVC as ONNX.

The sklearn pipeline: TfidfVectorizer(lowercase, token_pattern (?u)\\b\\w\\w+\\b, english stop words,
norm l2, smooth idf) -> CalibratedClassifierCV(LinearSVC, sigmoid, 5 folds, averaged).

Tokenisation moves into a WordLevel tokenizer.json (lowercase, split on non-word runs; words of one
character and words outside the 15,442-term vocabulary map to [UNK], whose idf is 0). The graph
takes input_ids/attention_mask [B, S] and computes exactly the sklearn function:
  numerator_k = sum_j mask_j * idf[id_j] * w_k[id_j]            (Gather of a precomputed table)
  ||tfidf||^2 = sum_{j,l} [id_j == id_l] * m_j idf[id_j] * m_l idf[id_l]   (an S x S equality matrix,
                 which counts repeated terms without a vocabulary-sized one-hot)
  d_k = numerator_k / ||tfidf|| + c_k ;  p = mean_k sigmoid(-(a_k d_k + b_k)) ;  out = [1 - p, p]
"""
import pathlib
import re

import joblib
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

import common

NAME = "profanity-tfidf"
OUT = common.MODELS / NAME
DATA = common.CACHE / "alt-profanity-check/profanity_check/data"
MAX_LEN = 256
UNK = "[UNK]"


def build_tokenizer(vocab_terms):
    vocab = {term: i for i, term in enumerate(vocab_terms)}
    vocab[UNK] = len(vocab_terms)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    # Python's re \w is str.isalnum() or "_": letters and numbers, not marks. Spelled out as
    # classes so that every regex engine (onig in Python, fancy-regex in the runtime) agrees.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[^\p{L}\p{N}_]+"), behavior="removed")
    return tok


def build_graph(idf, svcs, calib):
    n_terms = idf.shape[0]
    k = len(svcs)
    idf_table = np.concatenate([idf, [0.0]]).astype(np.float32)           # [V+1], unk -> 0
    w = np.stack([s.coef_[0] for s in svcs], axis=1)                     # [V, K]
    w_table = np.concatenate([idf[:, None] * w, np.zeros((1, k))]).astype(np.float32)  # [V+1, K]
    c = np.array([s.intercept_[0] for s in svcs], dtype=np.float32)
    a = np.array([cal.a_ for cal in calib], dtype=np.float32)
    b = np.array([cal.b_ for cal in calib], dtype=np.float32)
    inits = [
        numpy_helper.from_array(idf_table, "idf_table"),
        numpy_helper.from_array(w_table, "weighted_idf_table"),
        numpy_helper.from_array(c, "svc_intercept"),
        numpy_helper.from_array(-a, "neg_calib_a"),
        numpy_helper.from_array(-b, "neg_calib_b"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes12"),
        numpy_helper.from_array(np.array(1e-30, dtype=np.float32), "tiny"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["idf_table", "input_ids"], ["tok_idf"], axis=0),
        helper.make_node("Mul", ["tok_idf", "mask_f"], ["tok_idf_m"]),                 # [B,S]
        helper.make_node("Gather", ["weighted_idf_table", "input_ids"], ["tok_w"], axis=0),  # [B,S,K]
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask_3d"]),
        helper.make_node("Mul", ["tok_w", "mask_3d"], ["tok_w_m"]),
        helper.make_node("ReduceSum", ["tok_w_m", "axis1"], ["numerator"], keepdims=0),  # [B,K]
        helper.make_node("Unsqueeze", ["input_ids", "axis2"], ["ids_col"]),            # [B,S,1]
        helper.make_node("Unsqueeze", ["input_ids", "axis1"], ["ids_row"]),            # [B,1,S]
        helper.make_node("Equal", ["ids_col", "ids_row"], ["same_term"]),              # [B,S,S]
        helper.make_node("Cast", ["same_term"], ["same_term_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["tok_idf_m", "axis2"], ["idf_col"]),
        helper.make_node("Unsqueeze", ["tok_idf_m", "axis1"], ["idf_row"]),
        helper.make_node("Mul", ["same_term_f", "idf_col"], ["pair_a"]),
        helper.make_node("Mul", ["pair_a", "idf_row"], ["pair"]),
        helper.make_node("ReduceSum", ["pair", "axes12"], ["norm_sq"], keepdims=0),     # [B]
        helper.make_node("Unsqueeze", ["norm_sq", "axis1"], ["norm_sq_2d"]),           # [B,1]
        helper.make_node("Sqrt", ["norm_sq_2d"], ["norm"]),
        helper.make_node("Max", ["norm", "tiny"], ["norm_safe"]),
        helper.make_node("Div", ["numerator", "norm_safe"], ["tfidf_dot"]),
        helper.make_node("Add", ["tfidf_dot", "svc_intercept"], ["decision"]),          # [B,K]
        helper.make_node("Mul", ["decision", "neg_calib_a"], ["calib_ad"]),
        helper.make_node("Add", ["calib_ad", "neg_calib_b"], ["calib_z"]),
        helper.make_node("Sigmoid", ["calib_z"], ["calib_p"]),                          # [B,K]
        helper.make_node("ReduceMean", ["calib_p", "axis1"], ["p_profane"], keepdims=1),  # [B,1]
        helper.make_node("Sub", ["one", "p_profane"], ["p_clean"]),
        helper.make_node("Concat", ["p_clean", "p_profane"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "profanity_tfidf",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def sample_texts():
    """Real, varied texts: the package's own README lines and synthetic sentences, plus profanity probes."""
    readme = common.CACHE / "alt-profanity-check/alt_profanity_check-1.9.1.dist-info/METADATA"
    lines = [l.strip() for l in readme.read_text(errors="replace").splitlines() if len(l.strip()) > 20]
    probes = ["you are a damn idiot", "what the hell is this shit", "have a lovely day",
              "Go to hell, you stupid bastard!", "I love my cat", "fuck fuck fuck fuck",
              "This is the best restaurant in town.", "shut up you moron", "Thanks for your help!",
              "", "!!!", "a b c d", "\U0001F525" * 100, "<script>alert('xss')</script>",
              "The QUICK brown fox, the quick brown FOX.", "idiot" * 3 + " idiot idiot",
              "x" * 5000, "ass", "Assassin's Creed is a game", "naïve café façade",
              "cafe\u0301 with a combining accent", "emoji \U0001F9D1\u200d\U0001F4BB\ufe0f joined", "digits 42 and ٣٤ arabic"]
    return probes + lines[:60]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    vec = joblib.load(DATA / "vectorizer.joblib")
    clf = joblib.load(DATA / "model.joblib")
    terms = [None] * len(vec.vocabulary_)
    for term, i in vec.vocabulary_.items():
        terms[i] = term
    cal = clf.calibrated_classifiers_
    svcs = [c.estimator for c in cal]
    calib = [c.calibrators[0] for c in cal]
    model = build_graph(vec.idf_, svcs, calib)
    tok = build_tokenizer(terms)
    tok.save(str(OUT / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LEN)

    texts = sample_texts()
    # The tokenizer must see exactly the terms sklearn's analyzer sees (UNK carries idf 0).
    analyzer = vec.build_analyzer()
    for text in texts:
        want = [vec.vocabulary_[w] for w in analyzer(text) if w in vec.vocabulary_]
        got = [i for i in tok.encode(text).ids if i != len(terms)]
        assert want == got or len(want) > MAX_LEN, f"tokenizer and sklearn disagree on {text!r}"
    sess = ort.InferenceSession(model.SerializeToString())
    diffs, agree, cases = [], 0, []
    expected = clf.predict_proba(vec.transform(texts))
    for text, ref in zip(texts, expected):
        enc = tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        if ids.shape[1] == 0:  # the runtime feeds one [UNK] for an input without tokens
            ids = np.array([[len(terms)]], dtype=np.int64)
        probs = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        exact = len(re.findall(r"(?u)\b\w\w+\b", text.lower())) <= MAX_LEN
        if exact:
            diffs.append(float(np.abs(probs - ref).max()))
            agree += int(np.argmax(probs) == np.argmax(ref))
        cases.append({"text": text, "input_ids": [int(i) for i in ids[0]], "probabilities": common.floats(probs),
                      "label_index": int(np.argmax(probs)), "sklearn_probabilities": common.floats(ref)})
    n_exact = len(diffs)
    print(f"onnx vs sklearn over {n_exact} texts: max |diff| {max(diffs):.3g}, label agreement {agree}/{n_exact}")

    common.set_card(model, {
        "mle.card_version": "1",
        "name": NAME,
        "version": "1.9.1",
        "trained_at": "2026-09-14",
        "trained_at_source": "date of model.joblib inside the alt-profanity-check 1.9.1 wheel",
        "description": "Profanity detector: alt-profanity-check TF-IDF + calibrated LinearSVC (15,442 terms)",
        "input_kind": "text",
        "id2label": {"0": "CLEAN", "1": "PROFANE"},
        "output_name": "probabilities",
        "postprocess": "identity",
        "max_sequence_length": str(MAX_LEN),
        "sequence_buckets": "16,32,64,128,256",
        "tokenizer": "tokenizer.json",
        "metrics": {"max_abs_diff_vs_sklearn": max(diffs), "label_agreement_vs_sklearn": agree / n_exact,
                    "dataset": f"{n_exact} texts (models/profanity-tfidf/golden.json)"},
        "license": "MIT",
        "source": "alt-profanity-check==1.9.1 profanity_check/data/{model,vectorizer}.joblib",
    })
    common.save_model(model, OUT / "model.onnx")
    final = ort.InferenceSession(str(OUT / "model.onnx"))
    for case in cases:
        ids = np.array([case["input_ids"]], dtype=np.int64)
        again = final.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        assert np.allclose(again, case["probabilities"], atol=0, rtol=0)
    common.write_golden(OUT / "golden.json", NAME, pathlib.Path(__file__).name, cases,
                        {"max_sequence_length": MAX_LEN, "unk_id": len(terms)})
    common.write_provenance(OUT / "PROVENANCE.md", f"{NAME}: provenance and licences", f"""
Profanity detector on text. Labels 0 = CLEAN, 1 = PROFANE. Built by
`models/build/build_profanity_tfidf.py` (after `models/build/fetch_sources.sh`).

| what | package (PyPI) | file in the wheel | licence |
|---|---|---|---|
| TF-IDF vocabulary and idf | alt-profanity-check==1.9.1 | profanity_check/data/vectorizer.joblib (sha256 {common.sha256_file(DATA / 'vectorizer.joblib')}) | MIT |
| calibrated LinearSVC (5 folds) | alt-profanity-check==1.9.1 | profanity_check/data/model.joblib (sha256 {common.sha256_file(DATA / 'model.joblib')}) | MIT |

Unpickling needs scikit-learn==1.9.1. The converted graph is exact arithmetic on the same
parameters in float32: max |ONNX - sklearn predict_proba| = {max(diffs):.3g} over {n_exact} texts,
label agreement {agree}/{n_exact}. Texts with more than {MAX_LEN} terms are truncated by the runtime
(sklearn sees all of them); golden.json keeps sklearn's answer beside onnxruntime's for every case.
The tokenizer splits on `[^\\p{{L}}\\p{{N}}_]+` (Python's `\\w` is letters, numbers and `_`,
not combining marks), so onig (Python tokenizers) and fancy-regex (the runtime) agree with sklearn.
""", [("model.onnx", OUT / "model.onnx"), ("tokenizer.json", OUT / "tokenizer.json"),
      ("golden.json", OUT / "golden.json")])


if __name__ == "__main__":
    main()
