"""More PyTorch (CPU) cases, each re-created from one public thread (see `tests.bugs`).

As in `torch_cases`: the program is written from the thread's question (buggy) and its accepted
answer (control), on tiny random data with sizes shrunk; the layers and the mistake are the
thread's. Modules, loss modules and DataLoaders (with the spec of their batches) pass through `g`.
"""

from __future__ import annotations

from typing import Any

from shapecontract.fixes import (
    Argmax,
    Cast,
    DropAxis,
    InsertAxis,
    OneHot,
    Permute,
    Reshape,
    SwapLoss,
)

from . import Case, Guard, code, op, setting
from .programs import step as _step
from .programs import torch_modules as _t


# ----------------------------------------------------------------------------------------------
def squeezenet_spatial_logits(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        # a SqueezeNet-style head: a 1x1 conv to the classes, then global pooling
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 10, 1),
                            nn.AdaptiveAvgPool2d(1))
        images, labels = torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,))
        output = g(net)(images)  # (4, 10, 1, 1)
        if fixed:
            output = output.reshape(-1, 10)
        return _step(torch, net.parameters(), g(nn.CrossEntropyLoss())(output, labels))
    return program


def ce_column_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        head = nn.Linear(16, 2)
        logits = g(head)(torch.randn(6, 16))
        labels = torch.randint(0, 2, (6, 1))  # one task: a column of class indices
        target = labels.squeeze(-1) if fixed else labels
        return _step(torch, head.parameters(), g(nn.CrossEntropyLoss())(logits, target))
    return program


def logistic_regression_numpy_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import numpy as np

        torch, nn = _t()
        rng = np.random.default_rng(0)
        train_data = rng.normal(size=(10, 2)).astype("float32")
        train_lab = (train_data[:, :1] > 0).astype("int64")  # read as a (10, 1) column
        net = nn.Linear(2, 2)
        x = torch.from_numpy(train_data)
        y = torch.from_numpy(train_lab).long()
        if fixed:
            y.squeeze_()
        y_hat = g(net)(x)
        return _step(torch, net.parameters(), g(nn.CrossEntropyLoss())(y_hat, y))
    return program


def bce_lstm_flat_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class TweetClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(50, 8)
                self.lstm = nn.LSTM(8, 16, batch_first=True)
                self.fc = nn.Linear(16, 1)

            def forward(self, x: Any) -> Any:
                out, _ = self.lstm(self.embedding(x))
                return torch.sigmoid(self.fc(out[:, -1]))

        model = g(TweetClassifier())
        x, y = torch.randint(0, 50, (8, 5)), torch.randint(0, 2, (8,)).float()
        y_pred = model(x)  # (8, 1)
        target = y.unsqueeze(1) if fixed else y
        return _step(torch, model.parameters(), g(nn.BCELoss())(y_pred, target))
    return program


def lstm_hidden_last_batch(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        from shapecontract import Array, Float, Int

        class SentimentRNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(20, 8)
                self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
                self.fc = nn.Linear(16, 1)

            def forward(self, x: Any, hidden: Any) -> Any:
                out, hidden = self.lstm(self.embedding(x), hidden)
                return torch.sigmoid(self.fc(out[:, -1])), hidden

            def init_hidden(self, batch_size: int) -> Any:
                return (torch.zeros(2, batch_size, 16), torch.zeros(2, batch_size, 16))

        data = TensorDataset(torch.randint(0, 20, (10, 6)), torch.randint(0, 2, (10,)).float())
        batch_size = 4  # 10 reviews: the last batch has 2
        loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=fixed)
        net = g(SentimentRNN())
        criterion = g(nn.BCELoss())
        h = net.init_hidden(batch_size)
        for inputs, labels in g(loader, tuple[Int[Array, "batch 6"], Float[Array, "batch"]]):
            h = tuple(e.detach() for e in h)
            output, h = net(inputs, h)
            _step(torch, net.parameters(), criterion(output.squeeze(1), labels))
    return program


def batchnorm_last_batch_of_one(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        from shapecontract import Array, Float, Int

        model = g(nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)))
        data = TensorDataset(torch.randn(9, 6), torch.randint(0, 3, (9,)))  # 9 = 2 * 4 + 1
        loader = DataLoader(data, batch_size=4, drop_last=fixed)
        criterion = g(nn.CrossEntropyLoss())
        model.train()
        for x, y in g(loader, tuple[Float[Array, "batch 6"], Int[Array, "batch"]]):
            _step(torch, model.parameters(), criterion(model(x), y))
    return program


