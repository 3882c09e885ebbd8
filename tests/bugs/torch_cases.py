"""PyTorch (CPU) cases, re-created from public threads (see `tests.bugs`).

Each program is written from the thread's question (buggy) and its accepted answer (control), on
tiny random data; sizes are shrunk, the layers and the mistake are the thread's. A loss module
is guarded like a model (`g(nn.CrossEntropyLoss())`); a DataLoader with the spec of its batches.
"""

from __future__ import annotations

from typing import Any

from shapecontract.fixes import (
    Argmax,
    DropAxis,
    InsertAxis,
    InsertLayer,
    PadSequences,
    Permute,
    Reshape,
)

from . import Case, Guard, code, op, setting
from .programs import torch_modules as _t


# ----------------------------------------------------------------------------------------------
def mnist_cnn_linear(in_features: int) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class CNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))
                self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))
                self.out = nn.Linear(in_features, 10)

            def forward(self, x: Any) -> Any:
                x = self.conv2(self.conv1(x))
                x = x.view(x.size(0), -1)  # (batch, 32 * 7 * 7)
                return self.out(x)

        return g(CNN())(torch.randn(2, 1, 28, 28))
    return program


def ce_one_hot(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        output = torch.randn(3, 5)
        target = torch.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
        if fixed:
            target = torch.argmax(target, dim=1)
        return g(nn.CrossEntropyLoss())(output, target)
    return program


def ce_unsqueezed_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        logits = torch.randn(8, 4)
        labels = torch.randint(0, 4, (8,))
        target = labels if fixed else labels.unsqueeze(1)  # the stray unsqueeze
        return g(nn.CrossEntropyLoss())(logits, target)
    return program


def cnn_without_flatten(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class CNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2))
                self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2))
                if fixed:
                    self.out = nn.Sequential(nn.Flatten(), nn.Linear(32 * 6 * 6, 128),
                                             nn.Linear(128, 4))
                else:
                    self.out = nn.Linear(128, 4)

            def forward(self, x: Any) -> Any:
                return self.out(self.conv2(self.conv1(x)))

        return g(CNN())(torch.randn(5, 1, 24, 24))
    return program


