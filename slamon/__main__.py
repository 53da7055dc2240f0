"""``python -m slamon`` is the ``slamon`` command."""

from slamon.cli import main

raise SystemExit(main())
