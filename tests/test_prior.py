"""The prior: a full-covariance Gaussian fitted to latents, its draws and temperature, N(0, I)."""

import numpy as np
import pytest

from latentlab.latent.prior import GaussianPrior, fit_gaussian, standard_normal

MEAN = np.array([1.5, -2.0, 0.5, 3.0])
FACTOR = np.array([[2.0, 0.0, 0.0, 0.0],
                   [1.2, 0.5, 0.0, 0.0],
                   [-0.6, 0.3, 0.8, 0.0],
                   [0.0, 0.0, 0.4, 0.1]])  # anisotropic and correlated: variances 4, 1.69, 1.09, 0.17
COVARIANCE = FACTOR @ FACTOR.T


def test_fitted_gaussian_recovers_mean_and_covariance():
    z = (MEAN + np.random.default_rng(0).standard_normal((200_000, 4)) @ FACTOR.T).astype(np.float32)
    prior = fit_gaussian(z)
    assert np.allclose(prior.mean, MEAN, atol=0.02)
    assert np.allclose(prior.covariance, COVARIANCE, atol=0.05)
    assert np.diag(prior.covariance) == pytest.approx([4.0, 1.69, 1.09, 0.17], rel=0.03)
    assert prior.covariance[0, 1] == pytest.approx(2.4, rel=0.03)  # cov(z0, z1) = 2 * 1.2
    assert np.allclose(prior.cholesky, np.tril(prior.cholesky))
    assert np.allclose(prior.covariance, np.cov(z.T.astype(np.float64)), rtol=1e-4)  # the sample covariance itself


def test_degenerate_latents_still_factor():
    constant = fit_gaussian(np.ones((5, 3), np.float32))
    assert np.allclose(constant.mean, 1.0) and np.isfinite(constant.cholesky).all()
    fewer_than_dimensions = fit_gaussian(np.random.default_rng(0).standard_normal((3, 6)))
    assert np.isfinite(fewer_than_dimensions.cholesky).all()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_have_the_prior_covariance_scaled_by_temperature(temperature):
    prior = GaussianPrior(MEAN, FACTOR)
    draws = prior.draw(200_000, temperature, np.random.default_rng(1))
    assert draws.shape == (200_000, 4) and draws.dtype == np.float32
    assert np.allclose(draws.mean(axis=0), MEAN, atol=0.02 * temperature)
    assert np.allclose(np.cov(draws.T), temperature**2 * COVARIANCE, atol=0.04 * temperature**2)


def test_draws_are_seeded_and_temperature_zero_is_the_mean():
    prior = GaussianPrior(MEAN, FACTOR)
    assert np.array_equal(prior.draw(3, 1.0, np.random.default_rng(5)), prior.draw(3, 1.0, np.random.default_rng(5)))
    assert np.allclose(prior.draw(4, 0.0, np.random.default_rng(5)), MEAN)


def test_standard_normal_and_stored_arrays():
    draws = standard_normal(3).draw(100_000, 1.0, np.random.default_rng(2))
    assert np.allclose(draws.mean(axis=0), 0.0, atol=0.02) and np.allclose(np.cov(draws.T), np.eye(3), atol=0.02)
    arrays = GaussianPrior(MEAN, FACTOR).arrays()
    assert arrays["prior_mean"].dtype == np.float32 and arrays["prior_cholesky"].shape == (4, 4)
    restored = GaussianPrior.from_arrays(arrays)
    assert np.allclose(restored.mean, MEAN) and np.allclose(restored.cholesky, FACTOR)
