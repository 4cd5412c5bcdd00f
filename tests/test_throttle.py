"""The sandbox's leaky bucket and cost model, on a virtual clock."""

from __future__ import annotations

import pytest

from bulkmod.sandbox.throttle import (
    BATCH_MODULE_COST,
    POSITION_COST,
    PUBLISH_COST,
    READ_COST,
    WRITE_COST,
    Throttle,
    request_cost,
)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_reserve_then_settle_keeps_only_the_real_cost(clock: Clock) -> None:
    """A request reserves 50, gives it back on settling, and keeps its cost."""
    throttle = Throttle(clock=clock)

    assert throttle.reserve("t")
    assert throttle.remaining("t") == 550.0
    assert throttle.settle("t", 2.0) == 598.0


def test_remaining_includes_other_requests_in_flight(clock: Clock) -> None:
    """Remaining after a settle still holds the reservations of the others."""
    throttle = Throttle(clock=clock)
    for _ in range(3):
        assert throttle.reserve("t")

    # 3 x 50 reserved, one settles at cost 1: 2 x 50 + 1 = 101 counted.
    assert throttle.settle("t", 1.0) == 499.0


def test_eleven_in_flight_from_empty_and_the_twelfth_refused(clock: Clock) -> None:
    """hwm 600, up-front 50: the 12th reservation reaches 600 and is refused."""
    throttle = Throttle(clock=clock)

    allowed = [throttle.reserve("t") for _ in range(12)]

    assert allowed == [True] * 11 + [False]


def test_refusal_is_refunded_and_remaining_can_be_positive(clock: Clock) -> None:
    """A refused request settles too: remaining is then 600 - 550 = 50, not 0."""
    throttle = Throttle(clock=clock)
    for _ in range(11):
        throttle.reserve("t")

    assert not throttle.reserve("t")
    assert throttle.settle("t", 0.0) == 50.0


def test_thirteen_in_flight_at_hwm_700(clock: Clock) -> None:
    """hwm 700: 13 x 50 = 650 is allowed, the 14th (700) is not."""
    throttle = Throttle(hwm=700.0, clock=clock)

    allowed = [throttle.reserve("t") for _ in range(14)]

    assert allowed.count(True) == 13
    assert allowed[-1] is False


def test_bucket_leaks_at_outflow(clock: Clock) -> None:
    """Count 100 leaks 10 a second: 4 seconds later it is 60 before the next add."""
    throttle = Throttle(clock=clock)
    throttle.reserve("t")
    throttle.settle("t", 100.0)

    clock.now += 4.0

    assert throttle.remaining("t") == 540.0
    assert throttle.reserve("t")
    assert throttle.settle("t", 0.0) == 540.0


def test_leak_never_takes_the_count_below_zero(clock: Clock) -> None:
    """After a long idle time the bucket is empty, not negative.

    Count 10 leaks 36000 in an hour; 10 - 36000 + 50 clamps to 0, so even the
    new reservation is swallowed, and the settle (0.5 - 50) clamps to 0 again.
    """
    throttle = Throttle(clock=clock)
    throttle.reserve("t")
    throttle.settle("t", 10.0)

    clock.now += 3600.0

    assert throttle.reserve("t")
    assert throttle.remaining("t") == 600.0
    assert throttle.settle("t", 0.5) == 600.0


def test_leak_is_applied_before_the_clamp(clock: Clock) -> None:
    """Count 10, idle 3 s (leak 30), reserve 50: 10 - 30 + 50 = 30, as Canvas does."""
    throttle = Throttle(clock=clock)
    throttle.reserve("t")
    throttle.settle("t", 10.0)

    clock.now += 3.0
    throttle.reserve("t")

    assert throttle.remaining("t") == 570.0


def test_count_is_clamped_to_maximum(clock: Clock) -> None:
    """A huge cost leaves the count at 800: remaining is 600 - 800 = -200."""
    throttle = Throttle(clock=clock)
    throttle.reserve("t")

    assert throttle.settle("t", 5000.0) == -200.0


def test_a_full_bucket_refuses_until_it_has_leaked(clock: Clock) -> None:
    """Count 560 refuses (560 + 50 >= 600); after 1.1 s (549 + 50 < 600) it admits."""
    throttle = Throttle(clock=clock)
    throttle.reserve("t")
    throttle.settle("t", 560.0)

    assert not throttle.reserve("t")
    throttle.settle("t", 0.0)

    clock.now += 1.1
    assert throttle.reserve("t")


def test_buckets_are_per_key(clock: Clock) -> None:
    """One token's requests do not use another token's quota."""
    throttle = Throttle(clock=clock)
    for _ in range(11):
        throttle.reserve("a")

    assert throttle.reserve("b")
    assert throttle.remaining("b") == 550.0


def test_disabled_throttle_counts_nothing(clock: Clock) -> None:
    """Disabled: every request runs and remaining stays at hwm."""
    throttle = Throttle(enabled=False, clock=clock)

    assert all(throttle.reserve("t") for _ in range(20))
    assert throttle.settle("t", 3.0) == 600.0
    assert throttle.remaining("t") == 600.0


def test_costs_reads_are_cheap() -> None:
    """A GET costs the read cost whatever its parameters."""
    cost = request_cost(
        "GET", "/api/v1/courses/1/modules", {"include": ["items"]}, None
    )

    assert cost == READ_COST


def test_costs_writes_dearer_publish_and_position_dearer_still() -> None:
    """Write < write with published < write with published and position."""
    route = "/api/v1/courses/1/modules/2"
    plain = request_cost("PUT", route, {"module": {"name": "W"}}, None)
    published = request_cost("PUT", route, {"module": {"published": "true"}}, None)
    both = request_cost(
        "PUT", route, {"module": {"published": "1", "position": "2"}}, None
    )

    assert plain == WRITE_COST
    assert published == WRITE_COST + PUBLISH_COST
    assert both == WRITE_COST + PUBLISH_COST + POSITION_COST
    assert READ_COST < plain < published < both


def test_costs_item_position() -> None:
    """An item create with a position pays the position cost."""
    route = "/api/v1/courses/1/modules/2/items"
    params = {"module_item": {"type": "SubHeader", "position": "1"}}

    assert request_cost("POST", route, params, None) == WRITE_COST + POSITION_COST


def test_costs_batch_publish_pays_per_module() -> None:
    """Batch publish of 3 modules: write + publish + 3 x the per-module cost."""
    params = {"event": "publish", "module_ids": ["1", "2", "3"]}
    cost = request_cost("PUT", "/api/v1/courses/1/modules", params, None)

    assert cost == pytest.approx(WRITE_COST + PUBLISH_COST + 3 * BATCH_MODULE_COST)


def test_fixed_cost_overrides_the_model() -> None:
    """A fixed cost is used for every request."""
    assert request_cost("GET", "/api/v1/courses/1/modules", {}, 2.0) == 2.0
    assert request_cost("DELETE", "/api/v1/courses/1/modules/3", {}, 0.0) == 0.0
