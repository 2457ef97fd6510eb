"""Key normal form and file names: seed ``sanitize_key`` and hardened ``keyed_file_name``."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reference_store import keyed_file_name, normalize_key, sanitize_key, unsanitize_key

# Text biased towards the characters the encoding is about, plus anything else.
key_text = st.text(
    alphabet=st.one_of(st.sampled_from("%:/\\3AaFfCc25 ."), st.characters(codec="utf-8")),
    max_size=40,
)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("agent:main:telegram:direct:12345", "agent%3Amain%3Atelegram%3Adirect%3A12345"),
        (
            "agent:main:slack:channel:c1:thread:123.456",
            "agent%3Amain%3Aslack%3Achannel%3Ac1%3Athread%3A123.456",
        ),
        ("a/b", "a%2Fb"),
        ("a\\b", "a%5Cb"),
        ("100%", "100%25"),
        ("a%3Ab", "a%253Ab"),  # already-encoded text is encoded again, not kept
        ("%25", "%2525"),
        ("%%", "%25%25"),
        ("agent:ops:main", "agent%3Aops%3Amain"),
        ("Zoë:日本", "Zoë%3A日本"),  # only % : / \ are encoded
        ("", ""),
    ],
)
def test_sanitize_examples_round_trip(key: str, name: str) -> None:
    assert sanitize_key(key) == name
    assert unsanitize_key(name) == key


@pytest.mark.parametrize("key", ["a%3Ab", "%25", "%253A", "a%2Fb%5Cc", "%3a"])
def test_already_encoded_text_is_not_decoded_twice(key: str) -> None:
    encoded = sanitize_key(key)
    assert unsanitize_key(encoded) == key
    assert unsanitize_key(sanitize_key(encoded)) == encoded


def test_unsanitize_accepts_lower_case_escapes() -> None:
    assert unsanitize_key("a%3ab%2fc%5cd") == "a:b/c\\d"


@given(key_text)
@example("a%3Ab")
@example("%25")
@example("%%3A:")
def test_sanitize_round_trips_without_separators(key: str) -> None:
    name = sanitize_key(key)
    assert unsanitize_key(name) == key
    assert "/" not in name
    assert "\\" not in name
    assert ":" not in name


@pytest.mark.parametrize(
    ("key", "normal"),
    [
        ("agent:main:Telegram:direct:X", "agent:main:telegram:direct:x"),
        ("  agent:ops:main \n", "agent:ops:main"),
        ("AGENT:MAIN", "agent:main"),
        ("agent:main", "agent:main"),
    ],
)
def test_normal_form_is_trimmed_lower_case(key: str, normal: str) -> None:
    assert normalize_key(key) == normal


# --- hardened file names --------------------------------------------------------------------
SAFE_NAME = re.compile(r"^(~[0-9a-f]{64}|(?:[a-z0-9._-]|%[0-9A-F]{2})+)\.json$")


def test_case_and_whitespace_variants_share_one_keyed_file() -> None:
    name = keyed_file_name("agent:main:telegram:direct:x")
    assert keyed_file_name("agent:main:Telegram:direct:X") == name
    assert keyed_file_name("  AGENT:MAIN:TELEGRAM:DIRECT:X ") == name
    assert name == "agent%3Amain%3Atelegram%3Adirect%3Ax.json"


@pytest.mark.parametrize(
    "key",
    [
        "x" * 300,  # encoded name beyond the 255-byte limit
        "日" * 60,  # 180 UTF-8 bytes, 540 once percent-encoded
        "con",  # Windows reserved names
        "NUL",
        "com1.txt",
        ".hidden",  # leading dot
    ],
)
def test_unsafe_keyed_names_are_hashed(key: str) -> None:
    name = keyed_file_name(key)
    assert re.fullmatch(r"~[0-9a-f]{64}\.json", name), name
    assert keyed_file_name(key.upper()) == name


def test_distinct_normal_forms_get_distinct_hashed_names() -> None:
    assert keyed_file_name("x" * 300) != keyed_file_name("x" * 301)


@given(key_text)
@example("x" * 300)
@example("CON")
def test_keyed_names_are_safe_everywhere(key: str) -> None:
    name = keyed_file_name(key)
    assert SAFE_NAME.match(name), name
    assert len(name.encode()) <= 255
    assert keyed_file_name(normalize_key(key)) == name
    assert keyed_file_name(f" {key.upper()} ") == keyed_file_name(key.upper())


@given(key_text, key_text)
def test_keyed_names_differ_when_normal_forms_differ(a: str, b: str) -> None:
    if normalize_key(a) != normalize_key(b):
        assert keyed_file_name(a) != keyed_file_name(b)
