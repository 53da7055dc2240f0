"""The command line: ``main`` builds the parser, one module per command group.

May import every room of the shell, but only inside a command's function, so that
starting one command loads only what it needs.
"""
