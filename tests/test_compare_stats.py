"""compare's statistics: Benjamini-Hochberg as the paper gives it, and its weighted form."""

from __future__ import annotations

import pytest

from dist_bench.compare_stats import benjamini_hochberg, family_weights


def test_benjamini_hochberg_gives_the_papers_answer() -> None:
    # Benjamini and Hochberg (1995), section 4.1: 15 p-values, q = 0.05, four rejected.
    p_values = [0.0201, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298, 0.0344]
    p_values += [0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0]
    rejected = benjamini_hochberg(p_values, 0.05)
    assert [p for p, r in zip(p_values, rejected, strict=True) if r] == [
        0.0001,
        0.0004,
        0.0019,
        0.0095,
    ]
    # Each alone at 0.05 would have called nine.
    assert sum(p <= 0.05 for p in p_values) == 9
    assert benjamini_hochberg([], 0.05) == []


def test_weights_move_the_budget_and_keep_its_total() -> None:
    # Three families of 9, 3 and 3 tests: each holds a third of the weight, which averages 1.
    weights = family_weights([9, 3, 3])
    assert len(weights) == 15 and sum(weights) == pytest.approx(15)
    assert weights[0] == pytest.approx(5 / 9) and weights[-1] == pytest.approx(5 / 3)
    assert family_weights([4, 0, 2]) == pytest.approx([0.75] * 4 + [1.5] * 2)
    # A p-value of 0.005 among 15 is not called unweighted (rank 1 needs 0.05 / 15)...
    p_values = [0.5] * 14 + [0.005]
    assert not any(benjamini_hochberg(p_values, 0.05))
    # ...and is with its family's weight (0.005 / (5/3) = 0.003 <= 0.0033); equal weights
    # give back the unweighted answer.
    assert benjamini_hochberg(p_values, 0.05, weights) == [False] * 14 + [True]
    paper = [0.0201, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298, 0.0344]
    paper += [0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0]
    assert benjamini_hochberg(paper, 0.05, [1.0] * 15) == benjamini_hochberg(paper, 0.05)
