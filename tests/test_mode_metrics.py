import math

import numpy as np
import pytest
import torch

from course_utils.data import GaussianMixture, grid_2d, ring_2d
from course_utils.mode_metrics import PACGAN_TABLE1, mode_report

# The share of a 2-D isotropic Gaussian within r standard deviations of its mean is 1 - exp(-r^2 / 2)
# (the squared radius is chi-square with 2 degrees of freedom).
WITHIN_3_SIGMA_2D = 1 - math.exp(-4.5)  # 0.9889


@pytest.mark.parametrize("mixture", [ring_2d(), grid_2d()], ids=["ring", "grid"])
def test_samples_of_the_mixture_cover_every_mode_evenly(mixture):
    n = 20_000
    x = mixture.sample(n, generator=torch.Generator().manual_seed(0))
    report = mode_report(x, mixture)
    k = len(mixture.means)
    assert report["n_modes"] == k
    assert report["modes_covered"] == k
    # standard error sqrt(p(1-p)/n) = 0.0007: 0.005 is seven of them
    assert report["high_quality"] == pytest.approx(WITHIN_3_SIGMA_2D, abs=0.005)
    # a multinomial histogram's KL from its (uniform) truth is about (k-1)/(2n) = 0.0002-0.0006
    assert 0 <= report["kl_modes"] < 0.01
    assert sum(report["counts"]) == round(report["high_quality"] * n)
    assert report["n_samples"] == n


def test_one_mode_only_covers_one_mode_with_kl_log_k():
    ring = ring_2d()
    x = ring.means[3] + ring.stds[3] * torch.randn(2000, 2, generator=torch.Generator().manual_seed(1))
    report = mode_report(x, ring)
    assert report["modes_covered"] == 1
    assert report["counts"][3] == sum(report["counts"])
    assert report["kl_modes"] == pytest.approx(math.log(8), abs=1e-9)
    assert report["high_quality"] == pytest.approx(WITHIN_3_SIGMA_2D, abs=0.02)


def test_samples_far_from_every_mode_are_not_high_quality():
    grid = grid_2d()
    x = torch.full((500, 2), 20.0) + torch.randn(500, 2, generator=torch.Generator().manual_seed(2))
    report = mode_report(x, grid)
    assert report["high_quality"] == 0.0
    assert report["modes_covered"] == 0
    assert math.isnan(report["kl_modes"])  # no histogram to compare
    # a point between two grid modes (1 unit = 20 sigma away from both) is not high quality either
    assert mode_report(torch.tensor([[1.0, 0.0]]), grid)["high_quality"] == 0.0


def test_half_real_half_noise_gives_about_half_high_quality():
    ring = ring_2d()
    gen = torch.Generator().manual_seed(3)
    real = ring.sample(5000, generator=gen)
    noise = torch.rand(5000, 2, generator=gen) * 12 - 6  # uniform on [-6, 6]^2
    report = mode_report(torch.cat([real, noise]), ring)
    # noise lands within 3 sigma of a mode with chance 8 pi (0.15)^2 / 144 = 0.4%
    expected = 0.5 * WITHIN_3_SIGMA_2D + 0.5 * 8 * math.pi * 0.15**2 / 144
    assert report["high_quality"] == pytest.approx(expected, abs=0.02)
    assert report["modes_covered"] == 8


def test_threshold_is_in_each_modes_own_standard_deviations():
    mixture = GaussianMixture([[0.0, 0.0], [10.0, 0.0]], [0.1, 1.0])
    x = torch.tensor([[0.29, 0.0],   # 2.9 sigma from the narrow mode: high quality
                      [0.31, 0.0],   # 3.1 sigma: not
                      [12.0, 0.0],   # 2 sigma from the broad mode: high quality
                      [5.0, 0.0]])   # 50 and 5 sigma: not
    report = mode_report(x, mixture)
    assert report["counts"] == [1, 1]
    assert report["high_quality"] == 0.5
    assert mode_report(x, mixture, sigmas=3.2)["counts"] == [2, 1]


def test_kl_of_an_uneven_histogram_matches_the_formula():
    mixture = GaussianMixture([[0.0, 0.0], [10.0, 0.0]], [1.0, 1.0])
    x = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [10.0, 0.0]])  # counts 3 and 1
    report = mode_report(x, mixture)
    assert report["counts"] == [3, 1]
    assert report["kl_modes"] == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-12)


def test_min_count_decides_whether_a_stray_sample_covers_a_mode():
    ring = ring_2d()
    x = torch.cat([ring.means[0].expand(100, 2), ring.means[4][None]])  # 100 on mode 0, one on mode 4
    assert mode_report(x, ring)["modes_covered"] == 2
    assert mode_report(x, ring, min_count=2)["modes_covered"] == 1


def test_numpy_input_and_float64_give_the_same_report():
    ring = ring_2d()
    x = ring.sample(1000, generator=torch.Generator().manual_seed(4))
    assert mode_report(x.numpy(), ring) == mode_report(x.double(), ring) == mode_report(x, ring)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(10, 3), r"shape \(N, 2\)"),
    (torch.zeros(10), r"shape \(N, 2\)"),
    (torch.zeros(0, 2), "empty"),
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), "NaN or inf in 1 of 2 rows"),
    (np.array([[0.0, np.inf]]), "NaN or inf"),
])
def test_bad_samples_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        mode_report(bad, ring_2d())


def test_bad_options_are_refused():
    x = torch.zeros(5, 2)
    with pytest.raises(ValueError, match="sigmas"):
        mode_report(x, ring_2d(), sigmas=0)
    with pytest.raises(ValueError, match="min_count"):
        mode_report(x, ring_2d(), min_count=0)


def test_pacgan_table_is_consistent():
    for data, k in (("ring", 8), ("grid", 25)):
        for method, row in PACGAN_TABLE1[data].items():
            assert 0 < row["modes"][0] <= k, (data, method)
            assert 0.9 < row["high_quality"][0] < 1, (data, method)
            assert 0 < row["reverse_kl"][0] < math.log(k), (data, method)
    # the anchor the notebook quotes: the standard GAN misses modes on both
    assert PACGAN_TABLE1["ring"]["GAN"]["modes"][0] < 8 and PACGAN_TABLE1["grid"]["GAN"]["modes"][0] < 25
