"""``python -m sync_operators.cli``."""

from sync_operators.cli.app import main

raise SystemExit(main())
