"""`python -m craft_sdk`: the `craft` command line."""

from craft_sdk.cli import main

if __name__ == "__main__":
    main()
