"""A corpus of correct PyTorch programs, each re-created from widely copied public material
(pytorch/examples, pytorch.org tutorials, popular blog tutorials), run unguarded and then
guarded with `shapecontract.guard` at the default level. The guard must not refuse correct
programs nor change what they compute. Tiny sizes: the whole file runs in seconds.

Programs the guard currently breaks are strict xfails (XFAIL below, one line each): they turn
red when the bug is fixed, and the mark comes off then.
"""

# The programs keep their sources' code as written (unused unpacked names and all).
# ruff: noqa: RUF059, B007

from __future__ import annotations

import math
import random
from typing import Any, TypedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.nn.utils.rnn import (  # noqa: E402
    pack_padded_sequence,
    pad_packed_sequence,
    pad_sequence,
)
from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

from shapecontract import Array, Float, Int, Shaped  # noqa: E402

from .corpus_programs import Corpus, run_twice  # noqa: E402

corpus = Corpus()
program = corpus.program


def seed(n: int) -> None:
    random.seed(n)
    np.random.seed(n)
    torch.manual_seed(n)


def train(model: Any, loader: Any, loss_fn: Any, steps: int | None = None, lr: float = 0.01,
          call: Any = None) -> list[float]:
    """The loop every tutorial writes: forward, loss, backward, step; the losses it saw."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    losses = []
    for k, batch in enumerate(loader):
        if steps is not None and k >= steps:
            break
        x, y = batch[0], batch[-1]
        out = model(x) if call is None else call(model, batch)
        loss = loss_fn(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# ============================================================================ image models
class MnistNet(nn.Module):
    """pytorch/examples mnist/main.py, as published."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def mnist_data(n: int = 8) -> tuple[Any, Any]:
    x = torch.rand(n, 1, 28, 28)
    x = (x - 0.1307) / 0.3081  # transforms.Normalize((0.1307,), (0.3081,))
    return x, torch.randint(0, 10, (n,))


MNIST_BATCH = tuple[Float[Array, "batch 1 28 28"], Int[Array, "batch"]]


@program
def pytorch_examples_mnist(g: Any) -> Any:
    """pytorch/examples mnist/main.py: Net (2 conv, 2 dropout, fc 9216->128->10), F.nll_loss, train and test loops."""
    x, y = mnist_data(6)
    train_loader = g(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True), MNIST_BATCH)
    test_loader = g(DataLoader(TensorDataset(x, y), batch_size=4), MNIST_BATCH)
    model = g(MnistNet())
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    losses = []
    model.train()
    for data, target in train_loader:
        opt.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return losses, test_loss, correct, pred


@program
def pytorch_examples_mnist_input_shape(g: Any) -> Any:
    """pytorch/examples mnist Net guarded as docs/adapters.md advises for a custom module: input_shape=(None, 1, 28, 28)."""
    x, y = mnist_data(4)
    model = g(MnistNet(), input_shape=(None, 1, 28, 28))
    out = model(x)
    loss = F.nll_loss(out, y)
    loss.backward()
    with torch.inference_mode():
        single = model(x[:1])
    return out, loss, single


class QuickstartNet(nn.Module):
    """pytorch.org Quickstart: NeuralNetwork (Flatten + Linear/ReLU stack)."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x: Any) -> Any:
        x = self.flatten(x)
        return self.linear_relu_stack(x)


@program
def quickstart_fashion_mnist(g: Any) -> Any:
    """pytorch.org Learn the Basics quickstart: FashionMNIST NeuralNetwork, CrossEntropyLoss, train()/test() over DataLoaders."""
    x, y = torch.rand(10, 1, 28, 28), torch.randint(0, 10, (10,))
    loader = g(DataLoader(TensorDataset(x, y), batch_size=4), MNIST_BATCH)
    model = g(QuickstartNet())
    loss_fn = g(nn.CrossEntropyLoss())
    losses = train(model, loader, loss_fn, lr=1e-3)
    model.eval()
    with torch.no_grad():
        pred = model(x[:1])
        predicted = pred[0].argmax(0)
    test_loss = sum(loss_fn(model(a), b).item() for a, b in loader)
    return losses, pred, predicted, test_loss


class BlitzNet(nn.Module):
    """pytorch.org 60-minute blitz, Training a Classifier (CIFAR-10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: Any) -> Any:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


@program
def blitz_cifar10_classifier(g: Any) -> Any:
    """pytorch.org 60-minute blitz 'Training a Classifier': CIFAR-10 Net, CrossEntropyLoss, SGD momentum, batch 4."""
    x, y = torch.rand(8, 3, 32, 32) * 2 - 1, torch.randint(0, 10, (8,))
    trainloader = g(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True),
                    tuple[Float[Array, "batch 3 32 32"], Int[Array, "batch"]])
    net = g(BlitzNet())
    criterion = g(nn.CrossEntropyLoss())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    running = []
    for inputs, labels in trainloader:
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running.append(loss.item())
    with torch.no_grad():
        outputs = net(x[:4])
        _, predicted = torch.max(outputs, 1)
    return running, outputs, predicted


class ViewMLP(nn.Module):
    """The classic MNIST MLP that flattens inside forward with x.view(-1, 28*28)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x: Any) -> Any:
        x = x.view(-1, 28 * 28)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


@program
def mnist_mlp_view_in_forward(g: Any) -> Any:
    """Popular MNIST MLP tutorials (e.g. Kaggle/Udacity 'MLP in PyTorch'): x.view(-1, 28*28) inside forward on (batch, 1, 28, 28) images."""
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    model = g(ViewMLP())
    criterion = g(nn.CrossEntropyLoss())
    return train(model, loader, criterion), model(x)


class VAE(nn.Module):
    """pytorch/examples vae/main.py, as published."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: Any) -> Any:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: Any, logvar: Any) -> Any:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: Any) -> Any:
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x: Any) -> Any:
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


@program
def pytorch_examples_vae(g: Any) -> Any:
    """pytorch/examples vae/main.py: forward(x) does x.view(-1, 784) on (batch, 1, 28, 28) images; BCE + KLD loss."""
    x = torch.rand(6, 1, 28, 28)
    loader = DataLoader(TensorDataset(x, torch.zeros(6)), batch_size=3)
    model = g(VAE())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for data, _ in loader:
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        bce = F.binary_cross_entropy(recon_batch, data.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        sample = model.decode(torch.randn(4, 20))
    return losses, sample


@program
def linear_regression_basics(g: Any) -> Any:
    """The classic 'linear regression in PyTorch' tutorial: nn.Linear(1, 1), nn.MSELoss, x of shape (n, 1)."""
    x = torch.linspace(0, 1, 12).unsqueeze(1)
    y = 2 * x + 1 + 0.01 * torch.randn(12, 1)
    model = g(nn.Linear(1, 1))
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = model(torch.tensor([[4.0]]))
    return loss, predicted


class Generator(nn.Module):
    """pytorch/examples dcgan Generator (ngf, nz reduced)."""

    def __init__(self, nz: int = 8, ngf: int = 4, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input: Any) -> Any:
        return self.main(input)


class Discriminator(nn.Module):
    """pytorch/examples dcgan Discriminator (ndf reduced)."""

    def __init__(self, ndf: int = 4, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, input: Any) -> Any:
        return self.main(input).view(-1, 1).squeeze(1)


@program
def pytorch_examples_dcgan(g: Any) -> Any:
    """pytorch/examples dcgan: Generator of ConvTranspose2d from (batch, nz, 1, 1) noise, Discriminator to (batch,), nn.BCELoss."""
    nz = 8
    netG, netD = g(Generator(nz)), g(Discriminator())
    criterion = g(nn.BCELoss())
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(2, 3, 64, 64) * 2 - 1
    b = real.size(0)
    netD.zero_grad()
    label = torch.full((b,), 1.0, dtype=torch.float)
    errD_real = criterion(netD(real), label)
    errD_real.backward()
    noise = torch.randn(b, nz, 1, 1)
    fake = netG(noise)
    label.fill_(0.0)
    errD_fake = criterion(netD(fake.detach()), label)
    errD_fake.backward()
    optD.step()
    netG.zero_grad()
    label.fill_(1.0)
    errG = criterion(netD(fake), label)
    errG.backward()
    optG.step()
    return errD_real, errD_fake, errG, fake


class LinearAutoencoder(nn.Module):
    """GeeksforGeeks-style 'Implementing an Autoencoder in PyTorch' (784 -> 9 -> 784)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 36),
                                     nn.ReLU(), nn.Linear(36, 9))
        self.decoder = nn.Sequential(nn.Linear(9, 36), nn.ReLU(), nn.Linear(36, 128), nn.ReLU(),
                                     nn.Linear(128, 28 * 28), nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        return self.decoder(self.encoder(x))


@program
def linear_autoencoder_mnist(g: Any) -> Any:
    """Autoencoder tutorial (GeeksforGeeks / many blogs): images reshaped to (-1, 784) outside, MSELoss against the input."""
    images = torch.rand(8, 1, 28, 28)
    loader = g(DataLoader(TensorDataset(images, torch.zeros(8)), batch_size=4),
               tuple[Float[Array, "batch 1 28 28"], Shaped[Array, "batch"]])
    model = g(LinearAutoencoder())
    loss_function = g(nn.MSELoss())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-1, weight_decay=1e-8)
    losses = []
    for image, _ in loader:
        image = image.reshape(-1, 28 * 28)
        reconstructed = model(image)
        loss = loss_function(reconstructed, image)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, reconstructed


class ConvAutoencoder(nn.Module):
    """Conv2d encoder / ConvTranspose2d decoder autoencoder (the common MNIST version)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(8, 16, 7))
        self.decoder = nn.Sequential(nn.ConvTranspose2d(16, 8, 7), nn.ReLU(),
                                     nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
                                     nn.ReLU(),
                                     nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1),
                                     nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        return self.decoder(self.encoder(x))


