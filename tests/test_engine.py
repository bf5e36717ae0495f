"""The training engine: the divergence guard (weights and optimiser state), explosions, Ctrl-C, schedules,
and the compile fallback, on the 1-D GAN (milliseconds per step on a CPU)."""

import warnings
from dataclasses import replace

import pytest
import torch

from course_utils import engine
from course_utils.budget import seed_everything
from course_utils.data import gaussian_1d
from course_utils.engine import Trainer, TrainingDivergedError, constant_then_linear, cosine_decay, linear_decay
from course_utils.models.gan1d import Discriminator, Generator
from course_utils.train import GANTrainConfig, GANTrainer, train_gan

CFG = GANTrainConfig(steps=60, batch_size=32, lr_d=2e-3, lr_g=2e-3, log_every=1)


def poisoned_sampler(bad_steps: set[int]):
    """Real data, except NaN on the calls in `bad_steps` (one call per D step: k=1)."""
    p, calls = gaussian_1d(), {"n": 0}

    def sample(n):
        calls["n"] += 1
        x = p.sample(n)
        return x * float("nan") if calls["n"] in bad_steps else x
    return sample


def adam_state_is_finite(trainer: GANTrainer) -> bool:
    return all(torch.isfinite(v).all() for opt in (trainer.opt_d, trainer.opt_g)
               for state in opt.state.values() for v in state.values() if torch.is_tensor(v))


def test_after_a_caught_divergence_adam_trains_on_without_diverging_again():
    seed_everything(0)
    trainer = GANTrainer(Generator(), Discriminator(), poisoned_sampler({25}), CFG, "cpu")
    with pytest.raises(TrainingDivergedError, match="loss_d became nan at step 25.*optimisers' state were restored"
                                                     r".*\(step 20\)"):
        trainer.train(progress=False)
    # The NaN batch poisoned Adam's moments; the guard must have put back the moments of step 20 too.
    assert trainer.step == 20 and len(trainer.history["loss_d"]) == 20 and adam_state_is_finite(trainer)
    trainer.train(progress=False)  # the data is clean again: goes on to the configured 60 steps
    assert trainer.step == 60 and trainer.history["step"] == list(range(1, 61))
    assert all(torch.isfinite(p).all() for p in trainer.G.parameters())


def test_restoring_only_the_weights_would_not_have_been_enough():
    """The reason the optimiser state is restored: with the poisoned moments kept, the next step is NaN again."""
    seed_everything(0)
    trainer = GANTrainer(Generator(), Discriminator(), poisoned_sampler({25}), CFG, "cpu")
    with pytest.raises(TrainingDivergedError):
        trainer.train(progress=False)
    for state in trainer.opt_d.state.values():  # what the guard undid: moments poisoned by a NaN gradient
        state["exp_avg"].fill_(float("nan"))
    with pytest.raises(TrainingDivergedError, match="at step 21"):
        trainer.train(progress=False)


def test_an_explosion_without_nan_is_caught_with_the_same_message():
    """Adam at lr=1e6: the losses and weights grow to 1e29 and beyond without ever being NaN."""
    seed_everything(0)
    cfg = replace(CFG, lr_d=1e6, lr_g=1e6, steps=300)
    trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample, cfg, "cpu")
    with pytest.raises(TrainingDivergedError, match=r"reached .*the bound is max_(loss|weight_norm).*restored"):
        trainer.train(progress=False)
    assert trainer.step < 30 and all(p.abs().max() < 1e4 for p in trainer.G.parameters())


def test_ctrl_c_then_train_goes_on_to_the_configured_total(capsys):
    def interrupt_at_37(trainer):
        if trainer.step == 37:
            raise KeyboardInterrupt

    trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample, replace(CFG, steps=100), "cpu")
    trainer.train(hooks=[interrupt_at_37], progress=False)
    assert trainer.step == 37 and "Interrupted at step 37 of 100" in capsys.readouterr().out
    trainer.train(progress=False)
    assert trainer.step == 100 and len(trainer.history["loss_g"]) == 100
    trainer.train(progress=False)  # nothing left to do
    assert trainer.step == 100


def test_train_gan_returns_the_trainer_to_go_on_with():
    trainer = train_gan(Generator(), Discriminator(), gaussian_1d().sample, replace(CFG, steps=5), "cpu",
                        progress=False)
    assert isinstance(trainer, Trainer) and trainer.step == 5 and len(trainer.history["loss_d"]) == 5
    trainer.train(3, progress=False)
    assert trainer.step == 8


