"""The registry of optional loss terms: the train command's arguments into config["terms"], and terms by name."""

import argparse

import pytest

from latentlab.errors import UserError
from latentlab.train.terms import TERMS, add_arguments, build_terms, terms_from_args
from tests.helpers import tiny_config


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_only_terms_with_a_weight_are_active_and_given_arguments_override_the_stored_ones():
    assert set(TERMS) == {"perceptual", "adversarial"}
    assert terms_from_args(parsed(), {}) == {}
    assert terms_from_args(parsed("--adversarial-weight", "0"), {}) == {}
    stored = {"adversarial": {"weight": 0.01, "feature_matching_weight": 0.02, "discriminator_warmup_steps": 300}}
    assert terms_from_args(parsed(), stored) == stored
    assert terms_from_args(parsed("--discriminator-warmup", "5"), stored) == {
        "adversarial": {"weight": 0.01, "feature_matching_weight": 0.02, "discriminator_warmup_steps": 5}}
    assert terms_from_args(parsed("--adversarial-weight", "0", "--feature-matching-weight", "0"), stored) == {}


def test_impossible_or_unknown_terms_are_one_clear_error():
    with pytest.raises(UserError, match="needs an adversarial weight"):
        terms_from_args(parsed("--feature-matching-weight", "0.1"), {})
    with pytest.raises(UserError, match="'spectral'"):
        build_terms(tiny_config(terms={"spectral": {"weight": 2.0}}))
    with pytest.raises(UserError, match="settings are malformed"):
        build_terms(tiny_config(terms={"adversarial": {"weight": 1.0, "colour": "red"}}))


def test_a_built_term_reports_its_values_into_the_vaes_metrics():
    from latentlab.model.vae import build_vae

    config = tiny_config(terms={"adversarial": {"weight": 0.01}})
    vae = build_vae(config, build_terms(config))
    assert [m.name for m in vae.metrics] == ["loss", "reconstruction", "kl", "adversarial", "matching", "critic"]
    assert [m.name for m in build_vae(config).metrics] == ["loss", "reconstruction", "kl"]
