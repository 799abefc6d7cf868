"""``python -m stoplist_cli``: the same as the ``stoplist`` console script."""

from stoplist_cli.app import main

main()
