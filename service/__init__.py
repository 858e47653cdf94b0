"""The application: the diagnoser pipeline and the `panicdx` command line."""