def test_logs_read_every_log_every_steps_match_logs_read_every_step():
    def run(log_every):
        seed_everything(1)
        trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample,
                             replace(CFG, steps=23, log_every=log_every), "cpu")
        return trainer.train(progress=False)

    one, seven = run(1), run(7)
    assert one["step"] == seven["step"] == list(range(1, 24))
    assert one["loss_d"] == pytest.approx(seven["loss_d"])


@pytest.mark.parametrize("schedule, halfway, end", [(linear_decay(0.1), 0.55, 0.1), (cosine_decay(0.0), 0.5, 0.0),
                                                    (constant_then_linear(0.5), 1.0, 0.0)])
def test_schedules(schedule, halfway, end):
    assert schedule(0.0) == pytest.approx(1.0)
    assert schedule(0.5) == pytest.approx(halfway) and schedule(1.0) == pytest.approx(end)


def test_every_and_engine_arguments_are_checked():
    with pytest.raises(ValueError, match="every.*n = 0"):
        engine.every(0, print)
    with pytest.raises(ValueError, match="log_every = 0"):
        Trainer({}, {}, total_steps=10, log_every=0)


def test_a_compile_failure_warns_once_and_trains_on_eagerly(monkeypatch):
    """compile=True must never end a student's run: here torch.compile 'fails' at the first call."""
    def broken_compile(module, *args, **kwargs):
        def fail(*a, **k):
            raise RuntimeError("inductor exploded (simulated)")
        return fail
    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(engine, "warn_once", lambda message, _seen=set(): _warn(message, _seen))
    seed_everything(2)
    eager = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample, replace(CFG, steps=10), "cpu")
    eager.train(progress=False)
    seed_everything(2)
    trainer = GANTrainer(Generator(), Discriminator(), gaussian_1d().sample, replace(CFG, steps=10, compile=True), "cpu")
    with pytest.warns(RuntimeWarning, match="torch.compile failed.*inductor exploded.*eager step"):
        trainer.train(progress=False)
    assert trainer.step == 10 and trainer.history["step"] == list(range(1, 11))
    # The failed try drew a batch before failing, so the numbers differ from the eager run's; the scale does not.
    assert trainer.history["loss_d"][-1] == pytest.approx(eager.history["loss_d"][-1], rel=0.2)


def _warn(message, seen):
    if message not in seen:
        seen.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_cuda_graph_step_trains_and_its_guard_restores_in_place():
    """compile=True on a GPU: after 3 warm-up steps the step is recorded once and replayed; a caught NaN
    restores weights and Adam's state into the tensors the graph reads, and training goes on."""
    from course_utils.data import image_sampler
    from course_utils.models.dcgan import DCGANConfig, Discriminator as DCGAND, Generator as DCGANG

    small = DCGANConfig(g_width=8, d_width=8)
    images = torch.randint(0, 256, (256, 3, 32, 32), dtype=torch.uint8)
    cfg = GANTrainConfig(steps=40, batch_size=16, lr_d=2e-4, lr_g=2e-4, log_every=5, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to eager would warn: here it must not happen
        trainer = GANTrainer(DCGANG(small), DCGAND(small), image_sampler(images, "cuda"), cfg, "cuda")
        trainer.train(20, progress=False)
    assert trainer._graph is not None and trainer.step == 20
    assert all(torch.isfinite(torch.tensor(v)).all() for v in trainer.history["loss_d"])
    for state in trainer.opt_d.state.values():  # poison Adam as a NaN gradient would
        state["exp_avg"].fill_(float("nan"))
    with pytest.raises(TrainingDivergedError):
        trainer.train(10, progress=False)
    assert adam_state_is_finite(trainer)
    trainer.train(progress=False)
    assert trainer.step == 40


def test_a_checkpoint_step_is_kept_as_good_even_when_its_logs_were_already_read(tmp_path):
    """log_every=3, checkpoint_every=6: at step 6 the logs were read already; the guard must still keep step 6."""
    seed_everything(0)
    cfg = replace(CFG, steps=30, log_every=3, checkpoint_every=6)
    trainer = GANTrainer(Generator(), Discriminator(), poisoned_sampler({8}), cfg, "cpu",
                         checkpoint_path=tmp_path / "run.safetensors")
    trainer.guard_every = 1000  # only the checkpoints refresh the last good state here
    with pytest.raises(TrainingDivergedError, match=r"at step 8.*\(step 6\)"):
        trainer.train(progress=False)
    assert trainer.step == 6 and adam_state_is_finite(trainer)
