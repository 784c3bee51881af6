import sys

from supervisor._cli import main

sys.exit(main())
