"""PyTorch networks behind the deep learners (imported only while training).

Every network takes a batch of flow windows shaped ``(batch, window, features)``
(the window's rows are consecutive flows, oldest first) and returns class
probabilities, so that the exported ONNX graph is the whole scoring path.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_network", "probabilities"]

# Hidden width of the CNN, LSTM and CNN-LSTM: a few dozen features per flow
# need no more, and it keeps an epoch over 100k windows under a minute on two
# cores.
HIDDEN = 64


class _Probabilities(nn.Module):
    """Wrap a logit network so that the exported graph outputs probabilities."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(windows), dim=1)


class FlowCNN(nn.Module):
    """1D convolutions along the window (time), features as channels."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, HIDDEN, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv1d(HIDDEN, HIDDEN, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        # The head reads the newest flow's maps and the window's max-pooled maps.
        self.head = nn.Linear(2 * HIDDEN, n_classes)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        maps = self.conv(windows.transpose(1, 2))
        # The newest flow's position carries the verdict; the max over the
        # window gives it the context of the flows before it. The two are
        # concatenated, not combined by an element-wise maximum: that maximum
        # equals the pooled maps alone, so a flow next to an attack flow would
        # be judged as the attack.
        pooled = torch.cat([maps[:, :, -1], maps.amax(dim=2)], dim=1)
        return self.head(pooled)


class FlowLSTM(nn.Module):
    """An LSTM read over the window; the last step's state is classified."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, n_classes)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        steps, _ = self.lstm(windows)
        return self.head(steps[:, -1])


class FlowCNNLSTM(nn.Module):
    """A convolution over neighbouring flows, then an LSTM over its output."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, HIDDEN, kernel_size=3, padding=1), nn.ReLU()
        )
        self.lstm = nn.LSTM(HIDDEN, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, n_classes)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        maps = self.conv(windows.transpose(1, 2)).transpose(1, 2)
        steps, _ = self.lstm(maps)
        return self.head(steps[:, -1])


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut (He et al. 2016, "basic block")."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class FlowResNet18(nn.Module):
    """ResNet-18 (basic blocks [2, 2, 2, 2]) over a 1 x window x features image.

    Adapted to small single-channel images: a 3x3 stem that keeps every row
    (flow) and halves only the feature axis, no max-pooling (a 7x7/2 stem and
    a pool would shrink an 8-row image to 2 rows before the first block), and
    ``width`` channels in the first stage instead of 64, so that training
    fits a two-core machine.
    """

    def __init__(self, n_features: int, n_classes: int, width: int = 16) -> None:
        super().__init__()
        del n_features  # the global pooling makes the network size-agnostic
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, (1, 2), 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        in_channels = width
        for index, channels in enumerate((width, 2 * width, 4 * width, 8 * width)):
            stride = 1 if index == 0 else 2
            stages.append(_BasicBlock(in_channels, channels, stride))
            stages.append(_BasicBlock(channels, channels, 1))
            in_channels = channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(in_channels, n_classes)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        maps = self.stages(self.stem(windows.unsqueeze(1)))
        return self.head(torch.flatten(self.pool(maps), 1))


_ARCHITECTURES: dict[str, type[nn.Module]] = {
    "cnn": FlowCNN,
    "lstm": FlowLSTM,
    "cnn-lstm": FlowCNNLSTM,
    "resnet18": FlowResNet18,
}


def build_network(name: str, n_features: int, n_classes: int) -> nn.Module:
    """The logit network ``name``; :func:`probabilities` adds the softmax."""
    return _ARCHITECTURES[name](n_features, n_classes)


def probabilities(network: nn.Module) -> nn.Module:
    """The network followed by a softmax: what is exported and served."""
    return _Probabilities(network)
