"""The shapes data set with known factors, and the two disentanglement scores measured against those factors."""

import math

import pytest
import torch

from course_utils import disentanglement as dis
from course_utils.data.shapes import (FACTOR_NAMES, SHAPE_NAMES, ShapesSpec, random_factors, render, sample_shapes,
                                      vary_one_factor)

CENTRED = ShapesSpec(size=32, positions=3)  # positions 0.25, 0.5, 0.75: index 1 is the image's centre


def one(shape, scale=5, rotation=0, x=1, y=1, spec=CENTRED):
    return render(torch.tensor([[shape, scale, rotation, x, y]]), spec)[0, 0].double()


# ---------------------------------------------------------------- the data set

def test_a_seed_fixes_the_data_set_and_every_image_is_one_white_shape_on_black():
    images, factors = sample_shapes(200, seed=3)
    again, same = sample_shapes(200, seed=3)
    other, _ = sample_shapes(200, seed=4)
    assert images.shape == (200, 1, 32, 32) and images.dtype == torch.uint8 and factors.shape == (200, 5)
    assert torch.equal(images, again) and torch.equal(factors, same) and not torch.equal(images, other)
    assert torch.equal(images, render(factors))  # the images are their factors, rendered
    assert images.amax(dim=(1, 2, 3)).min() == 255 and images[:, :, 0, :].max() == 0  # ink in each, none at the top
    for column, size in enumerate(ShapesSpec().factor_sizes):  # every factor's full range is drawn
        assert factors[:, column].unique().tolist() == list(range(size)) or len(factors) < 10 * size


def test_the_position_factors_move_the_ink_centre_to_their_values():
    spec = ShapesSpec(size=32)
    for x, y in ((0, 0), (31, 5), (12, 20)):
        image = render(torch.tensor([[1, 5, 0, x, y]]), spec)[0, 0].double()
        rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
        centre_x = (image * (cols + 0.5)).sum() / image.sum() / 32
        centre_y = (image * (rows + 0.5)).sum() / image.sum() / 32
        expected = torch.linspace(0.25, 0.75, 32)
        assert abs(centre_x - expected[x]) < 0.01 and abs(centre_y - expected[y]) < 0.01  # x across, y down


def test_scale_multiplies_the_area_by_its_square_and_the_shapes_have_similar_areas():
    areas = torch.tensor([[one(shape, scale).sum().item() / 255 for scale in (0, 5)] for shape in range(3)],
                         dtype=torch.float64)
    four = torch.full((3,), 4.0, dtype=torch.float64)
    assert torch.allclose(areas[:, 1] / areas[:, 0], four, rtol=0.08)  # scale 1.0 against 0.5
    assert areas[:, 1].max() < 1.6 * areas[:, 1].min()  # no shape is told apart by its size alone


def test_rotation_turns_the_shape_about_its_centre_with_each_shapes_own_symmetry():
    quarter, half = 10, 20  # of 40 rotation steps
    square, ellipse, heart = 0, 1, 2
    assert (one(square, rotation=quarter) - one(square)).abs().max() <= 2  # a square: same after a quarter turn
    assert (one(square, rotation=5) - one(square)).abs().max() > 100  # but not after an eighth
    assert (one(ellipse, rotation=quarter) - one(ellipse).T).abs().max() <= 2  # an ellipse turned 90 degrees
    assert (one(heart, rotation=half) - one(heart).flip(0, 1)).abs().max() <= 2  # a half turn flips both axes
    assert (one(heart, rotation=half) - one(heart)).abs().max() > 200  # and a heart is not symmetric under it
    assert (one(heart) - one(heart).flip(1)).abs().max() <= 2  # it is symmetric left-right, point down
    top, bottom = one(heart)[:16].sum(), one(heart)[16:].sum()
    assert top > bottom  # the lobes (more ink) at the top, the point at the bottom
    turned = one(heart, rotation=quarter)
    assert turned[:, :16].sum() > turned[:, 16:].sum()  # anticlockwise on screen: a quarter turn points it right