def conv1d_channels_last(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = nn.Sequential(nn.Conv1d(3, 24, 5), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                              nn.Flatten(), nn.Linear(24, 2))
        x_train = torch.randn(8, 64, 3)  # (N, length, channels) from numpy
        return g(model)(x_train.permute(0, 2, 1) if fixed else x_train)
    return program


def conv2d_one_channel_for_rgb(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        conv = nn.Conv2d(in_channels=3 if fixed else 1, out_channels=8, kernel_size=3)
        return g(conv)(torch.randn(4, 3, 32, 32))
    return program


def conv3d_channels_last(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        conv3d = nn.Conv3d(in_channels=3, out_channels=4, kernel_size=3)
        volume = torch.randn(2, 8, 8, 8, 3)  # NDHWC, as TensorFlow keeps it
        return g(conv3d)(volume.permute(0, 4, 1, 2, 3) if fixed else volume)
    return program


def bilstm_h0(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        batch, seq_len, input_size, hidden, layers = 4, 10, 30, 16, 2

        class Tagger(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bilstm = nn.LSTM(input_size=input_size, hidden_size=hidden,
                                      num_layers=layers, bidirectional=True, batch_first=fixed)

            def forward(self, x: Any, h0: Any, c0: Any) -> Any:
                out, _ = self.bilstm(x, (h0, c0))
                return out

        h0 = torch.zeros(layers * 2, batch, hidden)
        c0 = torch.zeros(layers * 2, batch, hidden)
        return g(Tagger())(torch.randn(batch, seq_len, input_size), h0, c0)
    return program


def unbatched_image(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
        image = torch.randn(3, 16, 16)  # one image, (C, H, W)
        return g(net)(image.unsqueeze(0) if fixed else image)
    return program


def hardcoded_view(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        F = torch.nn.functional

        class ConvNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Conv2d(3, 16, 3)
                self.conv2 = nn.Conv2d(16, 24, 4)
                self.fc1 = nn.Linear(24 * 5 * 5 if fixed else 16 * 5 * 5, 120)

            def forward(self, x: Any) -> Any:
                x = F.max_pool2d(F.relu(self.conv1(x)), 2)
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                x = x.view(x.size(0), -1) if fixed else x.view(x.size(0), 5 * 5 * 16)
                return self.fc1(x)

        return g(ConvNet())(torch.randn(4, 3, 28, 28))
    return program


def mnist_flattened_into_conv(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Conv2d(1, 10, 3, padding=1)
                self.conv2 = nn.Conv2d(10, 20, 3, padding=1)
                self.fc1 = nn.Linear(20 * 28 * 28, 100)
                self.fc2 = nn.Linear(100, 10)

            def forward(self, x: Any) -> Any:
                out = self.conv2(self.conv1(x))
                out = out.view(out.size(0), -1)
                return self.fc2(torch.relu(self.fc1(out)))

        images = torch.rand(6, 1, 28, 28)  # a batch from MNIST's DataLoader
        return g(Net())(images if fixed else images.view(-1, 28 * 28))
    return program


def sequence_cross_entropy(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        batch, seq_len, classes = 4, 7, 11
        scores = torch.randn(batch, seq_len, classes)  # the network's output
        target = torch.randint(0, classes, (batch, seq_len))
        return g(nn.CrossEntropyLoss())(scores.permute(0, 2, 1) if fixed else scores, target)
    return program


def bce_flat_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        pred = torch.sigmoid(torch.randn(64, 1))
        target = torch.randint(0, 2, (64,)).float()
        return g(nn.BCELoss())(pred, target.unsqueeze(1) if fixed else target)
    return program


def bce_logits_flat_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = nn.Linear(6, 1)
        labels = torch.tensor([0.0, 1.0, 1.0, 0.0])
        logits = g(model)(torch.randn(4, 6))
        return g(nn.BCEWithLogitsLoss())(logits, labels.view(-1, 1) if fixed else labels)
    return program


def linear_three_outputs(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
        y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
        model = g(nn.Linear(1, 1 if fixed else 3))
        return g(nn.MSELoss())(model(x), y)
    return program


def mse_flat_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = g(nn.Linear(3, 1))
        outputs = model(torch.randn(16, 3))  # (16, 1)
        labels = torch.randn(16)
        return g(nn.MSELoss())(outputs, labels.unsqueeze(1) if fixed else labels)
    return program


def variable_length_batches(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.nn.utils.rnn import pad_sequence
        from torch.utils.data import DataLoader, Dataset

        from shapecontract import Array, Int

        class Sentences(Dataset):  # type: ignore[type-arg]
            def __init__(self) -> None:
                self.seqs = [torch.tensor([1, 2, 3]), torch.tensor([4, 5]), torch.tensor([6]),
                             torch.tensor([7, 8, 9, 10])]

            def __len__(self) -> int:
                return len(self.seqs)

            def __getitem__(self, i: int) -> Any:
                return self.seqs[i]

        def collate(batch: list[Any]) -> Any:
            return pad_sequence(batch, batch_first=True, padding_value=0)

        loader = DataLoader(Sentences(), batch_size=2, collate_fn=collate if fixed else None)
        embed = nn.Embedding(11, 4)
        return [embed(b).shape for b in g(loader, Int[Array, "batch tokens"])]
    return program


def grayscale_into_rgb_conv(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        conv = nn.Conv2d(1 if fixed else 3, 16, 3)
        return g(conv)(torch.randn(16, 1, 28, 28))
    return program


CASES = [
    Case("torch_linear_in_features_after_conv", "torch", "custom-forward",
         "https://androidkt.com/fix-runtimeerror-mat1-and-mat2-shapes-cannot-be-multiplied/",
         "MNIST CNN, view(x.size(0), -1) in forward into nn.Linear(1050, 10)",
         "in_features = 32 * 7 * 7 = 1568",
         (setting("in_features", 1568),), mnist_cnn_linear(1050), mnist_cnn_linear(1568)),
    Case("torch_cross_entropy_one_hot_targets", "torch", "loss-hint",
         "https://taourl.com/read-2437117.html",
         "nn.CrossEntropyLoss with one-hot integer targets (3, 5): multi-target not supported",
         "class indices: torch.argmax(target, dim=1)",
         (op(Argmax), code("argmax")), ce_one_hot(False), ce_one_hot(True)),
    Case("torch_cross_entropy_unsqueezed_labels", "torch", "loss-hint",
         "https://openillumi.com/en/en-pytorch-0d-1d-target-tensor-error-fix",
         "labels.unsqueeze(1) gives CrossEntropyLoss (N, 1) targets",
         "drop the unsqueeze: targets of shape (N,)",
         (op(DropAxis), code("squeeze")), ce_unsqueezed_labels(False), ce_unsqueezed_labels(True)),
    Case("torch_cnn_linear_without_flatten", "torch", "custom-forward",
         "https://e-com-net.com/article/1594927416860581888.htm",
         "conv blocks straight into nn.Linear(128, 4): the (30, 32, 6, 6) map is never flattened",
         "nn.Flatten() then nn.Linear(1152, 128) and nn.Linear(128, 4)",
         (op(InsertLayer), code("flatten"), setting("in_features", 1152)),
         cnn_without_flatten(False), cnn_without_flatten(True)),
    Case("torch_conv1d_channels_last", "torch", "transpose-vs-reshape",
         "https://openillumi.com/?p=69018",
         "X_train (N, 256, 3) from numpy, channels last, into nn.Conv1d(3, 24, 5)",
         "X_train.permute(0, 2, 1): (N, C, L)",
         (op(Permute, perm=(0, 2, 1)), code("permute(0, 2, 1)")),
         conv1d_channels_last(False), conv1d_channels_last(True)),
    Case("torch_conv2d_in_channels_for_rgb", "torch", "data-blamed",
         "https://taourl.com/read-2182898.html",
         "nn.Conv2d(in_channels=1) fed RGB batches (N, 3, H, W)",
         "in_channels=3, the data's channels",
         (setting("in_channels", 3),),
         conv2d_one_channel_for_rgb(False), conv2d_one_channel_for_rgb(True)),
    Case("torch_conv3d_channels_last", "torch", "transpose-vs-reshape",
         "https://duoke360.com/post/34414",
         "volumes in NDHWC (as TensorFlow keeps them) into nn.Conv3d(3, ...)",
         "input.permute(0, 4, 1, 2, 3): NCDHW",
         (op(Permute, perm=(0, 4, 1, 2, 3)), code("permute(0, 4, 1, 2, 3)")),
         conv3d_channels_last(False), conv3d_channels_last(True)),
    Case("torch_bilstm_batch_first_h0", "torch", "data-blamed",
         "https://programmerah.com/runtimeerror-expected-hidden0-size-x-x-x-gotx-x-x-39265/",
         "a BiLSTM without batch_first fed (batch, seq, features) with h0 of (4, batch, hidden): "
         "'Expected hidden[0] size (4, 10, 16), got [4, 4, 16]'",
         "batch_first=True, the parameter that was missing",
         (setting("batch_first", True),), bilstm_h0(False), bilstm_h0(True)),
    Case("torch_unbatched_image_into_cnn", "torch", "known-remedy",
         "https://duoke360.com/post/34064",
         "one (3, H, W) image into a conv net (Conv2d takes it as unbatched; Flatten then "
         "breaks the Linear)",
         "input.unsqueeze(0): a batch of one",
         (op(InsertAxis, axis=0), code("unsqueeze(0)")),
         unbatched_image(False), unbatched_image(True)),
    Case("torch_hardcoded_view_size", "torch", "custom-forward",
         "https://www.bytezonex.com/archives/QBoC8wIS.html",
         "x.view(x.size(0), 5 * 5 * 16) after a conv with 24 channels: shape '[4, 400]' is "
         "invalid for input of size 2400",
         "x.view(x.size(0), -1) and fc1 = nn.Linear(24 * 5 * 5, 120)",
         (setting("in_features", 600), code("view(x.size(0), -1)"), code("flatten")),
         hardcoded_view(False), hardcoded_view(True)),
    Case("torch_mnist_flattened_into_conv", "torch", "known-remedy",
         "https://e-com-net.com/article/1743708265516122112.htm",
         "images.view(-1, 28 * 28) fed to nn.Conv2d(1, 10, 3): 2-D input to a 4-D weight",
         "keep the images (N, 1, 28, 28) for the convolutions; flatten after them",
         (op(Reshape), code("1, 28, 28")),
         mnist_flattened_into_conv(False), mnist_flattened_into_conv(True)),
    Case("torch_sequence_cross_entropy", "torch", "transpose-vs-reshape",
         "https://whosebug.com/question/6539086/How-to-compute-Cross-Entropy-Loss-for-sequences",
         "CrossEntropyLoss on (batch, seq_len, classes) scores and (batch, seq_len) targets",
         "input.permute(0, 2, 1) (or transpose(1, 2)): classes on axis 1",
         (op(Permute, perm=(0, 2, 1)), code("transpose(1, 2)"), code("permute(0, 2, 1)")),
         sequence_cross_entropy(False), sequence_cross_entropy(True)),
    Case("torch_bce_flat_target", "torch", "loss-hint",
         "https://www.iiask.com/34l57998.html",
         "nn.BCELoss on predictions (64, 1) and targets (64,)",
         "target.unsqueeze(1) (or pred.squeeze(1))",
         (op(InsertAxis), op(DropAxis), code("unsqueeze(1)"), code("squeeze(1)")),
         bce_flat_target(False), bce_flat_target(True)),
    Case("torch_bce_logits_flat_target", "torch", "loss-hint",
         "https://www.kuazhi.com/post/713984006.html",
         "BCEWithLogitsLoss: Target size (torch.Size([4])) must be the same as input size "
         "(torch.Size([4, 1]))",
         "labels.view(-1, 1) (or unsqueeze(1))",
         (op(InsertAxis), op(Reshape, shape=(-1, 1)), code("view(-1, 1)"), code("unsqueeze")),
         bce_logits_flat_target(False), bce_logits_flat_target(True)),
    Case("torch_linear_three_outputs_mse", "torch", "output-vs-target", "http://xiaobeizi.cn/x/6iuujguWdu",
         "nn.Linear(1, 3) trained with MSELoss on (4, 1) targets: broadcasts with a warning",
         "the output must match the target: nn.Linear(1, 1)",
         (setting("out_features", 1),), linear_three_outputs(False), linear_three_outputs(True),
         silent=True),
    Case("torch_mse_flat_target", "torch", "output-vs-target", "https://duoke360.com/post/34071",
         "regression MSELoss(outputs (16, 1), labels (16,)): a (16, 16) broadcast, a warning",
         "labels.unsqueeze(1) (or outputs.squeeze())",
         (op(InsertAxis), op(DropAxis), code("unsqueeze(1)"), code("squeeze")),
         mse_flat_target(False), mse_flat_target(True), silent=True),
    Case("torch_dataloader_variable_length", "torch", "collate",
         "https://theneuralnotebook.hashnode.dev/handling-variable-length-sequences-in-pytorch-a-beginners-guide-to-collatefn-and-padsequence",
         "a DataLoader over token sequences of different lengths: default_collate cannot stack",
         "collate_fn=pad_sequence(batch, batch_first=True)",
         (op(PadSequences), code("pad_sequence")),
         variable_length_batches(False), variable_length_batches(True)),
    Case("torch_grayscale_into_rgb_conv", "torch", "data-blamed",
         "https://www.iiask.com/34l58747.html",
         "grayscale batches (16, 1, 28, 28) into nn.Conv2d(3, 16, 3)",
         "match the layer to the data: nn.Conv2d(1, ...) (or repeat the channel 3 times)",
         (setting("in_channels", 1), code("repeat")),
         grayscale_into_rgb_conv(False), grayscale_into_rgb_conv(True)),
]
