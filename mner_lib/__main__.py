from mner_lib.cli import main

raise SystemExit(main())
