"""The public strategies produce what they promise."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.strategies import (
    ENTRY_SIZES,
    HOSTILE_EXAMPLES,
    case_variant,
    case_variants,
    encoded_size,
    entries,
    hostile_keys,
    machine_entries,
    realistic_keys,
    session_keys,
    stores,
)
from reference_store import normalize_key, sanitize_key, unsanitize_key

FEW = settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    # Generating 150 KB entries is slow on a loaded machine; that is not a failure.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def is_valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sessionId"), str)
        and isinstance(entry.get("updatedAt"), int)
    )


@pytest.mark.parametrize("size", sorted(ENTRY_SIZES))
def test_entries_have_the_spec_fields_and_their_size(size: str) -> None:
    @FEW
    @given(entries(size))
    def check(entry: dict[str, Any]) -> None:
        assert is_valid_entry(entry)
        assert entry["deliveryContext"]["channel"] == entry["lastChannel"]
        target = ENTRY_SIZES[size]
        if target:
            assert {"origin", "skillsSnapshot", "systemPromptReport"} <= set(entry)
            assert target * 0.95 <= encoded_size(entry) <= target * 1.05

    check()


@FEW
@given(realistic_keys())
def test_realistic_keys_have_upstream_shapes(key: str) -> None:
    assert key.startswith("agent:") and key == normalize_key(key)


@FEW
@given(hostile_keys())
def test_hostile_keys_are_valid_and_survive_the_seed_file_name(key: str) -> None:
    assert key.strip() and "\x00" not in key
    key.encode("utf-8")  # no lone surrogates
    assert unsanitize_key(sanitize_key(key)) == key
    assert "/" not in sanitize_key(key) and "\\" not in sanitize_key(key)


def test_hostile_examples_cover_the_spec_hazards() -> None:
    joined = "".join(HOSTILE_EXAMPLES)
    for needle in ("%", ":", "/", "\\", ".."):
        assert needle in joined
    assert any(len(k.encode("utf-8")) > 255 for k in HOSTILE_EXAMPLES)
    assert any(not k.isascii() for k in HOSTILE_EXAMPLES)


@FEW
@given(session_keys(), st.data())
def test_case_variants_share_the_normal_form(key: str, data: st.DataObject) -> None:
    variant = data.draw(case_variants(key))
    assert normalize_key(variant) == normalize_key(key)
    if any(ch.upper() != ch.lower() for ch in key) and variant == key:
        # Only letters whose swapped case changes the normal form ("ß") stay put.
        assert case_variant(key, 1).strip().lower() == key.strip().lower()


def test_case_variant_differs_when_a_letter_can_flip() -> None:
    assert case_variant("agent:main", 0) == "Agent:main"
    assert case_variant("agent:main", 0b10) == "aGent:main"
    assert case_variant("1234", 5) == "1234"


@FEW
@given(stores(case_duplicates=True, max_entries=4))
def test_stores_with_case_duplicates(store: dict[str, Any]) -> None:
    assert all(is_valid_entry(e) for e in store.values())


@FEW
@given(machine_entries())
def test_machine_entries_are_valid(entry: dict[str, Any]) -> None:
    assert is_valid_entry(entry)
