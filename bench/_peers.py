"""Where the peers' benchmarks live and how the import benches run them.

The peers (Anki 26.9.3, genanki, the SQLite floor) are not project dependencies: they sit in
their own venv under ``$PEER_DIR`` (see ``../shared/bench/peers/README.md``), and each of their
scripts prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "bench" / "peers"
if not PEERS.exists():  # a clone outside the workspace
    PEERS = Path("/work/shared/bench/peers")
PEER_DIR = Path(os.environ.get("PEER_DIR", Path(tempfile.gettempdir()) / "peer"))


def peer(script: str, n: int, *extra: str) -> dict | None:
    """The JSON a peer script prints, or ``None`` (said on stderr) without the peers' venv."""
    python = PEER_DIR / "venv" / "bin" / "python"
    if not python.exists():
        print(f"(no peer venv at {python}; using recorded figures)", file=sys.stderr)
        return None
    proc = subprocess.run(
        [str(python), str(PEERS / script), "--n", str(n), *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
