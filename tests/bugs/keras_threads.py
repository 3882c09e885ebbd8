"""More Keras 3 (TensorFlow backend) cases, each re-created from one public thread (see
`tests.bugs`): GitHub issues of keras-team/keras, tensorflow/tensorflow and Keras projects, and
Q&A pages (StackOverflow mirrors, blog Q&A).

Each program is written from the thread's question (buggy) and its answer (control), on tiny
random data; sizes are shrunk, the layers and the mistake are the thread's.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from shapecontract.fixes import (
    Batch,
    InsertAxis,
    InsertLayer,
    OneHot,
    PadSequences,
    Permute,
    Repeat,
    Reshape,
    SwapLoss,
    Unbatch,
)

from . import Case, Guard, code, op, setting
from .programs import f32 as _f32
from .programs import fit
from .programs import keras_modules as _k
from .programs import predict as _predict
from .programs import rng as _rng

_fit = functools.partial(fit, batch_size=4)


# ---------------------------------------------------------------------------- model-build
def conv_pool_stack(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        pad = "same" if fixed else "valid"
        stack: list[Any] = [keras.Input((28, 28, 1))]
        for filters in (4, 8, 8, 8):
            stack += [layers.Conv2D(filters, 3, activation="relu", padding=pad),
                      layers.MaxPooling2D(2)]
        m = keras.Sequential([*stack, layers.Flatten(), layers.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(8, 28, 28, 1), np.arange(8) % 10)
    return program


def theano_ordered_input(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        fmt = {"data_format": "channels_first"} if fixed else {}
        m = keras.Sequential([layers.Conv2D(8, (3, 3), activation="relu", input_shape=(1, 12, 12),
                                            **fmt),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(8, 1, 12, 12), np.arange(8) % 2)
    return program


def tiny_grid_convs(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        pad = "same" if fixed else "valid"
        m = keras.Sequential([keras.Input((7, 9, 1)),
                              *[layers.Conv2D(4, (3, 3), activation="relu", padding=pad)
                                for _ in range(4)],
                              layers.Flatten(), layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        return _fit(g(m), _f32(8, 7, 9, 1), _f32(8, 1))
    return program


def timedistributed_after_state(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        vocab, steps = 7, 6
        m = keras.Sequential([keras.Input((steps, 5)), layers.LSTM(8, return_sequences=True),
                              layers.LSTM(8, return_sequences=fixed),
                              layers.TimeDistributed(layers.Dense(vocab, activation="softmax"))])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        y = keras.utils.to_categorical(_rng().integers(0, vocab, (8, steps)), vocab)
        return _fit(g(m), _f32(8, steps, 5), y)
    return program


def lstm_scalar_input_shape(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        t = np.arange(12, dtype=np.float32)  # one scalar a sample: 0, 1, 2, ...
        # the answer: a 3-D input with a last axis of size 1 (n, timesteps=1, 1)
        x = t.reshape(12, 1, 1) if fixed else t
        m = keras.Sequential([layers.LSTM(16, input_shape=(1, 1) if fixed else 1),
                              layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        return _fit(g(m), x, np.sin(t).reshape(12, 1))
    return program


def dense_input_shape_int(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Dense(16, activation="relu",
                                           input_shape=(3,) if fixed else (3)),  # (3) is the int 3
                              layers.Dense(16, activation="relu"), layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        return _fit(g(m), _f32(10, 3), _f32(10, 1))
    return program


def pooling_too_small(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        pad = "same" if fixed else "valid"
        m = keras.Sequential([keras.Input((8, 8, 1)),
                              layers.Conv2D(4, 3, activation="relu", padding=pad),
                              layers.MaxPooling2D(2),
                              layers.Conv2D(8, 3, activation="relu", padding=pad),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(6, 8, 8, 1), np.arange(6) % 3)
    return program


def global_channels_first(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        # the asker's keras.json said "image_data_format": "channels_first"
        keras.config.set_image_data_format("channels_last" if fixed else "channels_first")
        try:
            m = keras.Sequential([layers.Conv2D(8, (3, 3), activation="relu",
                                                input_shape=(15, 15, 3)),
                                  layers.MaxPooling2D((2, 2)), layers.Flatten(),
                                  layers.Dense(1, activation="sigmoid")])
            m.compile(loss="binary_crossentropy", optimizer="rmsprop")
            return _fit(g(m), _f32(6, 15, 15, 3), (np.arange(6) % 2).astype(np.float32))
        finally:
            keras.config.set_image_data_format("channels_last")
    return program


def theano_shape_maxpool(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        fmt = {"data_format": "channels_first"} if fixed else {}
        m = keras.Sequential([keras.Input((3, 16, 16)),
                              layers.Conv2D(8, (3, 3), activation="relu", **fmt),
                              layers.MaxPooling2D(pool_size=(2, 2), **fmt), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(6, 3, 16, 16), np.arange(6) % 2)
    return program


# ----------------------------------------------------------------- output-vs-target / loss
def ten_class_integer_targets(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = np.array([[1, 2], [6, 5], [8, 2], [3, 3]], dtype=np.float32)
        y = np.array([2, 3, 7, 1])
        m = keras.Sequential([keras.Input((2,)), layers.Dense(16, activation="relu"),
                              layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        return _fit(g(m), x, keras.utils.to_categorical(y, 10) if fixed else y)
    return program


def mnist_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
        m.compile(loss=keras.losses.categorical_crossentropy, optimizer="adadelta")
        y = (np.arange(8) * 3) % 10  # digits 0-9
        return _fit(g(m), _f32(8, 28, 28, 1), keras.utils.to_categorical(y, 10) if fixed else y)
    return program


def sparse_loss_one_hot(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((12,)), layers.Dense(16, activation="relu"),
                              layers.Dense(5, activation="softmax")])
        m.compile(loss="categorical_crossentropy" if fixed else "sparse_categorical_crossentropy",
                  optimizer="adam")
        return _fit(g(m), _f32(10, 12), keras.utils.to_categorical(np.arange(10) % 5, 5))
    return program


def single_unit_softmax(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        # the answer: as many output units as classes (labels 0 and 1: two units)
        m = keras.Sequential([keras.Input((16, 1, 1)),
                              layers.Conv2D(8, (1, 1), activation="relu"),
                              layers.MaxPooling2D(pool_size=(1, 1)), layers.Flatten(),
                              layers.Dense(16, activation="relu"),
                              layers.Dense(2 if fixed else 1, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(8, 16, 1, 1), np.arange(8) % 2)
    return program


def two_units_column_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((10,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy" if fixed
                  else "categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(12, 10), (np.arange(12) % 2).reshape(12, 1))
    return program


def flattened_one_hot(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((8,)), layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        y = keras.utils.to_categorical(np.arange(12) % 10, 10)  # (12, 10)
        return _fit(g(m), _f32(12, 8), y if fixed else y.reshape(-1))
    return program


def seq_classifier_sequences(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        head = (layers.Dense(11, activation="softmax") if fixed
                else layers.TimeDistributed(layers.Dense(11, activation="softmax")))
        m = keras.Sequential([keras.Input((10, 4)),
                              layers.LSTM(16, activation="sigmoid", return_sequences=not fixed),
                              layers.Dropout(0.2), head])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        y = keras.utils.to_categorical(np.arange(8) % 11, 11)
        return _fit(g(m), _f32(8, 10, 4), y)
    return program


# --------------------------------------------------------------------------- data-blamed
def seq2seq_no_sequences(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        maxlen, chars = 9, 15
        m = keras.Sequential([keras.Input((maxlen, chars)),
                              layers.LSTM(32, return_sequences=fixed),
                              layers.Dense(chars), layers.Activation("softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        rng = _rng()
        x = keras.utils.to_categorical(rng.integers(0, chars, (8, maxlen)), chars)
        y = keras.utils.to_categorical(rng.integers(0, chars, (8, maxlen)), chars)
        return _fit(g(m), x, y)
    return program


def conv_dense_no_flatten(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        head = [layers.Flatten()] if fixed else []
        m = keras.Sequential([keras.Input((12, 16, 3)),
                              layers.Conv2D(8, 3, padding="same", activation="relu"),
                              *head, layers.Dense(5, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        return _fit(g(m), _f32(8, 12, 16, 3),
                    keras.utils.to_categorical(np.arange(8) % 5, 5))
    return program


def one_unit_six_classes(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        classes_num = 6 if fixed else 1
        m = keras.Sequential([keras.Input((24, 24, 3)), layers.Conv2D(8, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(16, activation="relu"),
                              layers.Dense(classes_num, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        # flow_from_directory(class_mode='categorical') over six class folders
        y = keras.utils.to_categorical(np.arange(12) % 6, 6)
        return _fit(g(m), _f32(12, 24, 24, 3), y)
    return program


def bilstm_timedistributed_labels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        head = (layers.Dense(6, activation="softmax") if fixed
                else layers.TimeDistributed(layers.Dense(6, activation="softmax")))
        m = keras.Sequential([keras.Input((10, 4)),
                              layers.Bidirectional(layers.LSTM(8, return_sequences=not fixed)),
                              head])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        labels = (np.arange(12) % 6).reshape(12, 1)
        return _fit(g(m), _f32(12, 10, 4),
                    keras.utils.to_categorical(labels, 6) if fixed else labels)
    return program


def fixed_batch_input_shape(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        inp = keras.Input((6, 3)) if fixed else keras.Input(batch_shape=(8, 6, 3))
        m = keras.Sequential([inp, layers.LSTM(8), layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        _fit(g(m), _f32(16, 6, 3), _f32(16, 1), batch_size=8)
        return _predict(m, _f32(1, 6, 3))  # one result
    return program


# --------------------------------------------------------------------------- known-remedy
def grayscale_to_rgb(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        # stands for an ImageNet-trained network: it wants 3 channels
        m = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(),
                              layers.Dense(2, activation="softmax")])
        gray = _f32(6, 32, 32)
        x = np.repeat(gray[..., np.newaxis], 3, -1) if fixed else gray
        return _predict(g(m), x)
    return program


def conv1d_29_features(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Conv1D(8, 3, activation="relu", input_shape=(29, 1)),
                              layers.Flatten(), layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        x = _f32(10, 29)
        return _fit(g(m), x.reshape(10, 29, 1) if fixed else x, (np.arange(10) % 2).astype("f"))
    return program


def split_sequence_lstm(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        seq = np.arange(10, 100, 10, dtype=np.float32)
        x = np.array([seq[i:i + 3] for i in range(6)])  # (6, 3): 6 windows of 3 steps
        y = seq[3:9]
        m = keras.Sequential([layers.LSTM(16, activation="relu", input_shape=(3, 1)),
                              layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        return _fit(g(m), x.reshape(6, 3, 1) if fixed else x, y)
    return program


def rgba_png(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((28, 28, 3)), layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        img = (_rng().random((28, 28, 4)) * 255).astype(np.uint8)  # a PNG: RGBA
        if fixed:
            img = img[..., :3]  # img.convert('RGB')
        x = np.expand_dims(img.astype(np.float32), axis=0)
        return _predict(g(m), x)
    return program


# ------------------------------------------------------------------------ pipeline-layout
def unbatched_validation(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import tensorflow as tf

        keras, layers = _k()
        train_x, train_y = _f32(24, 12, 24, 3), np.arange(24) % 2
        val_x, val_y = _f32(8, 12, 24, 3), np.arange(8) % 2
        m = keras.Sequential([keras.Input((12, 24, 3)),
                              layers.Conv2D(8, 3, activation="relu", padding="same"),
                              layers.MaxPooling2D(), layers.GlobalAveragePooling2D(),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(loss="mse", optimizer="sgd")
        train_ds = tf.data.Dataset.from_tensor_slices((train_x, train_y)).shuffle(24).batch(8)
        val_ds = tf.data.Dataset.from_tensor_slices((val_x, val_y))
        if fixed:
            val_ds = val_ds.batch(8)
        return g(m).fit(train_ds, validation_data=val_ds, epochs=1, verbose=0)
    return program


def batched_twice(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import tensorflow as tf

        keras, layers = _k()
        # image_dataset_from_directory(..., batch_size=4) already yields batches
        ds = tf.data.Dataset.from_tensor_slices((_f32(8, 24, 24, 3), np.arange(8) % 3)).batch(4)
        if not fixed:
            ds = ds.batch(4)  # the tutorial's "prepare inputs" step, batching again
        m = keras.Sequential([keras.Input((24, 24, 3)), layers.Conv2D(4, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(),
                              layers.Dense(3, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return g(m).fit(ds, epochs=1, verbose=0)
    return program


def generator_target_size(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        target_size = (23, 23) if fixed else (27, 27)  # the asker typed 277 for 227

        def flow_from_directory() -> Any:
            rng = _rng()
            while True:
                yield (rng.random((4, *target_size, 3), dtype=np.float32),
                       keras.utils.to_categorical(rng.integers(0, 2, 4), 2))
        inputs = keras.Input(shape=(23, 23, 3))
        h = layers.Conv2D(4, 3, activation="relu")(inputs)
        h = layers.Flatten()(h)
        m = keras.Model(inputs, layers.Dense(2, activation="softmax")(h))
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        return g(m).fit(flow_from_directory(), steps_per_epoch=2, epochs=1, verbose=0)
    return program


# -------------------------------------------------------------------------------- collate
def mixed_length_tokens(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rng = _rng()
        sequences = [list(rng.integers(1, 30, n)) for n in (5, 9, 3, 7, 6, 4, 8, 2)]
        y = (np.arange(8) % 2).astype(np.float32)
        x: Any = (keras.utils.pad_sequences(sequences, maxlen=10) if fixed
                  else [np.array(s) for s in sequences])
        m = keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(30, 8),
                              layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        return _fit(g(m), x, y)
    return program


def variable_timesteps(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        samples = [np.arange(1, n + 1, dtype=np.float32).repeat(2).reshape(n, 2)
                   for n in (2, 4, 3, 4)]
        y = _f32(4, 5)
        x: Any = (keras.utils.pad_sequences(samples, dtype="float32", padding="post") if fixed
                  else samples)
        m = keras.Sequential([keras.Input((None, 2)), layers.LSTM(16, activation="tanh"),
                              layers.Dense(5, activation="relu")])
        m.compile(loss="mse", optimizer="sgd")
        return _fit(g(m), x, y, batch_size=2)
    return program


# ------------------------------------------------------------------- transpose-vs-reshape
def cifar_rows(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rows = (_rng().random((6, 3 * 8 * 8)) * 255).astype(np.uint8)  # R plane, G, B per row
        if fixed:
            x = rows.reshape(6, 3, 8, 8).transpose(0, 2, 3, 1)
        else:
            x = rows.reshape(6, 8, 8, 3)  # right shape, pixels scrambled
        m = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x.astype(np.float32) / 255, np.arange(6) % 10)
    return program


def roll_channels(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        images = _f32(6, 16, 16, 3)  # (n, rows, cols, channels) from the image loader
        # a Theano-era model: channels first
        m = keras.Sequential([keras.Input((3, 16, 16)),
                              layers.Conv2D(4, 3, activation="relu", data_format="channels_first"),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        x = np.rollaxis(images, 3, 1) if fixed else images
        return _fit(g(m), x, np.arange(6) % 2)
    return program


# ------------------------------------------------------------------ data-blamed (more)
def timedistributed_units(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        steps = 12
        head = (layers.Dense(1, activation="relu") if fixed
                else layers.TimeDistributed(layers.Dense(steps, activation="relu")))
        m = keras.Sequential([keras.Input((steps, 1)), layers.LSTM(16, return_sequences=True),
                              layers.LSTM(8, return_sequences=True), head,
                              layers.Activation("linear")])
        m.compile(loss="mean_squared_error", optimizer="adam")
        # given 12 points, predict the next 12: X and y both (n, 12, 1)
        return _fit(g(m), _f32(8, steps, 1), _f32(8, steps, 1))
    return program


def one_unit_ten_classes(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        head = (layers.Dense(10, activation="softmax") if fixed
                else layers.Dense(1, activation="sigmoid"))
        m = keras.Sequential([keras.Input((20,)), layers.Dense(16, activation="relu"), head])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _f32(10, 20), keras.utils.to_categorical(np.arange(10), 10))
    return program


_SO = "https://stackoverflow.com/questions/"
_GH = "https://github.com/keras-team/keras/issues/"

CASES = [
    # ------------------------------------------------------------------------ model-build
    Case("keras_valid_conv_pool_stack", "keras", "model-build", _GH + "12951",
         "28x28 input through four Conv2D(3x3, valid) + MaxPooling2D blocks: the fourth "
         "convolution gets a 1x1 map (negative dimension)",
         "padding='same' on the convolutions",
         (setting("padding", "same"), code("padding='same'")),
         conv_pool_stack(False), conv_pool_stack(True)),
    Case("keras_theano_ordered_input", "keras", "model-build",
         "https://www.e-learn.cn/qa/answer/389272/1161311.html",
         "MNIST in (samples, 1, 28, 28) order with Conv2D(input_shape=(1, 28, 28)): channels "
         "last reads 1 row, a 3x3 kernel gives a negative size",
         "data_format='channels_first' on the Conv2D",
         (setting("data_format", "channels_first"), code("channels_first")),
         theano_ordered_input(False), theano_ordered_input(True)),
    Case("keras_tiny_grid_conv_stack", "keras", "model-build",
         "https://newbetuts.com/70781692-how-to-make-a-cnn-model-correctly",
         "a (7, 9, 1) grid through four valid 3x3 convolutions: the fourth has nothing left",
         "padding='same' keeps (7, 9) through every convolution",
         (setting("padding", "same"), code("padding='same'")),
         tiny_grid_convs(False), tiny_grid_convs(True)),
    Case("keras_timedistributed_after_last_state", "keras", "model-build", _GH + "815",
         "stacked LSTMs, the last without return_sequences, then TimeDistributed(Dense): the "
         "wrapper gets a 2-D tensor",
         "return_sequences=True in the last LSTM too (fchollet)",
         (setting("return_sequences", True),),
         timedistributed_after_state(False), timedistributed_after_state(True)),
    Case("keras_lstm_scalar_input_shape", "keras", "model-build", _GH + "4854",
         "LSTM(input_shape=1) for one scalar a sample: 'int' is not a shape",
         "a 3-D input whose last axis has size 1 (input_shape=(1, 1), data (n, 1, 1)), or a "
         "Reshape layer before the LSTM",
         (setting("input_shape", (1, 1)), op(Reshape, shape=(12, 1, 1)), op(InsertAxis),
          op(InsertLayer), code("Reshape")),
         lstm_scalar_input_shape(False), lstm_scalar_input_shape(True)),
    Case("keras_dense_input_shape_missing_comma", "keras", "model-build",
         "https://github.com/karolzak/keras-unet/issues/46",
         "Dense(64, input_shape=(3)): without the comma (3) is the int 3, not a shape",
         "input_shape=(3,)",
         (setting("input_shape", (3,)), setting("shape", (3,)), code("(3,)")),
         dense_input_shape_int(False), dense_input_shape_int(True)),
    Case("keras_pooling_input_too_small", "keras", "model-build",
         "https://www.iiask.com/34l56514.html",
         "8x8 input, two valid Conv2D + MaxPooling2D(2) blocks: the last pooling gets a 1x1 "
         "map (negative dimension)",
         "padding='same' on the convolutions (or a global pooling, or a smaller pool)",
         (setting("padding", "same"), code("padding='same'"), code("GlobalMaxPooling2D")),
         pooling_too_small(False), pooling_too_small(True)),
    Case("keras_config_channels_first", "keras", "model-build",
         "https://github.com/fchollet/deep-learning-with-python-notebooks/issues/33",
         "keras.json set image_data_format to channels_first: Conv2D(input_shape=(150, 150, 3)) "
         "reads 3 columns and MaxPooling2D gets a negative size",
         "image_data_format 'channels_last' in keras.json",
         (setting("data_format", "channels_last"), code("channels_last")),
         global_channels_first(False), global_channels_first(True)),
    Case("keras_theano_input_shape_maxpool", "keras", "model-build", _GH + "3945",
         "a Theano-ordered input_shape=(3, 224, 224) on the TensorFlow ordering: the "
         "convolution leaves one row and MaxPooling2D fails",
         "the Theano dimension ordering (dim_ordering='th', today data_format='channels_first') "
         "in keras.json or on the layers",
         (setting("data_format", "channels_first"), code("channels_first")),
         theano_shape_maxpool(False), theano_shape_maxpool(True)),
    # ----------------------------------------------------------- output-vs-target, loss-hint
    Case("keras_ten_class_integer_targets", "keras", "output-vs-target", _GH + "3109",
         "Dense(10, softmax) with categorical_crossentropy fed integer targets [2, 3, 7, ...]",
         "to_categorical(y_train, 10), or loss='sparse_categorical_crossentropy'",
         (op(OneHot, classes=10), code("to_categorical"), op(SwapLoss),
          code("sparse_categorical")),
         ten_class_integer_targets(False), ten_class_integer_targets(True)),
    Case("keras_mnist_labels_not_one_hot", "keras", "output-vs-target",
         "https://e-com-net.com/article/1188291707914002432.htm",
         "an MNIST CNN with categorical_crossentropy fed the digit labels 0-9",
         "keras.utils.to_categorical(y_train, num_classes) (or tf.one_hot)",
         (op(OneHot, classes=10), code("to_categorical"), code("one_hot")),
         mnist_labels(False), mnist_labels(True)),
    Case("keras_sparse_loss_with_one_hot", "keras", "loss-hint",
         "https://github.com/wikibook/tf2/issues/8",
         "the book's example compiles sparse_categorical_crossentropy but its labels are "
         "one-hot",
         "loss='categorical_crossentropy' (the erratum)",
         (op(SwapLoss), code("loss='categorical_crossentropy'")),
         sparse_loss_one_hot(False), sparse_loss_one_hot(True)),
    Case("keras_one_unit_softmax_sparse", "keras", "loss-hint",
         _SO + "44151760/received-a-label-value-of-1-which-is-outside-the-valid-range-of-0-1-python",
         "binary labels, Dense(1, softmax) and sparse_categorical_crossentropy: label 1 is "
         "outside [0, 1)",
         "as many output units as classes (Dense(2)); or binary_crossentropy; or one-hot "
         "labels with categorical_crossentropy",
         (setting("units", 2), op(SwapLoss), code("binary_crossentropy"),
          op(OneHot, classes=2)),
         single_unit_softmax(False), single_unit_softmax(True),
         known_miss="the guard does not check integer labels against the number of output units (label 1 for Dense(1)); explain() does not read TensorFlow's 'Received a label value of 1 which is outside the valid range of [0, 1)' InvalidArgumentError",
         no_right_fix='not explained'),
    Case("keras_two_units_column_labels", "keras", "loss-hint", _GH + "7339",
         "Dense(2, softmax) with categorical_crossentropy and integer labels (n, 1)",
         "integer labels go with sparse_categorical_crossentropy",
         (op(SwapLoss), code("sparse_categorical")),
         two_units_column_labels(False), two_units_column_labels(True)),
    Case("keras_one_hot_labels_flattened", "keras", "output-vs-target",
         "https://github.com/tensorflow/privacy/issues/38",
         "one-hot labels reshaped to one long vector (n*10,) for 10 logits: labels and "
         "logits disagree in their first dimension",
         "labels of shape (n, 10) one-hot (or (n,) integers), not flattened",
         (op(Reshape, shape=(12, 10)), code("(12, 10)")),
         flattened_one_hot(False), flattened_one_hot(True)),
    Case("keras_bilstm_timedistributed_labels", "keras", "output-vs-target", _GH + "11188",
         "Bidirectional LSTM returning sequences into TimeDistributed(Dense(6, softmax)) with "
         "integer labels (n, 1)",
         "no return_sequences on the last LSTM and no TimeDistributed; one-hot the labels with "
         "to_categorical",
         (setting("return_sequences", False), op(OneHot, classes=6), code("to_categorical")),
         bilstm_timedistributed_labels(False), bilstm_timedistributed_labels(True)),
    Case("keras_sequence_classifier_timedistributed", "keras", "output-vs-target",
         _GH + "1838",
         "sequence classification (one of 11 classes a sequence) with LSTM(return_sequences="
         "True) and TimeDistributed Dense: one prediction a step",
         "return_sequences=False (and a plain Dense) to classify the whole sequence",
         (setting("return_sequences", False),),
         seq_classifier_sequences(False), seq_classifier_sequences(True),
         no_right_fix='caught on the targets; the suggestion is to_categorical to (batch, 10, 11) targets, not return_sequences=False in the model'),
    # -------------------------------------------------------------------------- data-blamed
    Case("keras_seq2seq_missing_return_sequences", "keras", "data-blamed", _GH + "3105",
         "sequences in, sequences out (n, 9, 15): the LSTM returns its last state, Keras "
         "blames the 3-D targets",
         "return_sequences=True to keep the time axis",
         (setting("return_sequences", True),),
         seq2seq_no_sequences(False), seq2seq_no_sequences(True)),
    Case("keras_conv_dense_ndim_flatten", "keras", "data-blamed", _GH + "2724",
         "Conv2D straight into Dense on RGB images: the output stays 4-D and the (n, 5) "
         "targets are blamed",
         "Flatten() between the convolution and the Dense layer",
         (op(InsertLayer), code("Flatten")),
         conv_dense_no_flatten(False), conv_dense_no_flatten(True)),
    Case("keras_dense_one_unit_six_classes", "keras", "data-blamed",
         "https://github.com/rohanpillai20/Image-Classification-by-Keras-and-Tensorflow/issues/2",
         "classes_num=1 left in the script: Dense(1) against six-class one-hot labels; the "
         "labels (6,) are blamed",
         "the last Dense needs as many units as classes (classes_num=6)",
         (setting("units", 6), code("Dense(6")),
         one_unit_six_classes(False), one_unit_six_classes(True)),
    Case("keras_batch_input_shape_predict_one", "keras", "data-blamed", _GH + "4532",
         "an LSTM built with a fixed batch of 8 (batch_input_shape) asked to predict one "
         "sequence (1, 6, 3)",
         "the batch size is not part of the input shape: input_shape=(6, 3)",
         (setting("input_shape", (6, 3)), setting("shape", (6, 3)), code("(6, 3)")),
         fixed_batch_input_shape(False), fixed_batch_input_shape(True),
         stale="Keras 3 predicts a batch of one on a model whose Input fixes batch_shape=(8, ...)",
         known_miss='stale: the bug does not reproduce on Keras 3 and the guard accepts it too',
         no_right_fix='not caught'),
    Case("keras_timedistributed_dense_units", "keras", "data-blamed", _GH + "5663",
         "96 points in, the next 96 out, y (n, 96, 1): TimeDistributed(Dense(96)) outputs "
         "(n, 96, 96) (Keras 3's mse broadcasts them: it trains, wrongly)",
         "Dense(1) as the last layer (the asker's working change)",
         (setting("units", 1), code("Dense(1")),
         timedistributed_units(False), timedistributed_units(True), silent=True,
         no_right_fix="caught (y (n, 12, 1) vs output (n, 12, 12)); the advice reshapes y to the output's shape, no Dense(1) in the model"),
    Case("keras_one_unit_ten_class_onehot", "keras", "data-blamed",
         "http://www.office.net.cn/info/show/2279500.html",
         "Dense(1, sigmoid) for a 10-class problem with one-hot labels (None, 10)",
         "Dense(10, activation='softmax'): one output per class",
         (setting("units", 10), code("Dense(10")),
         one_unit_ten_classes(False), one_unit_ten_classes(True)),
    # ------------------------------------------------------------------------- known-remedy
    Case("keras_grayscale_pretrained_rgb", "keras", "known-remedy",
         "https://newbetuts.com/51995977-how-can-i-use-a-pre-trained-neural-network-with-grayscale-images",
         "grayscale batches (n, 32, 32) for an ImageNet-style network that wants 3 channels",
         "repeat the image on a new channel axis: np.repeat(x[..., np.newaxis], 3, -1)",
         (op(Repeat, axis=-1, times=3), op(Repeat, axis=3, times=3), code("repeat")),
         grayscale_to_rgb(False), grayscale_to_rgb(True)),
    Case("keras_conv1d_features_channel", "keras", "known-remedy",
         "http://fatal001.com/tensorflow/50872958595547719616.html",
         "Conv1D(input_shape=(29, 1)) fed the (n, 29) feature table",
         "reshape the data to (n, 29, 1)",
         (op(InsertAxis, axis=-1), op(InsertAxis, axis=2), op(Reshape, shape=(10, 29, 1)),
          code("reshape")),
         conv1d_29_features(False), conv1d_29_features(True),
         stale="Keras 3 adds the missing trailing axis of size 1 itself: (10, 29) trains"),
    Case("keras_split_sequence_reshape", "keras", "known-remedy",
         "http://pullrequest.ru/14707440/zachem-nam-nuzhno-menyat-formu-vvoda-dlya-lstm",
         "split_sequence gives (6, 3) windows for LSTM(input_shape=(3, 1))",
         "X.reshape(samples, steps, 1): one feature a step",
         (op(InsertAxis, axis=-1), op(InsertAxis, axis=2), op(Reshape, shape=(6, 3, 1)),
          code("reshape")),
         split_sequence_lstm(False), split_sequence_lstm(True),
         stale="Keras 3 adds the missing trailing axis of size 1 itself: (6, 3) trains"),
    Case("keras_png_rgba_channels", "keras", "known-remedy",
         "https://github.com/imfing/keras-flask-deploy-webapp/issues/23",
         "a PNG upload (28, 28, 4) RGBA for a model trained on RGB (28, 28, 3)",
         "img.convert('RGB') before img_to_array: drop the alpha channel",
         (code("convert('RGB')"), code("[..., :3]")),
         rgba_png(False), rgba_png(True),
         no_right_fix='no_reshape for 4 channels vs 3, and a repair keras.Input((28, 28, 4)) that changes the trained model; no dropping of the alpha channel'),
    # ----------------------------------------------------------------------- pipeline-layout
    Case("keras_validation_dataset_unbatched", "keras", "pipeline-layout",
         "https://github.com/tensorflow/tensorflow/issues/44250",
         "the training tf.data pipeline is batched, the validation one is not: validation "
         "images reach the Conv2D one by one (ndim=3)",
         "batch the validation dataset too",
         (op(Batch), code(".batch(")),
         unbatched_validation(False), unbatched_validation(True)),
    Case("keras_dataset_batched_twice", "keras", "pipeline-layout",
         "https://github.com/tensorflow/tensorflow/issues/78621",
         "image_dataset_from_directory already yields batches; .batch() again gives "
         "(32, None, 224, 224, 3)",
         "do not batch again (the dataset is batched already)",
         (op(Unbatch), code("unbatch")),
         batched_twice(False), batched_twice(True)),
    Case("keras_flow_target_size_typo", "keras", "pipeline-layout", _GH + "4440",
         "flow_from_directory(target_size=(277, 277)) for a model built on (227, 227) images",
         "target_size=(227, 227) in flow_from_directory",
         (code("target_size"), code("(23, 23)")),
         generator_target_size(False), generator_target_size(True),
         no_right_fix="no_reshape: 23 expected, 27 given on the height axis; nothing points to flow_from_directory's target_size"),
    # ------------------------------------------------------------------------------ collate
    Case("keras_mixed_length_token_sequences", "keras", "collate", _GH + "40",
         "token sequences of different lengths given to fit as a list",
         "keras.preprocessing.sequence.pad_sequences(sequences, maxlen=...) (or batches of "
         "one)",
         (op(PadSequences), code("pad_sequences")),
         mixed_length_tokens(False), mixed_length_tokens(True)),
    Case("keras_variable_timesteps_padding", "keras", "collate", _GH + "85",
         "LSTM samples with 2, 4 and 3 timesteps of 2 features each",
         "pad the shorter sequences with zeros (or feed one sequence at a time)",
         (op(PadSequences), code("pad_sequences"), code("batch_size=1")),
         variable_timesteps(False), variable_timesteps(True)),
    # ----------------------------------------------------------------- transpose-vs-reshape
    Case("keras_cifar_rows_reshape", "keras", "transpose-vs-reshape",
         "https://e-learn.cn/topic/1420849",
         "CIFAR-10 rows (R plane, G plane, B plane) reshaped straight to (n, 32, 32, 3): the "
         "shape fits, the pixels are scrambled",
         "reshape to (n, 3, 32, 32), then transpose(0, 2, 3, 1)",
         (op(Permute, perm=(0, 2, 3, 1)), code("transpose")),
         cifar_rows(False), cifar_rows(True), silent=True,
         known_miss='the shapes are right ((n, 8, 8, 3)); only the pixel order is wrong, which no shape check can see',
         no_right_fix='not caught'),
    Case("keras_channels_rollaxis", "keras", "transpose-vs-reshape",
         "https://python.19633.com/de/Python/1003048465.html",
         "images (n, rows, cols, 3) for a channels-first (Theano) model (n, 3, rows, cols)",
         "np.rollaxis(images, 3, 1) (or change the model's data_format / keras.json)",
         (op(Permute, perm=(0, 3, 1, 2)), code("rollaxis"), code("moveaxis"),
          setting("data_format", "channels_last")),
         roll_channels(False), roll_channels(True)),
]
