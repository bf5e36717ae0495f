import math
from dataclasses import replace

import pytest
import torch

from course_utils import seed_everything
from course_utils.data import gaussian_1d
from course_utils.models.gan1d import Discriminator, GAN1DConfig, Generator
from course_utils.recipes import GAN1D
from course_utils.train import GANTrainConfig, GANTrainer, TrainingDivergedError, train_gan

SMALL = replace(GAN1D.train, steps=20, batch_size=64)


def test_model_shapes():
    cfg = GAN1DConfig(z_dim=3)
    G, D = Generator(cfg), Discriminator(cfg)
    z = G.sample_z(17)
    assert z.shape == (17, 3)
    assert G(z).shape == (17, 1) and D(G(z)).shape == (17, 1)


def test_gan1d_noise_is_standard_normal_and_G_unbounded():
    seed_everything(0)
    G = Generator()
    z = G.sample_z(100_000, generator=torch.Generator().manual_seed(0))
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02 and z.abs().max() > 3.5
    # G = linear path + tanh network; the network is bounded by its last layer's weights, so G(z)
    # follows the straight path far out: p_g is positive on the whole line, as p_data is.
    last = G.net[-1]
    bound = (last.weight.abs().sum() + last.bias.abs().sum()).item()
    far = torch.tensor([[-1e4], [1e4]])
    with torch.no_grad():
        assert ((G(far) - G.linear(far)).abs() <= bound + 1e-3).all()
        assert (G(far)[1] - G(far)[0]).abs().item() > 100


def test_one_training_step_updates_both_players():
    seed_everything(0)
    G, D = Generator(), Discriminator()
    before = [p.clone() for p in [*G.parameters(), *D.parameters()]]
    trainer = GANTrainer(G, D, gaussian_1d().sample, SMALL, "cpu")
    logs = trainer.train_step()
    assert set(logs) == {"loss_d", "d_real", "d_fake", "loss_g", "grad_g"}
    assert all(math.isfinite(v) for v in logs.values())
    after = [*G.parameters(), *D.parameters()]
    assert all(not torch.equal(b, a) for b, a in zip(before, after))
    assert trainer.step == 1 and trainer.history["step"] == [1]


def test_k_discriminator_steps_leave_G_alone():
    seed_everything(0)
    G, D = Generator(), Discriminator()
    trainer = GANTrainer(G, D, gaussian_1d().sample, SMALL, "cpu")
    g_before = [p.clone() for p in G.parameters()]
    trainer.train_d()
    assert all(torch.equal(b, a) for b, a in zip(g_before, G.parameters()))
    d_before = [p.clone() for p in D.parameters()]
    trainer.train_g()
    assert all(torch.equal(b, a) for b, a in zip(d_before, D.parameters()))


def run_history(seed: int) -> dict:
    seed_everything(seed)
    return dict(train_gan(Generator(), Discriminator(), gaussian_1d().sample, SMALL, "cpu", progress=False).history)


def test_same_seed_same_history():
    first, second = run_history(3), run_history(3)
    assert first == second
    assert run_history(4)["loss_d"] != first["loss_d"]


def test_nan_loss_stops_with_a_clear_message_and_restores_the_last_good_state():
    seed_everything(0)
    p = gaussian_1d()
    calls = {"n": 0}

    def poisoned(n):
        calls["n"] += 1
        x = p.sample(n)
        return x * float("nan") if calls["n"] > 12 else x

    G, D = Generator(), Discriminator()
    trainer = GANTrainer(G, D, poisoned, replace(SMALL, checkpoint_every=5), "cpu")
    with pytest.raises(TrainingDivergedError, match="loss_d became nan at step 13.*restored.*step 10"):
        trainer.train(progress=False)
    assert trainer.step == 10 and len(trainer.history["loss_d"]) == 10
    assert all(torch.isfinite(p).all() for p in [*G.parameters(), *D.parameters()])


def test_ctrl_c_returns_what_was_trained(capsys):
    def interrupt_at_7(trainer):
        if trainer.step == 7:
            raise KeyboardInterrupt

    trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample, SMALL, "cpu")
    history = trainer.train(hooks=[interrupt_at_7], progress=False)
    assert len(history["loss_g"]) == 7 and trainer.step == 7
    assert "Interrupted at step 7" in capsys.readouterr().out