@program
def conv_autoencoder_mnist(g: Any) -> Any:
    """Convolutional autoencoder tutorial: Conv2d 28->14->7->1, ConvTranspose2d back to (batch, 1, 28, 28), MSELoss."""
    img = torch.rand(4, 1, 28, 28)
    model = g(ConvAutoencoder())
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    recon = model(img)
    loss = criterion(recon, img)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss, recon


@program
def segmentation_crossentropy_kdim(g: Any) -> Any:
    """FCN-style semantic segmentation: conv net to (batch, classes, H, W) scores, CrossEntropyLoss against (batch, H, W) class maps."""
    n_classes = 3
    model = g(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, n_classes, 1)))
    criterion = g(nn.CrossEntropyLoss())
    images = torch.rand(2, 3, 16, 16)
    masks = torch.randint(0, n_classes, (2, 16, 16))
    out = model(images)
    loss = criterion(out, masks)
    loss.backward()
    return out, loss, out.argmax(1)


class BasicBlock(nn.Module):
    """torchvision-style ResNet BasicBlock with a downsampling shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                        nn.BatchNorm2d(planes))

    def forward(self, x: Any) -> Any:
        identity = self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


@program
def resnet_basic_block(g: Any) -> Any:
    """torchvision resnet BasicBlock (conv-bn-relu twice, downsampling shortcut), then AdaptiveAvgPool2d + Linear head."""
    block = g(BasicBlock(3, 8, stride=2))
    head = g(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)))
    x = torch.rand(2, 3, 32, 32)
    feats = block(x)
    logits = head(feats)
    block.eval()
    with torch.no_grad():
        single = block(x[0].unsqueeze(0))
    return feats, logits, single


# ====================================================================== time series models
def windows(series: np.ndarray, lookback: int) -> tuple[Any, Any]:
    """X (n, lookback, features), y (n, features): the next value after each window."""
    xs = [series[i:i + lookback] for i in range(len(series) - lookback)]
    ys = [series[i + lookback] for i in range(len(series) - lookback)]
    return torch.tensor(np.array(xs), dtype=torch.float32), torch.tensor(np.array(ys), dtype=torch.float32)


class LSTMForecaster(nn.Module):
    """The stock-price / time-series LSTM tutorial model: explicit zero h0/c0, fc on the last step."""

    def __init__(self, input_dim: int = 1, hidden_dim: int = 16, num_layers: int = 2,
                 output_dim: int = 1) -> None:
        super().__init__()
        self.hidden_dim, self.num_layers = hidden_dim, num_layers
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: Any) -> Any:
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_dim).requires_grad_()
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_dim).requires_grad_()
        out, (hn, cn) = self.lstm(x, (h0.detach(), c0.detach()))
        return self.fc(out[:, -1, :])


@program
def stock_price_lstm_h0_zeros(g: Any) -> Any:
    """Popular 'stock price prediction with LSTM in PyTorch' tutorial: lookback windows, LSTM(batch_first) with zero h0/c0, fc(out[:, -1, :]), MSELoss."""
    series = np.sin(np.linspace(0, 6, 30)).reshape(-1, 1)
    x_train, y_train = windows(series, 8)
    model = g(LSTMForecaster())
    loss_fn = g(nn.MSELoss(reduction="mean"))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    hist = []
    for _ in range(2):
        y_train_pred = model(x_train)
        loss = loss_fn(y_train_pred, y_train)
        hist.append(loss.item())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return hist, y_train_pred


@program
def stock_price_lstm_input_shape(g: Any) -> Any:
    """The same stock-price LSTM guarded with input_shape=(None, lookback, 1), as docs/adapters.md advises for custom modules."""
    series = np.sin(np.linspace(0, 6, 30)).reshape(-1, 1)
    x_train, y_train = windows(series, 8)
    model = g(LSTMForecaster(), input_shape=(None, 8, 1))
    loss_fn = g(nn.MSELoss())
    pred = model(x_train)
    loss = loss_fn(pred, y_train)
    loss.backward()
    return pred, loss


class AirModel(nn.Module):
    """machinelearningmastery 'LSTM for Time Series Prediction in PyTorch' (airline passengers)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=50, num_layers=1, batch_first=True)
        self.linear = nn.Linear(50, 1)

    def forward(self, x: Any) -> Any:
        x, _ = self.lstm(x)
        return self.linear(x)


@program
def airline_passengers_lstm(g: Any) -> Any:
    """machinelearningmastery airline-passengers LSTM: X and y both (n, lookback, 1), DataLoader(TensorDataset), MSELoss, prediction of the last step."""
    timeseries = (np.arange(40, dtype="float32") % 12 + 100).reshape(-1, 1) / 100
    lookback = 4
    X = torch.tensor(np.array([timeseries[i:i + lookback] for i in range(len(timeseries) - lookback)]))
    y = torch.tensor(np.array([timeseries[i + 1:i + lookback + 1] for i in range(len(timeseries) - lookback)]))
    model = g(AirModel())
    loss_fn = g(nn.MSELoss())
    loader = g(DataLoader(TensorDataset(X, y), shuffle=True, batch_size=8),
               tuple[Float[Array, "batch lookback 1"], Float[Array, "batch lookback 1"]])
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for X_batch, y_batch in loader:
        y_pred = model(X_batch)
        loss = loss_fn(y_pred, y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        train_plot = model(X)[:, -1, :]
        rmse = np.sqrt(loss_fn(model(X), y).item())
    return losses, train_plot, rmse


class GRUNet(nn.Module):
    """FloydHub 'GRU and LSTM for time series' tutorial: forward(x, h), init_hidden(batch)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, n_layers: int,
                 drop_prob: float = 0.2) -> None:
        super().__init__()
        self.hidden_dim, self.n_layers = hidden_dim, n_layers
        self.gru = nn.GRU(input_dim, hidden_dim, n_layers, batch_first=True, dropout=drop_prob)
        self.fc = nn.Linear(hidden_dim, output_dim)
        self.relu = nn.ReLU()

    def forward(self, x: Any, h: Any) -> Any:
        out, h = self.gru(x, h)
        out = self.fc(self.relu(out[:, -1]))
        return out, h

    def init_hidden(self, batch_size: int) -> Any:
        weight = next(self.parameters()).data
        return weight.new(self.n_layers, batch_size, self.hidden_dim).zero_()


@program
def gru_forecast_forward_x_h(g: Any) -> Any:
    """FloydHub 'Predicting sales with GRU/LSTM': GRUNet.forward(x, h) with h from init_hidden, DataLoader(drop_last=True), MSELoss."""
    x = torch.rand(12, 10, 3).double()
    y = torch.rand(12, 1).double()
    batch_size = 4
    loader = g(DataLoader(TensorDataset(x, y), shuffle=True, batch_size=batch_size, drop_last=True),
               tuple[Float[Array, "batch 10 3"], Float[Array, "batch 1"]])
    model = g(GRUNet(3, 16, 1, 2))
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    h = model.init_hidden(batch_size)
    losses = []
    for xb, label in loader:
        h = h.data
        model.zero_grad()
        out, h = model(xb.float(), h)
        loss = criterion(out, label.float())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        h = model.init_hidden(x.shape[0])
        out, h = model(x.float(), h)
    return losses, out, h


class GRUModel(nn.Module):
    """K. Kuguoglu, 'Building RNN, LSTM, and GRU for time series using PyTorch' (TDS 2021): GRUModel."""

    def __init__(self, input_dim: int, hidden_dim: int, layer_dim: int, output_dim: int,
                 dropout_prob: float) -> None:
        super().__init__()
        self.layer_dim, self.hidden_dim = layer_dim, hidden_dim
        self.gru = nn.GRU(input_dim, hidden_dim, layer_dim, batch_first=True, dropout=dropout_prob)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: Any) -> Any:
        h0 = torch.zeros(self.layer_dim, x.size(0), self.hidden_dim).requires_grad_()
        out, _ = self.gru(x, h0.detach())
        out = out[:, -1, :]
        return self.fc(out)


@program
def kuguoglu_gru_timeseries(g: Any) -> Any:
    """'Building RNN, LSTM, and GRU for time series using PyTorch' (Kuguoglu): GRUModel, x_batch.view([batch, -1, n_features]), loss_fn(y, yhat) with MSELoss."""
    n_features, batch_size = 4, 4
    X, y = torch.randn(12, n_features), torch.randn(12, 1)
    train_loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False, drop_last=True)
    model = g(GRUModel(n_features, 8, 2, 1, 0.2))
    loss_fn = g(nn.MSELoss(reduction="mean"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    losses = []
    for x_batch, y_batch in train_loader:
        x_batch = x_batch.view([batch_size, -1, n_features])
        model.train()
        yhat = model(x_batch)
        loss = loss_fn(y_batch, yhat)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    with torch.no_grad():
        model.eval()
        predictions = model(X.view([12, -1, n_features]))
    return losses, predictions


class Sequence(nn.Module):
    """pytorch/examples time_sequence_prediction: two LSTMCells and a Linear, in float64."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input: Any, future: int = 0) -> Any:
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


@program
def time_sequence_prediction_lstmcell(g: Any) -> Any:
    """pytorch/examples time_sequence_prediction: Sequence of 2 LSTMCells over (batch, steps) sine waves in double, LBFGS closure, future=…"""
    T, L = 20, 30
    x = np.empty((4, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, 4).reshape(4, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    input, target = torch.from_numpy(data[1:, :-1]), torch.from_numpy(data[1:, 1:])
    test_input, test_target = torch.from_numpy(data[:1, :-1]), torch.from_numpy(data[:1, 1:])
    seq = Sequence()
    seq.double()
    seq = g(seq)
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8, max_iter=2)

    def closure() -> Any:
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        future = 5
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
    return pred, loss


class CNN1dSeries(nn.Module):
    """A 1D CNN over (batch, timesteps, features) windows: permute to channels first inside forward."""

    def __init__(self, n_features: int = 3, n_classes: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_features, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(16, 16, kernel_size=3, padding=1)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x: Any) -> Any:
        x = x.permute(0, 2, 1)  # (batch, timesteps, features) -> (batch, features, timesteps)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.pool(x).squeeze(-1)
        return self.fc(x)


@program
def conv1d_timeseries_permute(g: Any) -> Any:
    """1D-CNN time-series classification tutorials (e.g. human activity recognition): windows (batch, 32 steps, 3 features) permuted to (batch, 3, 32) in forward."""
    x, y = torch.randn(8, 32, 3), torch.randint(0, 4, (8,))
    model = g(CNN1dSeries())
    criterion = g(nn.CrossEntropyLoss())
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    return train(model, loader, criterion), model(x[:2])


@program
def conv1d_timeseries_permute_input_shape(g: Any) -> Any:
    """The same 1D CNN guarded with input_shape=(None, 32, 3), as docs/adapters.md advises for a custom module."""
    x, y = torch.randn(8, 32, 3), torch.randint(0, 4, (8,))
    model = g(CNN1dSeries(), input_shape=(None, 32, 3))
    criterion = g(nn.CrossEntropyLoss())
    out = model(x)
    return out, criterion(out, y)


@program
def conv1d_har_channels_first(g: Any) -> Any:
    """UCI-HAR 1D CNN (9 sensor channels x 128 steps, channels first): nn.Sequential of Conv1d/MaxPool1d/Flatten/Linear."""
    model = g(nn.Sequential(nn.Conv1d(9, 8, 5), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(8, 8, 5),
                            nn.ReLU(), nn.AdaptiveMaxPool1d(4), nn.Flatten(), nn.Linear(32, 6)))
    criterion = g(nn.CrossEntropyLoss())
    x, y = torch.randn(8, 9, 128), torch.randint(0, 6, (8,))
    loader = g(DataLoader(TensorDataset(x, y), batch_size=3),
               tuple[Float[Array, "batch 9 128"], Int[Array, "batch"]])
    return train(model, loader, criterion), model(x[:1])


# ================================================================= recurrent modules, guarded
@program
def lstm_packed_sequence_direct(g: Any) -> Any:
    """pack_padded_sequence -> nn.LSTM(batch_first=True) -> pad_packed_sequence, with and without (h0, c0) (the torch docs' pattern)."""
    lstm = g(nn.LSTM(4, 6, batch_first=True))
    padded = torch.randn(3, 5, 4)
    lengths = torch.tensor([5, 3, 2])
    packed = pack_padded_sequence(padded, lengths, batch_first=True)
    out, (h, c) = lstm(packed)
    unpacked, out_lengths = pad_packed_sequence(out, batch_first=True)
    h0, c0 = torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)
    out2, _ = lstm(packed, (h0, c0))
    unsorted = pack_padded_sequence(padded, torch.tensor([2, 5, 3]), batch_first=True,
                                    enforce_sorted=False)
    out3, (h3, _) = lstm(unsorted)
    return unpacked, out_lengths, h, out2.data, out3.data, h3


@program
def gru_seq_first_h0_and_unbatched(g: Any) -> Any:
    """nn.GRU docs example: rnn = nn.GRU(10, 20, 2); input (5, 3, 10); h0 (2, 3, 20); and the unbatched form (5, 10) with h0 (2, 20)."""
    rnn = g(nn.GRU(10, 20, 2))
    input = torch.randn(5, 3, 10)
    h0 = torch.randn(2, 3, 20)
    output, hn = rnn(input, h0)
    out_u, hn_u = rnn(torch.randn(5, 10), torch.randn(2, 20))
    out_nohx, _ = rnn(input)
    return output, hn, out_u, hn_u, out_nohx


@program
def lstm_docs_bidirectional_proj(g: Any) -> Any:
    """nn.LSTM docs example plus the bidirectional 2-layer and proj_size variants with explicit (h0, c0)."""
    rnn = g(nn.LSTM(10, 20, 2))
    input = torch.randn(5, 3, 10)
    h0, c0 = torch.randn(2, 3, 20), torch.randn(2, 3, 20)
    output, (hn, cn) = rnn(input, (h0, c0))
    bi = g(nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True))
    out_bi, (h_bi, c_bi) = bi(torch.randn(3, 5, 10), (torch.zeros(4, 3, 20), torch.zeros(4, 3, 20)))
    proj = g(nn.LSTM(10, 20, proj_size=8, batch_first=True))
    out_p, (h_p, c_p) = proj(torch.randn(3, 5, 10), (torch.zeros(1, 3, 8), torch.zeros(1, 3, 20)))
    return output, hn, cn, out_bi, h_bi, c_bi, out_p, h_p, c_p


