"""Keras 3 (TensorFlow backend) cases, re-created from public threads (see `tests.bugs`).

Each program is written from the thread's question (buggy) and its accepted answer (control), on
tiny random data; sizes are shrunk, the layers and the mistake are the thread's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shapecontract.fixes import InsertAxis, InsertLayer, OneHot, Permute, Reshape, SwapLoss

from . import Case, Guard, code, op, setting
from .programs import fit as _fit
from .programs import keras_modules as _k
from .programs import predict as _predict
from .programs import rng as _rng


# ----------------------------------------------------------------------------------------------
def stacked_lstm(first_returns: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((8, 4)),
                              layers.LSTM(16, return_sequences=first_returns),
                              layers.LSTM(16), layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        x = _rng().random((16, 8, 4), dtype=np.float32)
        y = keras.utils.to_categorical(np.arange(16) % 10, 10)
        return _fit(g(m), x, y)
    return program


def three_class_cnn(one_hot: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((16, 16, 3)),
                              layers.Conv2D(8, 3, activation="relu", padding="same"),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        x = _rng().random((12, 16, 16, 3), dtype=np.float32)
        y = np.arange(12) % 3
        return _fit(g(m), x, keras.utils.to_categorical(y, 3) if one_hot else y)
    return program


def next_word(one_hot: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        num, max_len = 50, 6
        m = keras.Sequential([keras.Input((max_len - 1,), dtype="int32"),
                              layers.Embedding(num, 8), layers.Bidirectional(layers.LSTM(8)),
                              layers.Dense(num, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        rng = _rng()
        x = rng.integers(0, num, (20, max_len - 1))
        y = rng.integers(0, num, (20, 1))
        return _fit(g(m), x, keras.utils.to_categorical(y, num) if one_hot else y)
    return program


def make_regression_lstm(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rng = _rng()
        x, y = rng.random((20, 9), dtype=np.float32), rng.random((20, 2), dtype=np.float32)
        if fixed:
            x = x.reshape((*x.shape, 1))  # the answer's X.reshape(X.shape + (1,))
        # `LSTM(32, input_dim=9)` of Keras 1: 9 features a step, any number of steps
        m = keras.Sequential([keras.Input((9, 1) if fixed else (None, 9)), layers.LSTM(32),
                              layers.Dense(2)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        return _fit(g(m), x, y)
    return program


def grayscale_conv(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        x = _rng().random((8, 28, 28), dtype=np.float32)
        if fixed:
            x = x.reshape(8, 28, 28, 1)
        return _fit(g(m), x, np.arange(8) % 10)
    return program


def input_shape_with_samples(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().random((6, 32, 32, 1), dtype=np.float32)
        shape = x.shape[1:] if fixed else x.shape  # the asker gave the whole array's shape
        m = keras.Sequential([layers.Conv2D(8, (3, 3), activation="relu", input_shape=shape),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, np.arange(6) % 2)
    return program


def conv_without_flatten(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        inp = keras.Input(shape=(16, 16, 3))
        h = layers.Conv2D(8, (3, 3), activation="relu")(inp)
        if fixed:
            h = layers.Flatten()(h)
        h = layers.Dense(16, activation="relu")(h)
        out = layers.Dense(10, activation="softmax")(h)
        m = keras.Model(inputs=[inp], outputs=[out])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        x = _rng().random((12, 16, 16, 3), dtype=np.float32)
        y = keras.utils.to_categorical(_rng().integers(10, size=(12, 1)), num_classes=10)
        return _fit(g(m), x, y)
    return program


def second_lstm_sequences(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((12, 2)), layers.LSTM(16, return_sequences=True),
                              layers.LSTM(16, return_sequences=not fixed), layers.Dense(1)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        rng = _rng()
        return _fit(g(m), rng.random((16, 12, 2), dtype=np.float32),
                    rng.random((16, 1), dtype=np.float32))
    return program


def predict_column(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu"),
                              layers.Dense(10, activation="softmax")])
        pixels = _rng().random((784, 1), dtype=np.float32)  # one digit, as a column
        return _predict(g(m), pixels.reshape(1, 784) if fixed else pixels)
    return program


def binary_two_units(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((24, 24, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        # the answer's first remedy: integer labels with the sparse loss
        m.compile(loss="sparse_categorical_crossentropy" if fixed else "categorical_crossentropy",
                  optimizer="adam")
        x = _rng().random((10, 24, 24, 1), dtype=np.float32)
        y = (np.arange(10) % 2).reshape(10, 1)  # angry 0 / happy 1
        return _fit(g(m), x, y)
    return program


def five_classes(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((20,)), layers.Dense(16, activation="relu"),
                              layers.Dense(5, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        x = _rng().random((15, 20), dtype=np.float32)
        labels = np.arange(15) % 5
        return _fit(g(m), x, keras.utils.to_categorical(labels, 5) if fixed else labels)
    return program


def predict_one_sample(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((8,)), layers.Dense(10, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        sample = np.array([[1, 2, 3, 4, 5, 6, 7, 8]] if fixed else [1, 2, 3, 4, 5, 6, 7, 8],
                          dtype=np.float32)
        return _predict(g(m), sample)
    return program


def predict_one_image(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        image = _rng().random((32, 32, 3), dtype=np.float32)
        return _predict(g(m), np.expand_dims(image, axis=0) if fixed else image)
    return program


def conv1d_series(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        window = 30
        series = keras.Input(shape=(window, 1) if fixed else (window,), name="series_input")
        h = layers.Conv1D(filters=8, kernel_size=5, strides=1, padding="causal",
                          activation="relu")(series)
        h = layers.GlobalMaxPooling1D()(h)
        m = keras.Model(series, layers.Dense(1)(h))
        m.compile(loss="mse", optimizer="adam")
        x = _rng().random((16, window, 1) if fixed else (16, window), dtype=np.float32)
        return _fit(g(m), x, np.zeros((16, 1), np.float32))
    return program


CASES = [
    Case("keras_stacked_lstm", "keras", "model-build",
         "https://stackoverflow.com/questions/40331510/how-to-stack-multiple-lstm-in-keras",
         "two LSTMs stacked, the first without return_sequences: the second gets (None, 16)",
         "return_sequences=True on every LSTM but the last",
         (setting("return_sequences", True),), stacked_lstm(False), stacked_lstm(True)),
    Case("keras_three_class_labels", "keras", "output-vs-target",
         "https://codehunter.cc/a/python-3.x/error-when-checking-target-expected-dense-3-to-have-shape-3-but-got-array-with-shape-1",
         "a 3-class softmax CNN with categorical_crossentropy fed integer labels (n,)",
         "one-hot the labels with to_categorical (labels of shape (n, 3))",
         (op(OneHot, classes=3), code("to_categorical")),
         three_class_cnn(False), three_class_cnn(True)),
    Case("keras_next_word_integer_targets", "keras", "loss-hint",
         "https://www.developerload.com/error-while-using-categoricalcrossentropy",
         "next-word model (Embedding, Bidirectional LSTM, softmax over the vocabulary) with "
         "categorical_crossentropy and integer targets of shape (n, 1)",
         "to_categorical on the targets (or the sparse loss)",
         (op(OneHot, classes=50), code("to_categorical"), code("sparse_categorical")),
         next_word(False), next_word(True)),
    Case("keras_lstm_2d_regression_data", "keras", "known-remedy",
         "https://www.pythond.com/52081/como-procesar-la-forma-de-entrada-y-salida-para-keras-lstm.html",
         "make_regression's 2-D X (samples, 9) fed to an LSTM",
         "X.reshape(X.shape + (1,)) and input_shape=(9, 1): one feature a step",
         (op(InsertAxis), op(Reshape), code("reshape")),
         make_regression_lstm(False), make_regression_lstm(True)),
    Case("keras_grayscale_without_channel", "keras", "known-remedy",
         "https://devsolus.com/why-do-we-reshape-grayscale-image-to-xy1/",
         "grayscale images (n, 28, 28) into Conv2D(input (28, 28, 1))",
         "reshape the images to (n, 28, 28, 1): Conv2D wants a channel axis",
         (op(InsertAxis, axis=-1), op(InsertAxis, axis=3), op(Reshape)),
         grayscale_conv(False), grayscale_conv(True),
         stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input "
               "standardization): (8, 28, 28) trains; the strict guard still flags it"),
    Case("keras_input_shape_with_samples", "keras", "model-build",
         "http://www.kouhan.cn/en/article/00042451",
         "Conv2D(input_shape=x.shape): the number of samples given as an axis (ndim=5)",
         "input_shape=(32, 32, 1): one sample's shape, without the batch",
         (setting("input_shape", (32, 32, 1)), setting("shape", (32, 32, 1)),
          code("(32, 32, 1)")),
         input_shape_with_samples(False), input_shape_with_samples(True)),
    Case("keras_conv_dense_without_flatten", "keras", "data-blamed",
         "https://stackoom.com/en/question/32hTj",
         "Conv2D straight into Dense: the output stays 4-D and Keras blames the (n, 10) targets",
         "Flatten() between the convolution and the Dense layers",
         (op(InsertLayer), code("Flatten")),
         conv_without_flatten(False), conv_without_flatten(True)),
    Case("keras_second_lstm_returns_sequences", "keras", "data-blamed",
         "https://newbe.dev/error-when-checking-target-expected-dense-1-to-have-3-dimensions-but-got-array-with-shape-118-1",
         "both LSTMs return sequences, so Dense(1) outputs (n, 12, 1) against targets (n, 1) "
         "(Keras 3's mse broadcasts them: it trains, wrongly)",
         "return_sequences=False on the second LSTM (or Flatten before the Dense)",
         (setting("return_sequences", False), code("Flatten")),
         second_lstm_sequences(False), second_lstm_sequences(True), silent=True),
    Case("keras_predict_column_vector", "keras", "transpose-vs-reshape",
         "https://openillumi.com/?p=67099",
         "predict on one MNIST digit held as a (784, 1) column for Input((784,))",
         "wrap it as one row: shape (1, 784)",
         (op(Reshape, shape=(1, 784)), op(Permute, perm=(1, 0)), code("(1, 784)")),
         predict_column(False), predict_column(True)),
    Case("keras_binary_two_softmax_units", "keras", "loss-hint",
         "http://www.kouhan.cn/en/article/00027281",
         "angry/happy: Dense(2, softmax) with categorical_crossentropy on (n, 1) labels",
         "sparse_categorical_crossentropy (or Dense(1, sigmoid) with binary_crossentropy, or "
         "one-hot labels)",
         (op(SwapLoss), code("sparse_categorical"), setting("units", 1), op(OneHot, classes=2)),
         binary_two_units(False), binary_two_units(True)),
    Case("keras_five_class_labels", "keras", "output-vs-target",
         "http://www.readke.com/c/01034051B2022.html",
         "five classes, Dense(5, softmax), categorical_crossentropy, integer labels",
         "to_categorical(labels, 5) (or sparse_categorical_crossentropy)",
         (op(OneHot, classes=5), code("to_categorical"), code("sparse_categorical")),
         five_classes(False), five_classes(True)),
    Case("keras_predict_one_sample", "keras", "known-remedy",
         "https://taourl.com/read-2671644.html",
         "model.predict on one sample of 8 features given as a (8,) vector",
         "a batch of one: np.expand_dims(sample, axis=0), shape (1, 8)",
         (op(InsertAxis, axis=0), op(Reshape, shape=(1, 8)), code("expand_dims")),
         predict_one_sample(False), predict_one_sample(True)),
    Case("keras_predict_one_image", "keras", "known-remedy",
         "https://openillumi.com/keras-conv2d-dimension-error-fix",
         "model.predict on one (32, 32, 3) image for a Conv2D model",
         "np.expand_dims(image, axis=0): a batch of one image",
         (op(InsertAxis, axis=0), code("expand_dims"), code("[None]")),
         predict_one_image(False), predict_one_image(True)),
    Case("keras_conv1d_input_without_features", "keras", "model-build",
         "https://openillumi.com/en/en-keras-conv1d-fix-ndim3-error",
         "a functional model's Input(shape=(30,)) into Conv1D (expected min_ndim=3)",
         "Input(shape=(30, 1)): one feature a step (and the windows reshaped to match)",
         (setting("shape", (30, 1)), setting("input_shape", (30, 1)), code("(30, 1)")),
         conv1d_series(False), conv1d_series(True)),
]
