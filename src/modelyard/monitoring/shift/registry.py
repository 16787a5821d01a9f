"""The drift tests by name, their default thresholds, and the automatic choice.

A p-value test flags drift when p < threshold (0.05); a distance when the score >= threshold
(0.1). The automatic choice follows the rules Evidently's users know: with at most 1,000
reference values, Kolmogorov-Smirnov for a numeric column with over 5 distinct values,
chi-square for one with 3 to 5 and for a categorical one with over 2, the Z-test for 2 or
fewer; above 1,000, the normed Wasserstein distance for numeric columns with over 5 distinct
values and the Jensen-Shannon distance for the rest. Distinct values are counted over both
samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelyard.monitoring.shift import categorical as cat
from modelyard.monitoring.shift import numeric as num

SMALL_REFERENCE = 1_000  # reference values at or below which p-value tests are chosen
FEW_VALUES = 5  # a numeric column with at most this many distinct values is tested by counts


@dataclass(frozen=True)
class DriftTest:
    name: str
    title: str
    p_value: bool  # a test with a p-value, else a distance
    threshold: float
    numeric: Callable[[Any, Any], tuple[float, float | None]] | None  # on sorted values
    counts: Callable[[Any, Any], tuple[float, float | None]] | None  # on category counts

    def drifted(self, score: float, threshold: float) -> bool:
        return score < threshold if self.p_value else score >= threshold

    def verdict(
        self, statistic: float, p: float | None, threshold: float | None
    ) -> tuple[float, float, bool] | None:
        """(score, threshold, drifted): the score is the p-value or the distance; None when
        the test gave no number (never a NaN shown as a score)."""
        score = p if self.p_value else statistic
        limit = self.threshold if threshold is None else float(threshold)
        if score is None or math.isnan(score):
            return None
        return score, limit, self.drifted(score, limit)


TESTS = {
    t.name: t
    for t in (
        DriftTest("ks", "Kolmogorov-Smirnov", True, 0.05, num.ks, None),
        DriftTest(
            "wasserstein", "Wasserstein distance (normed)", False, 0.1, num.wasserstein, None
        ),
        DriftTest("anderson", "Anderson-Darling", True, 0.05, num.anderson, None),
        DriftTest("cramer_von_mises", "Cramér-von Mises", True, 0.05, num.cramer_von_mises, None),
        DriftTest(
            "psi", "Population stability index", False, 0.1, num.psi_numeric, cat.psi_categorical
        ),
        DriftTest(
            "jensenshannon",
            "Jensen-Shannon distance",
            False,
            0.1,
            num.jensenshannon_numeric,
            cat.jensenshannon_categorical,
        ),
        DriftTest("chisquare", "chi-square", True, 0.05, None, cat.chisquare),
        DriftTest("z", "Z-test for proportions", True, 0.05, None, cat.z),
        DriftTest(
            "total_variation",
            "total variation distance",
            False,
            0.1,
            None,
            cat.total_variation_categorical,
        ),
    )
}


def choose(kind: str, reference_values: int, distinct: int) -> str:
    """The test for a column of ``kind`` ("numeric" or "categorical")."""
    few = kind == "categorical" or distinct <= FEW_VALUES
    if reference_values <= SMALL_REFERENCE:
        if not few:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    return "jensenshannon" if few else "wasserstein"
