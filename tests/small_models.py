"""Every registered model at its smallest accepted input (narrow widths for the big ones)."""

SMALL = {
    "oct_resnet20": dict(input_size=16),
    "oct_resnet32": dict(input_size=16, width_mult=0.5),
    "oct_resnet56": dict(input_size=16, width_mult=0.5),
    "oct_resnet26": dict(input_size=64, width_mult=0.25, num_classes=10),
    "oct_resnet50": dict(input_size=64, width_mult=0.25, num_classes=10),
    "oct_resnet101": dict(input_size=64, width_mult=0.125, num_classes=10),
    "oct_mobilenetv2": dict(input_size=32, width_mult=0.35, num_classes=10),
}
