"""The search-space file format: frozen pydantic models, one per YAML section (no torch here).

A space file is YAML read with ``yaml.safe_load``. Every section and key is listed below; unknown
keys are errors. Units: learning rates are per step, ``flops_budget`` is in GFLOPs (1e9 fused
multiply-adds) in the convention named by ``objectives.flops``. Numbers are finite, model arguments
are scalars, and lists and mappings nest at most 64 levels (:mod:`octsearch.spaces._yaml`).

.. code-block:: yaml

    description: one line shown by `octsearch spaces`
    model: {name: oct_resnet20, args: {width_mult: 0.5}}   # num_classes/in_chans/input_size: from the data
    data: {name: mnist, seed: 0, val_fraction: 0.2, limit: null, image_size: null, root: null, options: {}}
    #   data.augment: the training batches' augmentation: a name (none | crop_flip | rrc_flip) or
    #   {name: crop_flip, options: {padding: 4, flip: 0.5}}; null (the default): the data set's
    #   own (none for mnist/digits, crop_flip for cifar10/cifar100, rrc_flip for imagefolder/prepared)
    search:
      grid: [0, 0.125, 0.25, 0.5, 0.75]   # choices of every parameter that lists none
      per: none                           # none | slot | stage: parameters for free slots no group names
      fixed: 0                            # alpha of free slots that no parameter sets
      params:                             # explicit parameters: name -> slots tied to one value
        stage2: {slots: ["stage2.*"], choices: [0, 0.5]}
        stage3: null                      # null: slots "stage3" and "stage3.*", choices = grid
        stem: [0, 0.25]                   # a list: the choices (slots as for null)
    budget:
      epochs: 2
      batch_size: 64
      optimizer: {name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 0.0005, nesterov: true}
      schedule: {name: onecycle, warmup: 0.25}
      seed: 0
      threads: 1
      channels_last: true                 # memory layout while training (faster on CPU)
      fast_training: true                 # the fast OctConv training path on CPU (same results within 1e-4)
      label_smoothing: 0                  # cross-entropy label smoothing, in [0, 1)
      deterministic: false                # CUDA: true trades cuDNN autotuning for repeatability (CPU: always repeatable)
      ema: 0                              # validate an exponential moving average of the weights (decay per step; 0: off)
      full: {epochs: 8}                   # overrides for re-validation at a larger budget
    objectives: {flops: paper, param_count: false, latency: false, latency_path: fast}  # accuracy and FLOPs always
    flops_budget: null
    sampler: {name: nsga2, args: {}, trials: 40, concurrency: 2}
    repeats: {seeds: 0, margin: 1.0}      # re-evaluate front candidates with more seeds (launch --repeats)
    resources: {cpu: null, gpu: 0}        # Ray's share per trial (octsearch.spaces.resources)
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from octsearch.spaces._errors import short
from octsearch.spaces.resources import ResourcesSpec

DEFAULT_GRID: tuple[float, ...] = (0.0, 0.125, 0.25, 0.5, 0.75)
SAMPLERS: tuple[str, ...] = ("nsga2", "nsga3", "tpe", "random", "qmc", "gp")
MAX_IMAGE_SIZE = 4096  # px: the largest model input octsearch builds (core's input-size limit)


class _Section(BaseModel):
    # finite numbers only: an infinite budget or rate would fail later, where a file is not named
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def check_choices(values: Any) -> tuple[float, ...]:
    """A non-empty list of distinct alphas in [0, 1), returned sorted."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("accepted: a non-empty list of alphas in [0, 1), e.g. [0, 0.25, 0.5]")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or not 0 <= v < 1:
            raise ValueError(f"alpha {short(v)} is outside [0, 1); accepted: alphas 0 <= alpha < 1")
        out.append(float(v))
    if len(set(out)) != len(out):
        raise ValueError("accepted: distinct alphas (a value is listed twice)")
    return tuple(sorted(out))


def _model_arg(value: Any) -> Any:
    # Model arguments are numbers, flags or names; a list or mapping would reach the model's
    # constructor and the caches keyed by the arguments, an infinite width the layer sizes.
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise ValueError("a number, true/false or a string")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


ModelArg = Annotated[Any, AfterValidator(_model_arg)]


