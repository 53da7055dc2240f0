"""``python -m slamon`` is the ``slamon`` command."""

from slamon.cli.main import main

raise SystemExit(main())
