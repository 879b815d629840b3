"""Train and use the VAE from the command line: `python vae.py --help` (train is the default subcommand)."""

import sys

from latentlab.quiet import import_keras

if __name__ == "__main__":
    import_keras()
    from latentlab.cli import main

    sys.exit(main())
