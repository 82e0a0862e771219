#!/usr/bin/env python3
"""An L402 client from PyPI as the client under `l402-conformance client`.

    l402-conformance client -- python3 l402-conformance/clients/python.py l402sdk
    l402-conformance client -- python3 l402-conformance/clients/python.py l402-requests

GETs $L402_URL with the named library, which meets the 402 challenge, pays the invoice through the
kit's lnd over its REST API ($LND_REST_URL, macaroon in $LND_MACAROON_HEX) and retries with the token.
$L402_MAX_PRICE_SAT becomes the library's per-request budget. Exits 0 on a 2xx, 1 on any other answer
or error, 2 on bad usage. The libraries keep tokens in memory only, so $L402_TOKEN_DIR is not used.

The packages, pinned (requirements-python.txt): l402sdk (Lightning Labs' L402 SDK, Rust with Python
bindings) and l402-requests (pure Python, on httpx).
"""
import os
import sys


def get_with_l402sdk(url, max_price_sat):
    import l402  # the l402sdk wheel's module

    client = l402.L402Client.with_lnd_rest(
        os.environ["LND_REST_URL"],
        os.environ["LND_MACAROON_HEX"],
        budget=l402.Budget(per_request_max=max_price_sat),
    )
    response = client.get(url)
    body = response.text() if callable(response.text) else response.text
    return int(response.status), body


def get_with_l402_requests(url, max_price_sat):
    import l402_requests

    wallet = l402_requests.LndWallet(
        host=os.environ["LND_REST_URL"],
        macaroon_hex=os.environ["LND_MACAROON_HEX"],
        tls_cert_path=os.environ["LND_TLS_CERT_PATH"],
    )
    budget = l402_requests.BudgetController(max_sats_per_request=max_price_sat)
    response = l402_requests.L402Client(wallet=wallet, budget=budget).get(url)
    return response.status_code, response.text


LIBRARIES = {"l402sdk": get_with_l402sdk, "l402-requests": get_with_l402_requests}


def main(argv):
    if len(argv) != 2 or argv[1] not in LIBRARIES:
        print(f"usage: {argv[0]} {'|'.join(LIBRARIES)}", file=sys.stderr)
        return 2
    try:
        status, body = LIBRARIES[argv[1]](
            os.environ["L402_URL"], int(os.environ["L402_MAX_PRICE_SAT"])
        )
    except Exception as error:  # the library's refusals and failures: reported, not judged
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"HTTP {status}: {body.strip()}")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
