"""``python -m genver``: the ``genver`` command line."""

from genver.cli import main

if __name__ == "__main__":
    main()