class RNNModel(nn.Module):
    """pytorch/examples word_language_model RNNModel (LSTM variant)."""

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, input: Any, hidden: Any) -> Any:
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz: int) -> Any:
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def batchify(data: Any, bsz: int) -> Any:
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def get_batch(source: Any, i: int, bptt: int) -> tuple[Any, Any]:
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)


def repackage_hidden(h: Any) -> Any:
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


@program
def word_language_model_lstm(g: Any) -> Any:
    """pytorch/examples word_language_model: RNNModel.forward(input, hidden) on (seq_len, batch) ids, NLLLoss, repackage_hidden, a shorter last chunk."""
    ntokens = 30
    train_data = batchify(torch.randint(0, ntokens, (70,)), 4)  # (17, 4)
    model = g(RNNModel(ntokens, 8, 12, 2))
    criterion = g(nn.NLLLoss())
    model.train()
    hidden = model.init_hidden(4)
    losses = []
    bptt = 5
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i, bptt)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-20)
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        hidden = model.init_hidden(1)
        input = torch.randint(ntokens, (1, 1), dtype=torch.long)
        words = []
        for _ in range(3):
            output, hidden = model(input, hidden)
            word_idx = torch.multinomial(output.squeeze().div(1.0).exp(), 1)[0]
            input.fill_(word_idx)
            words.append(int(word_idx))
    return losses, words


class PositionalEncoding(nn.Module):
    """The sinusoidal positional encoding of the pytorch examples and tutorials (seq-first)."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 100) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

    def forward(self, x: Any) -> Any:
        return self.dropout(x + self.pe[:x.size(0), :])


class TransformerModel(nn.Transformer):
    """pytorch/examples word_language_model TransformerModel (subclasses nn.Transformer)."""

    def __init__(self, ntoken: int, ninp: int, nhead: int, nhid: int, nlayers: int,
                 dropout: float = 0.5) -> None:
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                         num_encoder_layers=nlayers)
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

    def forward(self, src: Any, has_mask: bool = True) -> Any:
        if has_mask:
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


@program
def word_language_model_transformer(g: Any) -> Any:
    """pytorch/examples word_language_model TransformerModel(nn.Transformer): forward(src, has_mask=True) on (seq_len, batch) ids, NLLLoss on output.view(-1, ntokens)."""
    ntokens = 30
    train_data = batchify(torch.randint(0, ntokens, (50,)), 4)
    model = g(TransformerModel(ntokens, 8, 2, 16, 1, dropout=0.2))
    criterion = g(nn.NLLLoss())
    losses = []
    for i in range(0, train_data.size(0) - 1, 5):
        data, targets = get_batch(train_data, i, 5)
        model.zero_grad()
        output = model(data)
        output = output.view(-1, ntokens)
        loss = criterion(output, targets)
        loss.backward()
        losses.append(loss.item())
    return losses, output


class TransAm(nn.Module):
    """oliverguhr/transformer-time-series-prediction TransAm: (window, batch, 1) series broadcast
    against a (max_len, 1, d_model) positional encoding, causal mask cached on the module."""

    def __init__(self, feature_size: int = 10, num_layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(feature_size, dropout=0.0)
        self.encoder_layer = nn.TransformerEncoderLayer(d_model=feature_size, nhead=2, dropout=dropout,
                                                        dim_feedforward=16)
        self.transformer_encoder = nn.TransformerEncoder(self.encoder_layer, num_layers=num_layers,
                                                         enable_nested_tensor=False)
        self.decoder = nn.Linear(feature_size, 1)

    def forward(self, src: Any) -> Any:
        if self.src_mask is None or self.src_mask.size(0) != len(src):
            self.src_mask = self._generate_square_subsequent_mask(len(src))
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, self.src_mask)
        return self.decoder(output)

    @staticmethod
    def _generate_square_subsequent_mask(sz: int) -> Any:
        mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
        return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)


def transam_batches(window: int = 6, batch: int = 3) -> tuple[Any, Any]:
    series = torch.sin(torch.linspace(0, 8, 40))
    starts = range(0, 40 - window - 1, 4)
    pairs = [(series[i:i + window], series[i + 1:i + window + 1]) for i in starts][:batch]
    x = torch.stack([p[0] for p in pairs], dim=1).unsqueeze(-1)  # (window, batch, 1)
    y = torch.stack([p[1] for p in pairs], dim=1).unsqueeze(-1)
    return x, y


@program
def transformer_timeseries_transam(g: Any) -> Any:
    """oliverguhr/transformer-time-series-prediction TransAm: (input_window, batch, 1) into a TransformerEncoder with a cached causal src_mask, MSELoss."""
    model = g(TransAm())
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.005)
    data, targets = transam_batches()
    output = model(data)
    loss = criterion(output, targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        pred = model(data[:, :1])
    return output, loss, pred


@program
def transformer_timeseries_transam_input_shape(g: Any) -> Any:
    """TransAm guarded with input_shape=(6, None, 1) (time-major, as docs/adapters.md declares one), then trained on (6, batch, 1) windows."""
    model = g(TransAm(), input_shape=(6, None, 1))
    criterion = g(nn.MSELoss())
    data, targets = transam_batches()
    output = model(data)
    loss = criterion(output, targets)
    loss.backward()
    return output, loss


class TransAmProjected(TransAm):
    """TransAm as its many forks write it: the (window, batch, 1) series first projected by an
    input Linear(1, feature_size), the causal mask cached on the module as before."""

    def __init__(self, feature_size: int = 10) -> None:
        super().__init__(feature_size)
        self.input_embedding = nn.Linear(1, feature_size)
        # registered first, as in the forks (forward order)
        self._modules = {"input_embedding": self._modules.pop("input_embedding"), **self._modules}

    def forward(self, src: Any) -> Any:
        return super().forward(self.input_embedding(src))


@program
def transformer_timeseries_input_projection(g: Any) -> Any:
    """TransAm forks (transformer time-series forecasting): Linear(1, d_model) input projection, cached causal src_mask, (window, batch, 1) windows, MSELoss, loss.item()."""
    model = g(TransAmProjected())
    criterion = g(nn.MSELoss())
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.005)
    data, targets = transam_batches()
    output = model(data)
    loss = criterion(output, targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return output, loss.item()


class EncoderRNN(nn.Module):
    """pytorch.org 'NLP From Scratch: Translation with a Sequence to Sequence Network' (batched version)."""

    def __init__(self, input_size: int, hidden_size: int, dropout_p: float = 0.1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input: Any) -> Any:
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


SOS_token, EOS_token, MAX_LENGTH = 0, 1, 5


class DecoderRNN(nn.Module):
    """The same tutorial's DecoderRNN: forward(encoder_outputs, encoder_hidden, target_tensor=None)."""

    def __init__(self, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, encoder_outputs: Any, encoder_hidden: Any, target_tensor: Any = None) -> Any:
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden = self.forward_step(decoder_input, decoder_hidden)
            decoder_outputs.append(decoder_output)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        return decoder_outputs, decoder_hidden, None

    def forward_step(self, input: Any, hidden: Any) -> Any:
        output = self.embedding(input)
        output = F.relu(output)
        output, hidden = self.gru(output, hidden)
        return self.out(output), hidden


