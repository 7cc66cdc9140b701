"""``python -m costopt_cli``: the same as the ``costopt`` console script."""

from costopt_cli.app import main

main()
