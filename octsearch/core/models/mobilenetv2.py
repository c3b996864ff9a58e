"""Oct-MobileNetV2 (Sandler et al. 2018): inverted residual blocks with depthwise 3x3 convolutions.

Slots: ``stem.out``; ``stageS.out`` for each row S = 1..7 of the paper's Table 2 (the blocks of a
row that add a residual share it); ``stageS.blockB.inner`` for the expanded tensor of each block
(the depthwise convolution keeps its alpha, so expansion output and depthwise output share it;
its size is that of the depthwise output). The final 1x1 convolution outputs alpha 0 for pooling.
"""

from __future__ import annotations

from torch import Tensor, nn

from octsearch.core.layers import OctConvBNAct
from octsearch.core.models._head import ClassifierHead
from octsearch.core.models._staged import StagedNet
from octsearch.core.registration import check_common_args, check_width, register_model
from octsearch.core.slots import AlphaPlan
from octsearch.core.structure import BlockStructure, StructuredBlock

# expansion t, channels c, repeats n, first stride s
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels as the reference implementation does (never below 90% of ``value``)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


class InvertedResidual(StructuredBlock):
    def __init__(
        self, plan: AlphaPlan, prefix: str, in_ch: int, out_ch: int, stride: int, expand: int,
        in_slot: str, out_slot: str, side_in: int,
    ) -> None:
        super().__init__()
        hidden = in_ch * expand
        side = side_in // stride
        a_in = plan.slot(in_slot, in_ch, side_in)
        layers: list[nn.Module] = []
        if expand == 1:
            inner, a_mid = in_slot, a_in  # the depthwise conv reads the block input directly
        else:
            inner = f"{prefix}.inner"
            a_mid = plan.slot(inner, hidden, side)
            layers.append(OctConvBNAct(in_ch, hidden, 1, 1, alpha_in=a_in, alpha_out=a_mid, act="relu6",
                                       slot_in=in_slot, slot_out=inner))
        a_out = plan.slot(out_slot, out_ch, side)
        layers.append(OctConvBNAct(hidden, hidden, 3, stride, groups=hidden, alpha_in=a_mid, alpha_out=a_mid,
                                   act="relu6", slot_in=inner, slot_out=inner))
        layers.append(OctConvBNAct(hidden, out_ch, 1, 1, alpha_in=a_mid, alpha_out=a_out, act=None,
                                   slot_in=inner, slot_out=out_slot))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def structure(self) -> BlockStructure:
        # no activation after the add: the last 1x1 convolution is linear (the paper's design)
        return BlockStructure(tuple(self.body), identity=self.residual)


class OctMobileNetV2(StagedNet):
    def __init__(self, plan: AlphaPlan, num_classes: int, in_chans: int, input_size: int, width_mult: float,
                 dropout: float) -> None:
        super().__init__()
        stem_ch = make_divisible(32 * width_mult)
        last_ch = make_divisible(1280 * max(1.0, width_mult))
        side = input_size // 2
        a_stem = plan.slot("stem.out", stem_ch, side)
        self.stem = OctConvBNAct(in_chans, stem_ch, 3, 2, alpha_out=a_stem, act="relu6", slot_out="stem.out")
        in_ch, in_slot = stem_ch, "stem.out"
        for s, (t, c, n, stride) in enumerate(SETTINGS, start=1):
            out_ch, out_slot = make_divisible(c * width_mult), f"stage{s}.out"
            blocks = {}
            for b in range(1, n + 1):
                st = stride if b == 1 else 1
                blocks[f"block{b}"] = InvertedResidual(plan, f"stage{s}.block{b}", in_ch, out_ch, st, t,
                                                       in_slot, out_slot, side)
                side //= st
                in_ch, in_slot = out_ch, out_slot
            self.add_stage(f"stage{s}", blocks)
        a_last = plan.slot(in_slot, in_ch, side)
        self.last = OctConvBNAct(in_ch, last_ch, 1, 1, alpha_in=a_last, alpha_out=0.0, act="relu6", slot_in=in_slot)
        self.head = ClassifierHead(last_ch, num_classes, dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.last(self.run_stages(self.stem(x))))


@register_model("mobilenetv2", "Oct-MobileNetV2 (inverted residuals, depthwise 3x3, width multiplier)",
                num_classes=1000, in_chans=3, input_size=224, width_mult=1.0, dropout=0.2)
def oct_mobilenetv2(plan, num_classes, in_chans, input_size, width_mult, dropout):  # noqa: ANN001, ANN201
    name = "oct_mobilenetv2"
    check_common_args(name, num_classes, in_chans, input_size,
                      lambda s: s >= 32 and s % 32 == 0, "a multiple of 32, at least 32 (e.g. 224)")
    check_width(name, width_mult)
    return OctMobileNetV2(plan, num_classes, in_chans, input_size, width_mult, float(dropout))
