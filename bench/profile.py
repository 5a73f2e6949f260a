"""Where ``ledger serve``'s CPU goes under ``bench.service``'s load: a py-spy sampling profile (raw, collapsed
stacks) summed into the parts the service is made of.

    python -m bench.service --rates 200 --seconds 20 --overload 0 --profile /tmp/serve.raw
    python -m bench.profile /tmp/serve.raw

py-spy samples only the thread holding the GIL (``--gil``) in serve and its children, so the shares say what
the interpreter spends its time on; a sample belongs to one part, the first of ``PARTS`` found in its stack.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

#: (part, markers), most specific first: a sample belongs to the first part one of whose markers appears in one
#: of its stack's frames (py-spy names a frame ``function (short/path.py:line)``).
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging (structlog, JSON lines)", ("structlog/", "(ledger/logs.py", " (logs.py")),
    ("card-number scan of the command", ("(ledger/cards.py", " (cards.py")),
    ("gateway simulator (its own SQLite)", ("gateway_simulator.py",)),
    ("aggregate loads from the store", ("LedgerStore.account ", "Repository.get ")),
    ("writing events (store.save, group commit)", ("group_commit.py", "LedgerStore.save ")),
    ("request decode + validation", ("api.py:5", "api.py:6", "_single_keys")),
    ("deciding a command (the rest: handlers, aggregates)", ("handle_command ",)),
    ("emails worker: Maildir delivery", ("mailers.py",)),
    ("worker inbox (SQLite claims)", ("inbox.py",)),
    ("workers: the rest (consumer, emails, orders, autopay)", ("workers/consumer.py", "consumer.py", "emails.py",
                                                               "orders.py", "autopay.py")),
    ("relay to JetStream", ("relay.py",)),
    ("scheduler (expiry, ACH)", ("expiry.py",)),
    ("projection follower (its own process)", ("spawn_main", "projections/")),
    ("NATS layer: faststream + nats-py", ("faststream/", "nats/aio/", "nats/js/")),
)


#: Leaf frames of a thread waiting, not running Python (py-spy's ``--gil`` still reports some of them).
IDLE = ("EpollSelector.select", "Condition.wait", "_worker (concurrent/futures/thread.py", "Queue.get", "Event.wait")


def summary(lines: list[str]) -> tuple[int, list[tuple[str, int]]]:
    """(samples in all, samples per part, the last one ``other``) of py-spy raw lines (``frame;... count``)."""
    total = 0
    parts: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if stack.rsplit(";", 1)[-1].startswith(IDLE):
            continue
        total += count
        part = next((part for part, markers in PARTS if any(marker in stack for marker in markers)), "other")
        parts[part] += count
    return total, [(part, parts[part]) for part, _ in (*PARTS, ("other", ()))]


def main() -> None:
    """Print the parts' shares of a raw py-spy profile."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    parser.add_argument("--commands", type=int, default=0, help="commands answered ok meanwhile: also print the "
                                                                 "ms of GIL-held time per command of each part")
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy's samples per second (bench.service: 200)")
    args = parser.parse_args()
    total, parts = summary(args.profile.read_text().splitlines())
    if not total:
        sys.exit("no samples in the profile")
    per = 1000 / args.rate / args.commands if args.commands else 0.0
    print(f"{'part':60} {'share':>6} {'samples':>8}" + (f" {'ms/cmd':>7}" if per else ""))
    for part, count in parts:
        print(f"{part:60} {count / total:6.1%} {count:8}" + (f" {count * per:7.3f}" if per else ""))
    print(f"{'all samples':60} {1:6.0%} {total:8}" + (f" {total * per:7.3f}" if per else ""))


if __name__ == "__main__":
    main()