class BahdanauAttention(nn.Module):
    """The same tutorial's additive attention: forward(query, keys)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query: Any, keys: Any) -> Any:
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    """The same tutorial's AttnDecoderRNN."""

    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs: Any, encoder_hidden: Any, target_tensor: Any = None) -> Any:
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs, attentions = [], []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs)
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = F.log_softmax(torch.cat(decoder_outputs, dim=1), dim=-1)
        return decoder_outputs, decoder_hidden, torch.cat(attentions, dim=1)

    def forward_step(self, input: Any, hidden: Any, encoder_outputs: Any) -> Any:
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        return self.out(output), hidden, attn_weights


def seq2seq_pairs(n: int, in_vocab: int, out_vocab: int) -> tuple[Any, Any]:
    inp = torch.randint(2, in_vocab, (n, MAX_LENGTH))
    tgt = torch.randint(2, out_vocab, (n, MAX_LENGTH))
    tgt[:, -1] = EOS_token
    return inp, tgt


@program
def seq2seq_translation_tutorial(g: Any) -> Any:
    """pytorch.org seq2seq translation tutorial: EncoderRNN(input), DecoderRNN(encoder_outputs, encoder_hidden, target_tensor), NLLLoss on flattened outputs."""
    input_tensor, target_tensor = seq2seq_pairs(4, 12, 14)
    encoder, decoder = g(EncoderRNN(12, 8)), g(DecoderRNN(8, 14))
    criterion = g(nn.NLLLoss())
    enc_opt = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    dec_opt = torch.optim.Adam(decoder.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(input_tensor, target_tensor), batch_size=2)
    losses = []
    for inp, tgt in loader:
        enc_opt.zero_grad()
        dec_opt.zero_grad()
        encoder_outputs, encoder_hidden = encoder(inp)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, tgt)
        loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), tgt.view(-1))
        loss.backward()
        enc_opt.step()
        dec_opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(input_tensor[:1])
        decoder_outputs, decoder_hidden, _ = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
    return losses, decoder_outputs, topi.squeeze()


@program
def seq2seq_attention_decoder(g: Any) -> Any:
    """pytorch.org seq2seq translation tutorial with AttnDecoderRNN and BahdanauAttention(query, keys)."""
    input_tensor, target_tensor = seq2seq_pairs(3, 12, 14)
    encoder, decoder = g(EncoderRNN(12, 8)), g(AttnDecoderRNN(8, 14))
    attention = g(BahdanauAttention(8))
    criterion = g(nn.NLLLoss())
    encoder_outputs, encoder_hidden = encoder(input_tensor)
    decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden, target_tensor)
    loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
    loss.backward()
    context, weights = attention(encoder_hidden.permute(1, 0, 2), encoder_outputs)
    return loss, decoder_outputs, attentions, context, weights


class LegacyEncoderRNN(nn.Module):
    """The classic (2017-2022) seq2seq tutorial encoder: one token at a time, forward(input, hidden)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)

    def forward(self, input: Any, hidden: Any) -> Any:
        embedded = self.embedding(input).view(1, 1, -1)
        output, hidden = self.gru(embedded, hidden)
        return output, hidden

    def initHidden(self) -> Any:
        return torch.zeros(1, 1, self.hidden_size)


class LegacyDecoderRNN(nn.Module):
    """The classic seq2seq tutorial decoder: forward(input, hidden) on a (1, 1) token."""

    def __init__(self, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: Any, hidden: Any) -> Any:
        output = F.relu(self.embedding(input).view(1, 1, -1))
        output, hidden = self.gru(output, hidden)
        return self.softmax(self.out(output[0])), hidden


@program
def seq2seq_classic_step_by_step(g: Any) -> Any:
    """Classic pytorch.org seq2seq tutorial train(): encoder(input_tensor[ei], hidden) per token, decoder([[SOS]], hidden), NLLLoss on (1, vocab) vs (1,)."""
    input_tensor = torch.randint(2, 12, (4, 1))
    target_tensor = torch.randint(2, 14, (3, 1))
    encoder, decoder = g(LegacyEncoderRNN(12, 8)), g(LegacyDecoderRNN(8, 14))
    criterion = g(nn.NLLLoss())
    encoder_hidden = encoder.initHidden()
    encoder_outputs = torch.zeros(MAX_LENGTH, 8)
    for ei in range(input_tensor.size(0)):
        encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
        encoder_outputs[ei] = encoder_output[0, 0]
    decoder_input = torch.tensor([[SOS_token]])
    decoder_hidden = encoder_hidden
    loss = 0
    for di in range(target_tensor.size(0)):
        decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden)
        topv, topi = decoder_output.topk(1)
        decoder_input = topi.squeeze().detach()
        loss += criterion(decoder_output, target_tensor[di])
    loss.backward()
    return loss, encoder_outputs, decoder_output


class BentrevettEncoder(nn.Module):
    """bentrevett/pytorch-seq2seq 1: LSTM encoder over (src_len, batch) ids."""

    def __init__(self, input_dim: int, emb_dim: int, hid_dim: int, n_layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: Any) -> Any:
        embedded = self.dropout(self.embedding(src))
        outputs, (hidden, cell) = self.rnn(embedded)
        return hidden, cell


class BentrevettDecoder(nn.Module):
    """bentrevett/pytorch-seq2seq 1: decoder.forward(input, hidden, cell) on a (batch,) token."""

    def __init__(self, output_dim: int, emb_dim: int, hid_dim: int, n_layers: int, dropout: float) -> None:
        super().__init__()
        self.output_dim = output_dim
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.fc_out = nn.Linear(hid_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input: Any, hidden: Any, cell: Any) -> Any:
        input = input.unsqueeze(0)
        embedded = self.dropout(self.embedding(input))
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        prediction = self.fc_out(output.squeeze(0))
        return prediction, hidden, cell


class Seq2Seq(nn.Module):
    """bentrevett/pytorch-seq2seq 1: forward(src, trg, teacher_forcing_ratio)."""

    def __init__(self, encoder: Any, decoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, src: Any, trg: Any, teacher_forcing_ratio: float = 0.5) -> Any:
        batch_size = trg.shape[1]
        trg_len = trg.shape[0]
        outputs = torch.zeros(trg_len, batch_size, self.decoder.output_dim)
        hidden, cell = self.encoder(src)
        input = trg[0, :]
        for t in range(1, trg_len):
            output, hidden, cell = self.decoder(input, hidden, cell)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            input = trg[t] if teacher_force else top1
        return outputs


@program
def bentrevett_seq2seq_lstm(g: Any) -> Any:
    """bentrevett/pytorch-seq2seq 'Sequence to Sequence Learning with Neural Networks': Seq2Seq(src, trg) seq-first, CrossEntropyLoss(ignore_index=pad) on output[1:].view(-1, dim)."""
    pad = 1
    enc = BentrevettEncoder(15, 6, 8, 2, 0.5)
    dec = g(BentrevettDecoder(17, 6, 8, 2, 0.5))
    model = g(Seq2Seq(enc, dec))
    criterion = g(nn.CrossEntropyLoss(ignore_index=pad))
    src = torch.randint(2, 15, (7, 3))
    trg = torch.randint(2, 17, (6, 3))
    trg[-1, 0] = pad
    output = model(src, trg)
    output_dim = output.shape[-1]
    loss = criterion(output[1:].view(-1, output_dim), trg[1:].view(-1))
    loss.backward()
    model.eval()
    with torch.no_grad():
        out_eval = model(src, trg, 0)
    return loss, output, out_eval


# ============================================================ text classification / NLP
class PackedRNN(nn.Module):
    """bentrevett/pytorch-sentiment-analysis 2 (legacy): forward(text, text_lengths), seq-first, packed."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 n_layers: int, bidirectional: bool, dropout: float, pad_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                           bidirectional=bidirectional, dropout=dropout)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: Any, text_lengths: Any) -> Any:
        embedded = self.dropout(self.embedding(text))
        packed_embedded = pack_padded_sequence(embedded, text_lengths.to("cpu"))
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def sorted_collate(batch: list[tuple[Any, int]]) -> tuple[Any, Any, Any]:
    """A BucketIterator(sort_within_batch=True) stand-in: seq-first padding, lengths descending."""
    batch = sorted(batch, key=lambda item: -len(item[0]))
    text = pad_sequence([t for t, _ in batch], padding_value=1)
    lengths = torch.tensor([len(t) for t, _ in batch])
    labels = torch.tensor([float(lbl) for _, lbl in batch])
    return text, lengths, labels


