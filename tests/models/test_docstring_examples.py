"""The examples in the docstrings of the models, training and learned-enhancer modules run."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch

torch.set_num_threads(1)

MODULES = [
    "recanon_sdk.models",
    "recanon_sdk.models.registry",
    "recanon_sdk.models.keyed",
    "recanon_sdk.models.unet",
    "recanon_sdk.models.resnet_generator",
    "recanon_sdk.models.patchgan",
    "recanon_sdk.models.losses",
    "recanon_sdk.models.codec",
    "recanon_sdk.models.weights",
    "recanon_sdk.models.recover",
    "recanon_sdk.training.config",
    "recanon_sdk.training.data",
    "recanon_sdk.datasets",
    "recanon_sdk.enhance.learned",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
