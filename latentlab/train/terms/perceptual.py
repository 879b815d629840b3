"""The perceptual loss term: how differently a frozen face network sees an image and its reconstruction.

The network is an attribute classifier in the judge's format (`vae.py train-judge --out FILE`), for example trained
on CelebA's 40 labels: its convolutions respond to the face's structure (eye, nose, mouth and jaw shapes, hair,
glasses), which a pixel loss weighs no more than the background. It must not be the judge that measures the model
(`data/judge.weights.h5`): a loss on the measuring network would flatter the measures.
The distance follows LPIPS without its learned weights: every layer's feature vectors are scaled to unit length,
and the squared differences are summed over channels, averaged over positions and summed over layers.
Tried on the shipped model it kept no more of the person and doubled the checkerboard, so the shipped model does not
use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from latentlab.errors import UserError

NAME = "perceptual"
TRAIN_HINT = ("train one with `python vae.py train-judge --data DIR --attributes list_attr_celeba.txt --out FILE` "
              "(not the judge that measures the model)")


@dataclass
class Settings:
    """`weight` times the mean perceptual distance of the network at `net` (a judge-format weights file)."""

    weight: float = 0.0
    net: str | None = None

    def __post_init__(self):
        if self.weight < 0:
            raise UserError(f"the perceptual weight must be >= 0, got {self.weight}")
        if self.weight > 0:
            if not self.net:
                raise UserError(f"the perceptual loss needs its feature network: --perceptual-net FILE ({TRAIN_HINT})")
            require_network(self.net)


def add_arguments(group) -> None:
    """--perceptual-weight and --perceptual-net of the train command, on the argument group `group`."""
    group.add_argument("--perceptual-weight", type=float, dest="perceptual_weight", metavar="W",
                       help="weight of the perceptual loss (0: none)")
    group.add_argument("--perceptual-net", type=lambda text: str(Path(text).absolute()), dest="perceptual_net",
                       metavar="FILE", help="the perceptual loss's feature network: a judge-format weights file "
                                            "(`train-judge --out FILE`) that is not the judge")


def require_network(path: str | Path) -> Path:
    """`path` when the file exists, else the one UserError saying how to make the network."""
    if not Path(path).is_file():
        raise UserError(f"perceptual network {path} not found: {TRAIN_HINT}")
    return Path(path)


class PerceptualDistance:
    """images, reconstructions (N, S, S, 3) in [0, 1] -> (N,) distances, each in [0, 4 x layers].

    A plain object, not a Keras layer, so that the VAE does not track the network: its weights stay out of the
    optimizer, the checkpoints and the VAE's weights file.
    """

    def __init__(self, judge, input_size: int):
        import keras

        outputs = [layer.output for layer in judge.layers if layer.name.endswith("_act")]
        self.features = keras.Model(judge.input, outputs, name="perceptual_features")
        self.features.trainable = False
        self.input_size = input_size

    @classmethod
    def load(cls, path: str | Path) -> PerceptualDistance:
        """The feature network at `path` (a judge-format weights file with its .json); UserError when missing."""
        from latentlab.eval.judge import Judge

        judge = Judge.load(require_network(path))
        return cls(judge.model, judge.config.image_size)

    def _unit_features(self, images):
        from keras import ops

        side, size = images.shape[1], self.input_size
        if side % size == 0 and side > size:  # an exact area downscale that XLA compiles (antialiased resize does not)
            images = ops.average_pool(images, side // size, strides=side // size)
        elif side != size:
            images = ops.image.resize(images, (size, size), interpolation="bilinear")
        return [feature / ops.sqrt(ops.sum(ops.square(feature), axis=-1, keepdims=True) + 1e-10)
                for feature in self.features(images, training=False)]

    def __call__(self, images, reconstructions):
        from keras import ops

        distance = 0.0
        for seen, redrawn in zip(self._unit_features(images), self._unit_features(reconstructions)):
            distance = distance + ops.mean(ops.sum(ops.square(seen - redrawn), axis=-1), axis=(1, 2))
        return distance


class PerceptualTerm:
    """The loss term: settings.weight * the batch's mean PerceptualDistance; reports "perceptual"."""

    reports = ("perceptual",)
    state = ()

    def __init__(self, settings: Settings):
        self.weight = settings.weight
        self.distance = PerceptualDistance.load(settings.net)

    def __call__(self, images, reconstructions, training):
        from keras import ops

        perceptual = ops.mean(self.distance(images, reconstructions))
        return self.weight * perceptual, {"perceptual": perceptual}


def build(settings: Settings, config) -> PerceptualTerm:
    """The term of `settings` for a VAE of `config` (a ModelConfig)."""
    return PerceptualTerm(settings)