def reviews(n: int, vocab: int, lo: int = 3, hi: int = 9) -> list[tuple[Any, int]]:
    lens = torch.randint(lo, hi, (n,)).tolist()
    return [(torch.randint(2, vocab, (k,)), i % 2) for i, k in enumerate(lens)]


@program
def sentiment_packed_padded_seq_first(g: Any) -> Any:
    """bentrevett pytorch-sentiment-analysis 'Upgraded Sentiment Analysis': bi-LSTM over packed (sent_len, batch), forward(text, text_lengths), BCEWithLogitsLoss on predictions.squeeze(1)."""
    data = reviews(6, 25)
    loader = g(DataLoader(data, batch_size=3, collate_fn=sorted_collate),
               tuple[Int[Array, "time batch"], Int[Array, "batch"], Float[Array, "batch"]])
    model = g(PackedRNN(25, 6, 8, 1, 2, True, 0.5, pad_idx=1))
    criterion = g(nn.BCEWithLogitsLoss())
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for text, text_lengths, label in loader:
        optimizer.zero_grad()
        predictions = model(text, text_lengths).squeeze(1)
        loss = criterion(predictions, label)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        tensor = torch.LongTensor([4, 5, 6, 7]).unsqueeze(1)
        prediction = torch.sigmoid(model(tensor, torch.LongTensor([4])))
    return losses, prediction


class PackedLSTMBatchFirst(nn.Module):
    """bentrevett pytorch-sentiment-analysis (2021 rewrite) LSTM: forward(ids, length), batch_first, enforce_sorted=False."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 n_layers: int, bidirectional: bool, dropout_rate: float, pad_index: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers, bidirectional=bidirectional,
                            dropout=dropout_rate, batch_first=True)
        self.fc = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, ids: Any, length: Any) -> Any:
        embedded = self.dropout(self.embedding(ids))
        packed_embedded = pack_padded_sequence(embedded, length, batch_first=True,
                                               enforce_sorted=False)
        packed_output, (hidden, cell) = self.lstm(packed_embedded)
        output, output_length = pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat([hidden[-1], hidden[-2]], dim=-1))
        return self.fc(hidden)


class Batch(TypedDict):
    ids: Int[Array, "batch time"]
    length: Int[Array, "batch"]
    label: Int[Array, "batch"]


def get_collate_fn(pad_index: int) -> Any:
    def collate_fn(batch: list[dict[str, Any]]) -> dict[str, Any]:
        batch_ids = pad_sequence([i["ids"] for i in batch], padding_value=pad_index, batch_first=True)
        batch_length = torch.stack([i["length"] for i in batch])
        batch_label = torch.stack([i["label"] for i in batch])
        return {"ids": batch_ids, "length": batch_length, "label": batch_label}
    return collate_fn


@program
def sentiment_lstm_dict_collate(g: Any) -> Any:
    """bentrevett pytorch-sentiment-analysis (2021) LSTM: collate_fn padding to dict batches {ids, length, label}, CrossEntropyLoss over 2 classes."""
    data = [{"ids": t, "length": torch.tensor(len(t)), "label": torch.tensor(lbl)}
            for t, lbl in reviews(6, 25)]
    loader = g(DataLoader(data, batch_size=3, collate_fn=get_collate_fn(0), shuffle=True), Batch)
    model = g(PackedLSTMBatchFirst(25, 6, 8, 2, 2, True, 0.5, 0))
    criterion = g(nn.CrossEntropyLoss())
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for batch in loader:
        prediction = model(batch["ids"], batch["length"])
        loss = criterion(prediction, batch["label"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        ids = torch.LongTensor([3, 4, 5]).unsqueeze(0)
        probability = torch.softmax(model(ids, torch.LongTensor([3])).squeeze(0), dim=-1)
    return losses, probability


class KimCNN(nn.Module):
    """bentrevett pytorch-sentiment-analysis 'Convolutional Sentiment Analysis' (Conv2d over embeddings)."""

    def __init__(self, vocab_size: int, embedding_dim: int, n_filters: int, filter_sizes: list[int],
                 output_dim: int, dropout: float, pad_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.convs = nn.ModuleList([nn.Conv2d(1, n_filters, (fs, embedding_dim)) for fs in filter_sizes])
        self.fc = nn.Linear(len(filter_sizes) * n_filters, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: Any) -> Any:
        embedded = self.embedding(text).unsqueeze(1)
        conved = [F.relu(conv(embedded)).squeeze(3) for conv in self.convs]
        pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


class CNN1d(nn.Module):
    """The same notebook's CNN1d: embeddings permuted to (batch, emb_dim, sent_len) for Conv1d."""

    def __init__(self, vocab_size: int, embedding_dim: int, n_filters: int, filter_sizes: list[int],
                 output_dim: int, dropout: float, pad_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.convs = nn.ModuleList([nn.Conv1d(embedding_dim, n_filters, fs) for fs in filter_sizes])
        self.fc = nn.Linear(len(filter_sizes) * n_filters, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: Any) -> Any:
        embedded = self.embedding(text).permute(0, 2, 1)
        conved = [F.relu(conv(embedded)) for conv in self.convs]
        pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


@program
def text_cnn_kim_conv2d_and_conv1d(g: Any) -> Any:
    """bentrevett 'Convolutional Sentiment Analysis': CNN with Conv2d(1, n, (fs, emb)) and CNN1d with permute, (batch, sent_len) ids, BCEWithLogitsLoss."""
    text = torch.randint(2, 30, (4, 9))
    label = torch.tensor([0.0, 1.0, 1.0, 0.0])
    criterion = g(nn.BCEWithLogitsLoss())
    out = []
    for cls in (KimCNN, CNN1d):
        model = g(cls(30, 8, 4, [3, 4, 5], 1, 0.5, 1))
        predictions = model(text).squeeze(1)
        loss = criterion(predictions, label)
        loss.backward()
        out += [predictions, loss]
    return out


class TextClassificationModel(nn.Module):
    """pytorch.org 'Text classification with the torchtext library': EmbeddingBag(text, offsets)."""

    def __init__(self, vocab_size: int, embed_dim: int, num_class: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)

    def forward(self, text: Any, offsets: Any) -> Any:
        return self.fc(self.embedding(text, offsets))


def collate_batch(batch: list[tuple[int, Any]]) -> tuple[Any, Any, Any]:
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(_label)
        text_list.append(_text)
        offsets.append(_text.size(0))
    label = torch.tensor(label_list, dtype=torch.int64)
    offsets_t = torch.tensor(offsets[:-1]).cumsum(dim=0)
    return label, torch.cat(text_list), offsets_t


@program
def text_classification_embeddingbag(g: Any) -> Any:
    """pytorch.org 'Text classification with the torchtext library' (AG_NEWS): EmbeddingBag(text, offsets), collate_batch -> (label, text, offsets), CrossEntropyLoss."""
    data = [(lbl, t) for t, lbl in reviews(8, 40)]
    loader = g(DataLoader(data, batch_size=4, shuffle=True, collate_fn=collate_batch),
               tuple[Int[Array, "batch"], Int[Array, "total"], Int[Array, "batch"]])
    model = g(TextClassificationModel(40, 8, 4))
    criterion = g(nn.CrossEntropyLoss())
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    losses = []
    for label, text, offsets in loader:
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        text = torch.tensor([3, 4, 5, 6])
        output = model(text, torch.tensor([0]))
    return losses, output.argmax(1)


class RNNClassic(nn.Module):
    """pytorch.org 'Classifying names with a character-level RNN' (classic): i2h/i2o over cat(input, hidden)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: Any, hidden: Any) -> Any:
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def initHidden(self) -> Any:
        return torch.zeros(1, self.hidden_size)


N_LETTERS = 57


def line_to_tensor(line: str) -> Any:
    tensor = torch.zeros(len(line), 1, N_LETTERS)
    for li, letter in enumerate(line):
        tensor[li][0][ord(letter) % N_LETTERS] = 1
    return tensor


@program
def char_rnn_classification_classic(g: Any) -> Any:
    """pytorch.org 'NLP From Scratch: Classifying Names with a Character-Level RNN' (classic): rnn(line_tensor[i], hidden) with (1, 57) letters, NLLLoss vs (1,) category."""
    rnn = g(RNNClassic(N_LETTERS, 16, 18))
    criterion = g(nn.NLLLoss())
    losses = []
    for name, cat in (("Albert", 3), ("Satoshi", 10)):
        category_tensor = torch.tensor([cat], dtype=torch.long)
        line_tensor = line_to_tensor(name)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-0.005)
        losses.append(loss.item())
    return losses, output


class RNNGenerate(nn.Module):
    """pytorch.org 'Generating Names with a Character-Level RNN': forward(category, input, hidden)."""

    def __init__(self, n_categories: int, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category: Any, input: Any, hidden: Any) -> Any:
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output = self.o2o(torch.cat((hidden, output), 1))
        return self.softmax(self.dropout(output)), hidden

    def initHidden(self) -> Any:
        return torch.zeros(1, self.hidden_size)


@program
def char_rnn_generation_three_args(g: Any) -> Any:
    """pytorch.org 'Generating Names with a Character-Level RNN': rnn(category_tensor, input_line_tensor[i], hidden), NLLLoss per step vs target[i] of shape (1,)."""
    n_categories = 18
    rnn = g(RNNGenerate(n_categories, N_LETTERS, 16, N_LETTERS))
    criterion = g(nn.NLLLoss())
    category_tensor = torch.zeros(1, n_categories)
    category_tensor[0][4] = 1
    input_line_tensor = line_to_tensor("Kim")
    target_line_tensor = torch.LongTensor([5, 6, N_LETTERS - 1]).unsqueeze_(-1)
    hidden = rnn.initHidden()
    rnn.zero_grad()
    loss = torch.Tensor([0])
    for i in range(input_line_tensor.size(0)):
        output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
        loss += criterion(output, target_line_tensor[i])
    loss.backward()
    return loss, output


class CharRNN(nn.Module):
    """pytorch.org 'Classifying Names' (2024 version): nn.RNN over (len, 1, 57), h2o on hidden[0]."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor: Any) -> Any:
        rnn_out, hidden = self.rnn(line_tensor)
        return self.softmax(self.h2o(hidden[0]))


@program
def char_rnn_classification_nn_rnn(g: Any) -> Any:
    """pytorch.org 'Classifying Names with a Character-Level RNN' (2024): CharRNN with nn.RNN(57, 16) seq-first on (len, 1, 57), NLLLoss."""
    rnn = g(CharRNN(N_LETTERS, 16, 18))
    criterion = g(nn.NLLLoss())
    outs = []
    for name, cat in (("Albert", 3), ("Li", 2)):
        output = rnn(line_to_tensor(name))
        loss = criterion(output, torch.tensor([cat]))
        loss.backward()
        outs += [output, loss]
    return outs


class LSTMTagger(nn.Module):
    """pytorch.org 'Sequence Models and Long Short-Term Memory Networks' LSTMTagger."""

    def __init__(self, embedding_dim: int, hidden_dim: int, vocab_size: int, tagset_size: int) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence: Any) -> Any:
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        return F.log_softmax(tag_space, dim=1)


