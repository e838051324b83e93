"""`python -m service …` is the same as the `b24rules` command."""

from service.cli import main

main()
