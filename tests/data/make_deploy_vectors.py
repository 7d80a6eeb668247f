"""Generate the A/B assignment and significance vectors for tests/deploy_vectors.rs.

The reference is the seed's own Python: the `ABTest` class and `calculate_significance` function
are read out of the user's guide (../shared/seed/ml-ops-guide.md, section 4) and executed as they
are, so the vectors are what the seed computes, float traps included. Run from the repository root:

    python tests/data/make_deploy_vectors.py [path/to/ml-ops-guide.md]

Needs numpy and scipy (the seed imports them). Writes tests/data/ab_seed_cases.json and
tests/data/significance_cases.json.
"""

import json
import re
import sys
from pathlib import Path

import numpy
import scipy

ROOT = Path(__file__).resolve().parents[2]
GUIDE = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "seed" / "ml-ops-guide.md"


def seed_namespace():
    """Execute the code blocks of the guide's section 4 and return their namespace."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("## 4. A/B Testing for Models")
    end = text.index("## 5.", start)
    blocks = re.findall(r"```python\n(.*?)```", text[start:end], re.S)
    namespace = {}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    return namespace


def main():
    ns = seed_namespace()
    ABTest, Variant, significance = ns["ABTest"], ns["Variant"], ns["calculate_significance"]

    def variant_of(experiment, user, weights):
        test = ABTest(experiment, [Variant(f"v{i}", None, w) for i, w in enumerate(weights)])
        chosen = test.get_variant(user)
        return test.variants.index(chosen)

    import hashlib

    def bucket(experiment, user):
        return (int(hashlib.md5(f"{experiment}:{user}".encode()).hexdigest(), 16) % 1000) / 1000

    weight_sets = [
        [1.0],
        [0.5, 0.5],
        [0.1, 0.2, 0.7],
        [1 / 3, 1 / 3, 1 / 3],
        [0.9, 0.1],
        [0.25, 0.25, 0.25, 0.25],
        [0.0, 1.0],
        [0.7, 0.0, 0.3],
        [0.1] * 10,
        [0.5, 0.4995],
    ]
    cases = []
    users = ["", "0", "user-1", "alice@example.com", "ユーザー", "🔥" * 3, "a" * 300, "x:y:z"]
    users += [f"u{i}" for i in range(400)]
    for experiment in ["exp", "model-v2-rollout", "", "ünïcode"]:
        for weights in weight_sets:
            for user in users[: 120 if experiment == "exp" else 40]:
                cases.append({"experiment": experiment, "user_id": user, "weights": weights,
                              "bucket": bucket(experiment, user), "variant": variant_of(experiment, user, weights)})

    # Float traps: users whose bucket lands exactly on a cumulative boundary.
    traps = []
    for weights, targets in [([0.1, 0.2, 0.7], [0.1, 0.3]), ([1 / 3, 1 / 3, 1 / 3], [0.333, 0.334, 0.666, 0.667])]:
        for target in targets:
            found = 0
            for i in range(200000):
                user = f"trap-{i}"
                if bucket("trap", user) == target:
                    traps.append({"experiment": "trap", "user_id": user, "weights": weights,
                                  "bucket": target, "variant": variant_of("trap", user, weights)})
                    found += 1
                    if found == 3:
                        break
            assert found == 3, (weights, target)
    # 0.1 + 0.2 = 0.30000000000000004 > 0.3, so bucket 0.300 is variant 1 (not 2) in the seed.
    assert [t["variant"] for t in traps if t["weights"] == [0.1, 0.2, 0.7] and t["bucket"] == 0.3] == [1, 1, 1]

    Path(ROOT / "tests/data/ab_seed_cases.json").write_text(json.dumps({
        "generator": "tests/data/make_deploy_vectors.py",
        "reference": "the seed's ABTest.get_variant (ml-ops-guide.md section 4), executed",
        "cases": cases,
        "traps": traps,
    }, indent=0) + "\n")

    sig = []
    grid = [
        (0, 100, 0, 100), (100, 100, 100, 100), (0, 50, 5, 50), (50, 1000, 65, 1000), (120, 1000, 150, 1000),
        (5, 20, 9, 21), (1, 1, 0, 1), (480, 10000, 560, 10000), (3, 1000000, 9, 1000000), (10, 10, 9, 10),
        (200, 400, 180, 400), (1, 3, 2, 3), (12345, 98765, 12000, 90000), (7, 7000, 40, 7000),
    ]
    for cc, ct, tc, tt in grid:
        for level in [0.8, 0.9, 0.95, 0.99, 0.999]:
            r = significance(cc, ct, tc, tt, level)
            sig.append({"args": [cc, ct, tc, tt, level],
                        "control_rate": r["control_rate"], "treatment_rate": r["treatment_rate"],
                        "lift": r["lift"], "lift_percent": r["lift_percent"], "p_value": float(r["p_value"]),
                        "significant": bool(r["significant"]),
                        "ci_lower": float(r["confidence_interval"][0]), "ci_upper": float(r["confidence_interval"][1])})
    Path(ROOT / "tests/data/significance_cases.json").write_text(json.dumps({
        "generator": "tests/data/make_deploy_vectors.py",
        "reference": f"the seed's calculate_significance, executed with scipy {scipy.__version__}, numpy {numpy.__version__}",
        "cases": sig,
    }, indent=0) + "\n")
    print(f"{len(cases)} assignment cases, {len(traps)} traps, {len(sig)} significance cases")


if __name__ == "__main__":
    main()
