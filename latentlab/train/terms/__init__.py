"""Optional training loss terms, registered by name in TERMS.

Each term's module holds its settings (`Settings`, a dataclass whose `weight` > 0 makes the term active), its
arguments of the train command (`add_arguments`: the dest of each is NAME_FIELD, e.g. `perceptual_weight`) and
`build(settings, config)`: the term the VAE is given (`latentlab.model.vae.VAE`). The active terms' settings are
stored in model.json as config["terms"] = {name: settings}, so `--resume` and `--init-from` restore them. These
modules import Keras only when a term is built: the command line parses without it.
"""

from __future__ import annotations

import argparse
import dataclasses

from latentlab.errors import UserError
from latentlab.model.config import ModelConfig
from latentlab.train.terms import adversarial, perceptual

TERMS = {module.NAME: module for module in (perceptual, adversarial)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every term's arguments, one argument group per term."""
    for name, module in TERMS.items():
        module.add_arguments(parser.add_argument_group(f"{name} loss term"))


def terms_from_args(args: argparse.Namespace, stored: dict[str, dict]) -> dict[str, dict]:
    """config["terms"] of a run: each term's `stored` settings with the arguments given on top, for the terms whose
    weight is > 0; UserError for impossible settings."""
    terms = {}
    for name, module in TERMS.items():
        given = {field.name: getattr(args, f"{name}_{field.name}") for field in dataclasses.fields(module.Settings)}
        given = {key: value for key, value in given.items() if value is not None}
        if name not in stored and not given:
            continue
        settings = _settings(module, {**stored.get(name, {}), **given})
        if settings.weight > 0:
            terms[name] = dataclasses.asdict(settings)
    return terms


def build_terms(config: ModelConfig) -> list:
    """The loss terms `config.terms` names, ready for `build_vae`; UserError for a term this version does not have."""
    unknown = sorted(set(config.terms) - set(TERMS))
    if unknown:
        raise UserError(f"this model was trained with the loss term {unknown[0]!r}, which this version does not have "
                        f"(it has {', '.join(TERMS)})")
    return [TERMS[name].build(_settings(TERMS[name], settings), config) for name, settings in config.terms.items()]


def _settings(module, data: dict):
    """module.Settings(**data); UserError naming a setting it does not have."""
    try:
        return module.Settings(**data)
    except TypeError as exc:
        raise UserError(f"the {module.NAME} loss term's settings are malformed: {exc}") from None
