"""Build models/digits-mlp and models/breast-cancer-logreg from scikit-learn's bundled datasets.

Both have a StandardScaler in front in sklearn; tract does not run skl2onnx's Scaler (MODELS.md
pitfall 3), so the scaler is folded into the first linear layer before conversion:
  W' = W / s (per input feature),  b' = b - (mu / s) @ W.
Exported with skl2onnx (zipmap off), batch dimension symbolic.
"""
import pathlib

import numpy as np
import onnxruntime as ort
import sklearn
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import common


def fold_scaler(scaler, weight, bias):
    s = scaler.scale_
    return weight / s[:, None], bias - (scaler.mean_ / s) @ weight


def export(name, clf, n_features, labels, acc, dataset, description, x_golden, y_golden, sk_proba, note):
    out = common.MODELS / name
    out.mkdir(parents=True, exist_ok=True)
    onx = to_onnx(clf, np.zeros((1, n_features), dtype=np.float32), options={id(clf): {"zipmap": False}},
                  target_opset={"": 17, "ai.onnx.ml": 3})
    onx.graph.input[0].name  # 'X'
    common.set_card(onx, {
        "mle.card_version": "1",
        "name": name,
        "version": "1.0.0",
        "trained_at": common.now_utc(),
        "description": description,
        "input_kind": "tensor",
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "output_name": "probabilities",
        "postprocess": "identity",
        "metrics": {"accuracy": round(acc, 4), "dataset": dataset},
        "license": "BSD-3-Clause",
        "source": f"scikit-learn=={sklearn.__version__} bundled dataset, trained by models/build/build_tabular.py",
    })
    common.save_model(onx, out / "model.onnx")
    sess = ort.InferenceSession(str(out / "model.onnx"))
    cases, max_diff = [], 0.0
    for x, y, ref in zip(x_golden, y_golden, sk_proba):
        probs = sess.run(["probabilities"], {"X": x[None, :].astype(np.float32)})[0][0]
        max_diff = max(max_diff, float(np.abs(probs - ref).max()))
        cases.append({"input": common.floats(x.astype(np.float32)), "true_label": int(y),
                      "probabilities": common.floats(probs), "label_index": int(np.argmax(probs))})
    print(f"{name}: accuracy {acc:.4f}, onnx vs sklearn max |diff| {max_diff:.2g} on {len(cases)} rows")
    common.write_golden(out / "golden.json", name, pathlib.Path(__file__).name, cases)
    common.write_provenance(out / "PROVENANCE.md", f"{name}: provenance and licences", f"""
{description}. Built by `models/build/build_tabular.py` with scikit-learn=={sklearn.__version__}.

Data: scikit-learn's bundled dataset ({dataset}); BSD-3-Clause (scikit-learn) / UCI.
{note}
Held-out accuracy {acc:.4f}; onnxruntime vs sklearn predict_proba max |diff| {max_diff:.2g} on the
{len(cases)} golden rows (the first {len(cases)} rows of the held-out split, raw unscaled features).
""", [("model.onnx", out / "model.onnx"), ("golden.json", out / "golden.json")])


def digits():
    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.25, random_state=0,
                                              stratify=data.target)
    scaler = StandardScaler().fit(x_tr)
    mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0).fit(scaler.transform(x_tr), y_tr)
    acc = float((mlp.predict(scaler.transform(x_te)) == y_te).mean())
    sk_proba = mlp.predict_proba(scaler.transform(x_te[:60]))
    w0, b0 = fold_scaler(scaler, mlp.coefs_[0], mlp.intercepts_[0])
    mlp.coefs_[0], mlp.intercepts_[0] = w0, b0
    export("digits-mlp", mlp, 64, [str(d) for d in range(10)], acc,
           f"sklearn load_digits, stratified 25% held out ({len(y_te)} rows, random_state=0)",
           "Handwritten digit classifier: MLP (64 hidden, relu) on 8x8 images as 64 floats in 0..16",
           x_te[:60], y_te[:60], sk_proba,
           "The StandardScaler is folded into the first layer (MODELS.md pitfall 3).")


def breast_cancer():
    data = load_breast_cancer()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.25, random_state=0,
                                              stratify=data.target)
    scaler = StandardScaler().fit(x_tr)
    lr = LogisticRegression(max_iter=5000).fit(scaler.transform(x_tr), y_tr)
    acc = float((lr.predict(scaler.transform(x_te)) == y_te).mean())
    sk_proba = lr.predict_proba(scaler.transform(x_te[:60]))
    w, b = fold_scaler(scaler, lr.coef_.T, lr.intercept_)
    lr.coef_, lr.intercept_ = w.T.copy(), b
    export("breast-cancer-logreg", lr, 30, ["malignant", "benign"], acc,
           f"sklearn load_breast_cancer, stratified 25% held out ({len(y_te)} rows, random_state=0)",
           "Breast cancer diagnosis: logistic regression on the 30 real Wisconsin features",
           x_te[:60], y_te[:60], sk_proba,
           "The StandardScaler is folded into the coefficients. Feature order: " + ", ".join(data.feature_names) + ".")
    # The real data, for the drift demo and tests (features of the held-out rows, unscaled).
    np.savetxt(common.MODELS / "breast-cancer-logreg" / "heldout.csv", x_te, delimiter=",", fmt="%.6g",
               header=",".join(data.feature_names), comments="")


if __name__ == "__main__":
    digits()
    breast_cancer()
