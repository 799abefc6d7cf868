"""Number normalisation for the snapshot: the fast path against the full parse, in one run.

A million-entry stop list is mostly canonical mainland E.164 (``+336…``, ``+337…``): those take the fast path
(one regular expression); everything else (overseas numbers, national spellings, odd entries) goes through
phonenumbers and the overseas check. Both are timed in the same process, rounds interleaved, best of each,
so the ratio holds on a noisy machine.

    python -m bench.phone [--count 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from stoplist.domain.phone import provider_e164


def best_seconds(run: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    prefixes = ("6", "73", "74", "75", "76", "77", "78")  # mainland mobiles
    canonical = []
    for index in range(args.count):
        prefix = prefixes[index % len(prefixes)]
        width = 9 - len(prefix)
        canonical.append(f"+33{prefix}{index % 10**width:0{width}d}")
    count = args.count // 50
    national = [f"06{index % 10**8:08d}" for index in range(count)]  # mainland, typed nationally
    overseas = [f"0692{index % 10**6:06d}" for index in range(count)]  # Réunion, typed at home

    def normalise(numbers: list[str]) -> Callable[[], object]:
        return lambda: [provider_e164(number, "FR") for number in numbers]

    provider_e164(overseas[0], "FR")  # phonenumbers' import and metadata load are not part of the rate
    fast = best_seconds(normalise(canonical), args.rounds) / len(canonical)
    mainland = best_seconds(normalise(national), args.rounds) / len(national)
    far = best_seconds(normalise(overseas), args.rounds) / len(overseas)
    print(f"fast path            {fast * 1e9:9.0f} ns/number  ({len(canonical):,} canonical mainland mobiles)")
    print(f"full parse, mainland {mainland * 1e9:9.0f} ns/number  ({count:,} mainland mobiles typed 06...)")
    print(f"full parse, overseas {far * 1e9:9.0f} ns/number  ({count:,} Reunion mobiles typed 0692...)")
    print(f"ratios to the fast path: mainland parse {mainland / fast:.1f}x, overseas parse {far / fast:.1f}x")


if __name__ == "__main__":
    main()
