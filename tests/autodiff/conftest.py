"""Makes the shared helpers (autodiff_helpers.py) importable from this folder's tests under any
pytest import mode; the fixtures and hypothesis profile live in tests/conftest.py.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
