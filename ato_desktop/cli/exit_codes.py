"""The CLI's exit codes (the same for every command; see `ato-desktop --help`)."""

EXIT_OK = 0
EXIT_FAILED = 1  # a dispatch, check or gate that failed
EXIT_USAGE = 2  # bad usage or input: an unknown agent, a malformed file, ...
EXIT_STORE = 3  # the execution log or the data directory cannot be used
EXIT_KILLED = 130  # a killed dispatch, a cancelled command (Ctrl+C)
