"""RFC 3339 formatting of millisecond timestamps (the cached fast path equals datetime's)."""

import random

from reservoir.lib.clock import rfc3339, to_datetime, to_ms


def test_rfc3339_matches_datetime_formatting() -> None:
    rng = random.Random(7)
    samples = [0, 1, 999, 1_000, -1, -1_001, 1_763_877_184_999]
    samples += [rng.randrange(-(10**12), 4 * 10**12) for _ in range(2_000)]
    for ms in samples:
        expected = to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        assert rfc3339(ms) == expected, ms
        assert to_ms(to_datetime(ms)) == ms
