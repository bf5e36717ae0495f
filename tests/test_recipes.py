"""The recipes in course_utils.recipes are the ones that trained the committed weights."""

import ast
from dataclasses import asdict, is_dataclass
from pathlib import Path

import pytest

from course_utils.checkpoints import read_manifest
from course_utils.recipes import DCGAN_CIFAR10_CPU, RECIPES, dcgan_cifar10_recipe

MANIFEST = read_manifest()
# Fields the pretrain command sets for the hardware it runs on, recorded as used (not part of a recipe).
HARDWARE_CHOSEN = {"amp"}


def plain(value):
    """A config value as JSON stores it (tuples as lists)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def as_dict(config) -> dict:
    return {key: plain(value) for key, value in (asdict(config) if is_dataclass(config) else config).items()}


def test_every_committed_weight_file_has_a_recipe():
    assert set(RECIPES) == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_model_config_equals_the_manifest(name):
    assert as_dict(RECIPES[name].model) == MANIFEST[name]["config"]


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_training_config_equals_the_manifest(name):
    recorded = MANIFEST[name]["train_config"]
    recipe = as_dict(RECIPES[name].train)
    shared = (set(recipe) & set(recorded)) - HARDWARE_CHOSEN
    assert shared, f"{name}: no training field in common with the manifest's train_config"
    assert {key: recipe[key] for key in shared} == {key: recorded[key] for key in shared}


def test_dcgan_recipe_follows_the_device():
    assert dcgan_cifar10_recipe("cuda") is RECIPES["dcgan_cifar10"]
    assert dcgan_cifar10_recipe("cpu") is DCGAN_CIFAR10_CPU
    assert DCGAN_CIFAR10_CPU.model.g_width == RECIPES["dcgan_cifar10"].model.g_width // 2


def test_models_do_not_import_the_trainers_or_the_recipes():
    models = Path(__file__).resolve().parent.parent / "course_utils" / "models"
    for path in models.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert not (node.level >= 2 and (module.startswith("train") or module.startswith("recipes")
                                                 or module.startswith("engine"))), f"{path.name} imports {module}"
