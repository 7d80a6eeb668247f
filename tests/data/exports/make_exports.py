"""The classifiers people export, as their converters write them by default (maintainer-run;
outputs committed): scikit-learn pipelines and estimators through skl2onnx, LightGBM and XGBoost
through onnxmltools, trained on scikit-learn's bundled datasets. Nothing is folded or switched off:
ZipMap stays on, scalers stay in the graph, labels stay as the estimator has them (int64, or
strings where the training labels are strings).

Every family (linear, SVM, trees and forests, boosting, naive Bayes, k-neighbours, MLP, pipelines,
LightGBM, XGBoost) has a binary and a multiclass model, and every model whose default export has a
ZipMap also comes as <name>-nozipmap (skl2onnx's options {estimator: {"zipmap": False}},
onnxmltools' zipmap=False): the probability tensor as the graph's output.

For each model: <name>.onnx and an entry in golden.json with the first rows of the held-out split
(as float32, what a caller passes), onnxruntime's probabilities (ZipMap's maps turned into a row
in class order) and label. tests/exports.rs holds the runtime to them.

Environment (pinned): requirements.txt next to this file. A re-run writes the same golden files; a
few .onnx files differ in bytes only (the k-neighbours, LightGBM, XGBoost and MinMaxScaler
converters name some nodes per run), not in what they compute. Seeds: random_state=0 everywhere.
Run: python tests/data/exports/make_exports.py
"""
import json
import pathlib
import warnings

import lightgbm
import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
import skl2onnx
import sklearn
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import DictionaryType, FloatTensorType, StringTensorType
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import (AdaBoostClassifier, ExtraTreesClassifier, GradientBoostingClassifier,
                              GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier)
from sklearn.feature_extraction import DictVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

warnings.filterwarnings("ignore")
HERE = pathlib.Path(__file__).resolve().parent
ROWS = 20


def split(loader, string_labels=False, parity=False):
    data = loader()
    y = data.target % 2 if parity else data.target
    if string_labels:
        y = np.array([str(data.target_names[t]) for t in y])
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, y, test_size=0.25, random_state=0, stratify=y)
    return x_tr.astype(np.float32), x_te.astype(np.float32), y_tr, y_te, data.data.shape[1]


def probabilities(outputs, names, classes):
    """onnxruntime's probabilities as rows in class order, whether ZipMap made maps or not."""
    for value, name in zip(outputs, names):
        if "prob" not in name:
            continue
        if isinstance(value, list):  # ZipMap: one {label: p} per row
            return np.array([[row[c] for c in classes] for row in value], dtype=np.float64)
        return np.asarray(value, dtype=np.float64)
    raise SystemExit(f"no probability output among {names}")


def sklearn_export(model, n_features, dtype=np.float32, zipmap=True):
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if dtype == np.float64 or not zipmap:
        # onnxruntime refuses ZipMap over double probabilities: a double export needs zipmap off.
        return to_onnx(model, np.zeros((1, n_features), dtype=dtype), options={type(final): {"zipmap": False}})
    return to_onnx(model, np.zeros((1, n_features), dtype=dtype))


def onnxmltools_export(model, n_features, kind, zipmap=True):
    initial = [("input", MlFloat([None, n_features]))]
    if kind == "lightgbm":
        return onnxmltools.convert_lightgbm(model, initial_types=initial, zipmap=zipmap)
    return onnxmltools.convert_xgboost(model, initial_types=initial)


def export(estimator, n_features, exporter, zipmap):
    """The ONNX graph and the input type a caller of onnxruntime feeds it."""
    if exporter == "skl":
        return sklearn_export(estimator, n_features, zipmap=zipmap), "float32"
    if exporter == "skl-double":
        return sklearn_export(estimator, n_features, np.float64), "float64"
    if exporter == "skl-int64":  # digits' pixels are whole numbers 0..16
        return sklearn_export(estimator, n_features, np.int64, zipmap=zipmap), "int64"
    return onnxmltools_export(estimator, n_features, exporter, zipmap=zipmap), "float32"