@program
def lstm_pos_tagger_tutorial(g: Any) -> Any:
    """pytorch.org 'Sequence Models and LSTM Networks': LSTMTagger on a 1-D sentence of word ids, NLLLoss of (len, tags) vs (len,) tags."""
    model = g(LSTMTagger(6, 6, 9, 3))
    loss_function = g(nn.NLLLoss())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    training_data = [(torch.tensor([0, 1, 2, 3, 4]), torch.tensor([0, 1, 2, 0, 1])),
                     (torch.tensor([5, 6, 7, 8]), torch.tensor([1, 2, 0, 1]))]
    losses = []
    for sentence_in, targets in training_data:
        model.zero_grad()
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        tag_scores = model(training_data[0][0])
    return losses, tag_scores


class BiLSTMTagger(nn.Module):
    """bentrevett pytorch-pos-tagging BiLSTMPOSTagger (seq-first (sent_len, batch) ids)."""

    def __init__(self, input_dim: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 pad_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_dim, embedding_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=2, bidirectional=True, dropout=0.25)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(0.25)

    def forward(self, text: Any) -> Any:
        embedded = self.dropout(self.embedding(text))
        outputs, (hidden, cell) = self.lstm(embedded)
        return self.fc(self.dropout(outputs))


@program
def bilstm_pos_tagger_ignore_index(g: Any) -> Any:
    """bentrevett pytorch-pos-tagging: predictions.view(-1, tags) vs tags.view(-1) with CrossEntropyLoss(ignore_index=pad), plus the (batch, tags, len) vs (batch, len) form."""
    tag_pad = 0
    model = g(BiLSTMTagger(20, 6, 8, 5, pad_idx=1))
    criterion = g(nn.CrossEntropyLoss(ignore_index=tag_pad))
    text = torch.randint(2, 20, (7, 3))
    tags = torch.randint(1, 5, (7, 3))
    tags[5:, 0] = tag_pad
    predictions = model(text)
    loss = criterion(predictions.view(-1, predictions.shape[-1]), tags.view(-1))
    loss2 = criterion(predictions.permute(1, 2, 0), tags.t())
    (loss + loss2).backward()
    return predictions, loss, loss2


class AttentionPoolClassifier(nn.Module):
    """A transformer-style sentence classifier: forward(x, mask) with nn.MultiheadAttention and a padding mask."""

    def __init__(self, vocab: int = 30, d: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.fc = nn.Linear(d, n_classes)

    def forward(self, x: Any, mask: Any) -> Any:
        h = self.embed(x)
        h, _ = self.attn(h, h, h, key_padding_mask=~mask)
        m = mask.unsqueeze(-1).float()
        pooled = (h * m).sum(1) / m.sum(1)
        return self.fc(pooled)


@program
def attention_classifier_forward_x_mask(g: Any) -> Any:
    """Transformer sentence classification tutorials: forward(x, mask) with key_padding_mask=~mask and masked mean pooling, CrossEntropyLoss."""
    x = torch.randint(1, 30, (4, 6))
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[0, 4:] = False
    x[0, 4:] = 0
    y = torch.tensor([0, 1, 2, 1])
    model = g(AttentionPoolClassifier())
    criterion = g(nn.CrossEntropyLoss())
    logits = model(x, mask)
    loss = criterion(logits, y)
    loss.backward()
    logits_kw = model(x, mask=mask)
    return logits, loss, logits_kw


@program
def multihead_attention_direct(g: Any) -> Any:
    """nn.MultiheadAttention docs example: attn_output, attn_weights = multihead_attn(query, key, value), seq-first and batch_first with key_padding_mask."""
    mha = g(nn.MultiheadAttention(8, 2))
    q, k, v = torch.randn(5, 3, 8), torch.randn(7, 3, 8), torch.randn(7, 3, 8)
    out, weights = mha(q, k, v)
    mha_bf = g(nn.MultiheadAttention(8, 2, batch_first=True))
    kpm = torch.zeros(3, 7, dtype=torch.bool)
    kpm[0, 5:] = True
    out_bf, w_bf = mha_bf(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), key_padding_mask=kpm)
    return out, weights, out_bf, w_bf


@program
def transformer_encoder_padding_mask(g: Any) -> Any:
    """nn.TransformerEncoder docs example (batch_first) with src_key_padding_mask, mean-pooled into a Linear classifier."""
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    encoder = g(nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False))
    head = g(nn.Linear(8, 2))
    src = torch.rand(3, 6, 8)
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[1, 4:] = True
    out = encoder(src, src_key_padding_mask=pad)
    out2 = encoder(src, mask=nn.Transformer.generate_square_subsequent_mask(6), is_causal=True)
    return out, head(out.mean(1)), out2


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Any) -> Any:
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    """pytorch.org 'Language Translation with nn.Transformer and torchtext'."""

    def __init__(self, num_encoder_layers: int, num_decoder_layers: int, emb_size: int, nhead: int,
                 src_vocab_size: int, tgt_vocab_size: int, dim_feedforward: int = 16,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead,
                                          num_encoder_layers=num_encoder_layers,
                                          num_decoder_layers=num_decoder_layers,
                                          dim_feedforward=dim_feedforward, dropout=dropout)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src: Any, trg: Any, src_mask: Any, tgt_mask: Any, src_padding_mask: Any,
                tgt_padding_mask: Any, memory_key_padding_mask: Any) -> Any:
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)


def create_mask(src: Any, tgt: Any, pad: int) -> tuple[Any, Any, Any, Any]:
    src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
    mask = (torch.triu(torch.ones((tgt_seq_len, tgt_seq_len))) == 1).transpose(0, 1)
    tgt_mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    return src_mask, tgt_mask, (src == pad).transpose(0, 1), (tgt == pad).transpose(0, 1)


@program
def translation_transformer_tutorial(g: Any) -> Any:
    """pytorch.org 'Language Translation with nn.Transformer': Seq2SeqTransformer.forward(src, trg, 5 masks) on (len, batch) ids, CrossEntropyLoss(ignore_index=PAD)."""
    PAD = 1
    model = g(Seq2SeqTransformer(1, 1, 8, 2, 20, 22))
    loss_fn = g(nn.CrossEntropyLoss(ignore_index=PAD))
    src = torch.randint(2, 20, (6, 3))
    tgt = torch.randint(2, 22, (5, 3))
    tgt[-1, 1] = PAD
    tgt_input = tgt[:-1, :]
    src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input, PAD)
    logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                   src_padding_mask)
    tgt_out = tgt[1:, :]
    loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
    loss.backward()
    return logits, loss


class HFStyleClassifier(nn.Module):
    """A Hugging Face-style module: forward(input_ids, attention_mask=None, labels=None) -> dict with the loss."""

    def __init__(self, vocab: int = 30, d: int = 8, n_labels: int = 2) -> None:
        super().__init__()
        self.embeddings = nn.Embedding(vocab, d)
        self.classifier = nn.Linear(d, n_labels)

    def forward(self, input_ids: Any, attention_mask: Any = None, labels: Any = None) -> dict[str, Any]:
        h = self.embeddings(input_ids)
        if attention_mask is not None:
            m = attention_mask.unsqueeze(-1).float()
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
        else:
            pooled = h.mean(1)
        logits = self.classifier(pooled)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels)
        return out


