"""Unsubscribe-link minting rate on one core (target: at least 20,000 links a second).

Mints links for generated recipients through the command's own code path (stoplist_cli.links_csv.mint_csv,
CSV in and out, in memory), for numbers written as campaign tools export them: E.164, and French national
format with spaces (which needs phonenumbers). Prints links a second for each, and for the cipher alone.

    python -m bench.links [--count 100000]
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime

from stoplist.domain.links import link_key
from stoplist_cli.links_csv import mint_csv

KEY = "bench-key-0123456789abcdefghijklmnopqrstuvwxyz"
BASE_URL = "https://stop.example.fr"


def recipients(count: int, national: bool) -> str:
    rng = random.Random(7)
    lines = ["prenom,telephone"]
    for index in range(count):
        # Mainland mobiles in allocated ranges (06 0x-2x, 4x-8x; 07 3x-9x), so every row gets a link.
        prefix = rng.choice(["6" + rng.choice("0124678"), "7" + rng.choice("3456789")])
        digits = f"{prefix}{rng.randrange(10**7):07d}"
        number = f"0{digits[0]} {digits[1:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}" if national else f"+33{digits}"
        lines.append(f"r{index},{number}")
    return "\n".join(lines) + "\n"


def rate(text: str) -> tuple[float, int]:
    out = io.StringIO()
    started = time.perf_counter()
    report = mint_csv(io.StringIO(text), out, BASE_URL, KEY)
    return report.minted / (time.perf_counter() - started), report.minted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    link_key(KEY)  # the one key derivation, outside the timing
    key = link_key(KEY)
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    for index in range(args.count):
        key.seal(f"+336{index:08d}", today)
    cipher = args.count / (time.perf_counter() - started)
    print(f"link minting, {args.count} recipients, one core")
    print(f"  {'cipher alone (AES-SIV + base64)':<44}{cipher:>10,.0f} links/s")
    for label, national in (("CSV, numbers in E.164", False), ("CSV, numbers as '06 12 34 56 78'", True)):
        per_second, minted = rate(recipients(args.count, national))
        verdict = "OK" if per_second >= 20_000 else "UNDER TARGET"
        print(f"  {label:<44}{per_second:>10,.0f} links/s  ({minted} minted; target 20,000: {verdict})")


if __name__ == "__main__":
    main()
