"""Train and use the VAE from the command line: `python vae.py --help` (train is the default subcommand)."""

import sys

from latentlab.cli.main import main  # light: argparse and NumPy; Keras is imported after the arguments are parsed

if __name__ == "__main__":
    sys.exit(main())