class ModelSpec(_Section):
    """The model family (a name from ``octsearch models``) and its arguments."""

    name: str
    args: dict[str, ModelArg] = Field(default_factory=dict)

    @field_validator("args")
    @classmethod
    def _no_name(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "name" in v:
            raise ValueError("key 'name' is reserved; accepted: the model's name under model.name")
        return v


class AugmentSpec(_Section):
    """The augmentation of training batches (``octsearch.trial.augment``); ``name`` null: the data
    set's default. Seeded per evaluation, applied to whole batches on the trial's device."""

    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> AugmentSpec:
        if self.name is not None or self.options:
            from octsearch.data.augment_spec import check_augment  # torch-free

            if self.name is None:
                raise ValueError("options need a name; accepted: {name: crop_flip, options: {...}}")
            try:
                check_augment(self.name, self.options)
            except ValueError as e:  # pydantic shows "accepted: ..." after the value
                raise ValueError(str(e).replace("choose one of", "accepted")) from None
        return self


class DataSpecFile(_Section):
    """The data set (a name from ``octsearch datasets``) and the arguments of ``load_dataset``.

    ``root`` may name an environment variable as ``${VAR}``; a relative path is read relative to the
    space file's directory.
    """

    name: str = "mnist"
    seed: int = Field(0, ge=0)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    limit: int | None = Field(None, ge=1)
    image_size: int | None = Field(None, ge=1, le=MAX_IMAGE_SIZE)
    root: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    augment: AugmentSpec = AugmentSpec()

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_name(cls, v: Any) -> Any:
        return {"name": v} if v is None or isinstance(v, str) else v


class ParamSpec(_Section):
    """One searched parameter: the slots (names or glob patterns) it sets to one value."""

    slots: tuple[str, ...] | None = None
    choices: tuple[float, ...] | None = None

    @field_validator("slots", mode="before")
    @classmethod
    def _slots(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if v is None:
            return v
        if not isinstance(v, (list, tuple)) or not v or not all(isinstance(s, str) and s for s in v):
            raise ValueError("accepted: a slot name or glob pattern, or a non-empty list of them")
        return tuple(v)

    @field_validator("choices", mode="before")
    @classmethod
    def _choices(cls, v: Any) -> Any:
        return None if v is None else check_choices(v)


class SearchSpec(_Section):
    """Which alpha slots are searched and over which choices."""

    grid: tuple[float, ...] = DEFAULT_GRID
    per: Literal["none", "slot", "stage"] = "none"
    fixed: float = 0.0
    params: dict[str, ParamSpec] = Field(default_factory=dict)

    @field_validator("grid", mode="before")
    @classmethod
    def _grid(cls, v: Any) -> Any:
        return check_choices(v)

    @field_validator("fixed", mode="before")
    @classmethod
    def _fixed(cls, v: Any) -> Any:
        return check_choices([v])[0]

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, v: Any) -> Any:
        if v is None:
            return {}
        if not isinstance(v, dict):
            return v  # pydantic reports the type
        out = {}
        for name, spec in v.items():
            if spec is None:
                spec = {}
            elif isinstance(spec, list):
                spec = {"choices": spec}
            out[name] = spec
        return out


class OptimizerSpec(_Section):
    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.1, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0)
    nesterov: bool = True


class ScheduleSpec(_Section):
    """Learning-rate schedule over the training steps; ``warmup`` is a fraction of them."""

    name: Literal["cosine", "constant", "onecycle"] = "onecycle"
    warmup: float = Field(0.25, ge=0, lt=1)


class FullBudgetSpec(_Section):
    """Overrides of the proxy budget for re-validation (``budget="full"``); unset keys inherit."""

    epochs: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=1)
    optimizer: OptimizerSpec | None = None
    schedule: ScheduleSpec | None = None
    threads: int | None = Field(None, ge=1)


class BudgetSpec(_Section):
    """The proxy training budget of one trial."""

    epochs: int = Field(2, ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    seed: int = Field(0, ge=0)
    threads: int = Field(1, ge=1)
    channels_last: bool = True  # memory layout of weights and batches while training
    fast_training: bool = True  # train through octsearch.fast.prepare_for_training (CPU)
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # F.cross_entropy's label_smoothing
    deterministic: bool = False  # CUDA: deterministic kernels, no cuDNN autotuning
    # the decay per step of an exponential moving average of the weights (torch.optim.swa_utils),
    # validated instead of the last weights: it can cut seed noise in short training (octsearch
    # calibrate measures it); 0 (the default) validates the trained weights themselves
    ema: float = Field(0.0, ge=0, lt=1)
    full: FullBudgetSpec = FullBudgetSpec()

    def resolve(self, which: str) -> BudgetSpec:
        """The proxy budget (``"proxy"``) or the proxy budget with the ``full`` overrides applied."""
        if which == "proxy":
            return self
        if which != "full":
            from octsearch.errors import ConfigError

            raise ConfigError(f"budget {which!r} is not accepted; choose one of: proxy, full")
        overrides = {k: v for k, v in self.full if v is not None}
        return self.model_copy(update=overrides)


class ObjectivesSpec(_Section):
    """Accuracy (maximised) and FLOPs (minimised) always; parameters and latency optionally."""

    flops: Literal["paper", "all"] = "paper"
    # ``params``: its name before 0005 (a word that also names the searched parameters), still read
    param_count: bool = Field(False, validation_alias=AliasChoices("param_count", "params"))
    latency: bool = False
    # the inference path whose latency is measured: the one the user will deploy
    latency_path: Literal["fast", "fast+onnxruntime", "fast+compile", "reference"] = "fast"


class SamplerSpec(_Section):
    name: Literal["nsga2", "nsga3", "tpe", "random", "qmc", "gp"] = "nsga2"
    args: dict[str, Any] = Field(default_factory=dict)
    trials: int = Field(40, ge=1)
    concurrency: int = Field(2, ge=1)


class RepeatsSpec(_Section):
    """Repeat evaluations of front candidates inside a search (issue: trustworthy fronts)."""

    seeds: int = Field(0, ge=0)  # further seeds for each configuration on or near the front
    margin: float = Field(1.0, ge=0)  # "near": within this many standard errors of the front


class SpaceFile(_Section):
    """A whole search-space file, validated but not yet resolved against the model's slots."""

    description: str = ""
    model: ModelSpec
    data: DataSpecFile = DataSpecFile()
    search: SearchSpec = SearchSpec()
    budget: BudgetSpec = BudgetSpec()
    objectives: ObjectivesSpec = ObjectivesSpec()
    flops_budget: float | None = Field(None, gt=0)
    sampler: SamplerSpec = SamplerSpec()
    repeats: RepeatsSpec = RepeatsSpec()
    resources: ResourcesSpec = ResourcesSpec()

    @field_validator("description")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if "\n" in v.strip():
            raise ValueError("accepted: one line of text")
        return v.strip()
