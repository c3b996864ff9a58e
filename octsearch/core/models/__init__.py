"""Oct model families; importing this package registers them."""

from octsearch.core.models import mobilenetv2, resnet_cifar, resnet_imagenet  # noqa: F401
