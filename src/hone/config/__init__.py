"""The run configuration: a validated pydantic tree, one module per section.

``load_config`` accepts a YAML path, a mapping or a ``Config`` plus dotted overrides and returns
a validated ``Config`` or raises ``ConfigError`` naming the offending path.
"""

from hone.config.data import DATASETS, DataConfig, PreprocessConfig, SplitConfig
from hone.config.load import (
    apply_overrides,
    default_config,
    format_validation_error,
    load_config,
    merge_overrides,
    parse_set,
    read_yaml,
    recorded_config,
)
from hone.config.model import DEFAULT_BLOCK_ORDER, BlockStep, ConvLayer, ModelConfig
from hone.config.options import OptimizerConfig, ScheduleConfig
from hone.config.root import Config
from hone.config.train import (
    AugmentConfig,
    EarlyStoppingConfig,
    EnsembleConfig,
    GradClipConfig,
    TelemetryConfig,
    TrainConfig,
)
from hone.yaml_safe import YamlLimitError, yaml_load

__all__ = [
    "DATASETS",
    "DEFAULT_BLOCK_ORDER",
    "AugmentConfig",
    "BlockStep",
    "Config",
    "ConvLayer",
    "DataConfig",
    "EarlyStoppingConfig",
    "EnsembleConfig",
    "GradClipConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PreprocessConfig",
    "ScheduleConfig",
    "SplitConfig",
    "TelemetryConfig",
    "TrainConfig",
    "YamlLimitError",
    "apply_overrides",
    "default_config",
    "format_validation_error",
    "load_config",
    "merge_overrides",
    "parse_set",
    "read_yaml",
    "recorded_config",
    "yaml_load",
]
