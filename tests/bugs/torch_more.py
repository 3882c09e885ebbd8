"""Still more PyTorch (CPU) cases, each re-created from one public thread (see `tests.bugs`).

As in `torch_cases` and `torch_threads`: the program is written from the thread's question
(buggy) and its accepted answer (control), on tiny random data with sizes shrunk where the
thread's own sizes do not matter; the layers and the mistake are the thread's. Modules, loss
modules and DataLoaders (with the spec of their batches) pass through `g`. Mostly the kinds the
corpus is short on: a layer's setting blamed on the data, the model's output against the
targets, sizes with a known remedy, layouts only the pipeline knows, and collate.
"""

from __future__ import annotations

from typing import Any

from shapecontract.fixes import (
    DropAxis,
    InsertAxis,
    InsertLayer,
    Permute,
    Repeat,
)

from . import Case, Guard, code, op, setting
from .programs import step as _step
from .programs import torch_modules as _t


def _to_tensor(torch: Any, pic: Any) -> Any:
    """What `torchvision.transforms.ToTensor` does with a numpy array: it takes it as
    (H, W, C), puts the channels first and scales uint8 to [0, 1] (torchvision is not installed
    here; this is its documented ndarray path)."""
    if pic.ndim == 2:
        pic = pic[:, :, None]
    img = torch.from_numpy(pic.transpose((2, 0, 1))).contiguous()
    return img.float().div(255) if img.dtype == torch.uint8 else img


# ---------------------------------------------------------------------------------- data-blamed
def conv2d_one_channel_rgb_batch(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = nn.Conv2d(3 if fixed else 1, 16, kernel_size=5)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(16, 2)

            def forward(self, x: Any) -> Any:
                return self.fc(self.pool(torch.relu(self.conv1(x))).flatten(1))

        model = g(Net())
        images, labels = torch.randn(4, 3, 32, 32), torch.randint(0, 2, (4,))  # RGB batches
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(images), labels))
    return program


