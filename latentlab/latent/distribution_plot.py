"""The latent distribution figure (no Qt, no pyplot): drawn onto any matplotlib Figure, so the GUI's
Qt canvas and `vae.py plot-latents` share it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ACTIVE_KL = 0.01  # nats: a dimension whose average KL to the prior is above this carries information
HISTOGRAM_DIMS = 8
HISTOGRAM_RANGE = 4.0


def active_dimensions(kl_per_dim: np.ndarray, threshold: float = ACTIVE_KL) -> int:
    """How many latent dimensions have an average KL(q(z|x) || N(0, 1)) above `threshold` nats."""
    return int((np.asarray(kl_per_dim) > threshold).sum())


def pick_dimensions(kl_per_dim: np.ndarray, n: int = HISTOGRAM_DIMS) -> list[int]:
    """Dimensions worth a histogram: the most informative (highest KL) and the two least, for contrast."""
    order = np.argsort(np.asarray(kl_per_dim))[::-1]
    if len(order) <= n:
        return [int(i) for i in order]
    return [int(i) for i in np.concatenate((order[: n - 2], order[-2:]))]


def latent_distribution_figure(fig, latents: np.ndarray, kl_per_dim: np.ndarray, current: np.ndarray | None = None,
                               dims: list[int] | None = None, threshold: float = ACTIVE_KL):
    """Draw on `fig` (cleared): histograms of the dataset's z_mean for a few dimensions against the
    standard normal pdf (the current latent marked in red), and the KL per dimension, sorted, with
    the count of active dimensions (KL > `threshold` nats). Returns `fig`."""
    latents = np.asarray(latents, np.float32)
    kl_per_dim = np.asarray(kl_per_dim, np.float64)
    dims = pick_dimensions(kl_per_dim) if dims is None else list(dims)
    fig.clear()
    cols = 4
    hist_rows = max(1, -(-len(dims) // cols))
    grid = fig.add_gridspec(hist_rows + 1, cols, height_ratios=[1] * hist_rows + [1.3], hspace=0.65, wspace=0.3)
    x = np.linspace(-HISTOGRAM_RANGE, HISTOGRAM_RANGE, 200)
    normal_pdf = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    for slot, dim in enumerate(dims):
        ax = fig.add_subplot(grid[slot // cols, slot % cols])
        values = latents[:, dim]
        ax.hist(values, bins=60, range=(-HISTOGRAM_RANGE, HISTOGRAM_RANGE), density=True, color="#6a8caf", alpha=0.85)
        ax.plot(x, normal_pdf, color="black", linewidth=1.0, label="N(0, 1)")
        if current is not None:
            ax.axvline(float(current[dim]), color="crimson", linewidth=1.6, label="current")
        ax.set_title(f"dim {dim}: KL {kl_per_dim[dim]:.2f}, sd {values.std():.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        if slot == 0:
            ax.legend(fontsize=6, loc="upper left", frameon=False)
    ax = fig.add_subplot(grid[hist_rows, :])
    order = np.argsort(kl_per_dim)[::-1]
    active = active_dimensions(kl_per_dim, threshold)
    sorted_kl = kl_per_dim[order]
    colors = np.where(sorted_kl > threshold, "#6a8caf", "#c8c8c8")
    ax.bar(np.arange(len(order)), sorted_kl, width=1.0, color=colors)
    ax.axhline(threshold, color="crimson", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel("latent dimensions, sorted by KL", fontsize=8)
    ax.set_ylabel("KL (nats)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"KL per dimension (total {kl_per_dim.sum():.1f} nats): {active} of {len(order)} active "
                 f"(KL > {threshold:g} nats, dashed)", fontsize=9)
    fig.suptitle(f"Dataset latents (z_mean of {len(latents):,} images) against the N(0, 1) prior", fontsize=10)
    return fig


def save_latent_distribution(path: str | Path, latents: np.ndarray, kl_per_dim: np.ndarray,
                             current: np.ndarray | None = None, dims: list[int] | None = None) -> Path:
    """latent_distribution_figure written to a PNG (Agg canvas; no GUI backend involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), dpi=100)
    FigureCanvasAgg(fig)
    latent_distribution_figure(fig, latents, kl_per_dim, current, dims)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
