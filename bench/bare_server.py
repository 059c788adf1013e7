"""The bare endpoint served as `liandong serve` serves: `python -m bench.bare_server PORT N`
runs bench.bare_app under uvicorn with N processes and the same HTTP protocol."""

from __future__ import annotations

import sys

import uvicorn

from api.http_protocol import IMPORT_PATH

if __name__ == "__main__":
    port, processes = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        "bench.bare_app:app",
        port=port,
        workers=processes,
        http=IMPORT_PATH,
        log_level="warning",
    )