def main():
    breast = split(load_breast_cancer)
    wine = split(load_wine)
    wine_names = split(load_wine, string_labels=True)
    digits = split(load_digits)
    digits_parity = split(load_digits, parity=True)  # binary: odd digit or not
    # categorical features: the first 8 pixels (whole numbers 0..16) one-hot, the rest scaled
    one_hot = lambda: ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), list(range(8))),
                                         ("numbers", StandardScaler(), list(range(8, 64)))])  # noqa: E731
    lgbm = dict(n_estimators=100, random_state=0, verbose=-1)
    xgb = dict(n_estimators=100, random_state=0)
    specs = [
        # name, data, estimator, exporter
        ("logreg-scaler-breast", breast, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), "skl"),
        ("logreg-minmax-wine", wine, make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)), "skl"),
        ("logreg-imputer-names-wine", wine_names,
         make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)), "skl"),
        ("logreg-double-breast", breast, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
         "skl-double"),
        ("logreg-int64-digits", digits, make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
         "skl-int64"),
        ("svc-rbf-breast", breast, make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)), "skl"),
        ("svc-linear-wine", wine,
         make_pipeline(StandardScaler(), SVC(kernel="linear", probability=True, random_state=0)), "skl"),
        ("tree-wine", wine, DecisionTreeClassifier(random_state=0), "skl"),
        ("forest-breast", breast, RandomForestClassifier(n_estimators=100, random_state=0), "skl"),
        ("forest-names-wine", wine_names, RandomForestClassifier(n_estimators=100, random_state=0), "skl"),
        ("gboost-breast", breast, GradientBoostingClassifier(n_estimators=100, random_state=0), "skl"),
        ("gboost-wine", wine, GradientBoostingClassifier(n_estimators=100, random_state=0), "skl"),
        ("histgb-breast", breast, HistGradientBoostingClassifier(random_state=0), "skl"),
        ("gaussiannb-wine", wine, GaussianNB(), "skl"),
        ("kneighbors-wine", wine, make_pipeline(StandardScaler(), KNeighborsClassifier()), "skl"),
        ("mlp-digits", digits, make_pipeline(StandardScaler(), MLPClassifier(max_iter=500, random_state=0)), "skl"),
        ("svc-poly-robust-wine", wine,
         make_pipeline(RobustScaler(), SVC(kernel="poly", probability=True, random_state=0)), "skl"),
        ("svc-sigmoid-breast", breast,
         make_pipeline(StandardScaler(), SVC(kernel="sigmoid", probability=True, random_state=0)), "skl"),
        ("sgd-log-wine", wine, make_pipeline(MaxAbsScaler(), SGDClassifier(loss="log_loss", random_state=0)), "skl"),
        ("pca-logreg-wine", wine,
         make_pipeline(StandardScaler(), PCA(n_components=5, random_state=0), LogisticRegression(max_iter=1000)),
         "skl"),
        ("bernoullinb-breast", breast, make_pipeline(StandardScaler(), BernoulliNB()), "skl"),
        ("multinomialnb-digits", digits, MultinomialNB(), "skl"),
        ("extratrees-wine", wine, ExtraTreesClassifier(n_estimators=50, random_state=0), "skl"),
        ("adaboost-breast", breast, AdaBoostClassifier(n_estimators=50, random_state=0), "skl"),
        ("lightgbm-breast", breast, lightgbm.LGBMClassifier(**lgbm), "lightgbm"),
        ("lightgbm-wine", wine, lightgbm.LGBMClassifier(**lgbm), "lightgbm"),
        ("xgboost-breast", breast, xgboost.XGBClassifier(**xgb), "xgboost"),
        ("xgboost-wine", wine, xgboost.XGBClassifier(**xgb), "xgboost"),
        # the other half of each family's binary/multiclass pair
        ("histgb-wine", wine, HistGradientBoostingClassifier(random_state=0), "skl"),
        ("gaussiannb-breast", breast, GaussianNB(), "skl"),
        ("kneighbors-manhattan-breast", breast,
         make_pipeline(StandardScaler(), KNeighborsClassifier(metric="manhattan")), "skl"),
        ("mlp-breast", breast, make_pipeline(StandardScaler(), MLPClassifier(max_iter=1000, random_state=0)), "skl"),
        ("tree-breast", breast, DecisionTreeClassifier(random_state=0), "skl"),
        ("adaboost-wine", wine, AdaBoostClassifier(n_estimators=50, random_state=0), "skl"),
        # pipelines with categorical columns
        ("onehot-logreg-digits", digits, make_pipeline(one_hot(), LogisticRegression(max_iter=2000)), "skl"),
        ("onehot-forest-parity-digits", digits_parity,
         make_pipeline(one_hot(), RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0)), "skl"),
    ]
    golden = {
        "generator": "tests/data/exports/make_exports.py",
        "versions": {p.__name__: p.__version__ for p in (sklearn, skl2onnx, onnxmltools, lightgbm, xgboost, onnx, ort)},
        "models": {},
    }
    exports = []
    for name, data, estimator, exporter in specs:
        estimator.fit(data[0], data[2])
        onx, input_dtype = export(estimator, data[4], exporter, zipmap=True)
        exports.append((name, data, estimator, exporter, True, onx, input_dtype))
        if any(n.op_type == "ZipMap" for n in onx.graph.node):  # not already without (double input, XGBoost)
            onx, input_dtype = export(estimator, data[4], exporter, zipmap=False)
            exports.append((f"{name}-nozipmap", data, estimator, exporter, False, onx, input_dtype))
    for name, (x_tr, x_te, y_tr, y_te, n_features), estimator, exporter, zipmap, onx, input_dtype in exports:
        path = HERE / f"{name}.onnx"
        onnx.save(onx, str(path))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        rows = x_te[:ROWS]
        feed = rows.astype({"float64": np.float64, "int64": np.int64}.get(input_dtype, np.float32))
        outputs = session.run(None, {session.get_inputs()[0].name: feed})
        classes = list(estimator.classes_)
        probs = probabilities(outputs, names, classes)
        labels = [str(c) for c in classes]
        predicted = [labels[int(np.argmax(p))] for p in probs]
        sk = estimator.predict_proba(feed)
        # Missing values: models whose graph has a rule for NaN (a tree ensemble, a NaN imputer)
        # also get rows with NaN features and onnxruntime's answers to them.
        ops = {n.op_type for n in onx.graph.node}
        missing = None
        # (Not behind a OneHotEncoder: its Cast to integers turns NaN into some category.)
        if ("TreeEnsembleClassifier" in ops or "Imputer" in ops) and "OneHotEncoder" not in ops:
            holes = rows[:4].copy()
            for k, row in enumerate(holes):
                row[[k % n_features, (3 * k + 5) % n_features, (7 * k + 2) % n_features]] = np.nan
            out = session.run(None, {session.get_inputs()[0].name: holes.astype(feed.dtype)})
            missing = {"rows": [[None if np.isnan(v) else float(v) for v in r] for r in holes],
                       "probabilities": [[float(v) for v in p] for p in probabilities(out, names, list(estimator.classes_))]}
        golden["models"][name] = {
            "file": path.name,
            "estimator": type(estimator).__name__ if not hasattr(estimator, "steps")
            else " + ".join(type(s).__name__ for _, s in estimator.steps),
            "converter": "onnxmltools" if exporter in ("lightgbm", "xgboost") else "skl2onnx",
            "zipmap": zipmap,
            "input_dtype": input_dtype,
            "features": n_features,
            "labels": labels,
            "label_type": "string" if isinstance(classes[0], str) else "int64",
            "ops": sorted({n.op_type for n in onx.graph.node}),
            "rows": [[float(v) for v in r] for r in rows],
            "probabilities": [[float(v) for v in p] for p in probs],
            "predicted": predicted,
            "onnxruntime_vs_estimator_max_abs_diff": float(np.abs(probs - sk).max()),
        }
        if missing:
            golden["models"][name]["missing"] = missing
        print(f"{name:28s} {path.stat().st_size:>9d} B  ops {golden['models'][name]['ops']}  "
              f"|ort-sk| {golden['models'][name]['onnxruntime_vs_estimator_max_abs_diff']:.2g}")
    golden["refused"] = refused_exports(breast)
    (HERE / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    (HERE / "golden.txt").write_text(plain_text(golden))


def refused_exports(breast):
    """Exports the runtime refuses at load, each with what its message must name (the operator or
    input, and the way out): a DictVectorizer pipeline (a map input) and a regressor."""
    x_tr, _, y_tr, _, n_features = breast
    rows = [{f"f{j}": float(v) for j, v in enumerate(row[:4])} for row in x_tr]
    dict_pipeline = make_pipeline(DictVectorizer(sparse=False), LogisticRegression(max_iter=1000)).fit(rows, y_tr)
    dict_onnx = convert_sklearn(dict_pipeline, initial_types=[
        ("input", DictionaryType(StringTensorType([1]), FloatTensorType([1])))])
    regressor = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(x_tr, y_tr.astype(np.float32))
    refused = {
        "dictvectorizer-logreg-breast": (dict_onnx, ["DictVectorizer", "FloatTensorType"]),
        "gboost-regressor-breast": (sklearn_export(regressor, n_features), ["TreeEnsembleRegressor", "regressor"]),
    }
    out = {}
    for name, (onx, names) in refused.items():
        onnx.save(onx, str(HERE / f"{name}.onnx"))
        out[name] = {"file": f"{name}.onnx", "message_names": names}
    return out


def plain_text(golden):
    """golden.json for the C ABI test (tests/c/abi_test.c reads it with fscanf): per model
    `model <file> <features> <labels> <rows> <takes NaN 0/1> <input dtype>`, `labels <name>...`, then per row
    `row <onnxruntime's label index> <features...> <probabilities...>` (floats as %.9g)."""
    lines = []
    for entry in golden["models"].values():
        labels = entry["labels"]
        assert all(label and not any(c.isspace() for c in label) for label in labels), labels
        lines.append(f"model {entry['file']} {entry['features']} {len(labels)} {len(entry['rows'])} "
                     f"{int('missing' in entry)} {entry['input_dtype']}")
        lines.append("labels " + " ".join(labels))
        for row, probs, predicted in zip(entry["rows"], entry["probabilities"], entry["predicted"]):
            values = " ".join(f"{v:.9g}" for v in list(row) + list(probs))
            lines.append(f"row {labels.index(predicted)} {values}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
