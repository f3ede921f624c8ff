"""One module per ``tndnas`` sub-command; each exposes ``add_parser(subparsers)`` and ``run(args)``."""
