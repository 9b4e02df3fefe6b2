from mner_lib.commands.cli import main

raise SystemExit(main())
