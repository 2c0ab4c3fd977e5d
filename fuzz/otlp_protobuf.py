"""OTLP/HTTP protobuf bodies -> the receiver's decoder -> spans mapped to runs (no write)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.core.otlp_ingest import MalformedTraceError, traces_from_request
    from ato_desktop.core.pricing import PriceBook
    from ato_desktop.engine.otlp_receiver import BadPayload, decode_request

from harness import fuzz

PRICES = PriceBook()


def target(data: bytes) -> None:
    request = decode_request(data, "application/x-protobuf")
    traces_from_request(request, PRICES)


if __name__ == "__main__":
    fuzz(target, (BadPayload, MalformedTraceError))