def test_the_three_shapes_are_different_images():
    images = [one(shape) for shape in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert (images[a] - images[b]).abs().sum() > 5 * 255, (SHAPE_NAMES[a], SHAPE_NAMES[b])


def test_vary_one_factor_runs_through_every_value_of_one_factor():
    factors = torch.tensor([[0, 1, 2, 3, 4], [2, 5, 39, 31, 0]])
    grid = vary_one_factor(factors, FACTOR_NAMES.index("rotation"))
    assert grid.shape == (80, 5) and grid[:40, 2].tolist() == list(range(40))
    assert (grid[:40, [0, 1, 3, 4]] == torch.tensor([0, 1, 3, 4])).all() and (grid[40:, 0] == 2).all()


@pytest.mark.parametrize("factors, message", [
    (torch.zeros(3, 4, dtype=torch.long), "shape \\(n, 5\\)"),
    (torch.zeros(3, 5), "integer tensor"),
    (torch.tensor([[3, 0, 0, 0, 0]]), "'shape' takes values 0..2"),
    (torch.tensor([[0, 0, 40, 0, 0]]), "'rotation' takes values 0..39"),
    (torch.tensor([[0, 0, 0, -1, 0]]), "'x' takes values 0..31"),
])
def test_wrong_factors_get_a_clear_error(factors, message):
    with pytest.raises(ValueError, match=message):
        render(factors)


def test_a_wrong_spec_gets_a_clear_error():
    with pytest.raises(ValueError, match="size must be at least 8"):
        ShapesSpec(size=4)
    with pytest.raises(ValueError, match="rotations must be a positive integer"):
        ShapesSpec(rotations=0)


# ---------------------------------------------------------------- the scores

SIZES = ShapesSpec().factor_sizes
SCALE = torch.tensor(SIZES, dtype=torch.float64) - 1


def the_factors(factors):
    return factors.double() / SCALE


def rotated(factors, seed=0):
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return (the_factors(factors) - 0.5) @ q


def test_mutual_information_by_hand():
    a = torch.tensor([0, 0, 1, 1])
    assert dis.entropy(a) == pytest.approx(math.log(2))
    assert dis.discrete_mutual_information(a, a) == pytest.approx(math.log(2))  # I(a; a) = H(a)
    assert dis.discrete_mutual_information(a, torch.tensor([0, 1, 0, 1])) == pytest.approx(0.0, abs=1e-12)
    # joint (0,0): 1/2, (1,0): 1/4, (1,1): 1/4 -> I = H(b) - H(b | a) = H(3/4, 1/4) - (1/2) log 2
    b = torch.tensor([0, 0, 0, 1])
    h_b = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert dis.discrete_mutual_information(a, b) == pytest.approx(h_b - 0.5 * math.log(2))
    assert dis.discrete_mutual_information(a * 7 + 2, b * -3) == pytest.approx(h_b - 0.5 * math.log(2))  # labels


def test_discretise_uses_equal_width_bins_between_each_columns_extremes():
    codes = torch.tensor([[0.0, 5.0], [0.24, 5.0], [0.26, 5.0], [1.0, 5.0]])
    assert dis.discretise(codes, bins=4).tolist() == [[0, 0], [0, 0], [1, 0], [3, 0]]


def test_the_true_factors_score_one_and_a_rotation_of_them_clearly_less():
    factors = random_factors(10_000, generator=torch.Generator().manual_seed(1))
    truth = dis.factor_vae_score(the_factors, SIZES)
    entangled = dis.factor_vae_score(rotated, SIZES)
    assert truth["score"] == 1.0 and truth["train_score"] == 1.0
    assert truth["dimension_factor"].tolist() == [0, 1, 2, 3, 4]
    assert entangled["score"] < 0.95  # measured 0.85
    mig_truth = dis.mutual_information_gap(the_factors(factors), factors)
    mig_entangled = dis.mutual_information_gap(rotated(factors), factors)
    assert mig_truth["mig"] == pytest.approx(dis.mig_ceiling(factors), abs=1e-9)
    # 3 and 6 values fit in 20 bins; 40 rotations and 32 positions do not (measured 0.80, 0.84)
    assert mig_truth["per_factor"][0] > 0.99 and mig_truth["per_factor"][1] > 0.99
    assert 0.75 < mig_truth["per_factor"][2] < 0.9 and 0.75 < mig_truth["per_factor"][3] < 0.9
    assert dis.mig_ceiling(factors, bins=40) > 0.97
    assert mig_entangled["mig"] < 0.3  # measured 0.12


def test_the_score_names_the_dimension_of_each_factor_in_any_order_and_ignores_a_dead_dimension():
    order = [3, 0, 4, 1, 2]

    def permuted_with_a_dead_dimension(factors):
        codes = the_factors(factors)[:, order]
        return torch.cat([codes, torch.full((len(codes), 1), 0.3)], dim=1)
    result = dis.factor_vae_score(permuted_with_a_dead_dimension, SIZES, train_votes=200, eval_votes=200)
    assert result["score"] == 1.0 and result["active"].tolist() == [0, 1, 2, 3, 4]
    assert result["dimension_factor"].tolist() == order + [-1]


def test_two_dimensions_holding_the_same_factor_leave_no_gap():
    factors = random_factors(5_000, generator=torch.Generator().manual_seed(2))
    codes = the_factors(factors)
    twice = dis.mutual_information_gap(torch.cat([codes, codes[:, :1]], dim=1), factors)
    assert twice["per_factor"][0] == pytest.approx(0.0, abs=1e-12) and twice["per_factor"][1] > 0.99


def test_bad_representations_get_a_clear_error():
    with pytest.raises(ValueError, match="constant"):
        dis.factor_vae_score(lambda f: torch.zeros(len(f), 3), SIZES)
    with pytest.raises(ValueError, match="codes \\(n, d\\)"):
        dis.factor_vae_score(lambda f: torch.zeros(len(f)), SIZES)
    with pytest.raises(ValueError, match="not finite"):
        dis.factor_vae_score(lambda f: torch.full((len(f), 2), float("nan")), SIZES)
    with pytest.raises(ValueError, match="at least two code dimensions"):
        dis.mutual_information_gap(torch.zeros(10, 1), torch.zeros(10, 5, dtype=torch.long))


# ---------------------------------------------------------------- InfoGAN's codes against the digits

def test_matched_accuracy_forgives_the_names_of_the_code_values_and_nothing_else():
    labels = torch.arange(10).repeat(50)
    renamed = (labels * 3 + 1) % 10  # a perfect sorting under other names
    result = dis.matched_accuracy(renamed, labels)
    assert result["accuracy"] == 1.0 and result["assignment"][renamed[:10]].tolist() == list(range(10))
    merged = torch.where(labels == 9, torch.tensor(8), labels)  # two digits in one value: one of them is lost
    assert dis.matched_accuracy(merged, labels)["accuracy"] == pytest.approx(0.9)
    noise = torch.randint(10, (500,), generator=torch.Generator().manual_seed(0))
    assert dis.matched_accuracy(noise, labels)["accuracy"] < 0.2
    with pytest.raises(ValueError, match="same length"):
        dis.matched_accuracy(noise[:5], labels)


def bar(shear=0.0, thickness=1, background=-1.0):
    """A vertical stroke through the centre of a 28x28 image, its top moved right by shear pixels per row up."""
    image = torch.full((1, 28, 28), background)
    for row in range(4, 24):
        col = round(14 - shear * (row - 14))
        image[0, row, col:col + thickness] = 1.0
    return image


def test_slant_is_the_shear_of_a_stroke_and_ink_its_thickness():
    strokes = torch.stack([bar(0.0), bar(0.3), bar(-0.3), bar(0.0, thickness=2), bar(0.0, thickness=3)])
    slants = dis.slant(strokes)
    assert abs(slants[0]) < 1e-9
    assert slants[1] == pytest.approx(0.3, abs=0.03) and slants[2] == pytest.approx(-0.3, abs=0.03)
    amounts = dis.ink(strokes)
    assert amounts[[0, 3, 4]].tolist() == pytest.approx([20.0, 40.0, 60.0])
    assert torch.allclose(dis.ink((strokes + 1) / 2), amounts)  # the same in [0, 1] pixels as in [-1, 1]
    assert dis.rank_correlation(slants, slants ** 3) == pytest.approx(1.0)  # ranks only


def test_the_shapes_reader_learns_the_factors_and_its_frechet_distance_sees_blur_and_noise():
    from course_utils.data.loading import to_signed_unit
    from course_utils.models.classifiers import ShapesReader, ShapesReaderConfig

    torch.manual_seed(0)
    images, factors = sample_shapes(4000, seed=0)
    reader = ShapesReader(ShapesReaderConfig(channels=16, features=32))
    losses = dis.train_shapes_reader(reader, images, factors, epochs=4, batch_size=64, lr=4e-3, progress=False)
    assert losses[-1] < 0.8 * losses[0]
    held_out, held_factors = sample_shapes(2000, seed=1)
    accuracy = dis.reader_accuracy(reader, held_out, held_factors)
    assert set(accuracy) == {"shape", "scale", "x", "y"}
    # measured (seed 0): shape 0.44, scale 0.48, x 0.35, y 0.39; chance: 1/3, 1/6, 1/32, 1/32
    assert accuracy["shape"] > 0.39 and accuracy["scale"] > 0.35 and min(accuracy["x"], accuracy["y"]) > 0.2
    a, b = to_signed_unit(held_out[:1000]), to_signed_unit(held_out[1000:])
    same = dis.shapes_frechet_distance(reader, a, b)
    blurred = dis.shapes_frechet_distance(reader, torch.nn.functional.avg_pool2d(a, 3, 1, 1), b)
    noisy = dis.shapes_frechet_distance(reader, (a + 0.5 * torch.randn_like(a)).clamp(-1, 1), b)
    # measured: 0.43 (two real sets), 1.70 (blurred), 40.0 (noisy)
    assert same < blurred < noisy and blurred > 3 * same, (same, blurred, noisy)
    with pytest.raises(ValueError, match=r"shape \(n, 1, 32, 32\) in \[-1, 1\]; got \(2, 1, 28, 28\)"):
        reader.features(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="as many factor rows as images"):
        dis.train_shapes_reader(reader, images[:200], factors[:100], progress=False)


def test_the_committed_shapes_models_load_under_the_keys_the_scores_read():
    from course_utils.pretrain_disentangling import SHAPES_KINDS, pretrained_shapes_model, shapes_samples

    for kind in SHAPES_KINDS:
        networks = pretrained_shapes_model(kind, verbose=False)
        assert set(networks) == ({"vae"} if kind == "beta_vae" else {"G", "D"})
        samples = shapes_samples(kind, networks, 4, seed=0)
        assert samples.shape == (4, 1, 32, 32) and samples.min() >= -1 and samples.max() <= 1
