"""compare's statistics: Benjamini-Hochberg as the paper gives it."""

from __future__ import annotations

from dist_bench.compare_stats import benjamini_hochberg


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