def unet_up_odd_skip(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        F = torch.nn.functional

        class Up(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
                self.conv = nn.Conv2d(16, 8, 3, padding=1)

            def forward(self, x1: Any, x2: Any) -> Any:
                x1 = self.up(x1)
                if fixed:  # pad the upsampled map to the skip connection's size
                    dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
                    x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
                return self.conv(torch.cat([x2, x1], dim=1))

        class UNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
                self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
                self.pool = nn.MaxPool2d(2)
                self.up = Up()
                self.out = nn.Conv2d(8, 1, 1)

            def forward(self, x: Any) -> Any:
                x1 = torch.relu(self.conv1(x))
                x2 = torch.relu(self.conv2(self.pool(x1)))
                return self.out(self.up(x2, x1))

        net = g(UNet())
        images, masks = torch.randn(2, 3, 15, 15), torch.rand(2, 1, 15, 15)
        loss = g(nn.BCEWithLogitsLoss())(net(images), masks)
        return _step(torch, net.parameters(), loss)
    return program


def unet_input_not_multiple_of_16(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        def block(cin: int, cout: int) -> Any:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())

        class UNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.pool = nn.MaxPool2d(2)
                self.e1, self.e2, self.e3, self.e4 = block(1, 4), block(4, 4), block(4, 4), \
                    block(4, 4)
                self.e5 = block(4, 4)
                self.up = nn.Upsample(scale_factor=2)
                self.d5 = block(8, 4)
                self.out = nn.Conv2d(4, 1, 1)

            def forward(self, x: Any) -> Any:
                e1 = self.e1(x)
                e2 = self.e2(self.pool(e1))
                e3 = self.e3(self.pool(e2))
                e4 = self.e4(self.pool(e3))
                e5 = self.e5(self.pool(e4))  # four poolings: the side must divide by 16
                d5 = self.d5(torch.cat((e4, self.up(e5)), dim=1))
                return self.out(d5)

        side = 48 if fixed else 40  # the images resized to a multiple of 2 ** 4
        net = g(UNet())
        out = net(torch.randn(2, 1, side, side))
        return _step(torch, net.parameters(), out.mean())
    return program


def bn1d_region_features(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        feat, regions = 32, 6

        class AttEmbed(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.att_embed = nn.Sequential(nn.BatchNorm1d(feat), nn.Linear(feat, 16),
                                               nn.ReLU())

            def forward(self, att_feats: Any) -> Any:
                if fixed:  # pack the regions into the batch: (B * regions, feat)
                    b = att_feats.size(0)
                    return self.att_embed(att_feats.reshape(-1, feat)).view(b, regions, -1)
                return self.att_embed(att_feats)

        model = g(AttEmbed())
        out = model(torch.randn(4, regions, feat))  # bottom-up features: (B, 6, 32)
        return _step(torch, model.parameters(), out.pow(2).mean())
    return program


def textcnn_conv_over_embedding(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        seq_len, emb = 12, 16

        class TextCNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(100, emb)
                self.conv = nn.Conv1d(emb if fixed else seq_len, 8, kernel_size=3)
                self.fc = nn.Linear(8, 2)

            def forward(self, x: Any) -> Any:
                x = self.embedding(x)  # (B, seq_len, emb)
                if fixed:
                    x = x.permute(0, 2, 1)
                x = torch.relu(self.conv(x)).max(dim=2).values
                return self.fc(x)

        model = g(TextCNN())
        x, y = torch.randint(0, 100, (4, seq_len)), torch.randint(0, 2, (4,))
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(x), y))
    return program


def dense_output_fixed_batch(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        class PointNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.enc = nn.Linear(4, 3)

            def forward(self, pts: Any, batch_size: int) -> Any:
                logits = self.enc(pts)
                # scattered into a dense tensor of the batch size it is told
                dense = logits.new_zeros(batch_size, 3)
                return dense.index_add(0, torch.arange(pts.size(0)), logits)

        model = g(PointNet())
        criterion = g(nn.CrossEntropyLoss())
        train_batch_size = 3
        data = TensorDataset(torch.randn(8, 4), torch.randint(0, 3, (8,)))  # last batch: 2
        for pts, labels in DataLoader(data, batch_size=train_batch_size):
            n = labels.shape[0] if fixed else train_batch_size
            _step(torch, model.parameters(), criterion(model(pts, n), labels))
    return program


def mse_class_index_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(6 * 7 * 7, 10))
        images, labels = torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,))
        output = g(net)(images)  # (4, 10) class scores
        if fixed:  # the loss that works with class indices
            loss = g(nn.CrossEntropyLoss())(output, labels)
        else:
            loss = g(nn.MSELoss())(output, labels.float())
        return _step(torch, net.parameters(), loss)
    return program


def ce_mask_grayscale_values(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
        images = torch.randn(2, 3, 8, 8)
        mask = (torch.rand(2, 8, 8) > 0.5).long() * 255  # the PNG masks read as grey values
        if fixed:
            mask = mask // 255  # class indices 0 and 1
        return _step(torch, net.parameters(), g(nn.CrossEntropyLoss())(g(net)(images), mask))
    return program


def embedding_num_embeddings(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        vocab = {w: i + 1 for i, w in enumerate("a b c d e f g h i j".split())}  # 0 = padding
        sentences = [["a", "b", "j"], ["c", "j", "e"]]
        ids = torch.tensor([[vocab[w] for w in s] for s in sentences])  # up to 10
        embedding = nn.Embedding(len(vocab) + 1 if fixed else len(vocab), 4, padding_idx=0)
        out = g(embedding)(ids)
        return _step(torch, embedding.parameters(), out.sum())
    return program


def resize_shorter_side_collate(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, _ = _t()
        from torch.utils.data import DataLoader, Dataset

        from shapecontract import Array, Float, Int
        F = torch.nn.functional

        class Folder(Dataset):  # type: ignore[type-arg]
            """An image folder of photos of different aspect ratios."""

            def __init__(self) -> None:
                self.images = [torch.rand(3, 20, 30), torch.rand(3, 24, 24), torch.rand(3, 30, 18),
                               torch.rand(3, 16, 32)]

            def __len__(self) -> int:
                return len(self.images)

            def resize(self, img: Any) -> Any:
                h, w = img.shape[1:]
                if fixed:  # Resize((8, 8)): both sides
                    size = (8, 8)
                else:  # Resize(8): the shorter side only, keeping the aspect ratio
                    size = (8, round(8 * w / h)) if h <= w else (round(8 * h / w), 8)
                return F.interpolate(img[None], size=size, mode="bilinear")[0]

            def __getitem__(self, i: int) -> Any:
                return self.resize(self.images[i]), i % 2

        loader = DataLoader(Folder(), batch_size=2)
        spec = tuple[Float[Array, "batch 3 h w"], Int[Array, "batch"]]
        return [x.shape for x, _ in g(loader, spec)]
    return program


def conv1d_samples_as_channels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        input_data = torch.randn(128, 64)  # 128 time steps, 64 features each
        x = input_data.unsqueeze(0)  # (1, 128, 64)
        if fixed:
            x = x.permute(0, 2, 1).contiguous()  # (1, 64, 128)
        conv1d = nn.Conv1d(in_channels=64, out_channels=32, kernel_size=3)
        return g(conv1d)(x).shape
    return program


def lenet_3x3_view(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        k = 3

        class LeNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Conv2d(3, 6, k)
                self.pool = nn.MaxPool2d(2, 2)
                self.conv2 = nn.Conv2d(6, 16, k)
                self.flat = (4 if fixed else 1) * k * k * 16  # a 6x6 map, not 3x3
                self.fc1 = nn.Linear(self.flat, 120)
                self.fc2 = nn.Linear(120, 84)
                self.fc3 = nn.Linear(84, 10)

            def forward(self, x: Any) -> Any:
                x = self.pool(torch.relu(self.conv1(x)))
                x = self.pool(torch.relu(self.conv2(x)))
                x = x.view(-1, self.flat)
                return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

        model = g(LeNet())
        images, labels = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))  # CIFAR-10
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(images), labels))
    return program


def scores_view_batch_size(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        batch_size, num_classes = 4, 10
        net = g(nn.Sequential(nn.Conv2d(3, num_classes, 3), nn.AdaptiveAvgPool2d(1)))
        criterion = g(nn.CrossEntropyLoss())
        data = TensorDataset(torch.randn(10, 3, 8, 8), torch.randint(0, 10, (10,)))
        for images, labels in DataLoader(data, batch_size=batch_size):  # last batch: 2
            scores = net(images)
            scores = scores.view(-1 if fixed else batch_size, num_classes)
            _step(torch, net.parameters(), criterion(scores, labels))
    return program


def latent_view_bsize(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        from shapecontract import Array, Float

        BSIZE, SEQ_LEN, LSIZE = 4, 3, 8
        vae_encoder = g(nn.Linear(12, LSIZE))
        rollouts = TensorDataset(torch.randn(10, SEQ_LEN, 12))  # 10 rollouts: last batch 2
        loader = DataLoader(rollouts, batch_size=BSIZE, drop_last=fixed)
        for (obs,) in g(loader, tuple[Float[Array, "batch seq 12"]]):
            mu = vae_encoder(obs.view(-1, 12))
            latent_obs = mu.view(BSIZE, SEQ_LEN, LSIZE)  # to_latent's fixed batch size
            _step(torch, vae_encoder.parameters(), latent_obs.pow(2).mean())
    return program


def reshape_opt_batch_size(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class Opt:
            batchSize = 4

        opt = Opt()

        class ICSTN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv2Layers = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2), nn.ReLU())
                self.dense = nn.Linear(4 * 7 * 7, 6)

            def forward(self, combined_input: Any) -> Any:
                n = combined_input.size(0) if fixed else opt.batchSize
                feat = self.conv2Layers(combined_input).reshape(n, -1)
                return self.dense(feat)

        model = g(ICSTN())
        out = model(torch.randn(2, 2, 16, 16))  # a smaller last (or inference) batch
        return _step(torch, model.parameters(), out.pow(2).mean())
    return program


def lstm_input_size_bert_dim(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        bert_hid_size = 1024  # bert-large's hidden size; the config still says 768
        lstm_hid_size = 16

        class Model(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = nn.Embedding(30, bert_hid_size)  # stands in for BERT's output
                self.encoder = nn.LSTM(bert_hid_size if fixed else 768, lstm_hid_size,
                                       batch_first=True, bidirectional=True)

            def forward(self, ids: Any) -> Any:
                out, _ = self.encoder(self.bert(ids))
                return out

        model = g(Model())
        out = model(torch.randint(0, 30, (2, 7)))
        return _step(torch, model.parameters(), out.pow(2).mean())
    return program


def lstm_input_size_covariates(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        target_dim, lags, covariates = 1, 7, 55  # 1 * 7 lags + 55 time features = 62

        class RNNModel(nn.Module):
            def __init__(self, input_size: int) -> None:
                super().__init__()
                self.rnn = nn.LSTM(input_size, 8, batch_first=True)
                self.head = nn.Linear(8, 1)

            def forward(self, lagged: Any, time_feat: Any) -> Any:
                x = torch.cat([lagged, time_feat], dim=-1)
                out, _ = self.rnn(x)
                return self.head(out)

        model = g(RNNModel(62 if fixed else 60))
        lagged = torch.randn(2, 5, target_dim * lags)
        time_feat = torch.randn(2, 5, covariates)
        return _step(torch, model.parameters(), model(lagged, time_feat).pow(2).mean())
    return program


def tinyvgg_classifier_in_features(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        hidden_units = 10

        def block(cin: int) -> Any:
            return nn.Sequential(nn.Conv2d(cin, hidden_units, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden_units, hidden_units, 3, padding=1), nn.ReLU(),
                                 nn.MaxPool2d(2))

        model = nn.Sequential(block(1), block(hidden_units), nn.Flatten(),
                              nn.Linear(hidden_units * 7 * 7 if fixed else hidden_units, 10))
        images, labels = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))  # FashionMNIST
        loss = g(nn.CrossEntropyLoss())(g(model)(images), labels)
        return _step(torch, model.parameters(), loss)
    return program


def gnn_batchnorm_num_features(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        layers = [8, 32, 16]  # input, hidden, output (512 and 256 in the thread)
        encoder = nn.Sequential(
            nn.Linear(layers[0], layers[1]), nn.BatchNorm1d(layers[1]), nn.PReLU(),
            nn.Linear(layers[1], layers[2]), nn.BatchNorm1d(layers[2] if fixed else layers[1]),
            nn.PReLU())
        out = g(encoder)(torch.randn(6, layers[0]))  # six nodes' features
        return _step(torch, encoder.parameters(), out.pow(2).mean())
    return program


def ce_mask_channel_axis(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = nn.Conv2d(4, 8, 3, padding=1)  # a segmentation head: 8 land-cover classes
        y_hat = g(model)(torch.randn(2, 4, 16, 16))
        y = torch.randint(0, 8, (2, 1, 16, 16))  # the label raster keeps its band axis
        if fixed:
            y = y.squeeze(1)
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(y_hat, y))
    return program


def ce_rgb_mask(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        net = nn.Conv2d(3, 2, 3, padding=1)
        masks = torch.randint(0, 2, (1, 12, 14, 1)).repeat(1, 1, 1, 3)  # saved as RGB: (N, H, W, 3)
        if fixed:
            masks = masks[:, :, :, 0]  # one channel
        pred = g(net)(torch.randn(1, 3, 12, 14))
        return _step(torch, net.parameters(), g(nn.CrossEntropyLoss())(pred, masks))
    return program


def ce_one_hot_mask(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        classes = 12
        net = nn.Conv2d(3, classes, 3, padding=1)
        index = torch.randint(0, classes, (2, 8, 8))  # rgb mask coded to class indices
        target = nn.functional.one_hot(index, classes).permute(0, 3, 1, 2)  # (B, 12, H, W)
        if fixed:
            target = target.argmax(dim=1)
        out = g(net)(torch.randn(2, 3, 8, 8))
        return _step(torch, net.parameters(), g(nn.CrossEntropyLoss())(out, target))
    return program


def bce_logits_long_target(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class RNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(40, 8)
                self.rnn = nn.RNN(8, 16, batch_first=True)
                self.fc = nn.Linear(16, 1)

            def forward(self, text: Any) -> Any:
                out, _ = self.rnn(self.embedding(text))
                return self.fc(out[:, -1]).squeeze(1)

        model = g(RNN())
        text, sentiment = torch.randint(0, 40, (4, 6)), torch.randint(0, 2, (4,))  # int64 labels
        preds = model(text)
        loss = g(nn.BCEWithLogitsLoss())(preds, sentiment.float() if fixed else sentiment)
        return _step(torch, model.parameters(), loss)
    return program


def ce_float_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = nn.Linear(5, 3)
        x = torch.randn(4, 5)
        target = torch.tensor([0.0, 2.0, 1.0, 2.0])  # labels arrive as floating point
        if fixed:
            target = target.long()
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(g(model)(x), target))
    return program


def conv2d_unbatched_image(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        conv = nn.Conv2d(3, 32, 3)
        input_tensor = torch.randn(3, 64, 64)  # one image, no batch axis
        if fixed:
            input_tensor = input_tensor.unsqueeze(0)  # (1, 3, 64, 64)
        return g(conv)(input_tensor).shape
    return program


def har_batchnorm_timesteps(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        n_steps, n_input, n_hidden = 8, 6, 12  # 2-D pose keypoints per frame

        class LSTMClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bn = nn.BatchNorm1d(n_input if fixed else n_steps)
                self.lstm = nn.LSTM(n_input, n_hidden, batch_first=True)
                self.fc = nn.Linear(n_hidden, 4)

            def forward(self, x: Any) -> Any:  # x: (batch, timesteps, features)
                if fixed:  # BatchNorm1d normalizes axis 1: (batch, features, timesteps)
                    x = self.bn(x.transpose(1, 2)).transpose(1, 2)
                else:
                    x = self.bn(x)
                out, _ = self.lstm(x)
                return self.fc(out[:, -1])

        model = g(LSTMClassifier())
        x, y = torch.randn(5, n_steps, n_input), torch.randint(0, 4, (5,))
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(x), y))
    return program


def rnn_mnist_batch_first_false(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        sequence_length, input_size, hidden_size, num_classes = 28, 28, 16, 10

        class RNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(input_size, hidden_size, batch_first=fixed)
                self.fc = nn.Linear(hidden_size, num_classes)

            def forward(self, x: Any) -> Any:
                out, _ = self.lstm(x)
                return self.fc(out[:, -1, :])  # the last time step, if batch comes first

        model = g(RNN())
        images, labels = torch.rand(6, 1, 28, 28), torch.randint(0, 10, (6,))
        x = images.reshape(-1, sequence_length, input_size)  # (batch, seq, input)
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(x), labels))
    return program


def squeeze_last_batch_of_one(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        class SceneNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1))
                self.fc = nn.Linear(8, 5)

            def forward(self, x: Any) -> Any:
                feat = self.features(x).squeeze()  # (B, 8, 1, 1) -> (B, 8); (8,) when B == 1
                return torch.log_softmax(self.fc(feat), dim=1)

        model = g(SceneNet())
        criterion = g(nn.NLLLoss())
        data = TensorDataset(torch.randn(9, 3, 8, 8), torch.randint(0, 5, (9,)))  # 2 * 4 + 1
        for x, y in DataLoader(data, batch_size=4, drop_last=fixed):
            _step(torch, model.parameters(), criterion(model(x), y))
    return program


CASES = [
    Case("torch_squeezenet_spatial_logits", "torch", "output-vs-target",
         "https://github.com/Cadene/pretrained-models.pytorch/issues/151",
         "SqueezeNet's output (N, 1000, 1, 1) into CrossEntropyLoss with targets (N,): "
         "only batches of spatial targets supported",
         "output.reshape(-1, 1000) before the loss",
         (op(Reshape, shape=(-1, 10)), code("reshape(-1, 10)")),
         squeezenet_spatial_logits(False), squeezenet_spatial_logits(True)),
    Case("torch_ce_column_labels", "torch", "loss-hint",
         "https://github.com/deepchem/deepchem/issues/2323",
         "CrossEntropyLoss on outputs (N, C) with labels (N, 1): 1D target tensor expected, "
         "multi-target not supported",
         "labels.squeeze(-1): targets of shape (N,)",
         (op(DropAxis), code("squeeze(-1)")),
         ce_column_labels(False), ce_column_labels(True)),
    Case("torch_logistic_regression_numpy_labels", "torch", "loss-hint",
         "https://github.com/zergtant/pytorch-handbook/issues/37",
         "logistic regression with CrossEntropyLoss; labels from numpy as an (n, 1) column: "
         "multi-target not supported",
         "y.squeeze_(): the labels must be 1-D class indices",
         (op(DropAxis), code("squeeze")),
         logistic_regression_numpy_labels(False), logistic_regression_numpy_labels(True)),
    Case("torch_bce_lstm_flat_target", "torch", "loss-hint",
         "https://github.com/FernandoLpz/Text-Classification-LSTMs-PyTorch/issues/9",
         "LSTM text classifier, BCELoss on y_pred (64, 1) and y (64,): Using a target size "
         "that is different to the input size",
         "y = y.unsqueeze(1)",
         (op(InsertAxis), code("unsqueeze(1)")),
         bce_lstm_flat_target(False), bce_lstm_flat_target(True)),
    Case("torch_lstm_hidden_last_batch", "torch", "custom-forward",
         "https://github.com/udacity/deep-learning-v2-pytorch/pull/398",
         "sentiment RNN whose hidden state is made for batch_size; the DataLoader's last batch "
         "is smaller: Expected hidden[0] size (2, 4, 256), got (2, 64, 256)",
         "DataLoader(..., drop_last=True)",
         (code("drop_last=True"),),
         lstm_hidden_last_batch(False), lstm_hidden_last_batch(True)),
    Case("torch_batchnorm_last_batch_of_one", "torch", "pipeline-layout",
         "https://github.com/fastai/fastai/issues/1352",
         "a model with BatchNorm trained on a DataLoader whose last batch has one sample: "
         "Expected more than 1 value per channel when training",
         "drop_last=True on the training DataLoader",
         (code("drop_last=True"),),
         batchnorm_last_batch_of_one(False), batchnorm_last_batch_of_one(True)),
    Case("torch_unet_up_odd_skip", "torch", "custom-forward",
         "https://github.com/LeeJunHyun/Image_Segmentation/issues/38",
         "U-Net up block: torch.cat of the upsampled map and the skip connection after an odd "
         "size: Sizes of tensors must match except in dimension 1",
         "F.pad the upsampled map by the size difference before torch.cat",
         (code("F.pad"),),
         unet_up_odd_skip(False), unet_up_odd_skip(True)),
    Case("torch_unet_input_not_multiple_of_16", "torch", "custom-forward",
         "https://github.com/bigmb/Unet-Segmentation-Pytorch-Nest-of-Unets/issues/55",
         "U-Net with four poolings on images whose side is not a multiple of 16: torch.cat "
         "'Expected size 61 but got size 60'",
         "make the data's side a multiple of 2 ** 4 (or reduce the depth of the model)",
         (code("multiple of 16"),),
         unet_input_not_multiple_of_16(False), unet_input_not_multiple_of_16(True)),
    Case("torch_bn1d_region_features", "torch", "custom-forward",
         "https://github.com/ruotianluo/self-critical.pytorch/issues/44",
         "nn.BatchNorm1d(2048) on attention features (B, 36, 2048): running_mean should contain "
         "36 elements not 2048",
         "pack the regions into the batch first (att_feats as (K, 2048), pack_wrapper)",
         (op(Reshape, shape=(-1, 32)), code("reshape(-1, 32)"), code("view(-1, 32)")),
         bn1d_region_features(False), bn1d_region_features(True),
         no_right_fix="caught in AttEmbed.forward with no suggestion; flattening the regions into the batch is not proposed"),
    Case("torch_textcnn_conv_over_embedding", "torch", "custom-forward",
         "https://github.com/FernandoLpz/Text-Classification-CNN-PyTorch/issues/3",
         "text CNN: nn.Conv1d(in_channels=seq_len) on embeddings (B, seq_len, emb) runs, but "
         "convolves over the embedding axis",
         "x.permute(0, 2, 1) and in_channels = the embedding size",
         (op(Permute, perm=(0, 2, 1)), code("permute(0, 2, 1)"), setting("in_channels", 16)),
         textcnn_conv_over_embedding(False), textcnn_conv_over_embedding(True), silent=True,
         known_miss="silent: Conv1d(in_channels=seq_len) on (B, seq_len, emb) is a valid call; nothing flags the convolution over the embedding axis",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_dense_output_fixed_batch", "torch", "custom-forward",
         "https://github.com/xinge008/Cylinder3D/issues/58",
         "the model builds its dense output for the configured batch size; the last batch is "
         "smaller: Expected input batch_size (6) to match target batch_size (2)",
         "pass the batch's own size (labels.shape[0]) instead of the configured batch size",
         (code("shape[0]"),),
         dense_output_fixed_batch(False), dense_output_fixed_batch(True),
         no_right_fix="no_reshape advice at the loss: 'take the same batch for both' (input 3, target 2); passing the batch's own size to the model is not named"),
    Case("torch_mse_class_index_target", "torch", "loss-hint",
         "http://www.kouhan.cn/en/article/00050409",
         "a CNN classifier trained with MSELoss on class-index targets: The size of tensor a "
         "(133) must match the size of tensor b (10) at non-singleton dimension 1",
         "use CrossEntropyLoss with the class indices (or one-hot targets for MSELoss)",
         (op(SwapLoss), op(OneHot, classes=10), code("CrossEntropyLoss"), code("one_hot")),
         mse_class_index_target(False), mse_class_index_target(True),
         no_right_fix="advice that MSELoss needs equal shapes; neither CrossEntropyLoss nor one-hot targets is proposed"),
    Case("torch_ce_mask_grayscale_values", "torch", "loss-hint",
         "https://github.com/milesial/Pytorch-UNet/issues/291",
         "segmentation masks loaded as grey values 0..255 into CrossEntropyLoss: Target 192 is "
         "out of bounds",
         "load the masks as class indices 0 .. n_classes - 1, not raw grey values",
         (code("255"),),
         ce_mask_grayscale_values(False), ce_mask_grayscale_values(True)),
    Case("torch_embedding_num_embeddings", "torch", "data-blamed",
         "https://openillumi.com/?p=69161",
         "nn.Embedding(len(vocab), ...) with 1-based word ids (0 = padding): index out of "
         "range in self",
         "num_embeddings must exceed the largest index: len(vocab) + 1",
         (setting("num_embeddings", 11),),
         embedding_num_embeddings(False), embedding_num_embeddings(True)),
    Case("torch_resize_shorter_side_collate", "torch", "collate",
         "https://e-com-net.com/article/1398133171828084736.htm",
         "ImageFolder with transforms.Resize(224) (the shorter side only): stack expects each "
         "tensor to be equal size",
         "transforms.Resize((224, 224)): both sides",
         (code("Resize(("),),
         resize_shorter_side_collate(False), resize_shorter_side_collate(True)),
    Case("torch_conv1d_samples_as_channels", "torch", "transpose-vs-reshape",
         "https://discuss.pytorch.org/t/how-to-apply-1d-convolution-on-data-having-batch-size-1/190653",
         "(128, 64) data unsqueezed to (1, 128, 64) into nn.Conv1d(64, 32, 3): expected 64 "
         "channels, got 128",
         "input.permute(0, 2, 1): (1, 64, 128)",
         (op(Permute, perm=(0, 2, 1)), code("permute(0, 2, 1)")),
         conv1d_samples_as_channels(False), conv1d_samples_as_channels(True)),
    Case("torch_lenet_3x3_view", "torch", "custom-forward",
         "https://datascience.stackexchange.com/questions/89103/understanding-the-last-two-linear-transformations-in-lenet-5",
         "LeNet-5 with 3x3 kernels on CIFAR-10 keeps view(-1, k * k * 16): the 6x6 map is "
         "split across the batch",
         "the flattened size is 4 * k * k * 16 = 576, in the view and in fc1",
         (setting("in_features", 576), code("576")),
         lenet_3x3_view(False), lenet_3x3_view(True)),
    Case("torch_scores_view_batch_size", "torch", "custom-forward",
         "https://github.com/gsp-27/pytorch_Squeezenet/issues/4",
         "scores.view(args.batch_size, args.num_classes) in the training step: the last batch "
         "is smaller: shape '[32, 10]' is invalid for input of size 160",
         "scores.view(-1, args.num_classes)",
         (op(Reshape, shape=(-1, 10)), code("view(-1, 10)")),
         scores_view_batch_size(False), scores_view_batch_size(True),
         known_miss="the hard-coded view(batch_size, num_classes) in the training step fails outside any guarded call and is not explained",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_latent_view_bsize", "torch", "custom-forward",
         "https://github.com/ctallec/world-models/issues/25",
         "to_latent reshapes with the configured BSIZE; the last batch of rollouts is smaller: "
         "shape '[16, 32, 32]' is invalid for input of size 11264",
         "drop_last=True on the DataLoader",
         (code("drop_last=True"),),
         latent_view_bsize(False), latent_view_bsize(True),
         known_miss="the view(BSIZE, SEQ_LEN, LSIZE) on a short last batch fails outside any guarded call and is not explained; the guarded DataLoader accepts the short batch",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_reshape_opt_batch_size", "torch", "custom-forward",
         "https://github.com/LianpoWang/ICDICNet/issues/33",
         "forward flattens with reshape(opt.batchSize, -1): fails for a last mini-batch or "
         "another batch size at inference",
         "reshape(combined_input.size(0), -1)",
         (code("size(0)"), op(Reshape, shape=(2, -1))),
         reshape_opt_batch_size(False), reshape_opt_batch_size(True),
         no_right_fix="caught in ICSTN.forward; suggests nn.Linear(98, 6) (a layer rebuilt for the mis-flattened (4, 98)) instead of reshape(combined_input.size(0), -1)"),
    Case("torch_lstm_input_size_bert_dim", "torch", "data-blamed",
         "https://github.com/ljynlp/W2NER/issues/52",
         "BERT-large's 1024-wide output into an LSTM configured for 768: input.size(-1) must be "
         "equal to input_size. Expected 768, got 1024",
         "make the LSTM's input size the BERT output size (in the config)",
         (setting("input_size", 1024),),
         lstm_input_size_bert_dim(False), lstm_input_size_bert_dim(True)),
    Case("torch_lstm_input_size_covariates", "torch", "data-blamed",
         "https://github.com/zalandoresearch/pytorch-ts/issues/100",
         "lags and time features concatenated to 62 features into an RNN built for fewer: "
         "input.size(-1) must be equal to input_size",
         "set the input_size to 62",
         (setting("input_size", 62),),
         lstm_input_size_covariates(False), lstm_input_size_covariates(True)),
    Case("torch_tinyvgg_classifier_in_features", "torch", "data-blamed",
         "https://github.com/mrdbourke/pytorch-deep-learning/issues/763",
         "TinyVGG's classifier nn.Linear(in_features=hidden_units) after Flatten of (10, 7, 7): "
         "mat1 and mat2 shapes cannot be multiplied (10x490 and 10x10)",
         "in_features=hidden_units * 7 * 7 = 490",
         (setting("in_features", 490),),
         tinyvgg_classifier_in_features(False), tinyvgg_classifier_in_features(True)),
    Case("torch_gnn_batchnorm_num_features", "torch", "data-blamed",
         "https://github.com/Namkyeong/BGRL_Pytorch/issues/1",
         "encoder's second BatchNorm1d sized for the hidden layer, not the output: running_mean "
         "should contain 256 elements not 512",
         "the batch normalization's dimension: BatchNorm1d(256), the output size",
         (setting("num_features", 16),),
         gnn_batchnorm_num_features(False), gnn_batchnorm_num_features(True)),
    Case("torch_ce_mask_channel_axis", "torch", "loss-hint",
         "https://github.com/HSG-AIML/SSLTransformerRS/issues/1",
         "segmentation CrossEntropyLoss with y_hat (8, 8, 224, 224) and y (8, 1, 224, 224): only "
         "batches of spatial targets supported (3D tensors)",
         "drop the label's channel axis: y (8, 224, 224)",
         (op(DropAxis, axis=1), code("squeeze(1)")),
         ce_mask_channel_axis(False), ce_mask_channel_axis(True)),
    Case("torch_ce_rgb_mask", "torch", "loss-hint",
         "https://github.com/milesial/Pytorch-UNet/issues/373",
         "masks saved with 3 channels: targets (1, 215, 245, 3) into CrossEntropyLoss: only "
         "batches of spatial targets supported",
         "keep one channel of the masks: img[:, :, 0]",
         (code("[:, :, 0]"), code("[..., 0]")),
         ce_rgb_mask(False), ce_rgb_mask(True),
         no_right_fix="advice that CrossEntropyLoss takes class indices; keeping one channel of the (N, H, W, 3) mask is not proposed"),
    Case("torch_ce_one_hot_mask", "torch", "loss-hint",
         "https://github.com/UsamaI000/CamVid-Segmentation-Pytorch/issues/2",
         "CamVid masks one-hot coded (batch, 12, h, w) into CrossEntropyLoss: only batches of "
         "spatial targets supported (3D tensors)",
         "categorical CE takes a 3-D (batch, h, w) mask of class indices",
         (op(Argmax, axis=1), code("argmax(1)"), code("argmax(dim=1)")),
         ce_one_hot_mask(False), ce_one_hot_mask(True)),
    Case("torch_bce_logits_long_target", "torch", "loss-hint",
         "https://github.com/PacktPublishing/Mastering-PyTorch/issues/4",
         "sentiment RNN with BCEWithLogitsLoss on int64 labels: result type Float can't be cast "
         "to the desired output type Long",
         "loss_func(preds, sentiment.float())",
         (op(Cast, dtype="float32"), code(".float()")),
         bce_logits_long_target(False), bce_logits_long_target(True)),
    Case("torch_ce_float_labels", "torch", "loss-hint",
         "https://github.com/burlachenkok/flpytorch/pull/14",
         "CrossEntropyLoss with class labels as floating point: PyTorch expects Long",
         "labels.long() before the loss",
         (op(Cast, dtype="int64"), code(".long()")),
         ce_float_labels(False), ce_float_labels(True)),
    Case("torch_conv2d_unbatched_image", "torch", "known-remedy",
         "https://geek-docs.com/pytorch/pytorch-questions/21_pytorch_runtimeerror_expected_4dimensional_input_for_4dimensional_weight_32_3_3_but_got_3dimensional_input_of_size_instead.html",
         "a (3, H, W) image into nn.Conv2d(3, 32, 3): Expected 4-dimensional input for "
         "4-dimensional weight, but got 3-dimensional input",
         "input_tensor.unsqueeze(0): a batch of one",
         (op(InsertAxis, axis=0), code("unsqueeze(0)")),
         conv2d_unbatched_image(False), conv2d_unbatched_image(True),
         stale="since torch 1.11 Conv2d takes a 3-D (C, H, W) input as one unbatched image",
         known_miss="stale: torch runs the unbatched (C, H, W) image and the guard accepts it as torch does",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_har_batchnorm_timesteps", "torch", "transpose-vs-reshape",
         "https://github.com/xieyulai/LSTM-for-Human-Activity-Recognition-using-2D-Pose_Pytorch/issues/2",
         "BatchNorm1d on LSTM input (batch, timesteps, features): it runs, normalizing the "
         "time steps as channels",
         "transpose to (batch, features, timesteps) for the batch norm",
         (op(Permute, perm=(0, 2, 1)), code("transpose(1, 2)"), setting("num_features", 6)),
         har_batchnorm_timesteps(False), har_batchnorm_timesteps(True), silent=True,
         known_miss="silent: BatchNorm1d(n_steps) on (batch, timesteps, features) is a valid call; the wrong normalized axis is not flagged",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_rnn_mnist_batch_first_false", "torch", "pipeline-layout",
         "https://github.com/yunjey/pytorch-tutorial/issues/196",
         "the tutorial's MNIST LSTM changed to batch_first=False while still fed (batch, seq, "
         "input): it runs, loss stays near 2 and accuracy near 11%",
         "batch_first=True for (batch, seq_len, input_size) data",
         (setting("batch_first", True), op(Permute, perm=(1, 0, 2))),
         rnn_mnist_batch_first_false(False), rnn_mnist_batch_first_false(True), silent=True,
         known_miss="silent: an LSTM without batch_first reads (batch, seq, input) as (seq, batch, input); every size fits, so nothing is flagged",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_squeeze_last_batch_of_one", "torch", "custom-forward",
         "https://github.com/chenyuntc/scene-baseline/issues/2",
         "forward squeezes (B, C, 1, 1) features; a last batch of one loses its batch axis too: "
         "dimension out of range (expected to be in range of [-1, 0], but got 1)",
         "drop_last=True when creating the DataLoader",
         (code("drop_last=True"),),
         squeeze_last_batch_of_one(False), squeeze_last_batch_of_one(True)),
]
