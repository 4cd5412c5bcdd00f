"""Let ``python -m bulkmod`` behave like the ``bulkmod`` command."""

from bulkmod.cli import main

raise SystemExit(main())
