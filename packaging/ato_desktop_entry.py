"""The bundle's entry point (PyInstaller runs a script, not a console_scripts entry)."""

import sys

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--ato-net-worker":
        # The app's network process (ato_desktop.runtimes.net_process starts it like this in a
        # bundle, where there is no `python -m`).
        from ato_desktop.runtimes.net_worker import main as net_worker

        sys.exit(net_worker(sys.argv[2:]))
    from ato_desktop.main import main

    sys.exit(main())
