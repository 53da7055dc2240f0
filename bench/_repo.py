"""Put this checkout first on ``sys.path``: a bench measures the code beside it.

Run as ``python bench/x.py``, ``sys.path[0]`` is ``bench/``; without this the packages
came from wherever the venv's editable install points (another worktree's, say).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
