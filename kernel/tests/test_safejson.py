"""kernel.safejson: JSON that parses in Python but cannot be stored is refused as a ValueError, never a crash."""
import pytest

from kernel import safejson


@pytest.mark.parametrize("raw, unsafe", [
    (rb'{"a": "\u0000"}', True),
    (rb'{"a": "\ud800"}', True),  # a lone high surrogate
    (rb'{"a": "\udc00"}', True),  # a lone low surrogate
    (rb'{"a": "\ud83d"}', True),  # a high surrogate at the end of the text
    (rb'{"a": "\ud83d\\ude00"}', True),  # a high surrogate followed by an escaped backslash, not its low half
    (rb'{"\u0000": 1}', True),  # keys too
    (rb'{"a": "\\\u0000"}', True),  # an escaped backslash, then a real NUL escape
    (rb'{"a": "\ud83d\ude00"}', False),  # a pair: one emoji
    (rb'{"a": "\\ud800 \\u0000"}', False),  # escaped backslashes: the text "\ud800 \u0000", harmless
    (rb'{"a": "\u0e81 \u0041"}', False),  # Lao and ASCII escapes
    (b'{"a": "\xe0\xba\x81"}', False),  # Lao as UTF-8
])
def test_escapes_of_nul_and_lone_surrogates_are_found(raw, unsafe):
    assert safejson.unsafe_escape(raw) is unsafe
    if unsafe:
        with pytest.raises(ValueError):
            safejson.loads(raw)
    else:
        safejson.loads(raw)


def test_deep_nesting_is_a_value_error_not_a_recursion_error():
    with pytest.raises(safejson.UnsafeJson):
        safejson.loads(b"[" * 20_000)
    value = safejson.loads("[" * 100 + "]" * 100)  # ordinary nesting is fine
    for _ in range(99):
        value = value[0]
    assert value == []


def test_parsed_values_with_nul_or_lone_surrogates_are_found_anywhere():
    assert safejson.unsafe_text({"a": [{"b": "x\x00"}]})
    assert safejson.unsafe_text({"a\ud800": 1})
    assert not safejson.unsafe_text({"ຊື່": ["ok 😀", 1, None, {"b": True}]})
