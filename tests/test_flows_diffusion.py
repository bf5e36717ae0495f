"""Flows (RealNVP couplings) and diffusion / flow matching (notebook 09), against exact references.

- the coupling's log-determinant against autograd's full Jacobian, and x -> z -> x;
- a 2-D flow's density integrates to 1 on a grid;
- q(x_t | x_0) in closed form against the T-step chain run by Monte Carlo;
- the samplers against the exact denoiser of a one-point data set (where the optimal eps and velocity are known
  in closed form): DDIM, the DDPM chain and the ODE land on the point, and both losses are zero there.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import data, seed_everything
from course_utils.models.diffusion import (NoiseSchedule, PointDenoiser, UNet, UNetConfig, ddim_sample, ddpm_sample,
                                           diffusion_loss, flow_matching_loss, ode_sample, time_embedding)
from course_utils.models.flows import (Flow2d, Flow2dConfig, ImageFlow, ImageFlowConfig, checkerboard,
                                       channel_mask, squeeze, unsqueeze)

SMALL_IMAGE_FLOW = ImageFlowConfig(couplings=(2, 2, 2), width=(4, 4, 4), image_size=8)


def randomised(module: nn.Module, std: float = 0.3) -> nn.Module:
    """The module with every weight redrawn (the couplings start as the identity, which would test nothing)."""
    seed_everything(0)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, std)
    return module


def test_the_coupling_log_determinant_is_autograds_jacobian_in_2d():
    flow = randomised(Flow2d(Flow2dConfig(layers=6, hidden=16)))
    x = torch.randn(6, 2, dtype=torch.float64)
    flow.double()
    _, log_det = flow(x)
    for point, value in zip(x, log_det):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], point)
        assert torch.linalg.slogdet(jacobian)[1].item() == pytest.approx(value.item(), abs=1e-9)
    assert log_det.abs().min() > 1e-3  # the layers really move the points


def test_the_image_flows_log_determinant_is_autograds_jacobian():
    """The logit transform, the checkerboard and channel couplings and the squeezes, on 8x8 images (64 x 64
    Jacobians)."""
    flow = randomised(ImageFlow(SMALL_IMAGE_FLOW), std=0.1).double()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64) * 0.9 + 0.05
    _, log_det = flow(x)
    for image, value in zip(x, log_det):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0].flatten(), image).reshape(64, 64)
        assert torch.linalg.slogdet(jacobian)[1].item() == pytest.approx(value.item(), abs=1e-8)


def test_flows_invert_exactly():
    """In float64, so that the test sees the algebra and not float32's rounding through eight scaled layers."""
    flow = randomised(Flow2d()).double()
    z = torch.randn(500, 2, dtype=torch.float64)
    assert torch.allclose(flow(flow.inverse(z))[0], z, atol=1e-9)
    image_flow = randomised(ImageFlow(SMALL_IMAGE_FLOW), std=0.1).double()
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64) * 0.98 + 0.01
    assert torch.allclose(image_flow.inverse(image_flow(x)[0]), x, atol=1e-9)
    image_flow.float()
    assert image_flow.sample(5, generator=torch.Generator().manual_seed(0)).shape == (5, 1, 8, 8)


def test_squeeze_and_the_masks():
    x = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4).float()
    assert torch.equal(unsqueeze(squeeze(x)), x)
    assert squeeze(x).shape == (2, 12, 2, 2)
    assert torch.equal(squeeze(x)[0, :4, 0, 0], torch.tensor([0.0, 1.0, 4.0, 5.0]))  # one 2x2 patch -> 4 channels
    board = checkerboard(4, 0)
    assert board.sum() == 8 and board[0, 0, 0, 0] == 1 and board[0, 0, 0, 1] == 0
    assert torch.equal(checkerboard(4, 1), 1 - board)
    assert channel_mask(4, 0).flatten().tolist() == [1, 1, 0, 0] and channel_mask(4, 1).flatten().tolist() == [0, 0, 1, 1]


