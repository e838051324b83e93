"""Retry timing: grows exponentially, is capped, spreads with jitter, honours the portal's reset time."""

from __future__ import annotations

from service.core.backoff import BASE_SECONDS, CAP_SECONDS, MAX_ATTEMPTS, exhausted, retry_delay


def test_delay_doubles_per_attempt_within_jitter_bounds() -> None:
    for attempts in range(6):
        ceiling = BASE_SECONDS * 2**attempts
        assert retry_delay(attempts, 0.0).total_seconds() == ceiling / 2
        assert retry_delay(attempts, 0.999).total_seconds() < ceiling
        assert retry_delay(attempts, 0.5).total_seconds() > ceiling / 2


def test_delay_is_capped() -> None:
    assert retry_delay(40, 0.999).total_seconds() <= CAP_SECONDS


def test_reset_time_is_a_floor() -> None:
    assert retry_delay(0, 0.0, not_before=300.0).total_seconds() == 300.0
    assert retry_delay(8, 0.0, not_before=1.0).total_seconds() > 1.0


def test_gives_up_after_max_attempts() -> None:
    assert not exhausted(MAX_ATTEMPTS - 1)
    assert exhausted(MAX_ATTEMPTS)


def test_the_base_delay_can_be_set_and_still_doubles_per_attempt() -> None:
    assert retry_delay(0, 0.0, base=0.1).total_seconds() == 0.05
    assert retry_delay(3, 0.0, base=0.1).total_seconds() == 0.4
    assert retry_delay(40, 0.999, base=0.1).total_seconds() <= CAP_SECONDS


def test_the_documented_retry_window_is_the_computed_one() -> None:
    from pathlib import Path

    from service.core.backoff import retry_window

    shortest, longest = retry_window()
    assert shortest > 2 * 3600  # outlasts an outage of a couple of hours, not just a blip
    docs = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert f"between {shortest / 3600:.1f} and {longest / 3600:.1f} hours" in docs
    assert f"from {shortest:,.0f} to {longest:,.0f} s after the first failure" in docs
    assert f"After {MAX_ATTEMPTS} tries" in docs
