"""Regenerates significance.json: SciPy's `wilcoxon` and `friedmanchisquare`,
scikit-posthocs' `posthoc_nemenyi_friedman` (with the Nemenyi critical difference from
SciPy's studentized range, the distribution scikit-posthocs uses) and statsmodels' Holm
adjustment, on inputs shaped like per-series forecast errors, for trendlab's significance
tests (framework/stats).

Inputs are drawn with numpy's PCG64 (seeded) and rounded, so that some cases hold ties
and zero differences: Wilcoxon's exact (n <= 50, no ties or zeros), permutation (n <= 13
with ties or zeros) and normal (otherwise) branches are all exercised.

Usage (from this folder): python3 make_significance.py > significance.json
Needs: scipy, scikit-posthocs, statsmodels (numpy, pandas).
"""
import json
import numpy as np
import scipy
import scipy.stats as ss
import scikit_posthocs
import statsmodels
from scikit_posthocs import posthoc_nemenyi_friedman
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(20261129)


def errors(n, scale=1.0):
    """Per-series errors: a series' difficulty times noise (a gamma, MASE-like)."""
    return rng.gamma(2.0, 0.5, n) * scale


wilcoxon_cases = []
def paired(name, d):
    r = ss.wilcoxon(d)
    wilcoxon_cases.append({"name": name, "d": [float(v) for v in d],
                           "statistic": float(r.statistic), "p_value": float(r.pvalue)})

paired("exact n=8", np.round(rng.normal(0.3, 1.0, 8), 6))
paired("exact n=30", np.round(rng.normal(0.2, 1.0, 30), 6))
paired("exact n=50", np.round(rng.normal(-0.1, 1.0, 50), 6))
paired("permutation n=10 ties and zeros", np.array([0.5, -0.5, 1.0, 0.0, 2.0, 1.0, -3.0, 0.5, 0.0, 4.0]))
paired("permutation n=13 ties", np.round(rng.normal(0.4, 1.0, 13), 0) + 0.5)
paired("normal n=40 ties", np.round(rng.normal(0.2, 1.0, 40), 1))
x = errors(600)
paired("normal n=600 same distribution", np.round(x * rng.lognormal(0, 0.1, 600) - x * rng.lognormal(0, 0.1, 600), 4))
paired("normal n=600 shifted 5%", np.round(x * 1.05 * rng.lognormal(0, 0.1, 600) - x * rng.lognormal(0, 0.1, 600), 4))
paired("normal n=51 no ties", rng.normal(0.1, 1.0, 51))

friedman_cases = []
def ranked(name, blocks, alpha=0.05):
    blocks = np.asarray(blocks)
    n, k = blocks.shape
    r = ss.friedmanchisquare(*blocks.T)
    ranks = ss.rankdata(blocks, axis=1).mean(axis=0)
    q = ss.studentized_range.isf(alpha, k, np.inf) / np.sqrt(2.0)
    cd = q * np.sqrt(k * (k + 1) / (6.0 * n))
    nemenyi = posthoc_nemenyi_friedman(blocks).to_numpy()
    differ = np.abs(ranks[:, None] - ranks[None, :]) > cd
    assert ((nemenyi < alpha) == differ).all(), "CD and pairwise p-values disagree"
    friedman_cases.append({"name": name, "blocks": blocks.tolist(), "alpha": alpha,
                           "statistic": float(r.statistic), "p_value": float(r.pvalue),
                           "mean_ranks": ranks.tolist(), "critical_difference": float(cd),
                           "nemenyi_p": nemenyi.tolist()})

base = errors(40)
ranked("k=3 n=40", np.column_stack([base * rng.lognormal(0, 0.2, 40) * f for f in (1.0, 1.1, 1.3)]))
base = errors(200)
ranked("k=5 n=200 with ties", np.round(np.column_stack(
    [base * rng.lognormal(0, 0.3, 200) * f for f in (1.0, 1.0, 1.05, 1.2, 1.5)]), 1))
base = errors(600)
ranked("k=7 n=600 alpha 0.1", np.column_stack(
    [base * rng.lognormal(0, 0.2, 600) * f for f in (1.0, 1.01, 1.02, 1.1, 1.1, 1.3, 2.0)]), alpha=0.1)

p = rng.uniform(0, 0.2, 9)
p[3] = 0.0004
holm = {"p": p.tolist(), "adjusted": multipletests(p, method="holm")[1].tolist()}

json.dump({
    "versions": {"scipy": scipy.__version__, "scikit-posthocs": scikit_posthocs.__version__,
                 "statsmodels": statsmodels.__version__, "numpy": np.__version__},
    "wilcoxon": wilcoxon_cases, "friedman": friedman_cases, "holm": holm,
}, fp=__import__("sys").stdout, indent=1)
