"""The HTTP API of the submission service, in process with its lifespan: one service per backend shared by
the tests of this package (a package, so that the service stops when they are done)."""
