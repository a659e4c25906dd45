"""``python -m sync_operators``: the ``sync`` command."""

from sync_operators.cli.app import main

raise SystemExit(main())