def test_wrong_names_fail_when_the_config_is_made():
    with pytest.raises(ValueError, match=r"GANTrainConfig.loss = 'wgan': it must be one of \['hinge', 'minimax'"):
        replace(SMALL, loss="wgan")
    with pytest.raises(ValueError, match=r"optimizer_g = 'lbfgs': it must be one of \['adam', 'sgd', 'rmsprop'\]"):
        replace(SMALL, optimizer_g="lbfgs")
    with pytest.raises(ValueError, match=r"label_smoothing = 0.1: it must be in \[0, 1\), and 0 unless"):
        replace(SMALL, loss="wasserstein", label_smoothing=0.1)


@pytest.mark.parametrize("field, value", [("batch_size", 0), ("batch_size", -1), ("steps", 0), ("steps", -5),
                                          ("k", 0), ("checkpoint_every", 0), ("log_every", 0), ("lr_d", 0.0),
                                          ("lr_g", float("nan")), ("lr_final", 1.5), ("batch_size", 2.5)])
def test_bad_config_values_name_the_field_and_the_range(field, value):
    with pytest.raises(ValueError, match=rf"GANTrainConfig.{field} = .*: it must be (an integer >= 1|a finite number > 0|a number in \[0, 1\])"):
        replace(SMALL, **{field: value})


def test_learning_rate_decays_to_the_final_fraction():
    trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample,
                         GANTrainConfig(steps=10, batch_size=8, lr_final=0.1, lr_d=1.0e-3), "cpu")
    trainer.train(progress=False)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1.0e-3 * (1 - 0.9 * 9 / 10))


def test_checkpoint_written_during_training(tmp_path):
    from course_utils.checkpoints import load_checkpoint

    path = tmp_path / "run.safetensors"
    G, D = Generator(), Discriminator()
    GANTrainer(G, D, gaussian_1d().sample, SMALL, "cpu", checkpoint_path=path).train(progress=False)
    G2, D2 = Generator(), Discriminator()
    meta = load_checkpoint(path, {"G": G2, "D": D2})
    assert meta["step"] == 20 and len(meta["history"]["loss_d"]) == 20
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_same_code_runs_on_cuda():
    seed_everything(0)
    history = train_gan(Generator(), Discriminator(), gaussian_1d().sample, SMALL, "cuda", progress=False).history
    assert len(history["loss_d"]) == 20


def test_weight_average_follows_the_moving_average_formula():
    from course_utils.train import WeightAverage

    torch.manual_seed(0)
    G, D = Generator(), Discriminator()
    trainer = GANTrainer(G, D, lambda n: torch.randn(n, 1), replace(SMALL, steps=3), "cpu")
    average = WeightAverage(G, decay=0.9)
    expected = [p.detach().clone() for p in G.parameters()]
    for _ in range(3):
        trainer.train_step()
        average(trainer)
        expected = [0.9 * e + 0.1 * p.detach() for e, p in zip(expected, G.parameters())]
    for got, want in zip(average.model.parameters(), expected):
        assert torch.allclose(got, want, atol=1e-6)
    assert not any(p.requires_grad for p in average.model.parameters())
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(G, decay=1.0)


@pytest.mark.parametrize("changes", [dict(loss="wasserstein", clip=0.01, optimizer_d="rmsprop", optimizer_g="rmsprop", k=5),
                                     dict(loss="wasserstein", gradient_penalty=10.0, k=5),
                                     dict(loss="hinge"), dict(r1=1.0), dict(label_smoothing=0.1),
                                     dict(instance_noise=0.1), dict(lr_d=4e-3, lr_g=1e-3)])
def test_every_stabiliser_trains_on_the_ring_and_logs_what_it_should(changes):
    from course_utils.data import ring_2d

    class Plane(torch.nn.Module):  # a small G (noise -> the plane) or D (the plane -> a score)
        def __init__(self, n_in, n_out):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_out))

        def forward(self, x):
            return self.net(x)

        def sample_z(self, n, device="cpu"):
            return torch.randn(n, 2, device=device)

    cfg = replace(GANTrainConfig(steps=6, batch_size=32), **changes)
    trainer = GANTrainer(Plane(2, 2), Plane(2, 1), ring_2d().sample, cfg, "cpu")
    history = trainer.train(progress=False)
    logit = cfg.loss in ("minimax", "non_saturating")
    assert ({"d_real", "d_fake"} <= set(history)) == logit and ({"score_real", "score_fake"} <= set(history)) != logit
    assert ("penalty" in history) == bool(cfg.gradient_penalty or cfg.r1)
    if cfg.clip:
        assert all(p.abs().max() <= cfg.clip + 1e-7 for p in trainer.D.parameters())
