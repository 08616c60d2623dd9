"""Loading models from folders: config overrides typed as the config's fields are."""

from __future__ import annotations

from kit.runtime.hf import load_model


def test_a_false_override_is_false_not_the_truthy_string(config_only_dir):
    model = load_model(str(config_only_dir), no_weights=True, config_overrides="use_cache=false,num_hidden_layers=1")
    assert model.config.use_cache is False and model.config.num_hidden_layers == 1
    model = load_model(str(config_only_dir), no_weights=True, config_overrides="use_cache=True")
    assert model.config.use_cache is True
