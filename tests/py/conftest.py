import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def fixtures_dir():
    """build/fixtures, generated first if missing or stale (tools/fixtures)."""
    out = REPO / "build" / "fixtures"
    subprocess.run([sys.executable, "-m", "tools.fixtures", "--out", str(out)], cwd=REPO, check=True)
    return out
