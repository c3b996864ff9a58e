"""What a supernet run is told: how it trains and how it scores (no torch here: the CLI reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from octsearch.errors import ConfigError

SUPERNET_BUDGET = "supernet"  # the budget its scores are stored at
BN_MODES = ("recalibrate", "switchable")
CALIBRATION_IMAGES = 250

MAX_RANDOM = 64
# Default supernet epochs per proxy epoch. On mnist81 neither 1x nor 2x ranks as well as one
# stand-alone seed (tau +0.145), and they do not resolve from each other: 1x -0.01 +/- 0.19 over 5
# supernet seeds, 2x +0.12 +/- 0.10 over 6 trainings, Welch p 0.22. Cost does resolve: 1x ranks
# mnist81 in 7-10 stand-alone trials of CPU time, 2x in 13 (bench/results/supernet_fidelity_mnist81.md),
# so the default is the cheaper.
EPOCHS_FACTOR = 1


@dataclass(frozen=True)
class SandwichRule:
    """``random``: configurations drawn per step besides the two extremes; ``distill``: in-place
    distillation from the largest."""

    random: int = 2
    distill: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.random, bool) or not isinstance(self.random, int) or not 0 <= self.random <= MAX_RANDOM:
            raise ConfigError(f"sandwich random configurations {self.random!r}; accepted: an integer from 0 to "
                              f"{MAX_RANDOM}")


MAX_EPOCHS = 1000


@dataclass(frozen=True)
class SupernetSettings:
    """How the supernet trains: ``epochs`` over the training split, the sandwich ``rule``, ``seed``
    (initial weights, batch order, configuration draws)."""

    epochs: int
    rule: SandwichRule = field(default_factory=SandwichRule)
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(f"supernet epochs {self.epochs!r}; accepted: an integer from 1 to {MAX_EPOCHS}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"supernet seed {self.seed!r}; accepted: an integer >= 0")


@dataclass(frozen=True)
class EvaluationSettings:
    """``bn``: one of :data:`BN_MODES`; ``calibration_images``: training images per recalibration
    (the same ones for every configuration, drawn with ``seed``)."""

    bn: str = "recalibrate"
    calibration_images: int = CALIBRATION_IMAGES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bn not in BN_MODES:
            raise ConfigError(f"batch-norm handling {self.bn!r}; accepted: {', '.join(BN_MODES)}")


def default_settings(epochs: int) -> SupernetSettings:
    """The supernet's training for a space whose proxy trains ``epochs`` epochs (the defaults of
    ``octsearch supernet``): :data:`EPOCHS_FACTOR` times as many, sandwich of 2 random, seed 0."""
    return SupernetSettings(EPOCHS_FACTOR * epochs)
