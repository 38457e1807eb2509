"""The ``aireg`` command line: the embedded stack, tokens and keys, rebuild, audit, contract documents."""