def test_a_2d_flows_density_integrates_to_one():
    flow = randomised(Flow2d(Flow2dConfig(layers=4, hidden=16)), std=0.2)
    axis = torch.linspace(-8, 8, 801)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    with torch.no_grad():
        density = flow.log_prob(torch.stack([xx.ravel(), yy.ravel()], 1)).exp()
    mass = density.sum().item() * (axis[1] - axis[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=0.01)


def test_a_flow_and_its_config_refuse_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        Flow2d()(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"\(n, 1, 28, 28\)"):
        ImageFlow()(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="multiple of 4"):
        ImageFlowConfig(image_size=30)
    with pytest.raises(ValueError, match="three positive"):
        ImageFlowConfig(couplings=(2, 2))


# ----------------------------------------------------------------------------- diffusion


def test_q_of_x_t_given_x_0_in_closed_form_matches_the_chain_of_small_steps():
    """Run x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) noise step by step for 40,000 copies of two points;
    at several t the mean and variance match sqrt(abar_t) x_0 and 1 - abar_t, and q_sample draws the same."""
    schedule = NoiseSchedule()
    generator = torch.Generator().manual_seed(0)
    x0 = torch.tensor([1.5, -0.7], dtype=torch.float64).repeat(40_000, 1)
    x = x0.clone()
    checked = {10, 100, 500, 1000}
    for t in range(1, schedule.steps + 1):
        beta = schedule.betas[t - 1]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(x.shape, generator=generator, dtype=torch.float64)
        if t in checked:
            abar = schedule.alpha_bars[t - 1]
            assert torch.allclose(x.mean(0), abar.sqrt() * x0[0], atol=0.015), t
            assert torch.allclose(x.var(0), (1 - abar).expand(2), rtol=0.03), t
            closed = schedule.q_sample(x0.float(), torch.full((len(x0),), t),
                                       torch.randn(x0.shape, generator=generator))
            assert torch.allclose(closed.mean(0).double(), x.mean(0), atol=0.02), t
            assert torch.allclose(closed.var(0).double(), x.var(0), rtol=0.05), t
    assert schedule.alpha_bars[-1] < 1e-4  # at T the data is all but forgotten


POINT = torch.tensor([0.8, -1.2])


class ExactPointDenoiser(nn.Module):
    """The exact answers for data that is one point x*: diffusion's eps(x_t, t) = (x_t - sqrt(abar_t) x*) /
    sqrt(1 - abar_t), and flow matching's velocity (x* - x_s) / (1 - s)."""

    def __init__(self, schedule: NoiseSchedule | None, point: torch.Tensor = POINT):
        super().__init__()
        self.schedule, self.point = schedule, point

    def forward(self, x, time):
        if self.schedule is None:  # flow matching: time is s
            return (self.point - x) / (1 - time)[:, None]
        t = (time * self.schedule.steps).round().long()
        abar = self.schedule.alpha_bar(t)[:, None]
        return (x - abar.sqrt() * self.point) / (1 - abar).sqrt()


def test_with_the_exact_denoiser_every_sampler_lands_on_the_data():
    schedule = NoiseSchedule()
    exact = ExactPointDenoiser(schedule)
    for steps in (1, 10, 50):
        assert torch.allclose(ddim_sample(exact, (64, 2), schedule, steps), POINT.expand(64, 2), atol=1e-4), steps
    trajectory = []
    out = ddpm_sample(exact, (64, 2), schedule, generator=torch.Generator().manual_seed(0), trajectory=trajectory)
    assert torch.allclose(out, POINT.expand(64, 2), atol=1e-3)
    assert trajectory[0][0] == 1000 and trajectory[-1][0] == 0 and len(trajectory) == 21  # T, 950, ..., 50 and 0
    assert trajectory[0][1].std() > 0.8  # it starts from noise
    velocity = ExactPointDenoiser(None)
    for method in ("euler", "heun"):
        assert torch.allclose(ode_sample(velocity, (64, 2), 8, method), POINT.expand(64, 2), atol=1e-5), method


def test_both_losses_are_zero_for_the_exact_denoiser_and_positive_otherwise():
    schedule = NoiseSchedule()
    x = POINT.expand(256, 2).clone()
    generator = torch.Generator().manual_seed(0)
    assert diffusion_loss(ExactPointDenoiser(schedule), x, schedule, generator).item() < 1e-8
    assert flow_matching_loss(ExactPointDenoiser(None), x, generator).item() < 1e-8
    untrained = PointDenoiser()
    assert diffusion_loss(untrained, x, schedule, generator).item() > 0.5
    assert flow_matching_loss(untrained, x, generator).item() > 0.5


def test_the_networks_keep_the_shapes_and_read_the_time():
    seed_everything(0)
    unet = UNet(UNetConfig(channels=(8, 16, 16), time_dim=16))
    x = torch.randn(3, 1, 28, 28)
    early, late = unet(x, torch.full((3,), 0.1)), unet(x, torch.full((3,), 0.9))
    assert early.shape == x.shape and not torch.allclose(early, late)
    assert PointDenoiser()(torch.randn(5, 2), torch.rand(5)).shape == (5, 2)
    features = time_embedding(torch.tensor([0.0, 0.5, 1.0]), 8)
    assert features.shape == (3, 8) and torch.equal(features[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    with pytest.raises(ValueError, match="divisible by 4"):
        UNetConfig(image_size=30)
    with pytest.raises(ValueError, match="1 <= steps"):
        ddim_sample(unet, (1, 1, 28, 28), NoiseSchedule(), steps=0)
    with pytest.raises(ValueError, match="euler"):
        ode_sample(unet, (1, 1, 28, 28), method="rk4")


def test_two_moons():
    points = data.two_moons(1001, generator=torch.Generator().manual_seed(0))
    assert points.shape == (1001, 2) and points.dtype == torch.float32
    assert points.mean(0).abs().max() < 0.15 and 0.5 < points.std(0).min() < 1.5
    upper = points[:, 1] * 0.75 + 0.25 > 0.25  # above the centre line: mostly the upper moon
    assert 0.4 < upper[:100].float().mean() < 0.6  # shuffled: the first hundred hold both moons
    assert torch.equal(points, data.two_moons(1001, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="n >= 1"):
        data.two_moons(0)
    assert math.isfinite(points.sum().item())


# ----------------------------------------------------------------------------- the trainer and the demo


def test_the_flow_objective_is_the_test_protocols_bits_per_dim():
    """flow_objective's loss equals the bound notebook 02 reports: -(log p(x) - D log 256) / (D log 2), on the same
    dequantisation draw."""
    from course_utils.metrics import dequantise
    from course_utils.train_flows_diffusion import flow_objective

    flow = randomised(ImageFlow(SMALL_IMAGE_FLOW), std=0.05)
    images = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    loss = flow_objective(flow, torch.Generator().manual_seed(3))(images)
    x = dequantise(images, torch.Generator().manual_seed(3)).float().reshape(images.shape)
    by_hand = -(flow.log_prob(x) - 64 * math.log(256)).mean() / (64 * math.log(2))
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_the_objective_trainer_fits_a_2d_flow_and_keeps_a_weight_average():
    from course_utils.train_flows_diffusion import ObjectiveTrainConfig, ObjectiveTrainer

    seed_everything(0)
    flow = Flow2d(Flow2dConfig(layers=4, hidden=32))
    g = torch.Generator().manual_seed(0)
    trainer = ObjectiveTrainer(flow, lambda x: -flow.log_prob(x).mean(), lambda n: data.two_moons(n, generator=g),
                               ObjectiveTrainConfig(steps=300, batch_size=128, lr=3e-3, ema_decay=0.9, grad_clip=10.0),
                               "cpu")
    trainer.train(progress=False)
    losses = trainer.history["loss"]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5  # the negative log-likelihood fell
    assert all(math.isfinite(v) for v in trainer.history["grad_norm"])
    assert not all(torch.equal(a, b) for a, b in zip(flow.parameters(), trainer.average.parameters()))
    trainer.use_average()
    assert all(torch.equal(a, b) for a, b in zip(flow.parameters(), trainer.average.parameters()))
    assert trainer.precision.name == "float32"
    with pytest.raises(ValueError, match="ema_decay"):
        ObjectiveTrainConfig(ema_decay=1.0)


def test_the_denoising_demo_draws_every_view_and_builds_its_widget():
    from course_utils.plots_generative import warp_stages
    from course_utils.widgets import DenoisingDemo

    schedule = NoiseSchedule(steps=20)
    cloud, digits = [], []
    ddpm_sample(PointDenoiser(), (50, 2), schedule, torch.Generator().manual_seed(0), trajectory=cloud, keep_every=5)
    ddim_sample(UNet(UNetConfig(channels=(8, 8, 8), time_dim=8)), (4, 1, 28, 28), schedule, 4,
                torch.Generator().manual_seed(0), trajectory=digits)
    flow = Flow2d(Flow2dConfig(layers=2, hidden=8))
    demo = DenoisingDemo(cloud, digits, data.two_moons(50), warp=warp_stages(flow))
    assert len(demo.warp) == 3 and demo.warp[0].shape[-1] == 2
    assert "t = 20" in demo.figure(0.0).axes[0].get_title() and "t = 0" in demo.figure(1.0).axes[0].get_title()
    assert "after 2 of 2" in demo.warp_figure(2).axes[0].get_title()
    assert len(demo.static_figure().axes) == 10
    box = demo.widget()
    denoise, flow = box.children[0].children  # side by side: (title, (play, slider), picture), (title, slider, picture)
    assert len(denoise.children) == 3 and len(flow.children) == 3
    assert set(demo.controls) == {"play", "noise -> data", "couplings undone"}
    with pytest.raises(ValueError, match="at least one frame"):
        DenoisingDemo([], digits, data.two_moons(5))
