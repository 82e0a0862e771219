#!/usr/bin/env python3
"""Checks a running live sequence page (loop-demo --web) end to end over HTTP, as a browser would use it.

Usage: page-check.py BASE_URL [TIMEOUT_S]

Opens the page's event stream, presses "First loop" and waits for the 402 challenge, the token payment, the
swap server's SUCCESS and loopd's answer; then presses "Repeat loop" and checks that it ends with no challenge
and no token payment. Every feed must have contributed (the proxy's decisions, loopd's L402 client, mock-lnd,
swap-server). Exits 0 if all of that happened, 1 with what was missing otherwise. Standard library only.
"""
import json
import sys
import time
import urllib.request

FEEDS = (
    "auth-proxy decision feed",
    "loopd's L402 client events",
    "mock-lnd invoice and payment events",
    "swap-server swap updates",
)


def events(base, timeout):
    """Yields the page's events (dicts) as they arrive."""
    with urllib.request.urlopen(base + "events", timeout=timeout) as stream:
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("data:"):
                yield json.loads(line[5:].strip())


def press(base, action, timeout):
    request = urllib.request.Request(base + "actions/" + action, method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        if answer.status != 202:
            raise SystemExit(f"page-check: {action} answered {answer.status}")


def until_done(stream, deadline):
    """The events of one action, up to the status that says it is over."""
    seen = []
    for event in stream:
        if time.monotonic() > deadline:
            break
        seen.append(event)
        if event["kind"] == "status" and not event["detail"].get("busy", True):
            return seen
    raise SystemExit(f"page-check: the action did not finish in time; saw {[e['label'] for e in seen]}")


def main():
    base = sys.argv[1].rstrip("/") + "/"
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    opened_by = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base, timeout=timeout) as page:
                if page.status != 200 or b"<html" not in page.read().lower():
                    raise SystemExit("page-check: the page is not served")
                break
        except OSError as error:  # not listening yet
            if time.monotonic() > opened_by:
                raise SystemExit(f"page-check: {base} did not answer: {error}")
            time.sleep(0.5)
    stream = events(base, timeout)
    press(base, "first-loop", timeout)
    first = until_done(stream, time.monotonic() + timeout)
    kinds = {e["kind"] for e in first}
    states = [e["label"] for e in first if e["kind"] == "swap_state"]
    missing = [k for k in ("challenge", "token_payment", "preimage", "verify", "forward", "result") if k not in kinds]
    if missing or not any("SUCCESS" in s for s in states):
        raise SystemExit(f"page-check: first loop lacks {missing} / SUCCESS in {states}")
    sources = {e["source"] for e in first}
    if not all(feed in sources for feed in FEEDS):
        raise SystemExit(f"page-check: feeds that said nothing: {[f for f in FEEDS if f not in sources]}")
    press(base, "repeat-loop", timeout)
    repeat = until_done(stream, time.monotonic() + timeout)
    kinds = [e["kind"] for e in repeat]
    if "challenge" in kinds or "token_payment" in kinds or "result" not in kinds:
        raise SystemExit(f"page-check: repeat loop was {[e['label'] for e in repeat]}")
    print(f"page-check: first loop {len(first)} events (402, payment, SUCCESS), repeat loop {len(repeat)} events "
          "(no 402, no payment)")


if __name__ == "__main__":
    main()
