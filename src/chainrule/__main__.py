"""`python -m chainrule ...` runs the `chainrule` command (chainrule.cli)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
