"""The leaky-bucket arithmetic, and the share of the portal's bucket our limiter may use."""

from __future__ import annotations

import pytest

from service.core.bitrix.leaky import Bucket, take, usable_burst


def test_a_new_bucket_lets_exactly_burst_requests_through_at_once_then_one_per_drain() -> None:
    bucket, granted = Bucket(0.0, 100.0), 0
    while True:
        bucket, wait = take(bucket, 2.0, 10, 100.0)
        if wait > 0:
            break
        granted += 1
    assert granted == 10
    assert wait == pytest.approx(0.5)
    assert take(bucket, 2.0, 10, 100.5)[1] == 0.0


@pytest.mark.parametrize(
    ("rate", "burst", "usable"),
    [(2.0, 50, 48), (5.0, 250, 245), (2.0, 10, 8), (0.5, 10, 9), (2.0, 2, 1), (2.0, 1, 1)],
)
def test_usable_burst_keeps_a_second_of_delivery_jitter_as_headroom(
    rate: float, burst: int, usable: int
) -> None:
    assert usable_burst(rate, burst) == usable