class DictDataset(Dataset):
    """A tokenized dataset returning dicts (the Hugging Face / custom Dataset pattern)."""

    def __init__(self, n: int, length: int = 6) -> None:
        self.ids = torch.randint(1, 30, (n, length))
        self.mask = torch.ones(n, length, dtype=torch.long)
        self.mask[::2, -2:] = 0
        self.labels = torch.arange(n) % 2

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {"input_ids": self.ids[idx], "attention_mask": self.mask[idx], "labels": self.labels[idx]}


class Encoded(TypedDict):
    input_ids: Int[Array, "batch seq"]
    attention_mask: Int[Array, "batch seq"]
    labels: Int[Array, "batch"]


@program
def hf_style_training_loop_kwargs(g: Any) -> Any:
    """Hugging Face 'fine-tune in native PyTorch' loop: dict batches from the default collate, outputs = model(**batch), outputs['loss'].backward()."""
    loader = g(DataLoader(DictDataset(6), batch_size=4, shuffle=True), Encoded)
    model = g(HFStyleClassifier())
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    losses = []
    for batch in loader:
        outputs = model(**batch)
        loss = outputs["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.randint(1, 30, (2, 6)))["logits"]
    return losses, logits


class SiameseNetwork(nn.Module):
    """The popular Siamese network tutorial (Harshvardhan Gupta / 'One shot learning with Siamese networks in PyTorch')."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn1 = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(inplace=True), nn.BatchNorm2d(4),
            nn.ReflectionPad2d(1), nn.Conv2d(4, 8, kernel_size=3), nn.ReLU(inplace=True), nn.BatchNorm2d(8))
        self.fc1 = nn.Sequential(nn.Linear(8 * 20 * 20, 32), nn.ReLU(inplace=True), nn.Linear(32, 5))

    def forward_once(self, x: Any) -> Any:
        output = self.cnn1(x)
        output = output.view(output.size()[0], -1)
        return self.fc1(output)

    def forward(self, input1: Any, input2: Any) -> Any:
        return self.forward_once(input1), self.forward_once(input2)


class ContrastiveLoss(nn.Module):
    """The same tutorial's ContrastiveLoss: forward(output1, output2, label)."""

    def __init__(self, margin: float = 2.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, output1: Any, output2: Any, label: Any) -> Any:
        d = F.pairwise_distance(output1, output2, keepdim=True)
        return torch.mean((1 - label) * torch.pow(d, 2)
                          + label * torch.pow(torch.clamp(self.margin - d, min=0.0), 2))


@program
def siamese_contrastive_loss(g: Any) -> Any:
    """Siamese network tutorial: net(img0, img1) on (batch, 1, 20, 20) pairs, ContrastiveLoss(output1, output2, label) with label (batch, 1)."""
    net = g(SiameseNetwork())
    criterion = g(ContrastiveLoss())
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-4)
    img0, img1 = torch.rand(4, 1, 20, 20), torch.rand(4, 1, 20, 20)
    label = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    optimizer.zero_grad()
    output1, output2 = net(img0, img1)
    loss = criterion(output1, output2, label)
    loss.backward()
    optimizer.step()
    return output1, output2, loss


# ================================================================================== losses
class FocalLoss(nn.Module):
    """The widely copied multi-class FocalLoss(nn.Module) built on F.cross_entropy(reduction='none')."""

    def __init__(self, alpha: float = 1.0, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, inputs: Any, targets: Any) -> Any:
        ce_loss = F.cross_entropy(inputs, targets, reduction="none")
        pt = torch.exp(-ce_loss)
        focal = self.alpha * (1 - pt) ** self.gamma * ce_loss
        return focal.mean() if self.reduction == "mean" else focal.sum()


@program
def focal_loss_module(g: Any) -> Any:
    """Popular FocalLoss(nn.Module) for class imbalance: F.cross_entropy(inputs, targets, reduction='none') inside forward, (batch, C) logits vs (batch,) labels."""
    model = g(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)))
    criterion = g(FocalLoss())
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    return train(model, loader, criterion)


class NLLModule(nn.Module):
    """A custom loss module whose forward calls F.nll_loss."""

    def forward(self, log_probs: Any, target: Any) -> Any:
        return F.nll_loss(log_probs, target)


class ManualMSE(nn.Module):
    """A custom loss module computing MSE by hand."""

    def forward(self, pred: Any, target: Any) -> Any:
        return torch.mean((pred - target) ** 2)


