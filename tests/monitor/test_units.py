"""Duration parsing."""

import pytest

from monitor.units import parse_duration, parse_size


@pytest.mark.parametrize("text,seconds", [("15s", 15), ("2m", 120), ("1h30m", 5400), ("7d", 604800),
                                          ("500ms", 0.5), (30, 30), (1.5, 1.5), ("1w", 604800)])
def test_valid(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "fifteen", "1x", "s", "1h 2", True, None, -5, [1]])
def test_invalid(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text,size", [("512MiB", 512 * 2**20), ("10GB", 10 * 10**9),
                                       ("2GiB", 2 * 2**30), (4096, 4096), ("1.5 KiB", 1536)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "5 parsecs", True, -1, None])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)
