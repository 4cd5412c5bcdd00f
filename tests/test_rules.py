"""Canvas's rules: positions, prerequisites, requirements, type names."""

from bulkmod import rules


def test_insert_at_moves_up_shifting_the_range_down() -> None:
    """Moving A from 1 to 3 in [A1,B2,C3] gives B1, C2, A3."""
    assert rules.insert_at({"A": 1, "B": 2, "C": 3}, "A", 3) == {"B": 1, "C": 2, "A": 3}


def test_insert_at_moves_down_shifting_the_range_up() -> None:
    """Moving item 5 to 2 shifts 2..4 by +1 and leaves 1 alone."""
    positions = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    assert rules.insert_at(positions, 5, 2) == {2: 3, 3: 4, 4: 5, 5: 2}


def test_insert_at_same_place_changes_nothing() -> None:
    """insert_at to the current position is a no-op."""
    assert rules.insert_at({"A": 1, "B": 2}, "B", 2) == {}


def test_insert_at_beyond_end_is_not_clamped() -> None:
    """A target past the end is stored as given; rows between shift -1."""
    assert rules.insert_at({"A": 1, "B": 2, "C": 3}, "A", 10) == {
        "B": 1,
        "C": 2,
        "A": 10,
    }


def test_insert_at_outside_the_list_pushes_rows_at_or_after_target() -> None:
    """A row with no position pushes every row at >= target down one."""
    changes = rules.insert_at({"A": 1, "B": 2, "C": None}, "C", 2)
    assert changes == {"B": 3, "C": 2}


def test_insert_at_zero_shifts_the_rows_before() -> None:
    """position "abc" reads as 0: moving C(3) to 0 shifts rows in [0, 2] by +1."""
    changes = rules.insert_at({"A": 1, "B": 2, "C": 3}, "C", rules.to_i("abc"))
    assert changes == {"A": 2, "B": 3, "C": 0}


def test_remove_from_list_compacts_later_rows() -> None:
    """Removing B(2) from [1,2,3,5] moves 3 and 5 up one and nulls B."""
    changes = rules.remove_from_list({"A": 1, "B": 2, "C": 3, "D": 5}, "B")
    assert changes == {"B": None, "C": 2, "D": 4}


def test_next_position_ignores_gaps_and_nulls() -> None:
    """A new row goes one past the highest position, or to 1 in an empty list."""
    assert rules.next_position([1, 4, None]) == 5
    assert rules.next_position([]) == 1


def test_place_new_item_shifts_only_when_the_slot_is_taken() -> None:
    """Live [1,3,4,5]: create at 3 shifts to [1,4,5,6]; create at 2 shifts none."""
    live = {10: 1, 11: 3, 12: 4, 13: 5}
    assert rules.place_new_item(live, 3) == (3, {11: 4, 12: 5, 13: 6})
    assert rules.place_new_item(live, 2) == (2, {})
    assert rules.place_new_item(live, 9) == (9, {})
    assert rules.place_new_item(live, None) == (6, {})


def test_prerequisites_must_come_first() -> None:
    """Prerequisites at the same or a later position are dropped."""
    positions = {1: 1, 2: 2, 3: 3}
    assert rules.valid_prerequisites([1, 3, 2], positions, 2) == [1]


def test_missing_prerequisite_counts_as_position_zero() -> None:
    """A prerequisite no longer among live modules survives as position 0."""
    assert rules.valid_prerequisites([99], {1: 1}, 1) == [99]
    assert rules.valid_prerequisites([99], {1: 0}, 0) == []


def test_scoring_requirements_need_a_gradable_item() -> None:
    """min_score is kept on quizzes, dropped on pages; must_view always kept."""
    assert rules.requirement_kept("min_score", rules.is_gradable("Quiz", False))
    assert not rules.requirement_kept("min_score", rules.is_gradable("Page", False))
    assert not rules.requirement_kept(
        "must_submit", rules.is_gradable("Discussion", False)
    )
    assert rules.requirement_kept("must_submit", rules.is_gradable("Discussion", True))
    assert rules.requirement_kept("must_view", False)
    assert not rules.requirement_kept("bogus", True)


def test_normalise_requirement_stores_float_threshold() -> None:
    """min_score "7" is stored as 7.0; thresholds of other types are dropped."""
    assert rules.normalise_requirement({"type": "min_score", "min_score": "7"}) == {
        "type": "min_score",
        "min_score": 7.0,
    }
    assert rules.normalise_requirement({"type": "must_view", "min_score": 3}) == {
        "type": "must_view"
    }


def test_type_names_map_both_ways() -> None:
    """Export class names and API type names are each other's inverse."""
    assert rules.API_TYPE_FOR_EXPORT["Quizzes::Quiz"] == "Quiz"
    assert rules.API_TYPE_FOR_EXPORT["ContextModuleSubHeader"] == "SubHeader"
    for api, export in rules.EXPORT_TYPE_FOR_API.items():
        assert rules.API_TYPE_FOR_EXPORT[export] == api


def test_ruby_readings_of_values() -> None:
    """to_i reads leading digits, to_bool Canvas's words, api_ids plain ids."""
    assert [rules.to_i(v) for v in ("12abc", "abc", "", " -3", 4.9, None)] == [
        12,
        0,
        0,
        -3,
        4,
        0,
    ]
    assert [rules.to_bool(v) for v in ("1", "true", "on", "yes", "0", "no", None)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert rules.api_ids(["1", "x", 7, "sis_module_id:2", "12345678901234567890"]) == [
        1,
        7,
    ]
    assert rules.requirement_type(1, True) == "one"
    assert rules.requirement_type(None, True) == "all"