class RMSELoss(nn.Module):
    """The forum-favourite RMSELoss: sqrt of an inner nn.MSELoss plus eps."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.mse = nn.MSELoss()
        self.eps = eps

    def forward(self, yhat: Any, y: Any) -> Any:
        return torch.sqrt(self.mse(yhat, y) + self.eps)


@program
def custom_loss_modules_nll_mse_rmse(g: Any) -> Any:
    """Custom loss nn.Modules from forums/blogs: forward calling F.nll_loss, MSE written by hand, RMSELoss wrapping nn.MSELoss."""
    clf = g(nn.Sequential(nn.Linear(5, 3), nn.LogSoftmax(dim=1)))
    reg = g(nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)))
    nll, mse, rmse = g(NLLModule()), g(ManualMSE()), g(RMSELoss())
    x = torch.randn(6, 5)
    labels, target = torch.randint(0, 3, (6,)), torch.randn(6, 1)
    a = nll(clf(x), labels)
    b = mse(reg(x), target)
    c = rmse(reg(x), target)
    (a + b + c).backward()
    return a, b, c


class DiceBCELoss(nn.Module):
    """The Kaggle 'loss function library' DiceLoss/DiceBCELoss: forward(inputs, targets, smooth=1)."""

    def forward(self, inputs: Any, targets: Any, smooth: float = 1) -> Any:
        inputs = torch.sigmoid(inputs)
        inputs, targets = inputs.view(-1), targets.view(-1)
        intersection = (inputs * targets).sum()
        dice_loss = 1 - (2.0 * intersection + smooth) / (inputs.sum() + targets.sum() + smooth)
        bce = F.binary_cross_entropy(inputs, targets, reduction="mean")
        return bce + dice_loss


@program
def dice_bce_loss_segmentation(g: Any) -> Any:
    """Kaggle segmentation loss-function library DiceBCELoss(inputs, targets, smooth=1) on (batch, 1, H, W) logits and masks."""
    model = g(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1)))
    criterion = g(DiceBCELoss())
    x = torch.rand(2, 3, 16, 16)
    masks = (torch.rand(2, 1, 16, 16) > 0.5).float()
    logits = model(x)
    loss = criterion(logits, masks)
    loss2 = criterion(logits, masks, smooth=0.5)
    (loss + loss2).backward()
    return loss, loss2


@program
def crossentropy_indices_weight_smoothing(g: Any) -> Any:
    """nn.CrossEntropyLoss docs 'class indices' example, then with weight=, ignore_index=-100 labels and label_smoothing=0.1."""
    loss = g(nn.CrossEntropyLoss())
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.empty(3, dtype=torch.long).random_(5)
    out = loss(input, target)
    out.backward()
    weighted = g(nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 1.0, 0.5, 1.0])))
    target2 = target.clone()
    target2[0] = -100
    smooth = g(nn.CrossEntropyLoss(label_smoothing=0.1))
    unbatched = loss(torch.randn(5), torch.tensor(2))
    return out, weighted(input, target2), smooth(input, target), unbatched


@program
def crossentropy_probabilities(g: Any) -> Any:
    """nn.CrossEntropyLoss docs 'class probabilities' example: target = torch.randn(3, 5).softmax(dim=1); also mixup soft labels."""
    loss = g(nn.CrossEntropyLoss())
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.randn(3, 5).softmax(dim=1)
    output = loss(input, target)
    output.backward()
    y1, y2 = F.one_hot(torch.tensor([0, 1, 2]), 5).float(), F.one_hot(torch.tensor([4, 3, 2]), 5).float()
    mixed = loss(input, 0.7 * y1 + 0.3 * y2)
    return output, mixed


@program
def bce_with_logits_multilabel_pos_weight(g: Any) -> Any:
    """nn.BCEWithLogitsLoss docs pos_weight example and multi-label classification: (batch, 64) logits vs multi-hot targets."""
    target = torch.ones([10, 64], dtype=torch.float32)
    output = torch.full([10, 64], 1.5)
    pos_weight = torch.ones([64])
    criterion = g(nn.BCEWithLogitsLoss(pos_weight=pos_weight))
    a = criterion(output, target)
    model = g(nn.Linear(12, 4))
    multi = g(nn.BCEWithLogitsLoss())
    x = torch.randn(6, 12)
    y = (torch.rand(6, 4) > 0.5).float()
    b = multi(model(x), y)
    b.backward()
    return a, b


@program
def bce_and_mse_builtin_shapes(g: Any) -> Any:
    """nn.BCELoss docs example (sigmoid of (3,) vs (3,)), BCELoss on (batch, 1) sigmoid outputs, nn.MSELoss docs example and (batch, 1) regression."""
    m = nn.Sigmoid()
    bce = g(nn.BCELoss())
    input = torch.randn(3, requires_grad=True)
    target = torch.empty(3).random_(2)
    a = bce(m(input), target)
    model = g(nn.Sequential(nn.Linear(4, 1), nn.Sigmoid()))
    x, y = torch.randn(5, 4), torch.randint(0, 2, (5, 1)).float()
    b = bce(model(x), y)
    mse = g(nn.MSELoss())
    c = mse(torch.randn(3, 5, requires_grad=True), torch.randn(3, 5))
    d = mse(torch.randn(4, 1), torch.randn(4, 1))
    e = g(nn.SmoothL1Loss())(torch.randn(4, 4), torch.randn(4, 4))  # bounding boxes
    f = g(nn.HuberLoss(delta=1.0))(torch.randn(6), torch.randn(6))
    return a, b, c, d, e, f


@program
def nllloss_docs_examples(g: Any) -> Any:
    """nn.NLLLoss docs examples: LogSoftmax of (3, 5) vs (3,), and the 2D case (N, C, 8, 8) from a Conv2d vs (N, 8, 8)."""
    m = nn.LogSoftmax(dim=1)
    loss = g(nn.NLLLoss())
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.tensor([1, 0, 4])
    a = loss(m(input), target)
    a.backward()
    N, C = 5, 4
    data = torch.randn(N, 16, 10, 10)
    conv = g(nn.Conv2d(16, C, (3, 3)))
    output = conv(data)
    target2 = torch.empty(N, 8, 8, dtype=torch.long).random_(0, C)
    b = loss(m(output), target2)
    b.backward()
    return a, b


@program
def ctc_loss_docs_padded_and_concatenated(g: Any) -> Any:
    """nn.CTCLoss docs examples: padded targets (N, S) and un-padded concatenated targets, log_probs (T, N, C), with lengths tensors."""
    T, C, N, S, S_min = 12, 6, 3, 5, 2
    input = torch.randn(T, N, C).log_softmax(2).detach().requires_grad_()
    target = torch.randint(low=1, high=C, size=(N, S), dtype=torch.long)
    input_lengths = torch.full(size=(N,), fill_value=T, dtype=torch.long)
    target_lengths = torch.randint(low=S_min, high=S, size=(N,), dtype=torch.long)
    ctc_loss = g(nn.CTCLoss())
    a = ctc_loss(input, target, input_lengths, target_lengths)
    a.backward()
    target_lengths = torch.randint(low=1, high=T, size=(N,), dtype=torch.long)
    target = torch.randint(low=1, high=C, size=(int(sum(target_lengths)),), dtype=torch.long)
    b = ctc_loss(input, target, input_lengths, target_lengths)
    return a, b


class CRNN(nn.Module):
    """A small CRNN (OCR tutorials): Conv2d over (batch, 1, 16, W) images, columns into a bi-GRU, per-step classes."""

    def __init__(self, n_classes: int = 6) -> None:
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d((2, 2)))
        self.rnn = nn.GRU(4 * 8, 8, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, images: Any) -> Any:
        f = self.cnn(images)                      # (batch, 4, 8, W/2)
        f = f.permute(0, 3, 1, 2).flatten(2)      # (batch, W/2, 32)
        out, _ = self.rnn(f)
        return self.fc(out)                       # (batch, W/2, classes)


@program
def crnn_ocr_ctc_loss(g: Any) -> Any:
    """CRNN + CTC OCR tutorials: model output (batch, T, C) -> permute(1, 0, 2).log_softmax(2), nn.CTCLoss(blank=0, zero_infinity=True)."""
    model = g(CRNN())
    criterion = g(nn.CTCLoss(blank=0, zero_infinity=True))
    images = torch.rand(2, 1, 16, 24)
    targets = torch.randint(1, 6, (2, 4))
    logits = model(images)
    log_probs = logits.permute(1, 0, 2).log_softmax(2)
    input_lengths = torch.full((2,), log_probs.size(0), dtype=torch.long)
    target_lengths = torch.tensor([4, 3])
    loss = criterion(log_probs, targets, input_lengths, target_lengths)
    loss.backward()
    return logits, loss


@program
def kd_kldiv_distillation(g: Any) -> Any:
    """pytorch.org 'Knowledge Distillation' tutorial: nn.KLDivLoss(reduction='batchmean') of log_softmax(student/T) vs softmax(teacher/T), plus CrossEntropyLoss."""
    teacher = g(nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4)))
    student = g(nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4)))
    kl, ce = g(nn.KLDivLoss(reduction="batchmean")), g(nn.CrossEntropyLoss())
    x, y = torch.randn(6, 10), torch.randint(0, 4, (6,))
    T = 2.0
    with torch.no_grad():
        teacher_logits = teacher(x)
    student_logits = student(x)
    soft_targets = F.softmax(teacher_logits / T, dim=-1)
    soft_prob = F.log_softmax(student_logits / T, dim=-1)
    soft_loss = kl(soft_prob, soft_targets) * T ** 2
    loss = 0.25 * soft_loss + 0.75 * ce(student_logits, y)
    loss.backward()
    return soft_loss, loss


# ================================================================================ pipelines
REG_BATCH = tuple[Float[Array, "batch features"], Float[Array, "batch 1"]]


@program
def tensordataset_regression_last_batch(g: Any) -> Any:
    """TensorDataset + DataLoader(batch_size=4, shuffle=True) regression loop (10 samples: a smaller last batch), nn.Sequential MLP, MSELoss."""
    X, y = torch.randn(10, 3), torch.randn(10, 1)
    loader = g(DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True), REG_BATCH)
    model = g(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)))
    losses = []
    for _ in range(2):
        losses += train(model, loader, g(nn.MSELoss()))
    return losses, [len(xb) for xb, _ in loader]


class CustomImageDataset(Dataset):
    """pytorch.org 'Datasets & DataLoaders' CustomImageDataset (images made in memory)."""

    def __init__(self, n: int, transform: Any = None) -> None:
        self.images = torch.rand(n, 1, 28, 28)
        self.labels = [i % 10 for i in range(n)]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> tuple[Any, int]:
        image = self.images[idx]
        if self.transform:
            image = self.transform(image)
        return image, self.labels[idx]


@program
def custom_map_style_dataset(g: Any) -> Any:
    """pytorch.org 'Datasets & DataLoaders': CustomImageDataset.__getitem__ -> (image (1, 28, 28), int label), guarded, then DataLoader(batch_size=4, shuffle=True)."""
    ds = g(CustomImageDataset(10, transform=lambda t: (t - 0.5) / 0.5),
           tuple[Float[Array, "1 28 28"], int])
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    model = g(nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)))
    loss_fn = g(nn.CrossEntropyLoss())
    losses = train(model, loader, loss_fn)
    train_features, train_labels = next(iter(loader))
    return losses, train_features, train_labels, ds[0]


class VarLenDataset(Dataset):
    """Variable-length feature sequences (speech frames, sensor traces) with a class label."""

    def __init__(self, n: int, features: int = 4) -> None:
        lens = torch.randint(3, 9, (n,)).tolist()
        self.items = [(torch.randn(k, features), i % 3) for i, k in enumerate(lens)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> tuple[Any, int]:
        return self.items[idx]


def pad_collate(batch: list[tuple[Any, int]]) -> tuple[Any, Any, Any]:
    xs, ys = zip(*batch)
    lengths = torch.tensor([len(x) for x in xs])
    return pad_sequence(list(xs), batch_first=True), lengths, torch.tensor(ys)


class LengthsLSTM(nn.Module):
    """forward(x, lengths): packs a padded batch_first batch, classifies from h_n."""

    def __init__(self, features: int = 4, hidden: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, n_classes)

    def forward(self, x: Any, lengths: Any) -> Any:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return self.fc(h_n[-1])


@program
def collate_fn_pad_sequence(g: Any) -> Any:
    """DataLoader with a custom collate_fn padding variable-length sequences (pad_sequence batch_first, lengths), forward(x, lengths) with pack_padded_sequence."""
    loader = g(DataLoader(VarLenDataset(7), batch_size=3, collate_fn=pad_collate),
               tuple[Float[Array, "batch time features"], Int[Array, "batch"], Int[Array, "batch"]])
    model = g(LengthsLSTM())
    criterion = g(nn.CrossEntropyLoss())
    optimizer = torch.optim.Adam(model.parameters())
    losses, shapes = [], []
    for x, lengths, y in loader:
        out = model(x, lengths)
        loss = criterion(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        shapes.append(tuple(x.shape))
    return losses, shapes


@program
def dataloader_worker_process(g: Any) -> Any:
    """A guarded map-style TensorDataset read through DataLoader(num_workers=1) (the docs' worker-process case), fork start method."""
    import torch.multiprocessing as mp

    ds = g(TensorDataset(torch.randn(6, 3), torch.randn(6, 1)),
           tuple[Float[Array, "3"], Float[Array, "1"]])
    loader = DataLoader(ds, batch_size=3, num_workers=1,
                        multiprocessing_context=mp.get_context("fork"))
    return [b for b in loader]


def batch_generator(X: Any, y: Any, batch_size: int) -> Any:
    for i in range(0, len(X), batch_size):
        yield X[i:i + batch_size], y[i:i + batch_size]


@program
def python_generator_batches(g: Any) -> Any:
    """A Python generator yielding (x, y) torch batches (the 'no DataLoader' tutorial loop), guarded with a spec, a smaller last batch."""
    X, y = torch.randn(10, 5), torch.randint(0, 2, (10,)).float()
    model = g(nn.Sequential(nn.Linear(5, 1)))
    criterion = g(nn.BCEWithLogitsLoss())
    losses = []
    for epoch in range(2):
        gen = g(batch_generator(X, y, 4), tuple[Float[Array, "batch 5"], Float[Array, "batch"]])
        losses += train(model, gen, criterion, call=lambda m, b: m(b[0]).squeeze(1))
    return losses


_FIRST_LINEAR = ("input contract taken from the first registered Linear although forward "
                 "reshapes first: (N, 1, 28, 28) images refused")
_NESTED_LINEAR = ("input contract taken from nn.Transformer's inner self_attn.out_proj Linear: "
                  "token ids / forward's real input refused")
XFAIL: dict[str, tuple[Any, str]] = {}


@pytest.mark.parametrize("program", corpus.params(XFAIL))
def test_program(program: Any) -> None:
    """A correct public PyTorch program runs guarded exactly as it runs unguarded."""
    run_twice(program, seed)


def test_corpus_is_large_enough() -> None:
    """The corpus keeps at least 40 torch programs, each with a one-line docstring."""
    assert len(corpus.programs) >= 40