def t2vec_vocab_size_gather(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        vocab_size = 16 if fixed else 14  # the preprocessing wrote 16 cells; the config said 14

        class EncoderDecoder(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(vocab_size, 8)
                self.generator = nn.Linear(8, vocab_size)

            def forward(self, trg: Any) -> Any:
                return torch.log_softmax(self.generator(self.embedding(trg)), dim=-1)

        model = g(EncoderDecoder())
        trg = torch.tensor([3, 7, 12, 5])
        output = model(trg)  # (4, vocab_size)
        # the K nearest cells of each target, from the preprocessing's distance table
        indices = torch.tensor([[3, 4, 15], [7, 8, 14], [12, 13, 11], [5, 6, 15]])
        outputk = torch.gather(output, 1, indices)
        return _step(torch, model.parameters(), -outputk.mean())
    return program


def agcn_data_bn_num_person(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        in_channels, num_point, frames, persons = 3, 21, 6, 2  # hand joints, two persons

        class Model(nn.Module):
            def __init__(self, num_person: int) -> None:
                super().__init__()
                self.data_bn = nn.BatchNorm1d(num_person * in_channels * num_point)
                self.fc = nn.Linear(num_person * in_channels * num_point, 4)

            def forward(self, x: Any) -> Any:
                n, c, t, v, m = x.size()
                x = x.permute(0, 4, 3, 1, 2).contiguous().view(n, m * v * c, t)
                return self.fc(self.data_bn(x).mean(dim=2))

        model = g(Model(persons if fixed else 1))  # num_person not passed: it stays 1
        x = torch.randn(4, in_channels, frames, num_point, persons)  # (N, C, T, V, M)
        return _step(torch, model.parameters(), model(x).pow(2).mean())
    return program


def imdb_lstm_batch_first(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        batch, maxlen, embed, hidden = 4, 10, 8, 16

        class SymbolModule(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(50, embed)
                self.lstm = nn.LSTM(embed, hidden, batch_first=fixed)
                self.l_out = nn.Linear(hidden, 2)

            def forward(self, x: Any) -> Any:
                embeds = self.embedding(x)  # (batch, maxlen, embed)
                size = embeds.size(0) if fixed else embeds.size(1)  # read as the batch size
                h0 = (torch.zeros(1, size, hidden), torch.zeros(1, size, hidden))
                out, _ = self.lstm(embeds, h0)
                return self.l_out(out[:, -1] if fixed else out[-1])

        model = g(SymbolModule())
        x, y = torch.randint(0, 50, (batch, maxlen)), torch.randint(0, 2, (batch,))
        return _step(torch, model.parameters(), g(nn.CrossEntropyLoss())(model(x), y))
    return program


def quac_lstm_input_size(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        features = 1144  # the embedders' outputs concatenated; the config still says 1124

        class DialogQA(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.phrase_layer = nn.LSTM(1144 if fixed else 1124, 8, batch_first=True,
                                            bidirectional=True)

            def forward(self, x: Any) -> Any:
                out, _ = self.phrase_layer(x)
                return out

        model = g(DialogQA())
        return _step(torch, model.parameters(), model(torch.randn(2, 5, features)).pow(2).mean())
    return program


def dqn_lstm_missing_batch_first(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class DQN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv = nn.Sequential(nn.Conv2d(4, 6, 4, stride=4), nn.ReLU())
                self.lstm = nn.LSTM(16, 12, 1, batch_first=fixed)
                self.head = nn.Linear(12, 3)

            def forward(self, x: Any) -> Any:
                feat = self.conv(x).flatten(2)  # (batch, 6, 16): 6 steps of 16 features
                out, _ = self.lstm(feat)
                return self.head(out[:, -1])  # the last step, if batch comes first

        model = g(DQN())
        states, q_target = torch.randn(8, 4, 16, 16), torch.randn(8, 3)
        return _step(torch, model.parameters(), g(nn.MSELoss())(model(states), q_target))
    return program


def mask_estimator_batch_first(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        bins, frames = 20, 7

        class MaskEstimator(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.LSTM(bins, 16, batch_first=fixed)
                self.speech = nn.Linear(16, bins)

            def forward(self, x: Any) -> Any:  # x: (batch, frames, bins)
                out, _ = self.rnn(x)
                return torch.sigmoid(self.speech(out))

        model = g(MaskEstimator())
        spectra, masks = torch.rand(3, frames, bins), torch.rand(3, frames, bins)
        return _step(torch, model.parameters(), g(nn.BCELoss())(model(spectra), masks))
    return program


# ----------------------------------------------------------------------------- output-vs-target
def chexnet_n_classes(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        N_CLASSES = 7 if fixed else 8  # the dataset has 7 findings; the script says 8
        model = g(nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, N_CLASSES),
                                nn.Sigmoid()))
        images, labels_sub = torch.randn(4, 10), torch.randint(0, 2, (4, 7)).float()
        outputs = model(images)
        return _step(torch, model.parameters(), g(nn.BCELoss())(outputs, labels_sub))
    return program


def regression_head_squeezed_logits(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class RegressionHead(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.feed_forward = nn.Linear(16, 1)

            def forward(self, x: Any) -> Any:
                logits = self.feed_forward(x)  # (batch, 1)
                return logits if fixed else logits.squeeze(-1)

        head = g(RegressionHead())
        pooled, label_ids = torch.randn(32, 16), torch.rand(32, 1) * 16  # labels 0 .. 16
        return _step(torch, head.parameters(), g(nn.MSELoss())(head(pooled), label_ids))
    return program


def depth_smooth_l1_target_channel(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        net = nn.Conv2d(3, 1, 3, padding=1)  # the depth branch: one channel
        images, depth = torch.randn(2, 3, 16, 16), torch.rand(2, 16, 16)  # depth maps (N, H, W)
        if fixed:
            depth = depth.unsqueeze(1)
        pred_depth = g(net)(images)
        loss = g(nn.SmoothL1Loss(reduction="sum"))(pred_depth, depth)
        return _step(torch, net.parameters(), loss)
    return program


def gan_discriminator_flat_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        D = g(nn.Sequential(nn.Linear(12, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Sigmoid()))
        real, real_label = torch.randn(16, 12), torch.ones(16)  # labels (batch,)
        output = D(real)  # (batch, 1)
        if fixed:
            output = output.squeeze(1)
        return _step(torch, D.parameters(), g(nn.BCELoss())(output, real_label))
    return program


def intent_num_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        num_labels = 50 if fixed else 12  # left at the other task's 12 classes
        classifier = g(nn.Linear(16, num_labels))
        pooled = torch.randn(4, 16)
        b_labels = torch.tensor([3, 17, 49, 8])  # this dataset's intents run to 49
        loss = g(nn.CrossEntropyLoss())(classifier(pooled), b_labels)
        return _step(torch, classifier.parameters(), loss)
    return program


def multilabel_output_width(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        code_length, labels = 12, 21  # the hashing net's 12 bits; NUS-WIDE's 21 labels
        model = g(nn.Sequential(nn.Linear(20, 32), nn.ReLU(),
                                nn.Linear(32, labels if fixed else code_length)))
        x, y = torch.randn(4, 20), torch.randint(0, 2, (4, labels)).float()
        return _step(torch, model.parameters(), g(nn.BCEWithLogitsLoss())(model(x), y))
    return program


# -------------------------------------------------------------------------------- known-remedy
def vit_distill_grayscale_resnet(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        teacher = nn.Sequential(  # a ResNet stem made for RGB: weight (64, 3, 7, 7)
            nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
        img, labels = torch.randn(4, 1, 32, 32), torch.randint(0, 5, (4,))  # grayscale
        if fixed:
            img = img.expand(-1, 3, -1, -1)
        loss = g(nn.CrossEntropyLoss())(g(teacher)(img), labels)
        return _step(torch, teacher.parameters(), loss)
    return program


def reid_single_image(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        model = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False),
                              nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten())
        model.eval()
        data = torch.rand(3, 48, 16)  # transform(img) of one query image: (C, H, W)
        if fixed:
            data = data.unsqueeze(0)
        with torch.no_grad():
            return g(model)(data).shape
    return program


def lane_encoder_input_resolution(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        class Encoder(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                              nn.MaxPool2d(128, ceil_mode=True))  # /128
                self.road_linear_1 = nn.Linear(4 * 3 * 5, 16)  # a 640x360 frame: a 3x5 map

            def forward(self, x: Any) -> Any:
                return self.road_linear_1(self.features(x).flatten(1))

        model = g(Encoder())
        frame = torch.rand(1, 3, 360, 640) if fixed else torch.rand(1, 3, 480, 640)
        with torch.no_grad():
            return model(frame).shape
    return program


def face_resnet_112_input(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()

        def down(cin: int, cout: int) -> Any:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.PReLU(cout))

        class ResNet50IR(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = nn.Sequential(down(3, 4), down(4, 4), down(4, 8), down(8, 8))
                self.output_layer = nn.Linear(8 * 7 * 7, 16)  # a 112x112 face: a 7x7 map

            def forward(self, x: Any) -> Any:
                return self.output_layer(self.body(x).flatten(1))

        net = g(ResNet50IR())
        side = 112 if fixed else 120
        img = torch.rand(2, 3, side, side)
        return _step(torch, net.parameters(), net(img).pow(2).mean())
    return program


def resnet_avgpool_224_input(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        resnet = nn.Sequential(
            nn.Conv2d(3, 8, 32, stride=32), nn.ReLU(),  # the /32 body: 7x7 at 224
            nn.AvgPool2d(7, stride=1),  # the old torchvision ResNet's fixed pooling
            nn.Flatten(), nn.Linear(8, 10))  # resnet.fc for 100 classes, shrunk
        side = 224 if fixed else 256
        images, labels = torch.randn(2, 3, side, side), torch.randint(0, 10, (2,))
        loss = g(nn.CrossEntropyLoss())(g(resnet)(images), labels)
        return _step(torch, resnet.parameters(), loss)
    return program


# ----------------------------------------------------------------------------- pipeline-layout
def fedgmm_cifar_channels_last(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, TensorDataset

        from shapecontract import Array, Float, Int

        cifar = torch.rand(10, 32, 32, 3)  # CIFAR-10 kept as numpy stores it: (N, H, W, C)
        if fixed:  # the dimension manipulation
            cifar = cifar.permute(0, 3, 1, 2)
        data = TensorDataset(cifar, torch.randint(0, 10, (10,)))
        loader = DataLoader(data, batch_size=4)
        model = g(nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                nn.Flatten(), nn.Linear(32, 10)))
        criterion = g(nn.CrossEntropyLoss())
        for x, y in g(loader, tuple[Float[Array, "batch 3 32 32"], Int[Array, "batch"]]):
            _step(torch, model.parameters(), criterion(model(x), y))
    return program


def earthvision_dataset_hwc(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import numpy as np

        torch, nn = _t()
        from torch.utils.data import DataLoader, Dataset

        from shapecontract import Array, Float, Int

        class AerialCactus(Dataset):  # type: ignore[type-arg]
            def __init__(self) -> None:
                rng = np.random.default_rng(0)
                self.images = [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
                               for _ in range(3)]

            def __len__(self) -> int:
                return len(self.images)

            def __getitem__(self, i: int) -> Any:
                img = self.images[i]
                if fixed:  # transforms.ToTensor() as the last transform: (C, H, W)
                    return _to_tensor(torch, img), i % 2
                return torch.from_numpy(img).float() / 255, i % 2

        aci_dloader = DataLoader(AerialCactus(), batch_size=1)
        conv0 = g(nn.Conv2d(3, 128, 3))
        spec = tuple[Float[Array, "batch 3 40 40"], Int[Array, "batch"]]
        return [conv0(x).shape for x, _ in g(aci_dloader, spec)]
    return program


def totensor_chw_mask(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import numpy as np

        torch, nn = _t()
        from torch.utils.data import DataLoader, Dataset

        from shapecontract import Array, Float

        classes, h, w = 5, 6, 9

        class DPWHDataset(Dataset):  # type: ignore[type-arg]
            def __init__(self) -> None:
                rng = np.random.default_rng(0)
                self.images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(4)]
                self.masks = [rng.integers(0, classes, (h, w)) for _ in range(4)]

            def __len__(self) -> int:
                return len(self.images)

            def create_channel_mask(self, mask: Any) -> Any:
                # one channel per class, channels first: (5, H, W)
                return np.stack([(mask == c) for c in range(classes)]).astype("float32")

            def __getitem__(self, i: int) -> Any:
                image = _to_tensor(torch, self.images[i])  # (H, W, 3) -> (3, H, W)
                mask = self.create_channel_mask(self.masks[i])
                if fixed:  # ToTensor takes (H, W, C): hand it the mask that way
                    mask = mask.transpose(1, 2, 0)
                return image, _to_tensor(torch, mask)

        loader = DataLoader(DPWHDataset(), batch_size=2)
        net = g(nn.Conv2d(3, classes, 3, padding=1))
        criterion = g(nn.BCEWithLogitsLoss())
        spec = tuple[Float[Array, "batch 3 h w"], Float[Array, "batch 5 h w"]]
        for image, mask in g(loader, spec):
            _step(torch, net.parameters(), criterion(net(image), mask))
    return program


def midas_cv2_image_hwc(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import numpy as np

        torch, nn = _t()
        midas = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 1))
        image = np.random.default_rng(0).random((24, 32, 3)).astype("float32")  # cv2: HWC
        if fixed:
            image = np.transpose(image, (2, 0, 1))  # HWC -> CHW, as the transform does
        sample = torch.from_numpy(image)[None]
        with torch.no_grad():
            return g(midas)(sample).shape
    return program


# ------------------------------------------------------------------------------------- collate
def gray_and_rgb_images_collate(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, nn = _t()
        from torch.utils.data import DataLoader, Dataset

        from shapecontract import Array, Float

        class Folder(Dataset):  # type: ignore[type-arg]
            """A custom image folder: most photos RGB, a few saved as grayscale."""

            def __init__(self) -> None:
                self.images = [torch.rand(3, 15, 17), torch.rand(3, 15, 17), torch.rand(1, 15, 17),
                               torch.rand(3, 15, 17)]

            def __len__(self) -> int:
                return len(self.images)

            def __getitem__(self, i: int) -> Any:
                img = self.images[i]
                if fixed and img.shape[0] == 1:  # img.convert('RGB'): three equal channels
                    img = img.repeat(3, 1, 1)
                return img

        loader = DataLoader(Folder(), batch_size=4)
        encoder = g(nn.Conv2d(3, 4, 3))
        return [encoder(x).shape for x in g(loader, Float[Array, "batch 3 15 17"])]
    return program


def boxes_variable_count_collate(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, _ = _t()
        from torch.utils.data import DataLoader

        from shapecontract import Array, Float

        def collate_fn(batch: list[Any]) -> Any:
            images, boxes = map(list, zip(*batch))
            return torch.stack(images, 0), boxes  # the boxes stay a list

        # an image with its bounding boxes: 1, 2, 3 ... boxes of 4 numbers
        dataset = [(torch.zeros(3, 12, 12), torch.zeros(i, 4)) for i in range(1, 5)]
        loader = DataLoader(dataset, batch_size=2, collate_fn=collate_fn if fixed else None)
        spec = tuple[Float[Array, "batch 3 12 12"], Any]
        return [(x.shape, len(b)) for x, b in g(loader, spec)]
    return program


def ucf101_audio_collate(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        torch, _ = _t()
        from torch.utils.data import DataLoader, Dataset
        from torch.utils.data.dataloader import default_collate

        from shapecontract import Array, Float, Int

        class UCF101(Dataset):  # type: ignore[type-arg]
            """Clips (T, C, H, W) with their audio: some clips have none, some one channel."""

            def __init__(self) -> None:
                self.audio = [torch.zeros(1, 0), torch.rand(1, 115), torch.zeros(1, 0),
                              torch.rand(1, 98)]

            def __len__(self) -> int:
                return len(self.audio)

            def __getitem__(self, i: int) -> Any:
                return torch.rand(5, 3, 8, 8), self.audio[i], i % 3

        def custom_collate(batch: list[Any]) -> Any:
            return default_collate([(video, label) for video, _, label in batch])  # no audio

        loader = DataLoader(UCF101(), batch_size=2, collate_fn=custom_collate if fixed else None)
        if fixed:
            spec: Any = tuple[Float[Array, "batch 5 3 8 8"], Int[Array, "batch"]]
        else:
            spec = tuple[Float[Array, "batch 5 3 8 8"], Float[Array, "batch 1 s"],
                         Int[Array, "batch"]]
        return [batch[0].shape for batch in g(loader, spec)]
    return program


CASES = [
    # ------------------------------------------------------------------------------ data-blamed
    Case("torch_conv2d_one_channel_rgb_batch", "torch", "data-blamed",
         "https://duoke360.com/post/34762",
         "the first nn.Conv2d built with in_channels=1 fed RGB batches: weight of size "
         "[16, 1, 5, 5], expected input[100, 3, 256, 256] to have 1 channels, but got 3",
         "set the first layer's in_channels to the data's 3 (or add a 3 -> 1 conv adapter, or "
         "transforms.Grayscale() on the data)",
         (setting("in_channels", 3), op(InsertLayer), code("Grayscale")),
         conv2d_one_channel_rgb_batch(False), conv2d_one_channel_rgb_batch(True)),
    Case("torch_t2vec_vocab_size_gather", "torch", "data-blamed",
         "https://github.com/boathit/t2vec/issues/17",
         "the network built with vocab_size 18864 while the preprocessing made 18866 cells: "
         "gather of the K nearest cells: index 18864 is out of bounds for dimension 1 with "
         "size 18864",
         "vocab_size must be the preprocessing's output (18866), not the hard-coded 18864",
         (setting("out_features", 16), setting("num_embeddings", 16)),
         t2vec_vocab_size_gather(False), t2vec_vocab_size_gather(True),
         known_miss="the gather of the K nearest cells (index 15 out of bounds for dimension 1 with size 14) fails outside any guarded call and is not explained",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_agcn_data_bn_num_person", "torch", "data-blamed",
         "https://github.com/lshiwjx/2s-AGCN/issues/19",
         "2s-AGCN's data_bn = BatchNorm1d(num_person * in_channels * num_point) built with one "
         "person for two-person data: running_mean should contain 126 elements not 63",
         "the elements are num_person * in_channels * num_point: pass the data's num_person",
         (setting("num_features", 126),),
         agcn_data_bn_num_person(False), agcn_data_bn_num_person(True)),
    Case("torch_imdb_lstm_batch_first", "torch", "data-blamed",
         "https://github.com/pytorch/pytorch/issues/2674",
         "IMDB sentiment LSTM without batch_first fed (64, 150, 125) embeddings, h0 sized "
         "by embeds.size(1): the 150 steps are taken as the batch, so the scores do not match "
         "the 64 labels",
         "batch_first=True to match the input format (or transpose the data the generator "
         "yields to (150, BATCHSIZE))",
         (setting("batch_first", True), op(Permute, perm=(1, 0)), code("transpose")),
         imdb_lstm_batch_first(False), imdb_lstm_batch_first(True),
         no_right_fix="no_reshape advice at the loss: 'take the same batch for both' (10 vs 4); batch_first=True (or transposing the data) is not proposed"),
    Case("torch_quac_lstm_input_size", "torch", "data-blamed",
         "https://github.com/allenai/allennlp/issues/1931",
         "dialog_qa on QuAC: the phrase layer configured for 1124 inputs, the embedders give "
         "1144: input.size(-1) must be equal to input_size. Expected 1124, got 1144",
         "change the configuration's input_size to 1144",
         (setting("input_size", 1144),),
         quac_lstm_input_size(False), quac_lstm_input_size(True)),
    Case("torch_dqn_lstm_missing_batch_first", "torch", "data-blamed",
         "https://github.com/AndersonJo/dqn-pytorch/issues/1",
         "CNN features (32, 64, 16) in (batch, seq, input) order into nn.LSTM(16, ...) without "
         "batch_first: it runs (and still learns), the batch read as the sequence",
         "nn.LSTM(16, LSTM_MEMORY, 1, batch_first=True)",
         (setting("batch_first", True),),
         dqn_lstm_missing_batch_first(False), dqn_lstm_missing_batch_first(True), silent=True,
         known_miss="silent: an LSTM without batch_first reads (batch, 6, 16) as (seq, batch, input); every size fits, so nothing is flagged",
         no_right_fix="missed: no error of the library, so no suggestion"),
    Case("torch_mask_estimator_batch_first", "torch", "data-blamed",
         "https://github.com/funcwj/chime4-nn-mask/issues/2",
         "the mask estimator's LSTM fed (batch, frames, bins) without batch_first: it runs "
         "over the batch as time",
         "the missed batch_first=True in the LSTM's parameters",
         (setting("batch_first", True),),
         mask_estimator_batch_first(False), mask_estimator_batch_first(True), silent=True,
         known_miss="silent: an LSTM without batch_first reads (batch, frames, bins) as (seq, batch, input); every size fits, so nothing is flagged",
         no_right_fix="missed: no error of the library, so no suggestion"),
    # ------------------------------------------------------------------------- output-vs-target
    Case("torch_chexnet_n_classes", "torch", "output-vs-target",
         "https://github.com/thtang/CheXNet-with-localization/issues/5",
         "outputs [64, 8] against labels [64, 7] in the BCE loss: Target and input must have "
         "the same number of elements",
         "modify N_CLASSES for the application: 7 outputs",
         (setting("out_features", 7),),
         chexnet_n_classes(False), chexnet_n_classes(True)),
    Case("torch_regression_head_squeezed_logits", "torch", "output-vs-target",
         "https://github.com/deepset-ai/FARM/issues/229",
         "a regression head whose logits are squeezed to (32,) against labels (32, 1): "
         "MSELoss warns of a target size different to the input size and broadcasts",
         "do not squeeze the logits: they must match the labels' (32, 1)",
         (op(InsertAxis),),
         regression_head_squeezed_logits(False), regression_head_squeezed_logits(True),
         silent=True),
    Case("torch_depth_smooth_l1_target_channel", "torch", "output-vs-target",
         "https://github.com/jiwei0921/CoNet/issues/3",
         "smooth_l1_loss on the depth prediction (2, 1, 256, 256) and the depth target "
         "(2, 256, 256): a warning, then a broadcast",
         "target = target.unsqueeze(1): (2, 1, 256, 256)",
         (op(InsertAxis, axis=1), code("unsqueeze(1)")),
         depth_smooth_l1_target_channel(False), depth_smooth_l1_target_channel(True),
         silent=True,
         no_right_fix="proposes input.squeeze(1) (the prediction made (N, H, W)) instead of target.unsqueeze(1)"),
    Case("torch_gan_discriminator_flat_labels", "torch", "output-vs-target",
         "https://github.com/YixinChen-AI/CVAE-GAN-zoos-PyTorch-Beginner/issues/9",
         "the discriminator's (128, 1) output against (128,) labels in BCELoss: Using a target "
         "size (torch.Size([128])) that is different to the input size",
         "reduce one input's dimension (squeeze the output)",
         (op(DropAxis), code("squeeze")),
         gan_discriminator_flat_labels(False), gan_discriminator_flat_labels(True)),
    Case("torch_intent_num_labels", "torch", "output-vs-target",
         "https://github.com/TencentGameMate/gnn_cross_lingual/issues/5",
         "the fine-tuning classifier left at num_labels=12 for a dataset whose labels run past "
         "17: IndexError: Target 12 is out of bounds",
         "raise num_labels to the dataset's classes (50)",
         (setting("out_features", 50),),
         intent_num_labels(False), intent_num_labels(True)),
    Case("torch_multilabel_output_width", "torch", "output-vs-target",
         "https://github.com/jiangqy/ADSH-AAAI2018/issues/5",
         "BCEWithLogitsLoss on the hashing net's 12 outputs and NUS-WIDE's 21 labels: Target "
         "size (torch.Size([64, 21])) must be the same as input size (torch.Size([64, 12]))",
         "label targets are batch_size x #label: the output must have 21 units",
         (setting("out_features", 21),),
         multilabel_output_width(False), multilabel_output_width(True)),
    # ----------------------------------------------------------------------------- known-remedy
    Case("torch_vit_distill_grayscale_resnet", "torch", "known-remedy",
         "https://github.com/lucidrains/vit-pytorch/issues/54",
         "grayscale images into the distiller's ResNet teacher: weight of size [64, 3, 7, 7], "
         "expected input[64, 1, 224, 224] to have 3 channels, but got 1",
         "expand the grayscale image to RGB: img.expand(-1, 3, -1, -1)",
         (op(Repeat, axis=1, times=3), code("expand(-1, 3, -1, -1)")),
         vit_distill_grayscale_resnet(False), vit_distill_grayscale_resnet(True)),
    Case("torch_reid_single_image", "torch", "known-remedy",
         "https://github.com/michuanhaohao/reid-strong-baseline/issues/6",
         "one transformed query image (3, 384, 128) into the re-id model: Expected 4-dimensional "
         "input for 4-dimensional weight",
         "data = data.unsqueeze(0): the network needs [batch_size, 3, 384, 128]",
         (op(InsertAxis, axis=0), code("unsqueeze(0)")),
         reid_single_image(False), reid_single_image(True)),
    Case("torch_lane_encoder_input_resolution", "torch", "known-remedy",
         "https://github.com/fabvio/ld-lsi/issues/10",
         "640x480 frames into an encoder whose nn.Linear(512 * 3 * 5, 1024) is sized for "
         "640x360: size mismatch, m1: [1 x 10240], m2: [7680 x 1024]",
         "resize the input to (640, 360)",
         (code("360, 640"), code("640, 360")),
         lane_encoder_input_resolution(False), lane_encoder_input_resolution(True),
         no_right_fix="suggests nn.Linear(80, 16) (the layer rebuilt for the 480-high frame) instead of resizing the input to 640x360"),
    Case("torch_face_resnet_112_input", "torch", "known-remedy",
         "https://github.com/wujiyang/Face_Pytorch/issues/17",
         "120x120 faces into ResNet50_IR whose output layer takes 512 * 7 * 7 (a 112x112 "
         "input): size mismatch, m1: [1 x 32768], m2: [25088 x 512]",
         "use 112x112 inputs (or resize the last feature map's layer)",
         (code("112, 112"),),
         face_resnet_112_input(False), face_resnet_112_input(True),
         no_right_fix="suggests resizing to (97, 97) (the smallest input that fits) or nn.Linear(512, 16); the 112x112 input is not named"),
    Case("torch_resnet_avgpool_224_input", "torch", "known-remedy",
         "https://github.com/yunjey/pytorch-tutorial/issues/94",
         "the tutorial's 256x256 images into a ResNet with a fixed 7x7 average pooling: the "
         "final linear layer gets 2048 features, not 512",
         "the input size must be 224x224",
         (code("224, 224"),),
         resnet_avgpool_224_input(False), resnet_avgpool_224_input(True)),
    # -------------------------------------------------------------------------- pipeline-layout
    Case("torch_fedgmm_cifar_channels_last", "torch", "pipeline-layout",
         "https://github.com/zshuai8/FedGMM_ICML2023/issues/2",
         "CIFAR batches (128, 32, 32, 3) from the loader into nn.Conv2d(3, 32, 3): expected "
         "input to have 3 channels, but got 32",
         "a dimension manipulation: the channels (3) first",
         (op(Permute, perm=(0, 3, 1, 2)), code("permute(0, 3, 1, 2)")),
         fedgmm_cifar_channels_last(False), fedgmm_cifar_channels_last(True)),
    Case("torch_earthvision_dataset_hwc", "torch", "pipeline-layout",
         "https://github.com/jakartaresearch/earth-vision/issues/90",
         "a dataset's __getitem__ returns (40, 40, 3) images; the DataLoader's batches into "
         "Conv2d(3, 128, 3) fail on the channels",
         "transforms.ToTensor() as the last transform: (C, H, W) items",
         (op(Permute, perm=(0, 3, 1, 2)), op(Permute, perm=(2, 0, 1)), code("ToTensor")),
         earthvision_dataset_hwc(False), earthvision_dataset_hwc(True)),
    Case("torch_totensor_chw_mask", "torch", "pipeline-layout",
         "https://github.com/pytorch/vision/issues/2318",
         "a one-channel-per-class mask made (5, 600, 900) and passed to ToTensor, which takes "
         "(H, W, C): it comes out (900, 5, 600)",
         "ToTensor converts an (H, W, C) ndarray: give it the mask as (H, W, C)",
         (op(Permute, perm=(0, 2, 3, 1)), code("transpose(1, 2, 0)")),
         totensor_chw_mask(False), totensor_chw_mask(True)),
    Case("torch_midas_cv2_image_hwc", "torch", "pipeline-layout",
         "https://github.com/isl-org/MiDaS/issues/79",
         "an image from cv2.imread (H, W, C) into the depth network without the transform's "
         "np.transpose(image, (2, 0, 1))",
         "np.transpose(image, (2, 0, 1)): OpenCV loads HWC, PyTorch takes CHW",
         (op(Permute, perm=(2, 0, 1)), op(Permute, perm=(0, 3, 1, 2)),
          code("transpose(image, (2, 0, 1))")),
         midas_cv2_image_hwc(False), midas_cv2_image_hwc(True)),
    # ---------------------------------------------------------------------------------- collate
    Case("torch_gray_and_rgb_images_collate", "torch", "collate",
         "https://github.com/MECLabTUDA/Super_Selfish/issues/2",
         "a custom dataset with a few grayscale images among RGB ones: stack expects each "
         "tensor to be equal size, but got [1, 225, 255] at entry 0 and [3, 225, 255]",
         "the gray images must come out with 3 channels: img.convert('RGB')",
         (code("convert('RGB')"), op(Repeat)),
         gray_and_rgb_images_collate(False), gray_and_rgb_images_collate(True)),
    Case("torch_boxes_variable_count_collate", "torch", "collate",
         "https://github.com/pytorch/pytorch/issues/1512",
         "images with a variable number of bounding boxes (i, 4) through the default collate, "
         "which stacks the boxes",
         "a collate_fn that stacks the images and keeps the boxes a list",
         (code("zip(*batch)"),),
         boxes_variable_count_collate(False), boxes_variable_count_collate(True)),
    Case("torch_ucf101_audio_collate", "torch", "collate",
         "https://github.com/pytorch/vision/issues/2265",
         "UCF101 clips with their audio, [1, 0] for some and [1, 115] for others, through the "
         "default collate: stack expects each tensor to be equal size",
         "a custom_collate that drops the audio, then default_collate",
         (code("filtered_batch"),),
         ucf101_audio_collate(False), ucf101_audio_collate(True),
         no_right_fix="proposes padding (keras.utils.pad_sequences, a pad_sequence collate_fn) instead of a collate that drops the audio"),
]
