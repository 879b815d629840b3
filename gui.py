"""Open the latent-space explorer window: `python gui.py --help`."""

import sys

from latentlab.ui.launch import main  # light: argparse; Qt is imported once it is known to start

if __name__ == "__main__":
    sys.exit(main())
