"""Where a store lives, and the settings read with it."""

from __future__ import annotations

import pytest

from learningloop.errors import BadInputError
from learningloop.locations import StoreLocation, connect_timeout


@pytest.mark.parametrize(("setting", "seconds"), [(None, 5), ("", 5), (" 12 ", 12), ("3600", 3600)])
def test_the_connect_timeout_is_whole_seconds(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, seconds: int
) -> None:
    if setting is None:
        monkeypatch.delenv("LEARNINGLOOP_CONNECT_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("LEARNINGLOOP_CONNECT_TIMEOUT", setting)
    assert connect_timeout() == seconds
    url = StoreLocation.resolve("postgresql://u@h:5432/d")
    assert url.postgres.env()["POSTGRES_CONNECT_TIMEOUT"] == str(seconds)


@pytest.mark.parametrize("setting", ["abc", "1e999", "2.5", "0", "-5", "3601", "9" * 5_000])
def test_any_other_connect_timeout_is_one_line(
    monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    # "abc" and "1e999" were tracebacks when a server could not be reached
    monkeypatch.setenv("LEARNINGLOOP_CONNECT_TIMEOUT", setting)
    with pytest.raises(BadInputError, match="must be a whole number of seconds from 1 to 3600"):
        connect_timeout()
