"""SFData's Keras programs (Tensfa, ISSRE 2021: 146 StackOverflow programs with crashing tensor
shape faults, 87 of them Keras), re-created on Keras 3 (TensorFlow backend); see `tests.bugs`.

Each program is written from the StackOverflow question (buggy) and SFData's repair, the
accepted answer's fix (control), in our own words and on tiny random data: sizes are shrunk,
dataset downloads (MNIST, CIFAR, image folders) are random arrays of the same per-sample shape
and dtype, Keras 1/2 spellings are their Keras 3 equivalents (`Convolution2D(n, 3, 3)` meaning a
3x3 kernel is `Conv2D(n, (3, 3))`, `nb_epoch` is `epochs`, `lr` is `learning_rate`); the layers
and the mistake are the asker's. Case names carry the StackOverflow question id.

86 of the 87 are here. Left out: 48851558, whose program trains through
`keras.estimator.model_to_estimator` and `tf.estimator.inputs.numpy_input_fn` (TensorFlow 1's
Estimator API, gone from TensorFlow 2.16 and Keras 3), so its mistake (labels (n,) for an
output (n, 1) in an Estimator input_fn) cannot be written on Keras 3. 42585356 and 42855033 are
the same program in SFData; 40331510 is also `keras_stacked_lstm` of `keras_cases` (another
re-creation of the same question).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shapecontract.fixes import (
    Argmax,
    DropAxis,
    InsertAxis,
    InsertLayer,
    OneHot,
    Permute,
    Reshape,
    SwapLoss,
)

from . import Case, Expect, Guard, code, op, setting
from .programs import f32 as _x
from .programs import fit as _fit
from .programs import keras_modules as _k
from .programs import predict as _predict
from .programs import rng as _rng


def _onehot(y: Any, n: int) -> Any:
    return np.eye(n, dtype=np.float32)[y]


def _labels(n: int, classes: int) -> Any:
    return (np.arange(n) % classes).astype(np.int32)


# ---------------------------------------------------------------- the ICSE 2020 question ids
def s36241731(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.SimpleRNN(8)])
        m.compile(loss="mse", optimizer="sgd")
        x = _x(12, 10)  # one sequence of 12 steps, 10 features, without its batch axis
        y = np.array([[1.0]], dtype=np.float32)
        if fixed:
            x = np.expand_dims(x, 0)
        return _fit(g(m), x, y)
    return program


def s37085653(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(10, 12, 12)
        if fixed:
            x = np.expand_dims(x, -1)
        m = keras.Sequential([
            layers.Conv2D(10, (3, 3), input_shape=(12, 12, 1) if fixed else (12, 12)),
            layers.MaxPooling2D(pool_size=2), layers.Flatten(), layers.Dense(1)])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        return _fit(g(m), x, _labels(10, 2))
    return program


def s38584268(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv2D(15, (7, 7), activation="relu", input_shape=(20, 20, 3)),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(25, (5, 5), activation="relu"),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(50)])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _x(6, 20, 20, 3), _onehot(_labels(6, 50), 50))
    return program


def s38656566(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv1D(8, 10, input_shape=(40, 1) if fixed else (1, 40)),
            layers.Activation("relu"), layers.MaxPooling1D(2), layers.Flatten(),
            layers.Dense(10), layers.Activation("tanh"), layers.Dense(4),
            layers.Activation("softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _x(12, 40, 1), _onehot(_labels(12, 4), 4))
    return program


def s39376169(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()

        def conv(n: int, first: bool = False) -> Any:
            # Keras 1's Convolution2D(n, 3, 3) was a 3x3 kernel; since Keras 2 the third
            # positional argument is the strides
            kw = {"input_shape": (48, 48, 3)} if first else {}
            return layers.Conv2D(n, 3, **kw) if fixed else layers.Conv2D(n, 3, 3, **kw)

        m = keras.Sequential([
            conv(8, True), layers.Activation("relu"), layers.MaxPooling2D((2, 2)),
            conv(8), layers.Activation("relu"), layers.MaxPooling2D((2, 2)),
            conv(16), layers.Activation("relu"), layers.MaxPooling2D((2, 2)),
            layers.Flatten(), layers.Dense(16), layers.Activation("relu"), layers.Dropout(0.5),
            layers.Dense(1), layers.Activation("sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="rmsprop")
        return g(m).evaluate(_x(1, 48, 48, 3), np.array([0]), batch_size=1, verbose=0)
    return program


def s39815518(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.ZeroPadding2D((1, 1), input_shape=(32, 32, 3) if fixed else (3, 32, 32)),
            layers.Conv2D(8, (3, 3), activation="relu"), layers.ZeroPadding2D((1, 1)),
            layers.Conv2D(8, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2), strides=(2, 2)), layers.ZeroPadding2D((1, 1)),
            layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dropout(0.5),
            layers.Dense(32, activation="relu"), layers.Dropout(0.5),
            layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _x(2, 32, 32, 3), _onehot(_labels(2, 10), 10), batch_size=1)
    return program


def predict_vector(features: int, fit_first: bool, fixed: bool) -> Any:
    """A Dense classifier, then `predict` on one sample given as a vector (features,)."""
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((features,)), layers.Dense(16, activation="relu"),
                              layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m = g(m)
        if fit_first:
            _fit(m, _x(16, features), _onehot(_labels(16, 10), 10))
        sample = _x(features)
        return _predict(m, np.expand_dims(sample, 0) if fixed else sample)
    return program


def s40331510(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.LSTM(16, return_sequences=fixed, input_shape=(10, 10)),
            layers.LSTM(16, return_sequences=fixed), layers.Flatten(),
            layers.Dense(16, activation="relu"), layers.Dropout(0.5),
            layers.Dense(2, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _x(4, 10, 10), _onehot(_labels(4, 2), 2), batch_size=1)
    return program


def predict_image(shape: tuple[int, ...], fixed: bool) -> Any:
    """A small CNN trained on images of `shape`, then `predict` on one image without a batch."""
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Conv2D(8, (3, 3), input_shape=shape), layers.Flatten(),
                              layers.Dense(16, activation="relu"), layers.Dropout(0.5),
                              layers.Dense(2, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m = g(m)
        _fit(m, _x(6, *shape), _onehot(_labels(6, 2), 2))
        image = _x(*shape)
        return _predict(m, np.expand_dims(image, 0) if fixed else image)
    return program


def s42492824(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, y = _x(12, 60), _labels(12, 2)
        if fixed:
            y = _onehot(y, 2)
        m = keras.Sequential([
            layers.Dropout(0.2, input_shape=(60,) if fixed else (33,)),
            layers.Dense(33, activation="relu"), layers.Dense(16, activation="relu"),
            layers.Dense(2 if fixed else 122, activation="softmax")])
        m.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.8))
        return _fit(g(m), x, y, batch_size=1)
    return program


def s42532386(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        look_back = 3
        m = keras.Sequential([
            layers.LSTM(4, input_shape=(look_back, 3) if fixed else (look_back,)),
            layers.Dense(1)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        m = g(m)
        _fit(m, _x(20, look_back, 3), _x(20), validation_split=0.33)
        return _predict(m, _x(4, look_back, 3))
    return program


def lstm_steps_features_swapped(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.LSTM(4, input_shape=(20, 1) if fixed else (1, 20)),
                              layers.Dense(1)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        m = g(m)
        _fit(m, _x(20, 20, 1), _x(20), validation_split=0.33)
        return _predict(m, _x(4, 20, 1))
    return program


def conv1d_flat_rows(steps: int, fixed: bool) -> Any:
    """Conv1D(input_shape=(steps, 1)) trained on 2-D rows (n, steps): no feature axis."""
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, x_test = _x(20, steps), _x(10, steps)
        if fixed:
            x, x_test = np.expand_dims(x, -1), np.expand_dims(x_test, -1)
        m = keras.Sequential([layers.Conv1D(2, 2, activation="relu", input_shape=(steps, 1)),
                              layers.Flatten(), layers.Dense(1)])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        m = g(m)
        _fit(m, x, _labels(20, 2))
        return m.evaluate(x_test, _labels(10, 2), verbose=0)
    return program


def s44472693(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        inp = keras.Input(shape=(784,))
        h = layers.Dense(128, activation="relu")(inp)
        h = layers.Dense(64, activation="relu")(h)
        code_ = layers.Dense(32, activation="relu")(h)
        h = layers.Dense(64, activation="relu")(code_)
        h = layers.Dense(128, activation="relu")(h)
        out = layers.Dense(784, activation="sigmoid")(h)
        autoencoder = keras.Model(inp, out)
        encoded_input = keras.Input(shape=(32,))
        if fixed:  # the answer: the decoder is the last three layers, chained
            d = autoencoder.layers[-3](encoded_input)
            d = autoencoder.layers[-2](d)
            d = autoencoder.layers[-1](d)
        else:  # only the last layer, which takes 128 features, on the 32-wide code
            d = autoencoder.layers[-1](encoded_input)
        decoder = keras.Model(encoded_input, d)
        return _predict(g(decoder), _x(4, 32))
    return program


def s49392972(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()

        def block(n: int, convs: int) -> list[Any]:
            return [*(layers.Conv2D(n, (3, 3), activation="relu", padding="same")
                      for _ in range(convs)),
                    layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2))]

        m = keras.Sequential([keras.Input((32, 32, 3)), *block(4, 2), *block(8, 2),
                              *block(8, 3), *block(16, 3), *block(16, 3), layers.Flatten(),
                              layers.Dense(32, activation="relu"),
                              layers.Dense(32, activation="relu"),
                              layers.Dense(3, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        y = _labels(5, 3)
        return _fit(g(m), _x(5, 32, 32, 3), _onehot(y, 3) if fixed else y, batch_size=5)
    return program


def s51155356(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(20, 50)
        if fixed:
            x = x.reshape(20, 50, 1)
        m = keras.Sequential([
            layers.LSTM(8, input_shape=(50, 1), activation="tanh",
                        recurrent_activation="sigmoid", return_sequences=True),
            layers.AveragePooling1D(pool_size=2, strides=2, padding="valid"),
            layers.Flatten(), layers.Dense(1)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        return _fit(g(m), x, _x(20), validation_split=0.33)
    return program


def s51755160(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        text_input = keras.Input(shape=(1,))
        h = layers.Dense(64, activation="relu")(text_input)
        h = layers.Dense(32, activation="relu")(h)
        m = keras.Model(text_input, layers.Dense(2, activation="sigmoid")(h))
        m.compile(optimizer="rmsprop", loss="binary_crossentropy")
        y = _labels(20, 2)
        return _fit(g(m), _x(20, 1), _onehot(y, 2) if fixed else y)
    return program


# ------------------------------------------------------------ the StackOverflow question ids
def s42235611(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Cropping2D(cropping=((0, 0), (5, 2)), input_shape=(16, 32, 3)),
            layers.Lambda(lambda t: t / 127.5 - 1.0),
            layers.Conv2D(4, (3, 3)), layers.Activation("relu"),
            layers.Conv2D(4, (3, 3)), layers.Activation("relu"),
            layers.Flatten(), layers.Dense(8), layers.Activation("relu"),
            layers.Dense(1 if fixed else 4)])
        m.compile(loss="mse", optimizer="adam")
        return _fit(g(m), _x(10, 16, 32, 3), _x(10), validation_split=0.2)
    return program


def s46501505(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv2D(4, kernel_size=(3, 3), activation="relu", padding="same",
                          input_shape=(32, 24, 1)),
            layers.Conv2D(8, (3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dropout(0.1),
            layers.Dense(8, activation="relu"), layers.Dropout(0.1),
            layers.Dense(4, activation="relu"), layers.Dense(2, activation="softmax")])
        m.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.SGD(learning_rate=0.01))
        y, y_test = _labels(10, 2), _labels(4, 2)
        if fixed:
            y, y_test = _onehot(y, 2), _onehot(y_test, 2)
        return _fit(g(m), _x(10, 32, 24, 1), y, validation_data=(_x(4, 32, 24, 1), y_test))
    return program


def s46858890(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = np.array([[1], [2], [3], [4], [5]], dtype=np.float32)
        x_val = np.array([[6], [7]], dtype=np.float32)
        # Keras 2's Dense(1, input_dim=5): five features a sample
        m = keras.Sequential([keras.Input((1,) if fixed else (5,)), layers.Dense(1)])
        m.compile(optimizer="rmsprop", loss="mse")
        return _fit(g(m), x, x.copy(), validation_data=(x_val, x_val.copy()))
    return program


def s47842931(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        images = _x(10, 32, 32, 3)
        inp = keras.Input((32, 32, 3))
        h = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(inp)
        h = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(h)
        h = layers.MaxPooling2D((2, 2), padding="same")(h)
        if fixed:
            h = layers.MaxPooling2D((2, 2), padding="same")(h)
        h = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(h)
        encoder = keras.Model(inp, layers.MaxPooling2D((2, 2), padding="same")(h))

        code_in = keras.Input((4, 4, 8))
        h = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(code_in)
        h = layers.UpSampling2D((2, 2))(h)
        h = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(h)
        h = layers.UpSampling2D((2, 2))(h)
        h = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(h)
        h = layers.UpSampling2D((2, 2))(h)
        decoded = layers.Conv2D(3 if fixed else 1, (3, 3), activation="sigmoid",
                                padding="same")(h)
        decoder = keras.Model(code_in, decoded)

        ae_in = keras.Input((32, 32, 3))
        autoencoder = keras.Model(ae_in, decoder(encoder(ae_in)))
        autoencoder.compile(optimizer="adadelta", loss="binary_crossentropy")
        return _fit(g(autoencoder), images[:8], images[:8],
                    validation_data=(images[8:], images[8:]))
    return program


def s48951409(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(20, 10, 6)
        m = keras.Sequential([
            layers.LSTM(8, return_sequences=True, input_shape=x.shape[1:] if fixed else x.shape),
            layers.LSTM(8, return_sequences=True), layers.LSTM(8),
            layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, _onehot(_labels(20, 10), 10), validation_split=0.05)
    return program


def s48978609(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = np.arange(1, 11, dtype=np.float32).reshape(1, 10, 1)
        m = keras.Sequential([
            layers.LSTM(8, return_sequences=True, input_shape=(10, 1)),
            layers.LSTM(8, return_sequences=True),
            layers.Dense(1 if fixed else 10, activation="linear")])
        m.compile(loss="mean_squared_error", optimizer="rmsprop")
        return _fit(g(m), x, 2 * x, batch_size=1)
    return program


def s49442963(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        main_input, aux_input = keras.Input(shape=(6,)), keras.Input(shape=(12,))
        merged = keras.ops.concatenate([main_input, aux_input], axis=-1)
        h = layers.Dense(16, activation="relu")(merged)
        h = layers.Dense(15, activation="relu")(h)
        main_output = layers.Dense(3, activation="linear", name="main_output")(h)
        aux_output = layers.Dense(1, activation="linear", name="aux_output")(h)
        m = keras.Model([main_input, aux_input], [main_output, aux_output])
        m.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001), loss="mse")
        aux_dummy = np.zeros((1, 12) if fixed else (12,), dtype=np.float32)
        one_hot = np.zeros((1, 6), dtype=np.float32)
        return g(m).predict([one_hot, aux_dummy], batch_size=1, verbose=0)
    return program


def s50336110(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([keras.Input((3,)), layers.Dense(12, activation="relu"),
                              layers.Dense(8, activation="relu"),
                              layers.Dense(4, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        x = _x(3, 1)  # one sample's three features, as a column
        return _predict(g(m), x.transpose() if fixed else x)
    return program


def s50364194(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        batch_size = 8
        timesteps, output_size = None, 1
        # the answer: the data's steps and features in batch_shape (one output unit kept:
        # Keras 3's mae does not broadcast targets (n,) against a wider output)
        shape = (batch_size, 5, 6) if fixed else (batch_size, timesteps, output_size)
        inputs = keras.Input(batch_shape=shape)
        h = layers.LSTM(8, stateful=True, return_sequences=True)(inputs)
        out = layers.Dense(units=output_size)(layers.Flatten()(h))
        m = keras.Model(inputs, out)
        m.compile(optimizer="adam", loss="mae")
        out = g(m).fit(_x(32, 5, 6), _labels(32, 2), shuffle=False, epochs=1,
                       batch_size=batch_size, verbose=0)
        for layer in m.layers:  # Keras 2's model.reset_states(), layer by layer on Keras 3
            if hasattr(layer, "reset_states"):
                layer.reset_states()
        return out
    return program


def s50483715(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), input_shape=(32, 32, 1)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(8, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(16, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(), layers.Dense(16), layers.Activation("relu"), layers.Dropout(0.5),
            layers.Dense(1), layers.Activation("sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="rmsprop")
        # flow_from_directory's batches: RGB by default, one channel with color_mode='grayscale'
        images = _x(6, 32, 32, 1 if fixed else 3)
        return _fit(g(m), images, _labels(6, 2).astype(np.float32), batch_size=1)
    return program


def s50494765(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(10, 28, 28)
        if fixed:
            x = np.expand_dims(x, axis=3)
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), input_shape=(28, 28, 1)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(8, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(), layers.Dense(16), layers.Activation("relu"), layers.Dropout(0.5),
            layers.Dense(1), layers.Activation("sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="rmsprop")
        return _fit(g(m), x, _labels(10, 2))
    return program


def s51802524(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Dense(8, input_shape=(4,), activation="relu"),
                              layers.Dense(4 if fixed else 3, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m = g(m)
        _fit(m, _x(16, 4), _onehot(_labels(16, 4), 4))
        return m.evaluate(_x(8, 4), _onehot(_labels(8, 4), 4), verbose=0)
    return program


def s52210472(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Dense(40, input_shape=(21,), activation="relu"),
                              layers.Dropout(0.2), layers.Dense(1, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        row = _x(21)
        return _predict(g(m), np.expand_dims(row, 0) if fixed else row)
    return program


def s52919464(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        img_data = _x(10, 32, 32, 1)  # grayscale images, already with their channel axis
        y = _onehot(_labels(10, 2), 2)
        x_train, y_train = img_data[:8], y[:8]
        if not fixed:
            img_data = np.expand_dims(img_data, axis=4)
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), padding="same", input_shape=img_data[0].shape),
            layers.Activation("relu"), layers.Conv2D(8, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)), layers.Dropout(0.5),
            layers.Conv2D(16, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)), layers.Dropout(0.5),
            layers.Flatten(), layers.Dense(16), layers.Activation("relu"), layers.Dropout(0.5),
            layers.Dense(2), layers.Activation("softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        return _fit(g(m), x_train, y_train, validation_data=(img_data[8:], y[8:]))
    return program


def s53697858(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        y = _onehot(_labels(20, 6), 6)
        if fixed:
            y = np.argmax(y, axis=1)
        m = keras.Sequential([
            keras.Input((18,)),
            *(layers.Dense(9, kernel_initializer="uniform", activation="relu")
              for _ in range(3)),
            layers.Dense(6, kernel_initializer="uniform", activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m = g(m)
        _fit(m, _x(20, 18), y)
        return _predict(m, _x(5, 18))
    return program


def s54048320(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        # VGG16's features of each image (conv_base.predict), flattened for the Dense model
        train_features = _x(6, 4, 4, 8).reshape(6, 4 * 4 * 8)
        m = keras.Sequential([keras.Input((4 * 4 * 8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=0.01))
        m = g(m)
        _fit(m, train_features, _labels(6, 2), batch_size=1)
        feature_value = _x(1, 4, 4, 8)  # one test image's features
        feature_value = np.reshape(feature_value, (1, 4 * 4 * 8) if fixed else (1, 4, 4, 8))
        return _predict(m, feature_value)
    return program


def integer_labels_dense(classes: int, fixed: bool) -> Any:
    """s55093959: Dense layers ending in softmax over `classes`, categorical_crossentropy,
    integer labels."""
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Dense(8, activation="relu", input_shape=(8,)),
            layers.Dense(16, activation="relu"), layers.Dense(32, activation="relu"),
            layers.Dense(32, activation="relu"), layers.Dense(classes, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        y = _labels(28, classes)
        return _fit(g(m), _x(28, 8), _onehot(y, classes) if fixed else y)
    return program


def s56190344(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        steps, features, outputs = 20, 4, 8
        y = _onehot(_rng().integers(0, outputs, (10, steps)), outputs)  # a label each step
        if fixed:
            y = y[:, -1, :]
        m = keras.Sequential([
            layers.Conv1D(filters=8, kernel_size=3, activation="relu",
                          input_shape=(steps, features)),
            layers.Conv1D(filters=8, kernel_size=3, activation="relu"), layers.Dropout(0.5),
            layers.MaxPooling1D(pool_size=2), layers.Flatten(),
            layers.Dense(16, activation="relu"), layers.Dense(outputs, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), _x(10, steps, features), y, shuffle=True)
    return program


def s56437157(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([layers.Dense(units=4, input_shape=(10, 10, 3)),
                              layers.Dense(units=4), *([layers.Flatten()] if fixed else []),
                              layers.Dense(units=1)])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        y = _rng().integers(2, size=(12, 1))
        return _fit(g(m), _rng().random((12, 10, 10, 3)), y)
    return program


def s56479008(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv2D(8, kernel_size=4, strides=1, activation="relu",
                          input_shape=(16, 16, 1), padding="same"),
            layers.Conv2D(8, kernel_size=4, strides=2, activation="relu", padding="same"),
            layers.Dropout(0.2),
            layers.Conv2D(16, kernel_size=4, strides=1, activation="relu", padding="same"),
            layers.Conv2D(16, kernel_size=4, strides=2, activation="relu", padding="same"),
            layers.Flatten(), layers.Dropout(0.3), layers.Dense(32, activation="relu"),
            layers.Dense(24, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        y, y_test = _labels(24, 24), _labels(8, 24)
        if fixed:
            y, y_test = keras.utils.to_categorical(y, 24), keras.utils.to_categorical(y_test, 24)
        return _fit(g(m), _x(24, 16, 16, 1), y, validation_data=(_x(8, 16, 16, 1), y_test))
    return program


def s56912176(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        # CIFAR-10 rows of 3072 bytes, rebuilt as 32x32 RGB images scaled to [0, 1]
        rows = _rng().integers(0, 256, (12, 32 * 32 * 3))
        images = rows.reshape(12, 3, 32, 32).transpose(0, 2, 3, 1) / 255
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), input_shape=images.shape[1:]), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(8, (3, 3)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(10), layers.Activation(activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        labels = keras.utils.to_categorical(_labels(12, 10), 10)
        return _fit(g(m), images, labels, validation_split=0.1)
    return program


def s57928270(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, y = _x(10, 8, 8, 8, 1), _onehot(_labels(10, 32), 32)
        m = keras.Sequential([
            layers.Conv3D(1, kernel_size=(3, 3, 3), activation="relu", padding="same",
                          name="conv1", input_shape=(8, 8, 8, 1)),
            layers.MaxPooling3D(pool_size=(2, 2, 2)),
            *([layers.Flatten()] if fixed else []), layers.Dense(32)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        m = g(m)
        _fit(m, x[:7], y[:7], batch_size=32)
        return m.evaluate(x[7:], y[7:], verbose=0)
    return program


def s58277932(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().normal(size=(20, 30)).reshape((20, 30, 1))
        y = keras.utils.to_categorical(_labels(20, 9), 9).reshape((20, 9))
        m = keras.Sequential([
            layers.Conv1D(1, kernel_size=3, activation="relu", input_shape=(30, 1)),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(9), layers.Activation("softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, y, batch_size=20)
    return program


def s58398491(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().random((8, 48, 48, 3))
        y = _onehot(_labels(8, 3), 3)
        if fixed:
            y = np.argmax(y, -1)
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), activation="relu", input_shape=(48, 48, 3)),
            layers.MaxPooling2D((2, 2)), layers.Conv2D(8, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            *(t for _ in range(2) for t in (layers.Conv2D(16, (3, 3), activation="relu"),
                                            layers.MaxPooling2D((2, 2)))),
            layers.Flatten(), layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return _fit(g(m), x, y)
    return program


def s58644645(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rng = _rng()
        train_images = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
        test_images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
        train_images = train_images.reshape((60, 28 * 28))
        # the test set has 10 images, reshaped with the training set's count
        test_images = test_images.reshape((10 if fixed else 60, 28 * 28))
        train_labels = keras.utils.to_categorical(_labels(60, 10), 10)
        train_images = train_images.astype("float32") / 255
        m = keras.Sequential([layers.Dense(32, activation="relu", input_shape=(28 * 28,)),
                              layers.Dense(10, activation="softmax")])
        m.compile(optimizer="rmsprop", loss="categorical_crossentropy")
        return _fit(g(m), train_images, train_labels, batch_size=16)
    return program


def s58963889(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, y = _x(7, 1), _x(7, 1)
        m = keras.Sequential([
            layers.Dense(7, input_shape=(1,) if fixed else x.shape, activation="relu"),
            layers.Dense(4, activation="relu"), layers.Dense(1)])
        m.compile(loss="mean_squared_error", optimizer="adam")
        return _fit(g(m), x, y)
    return program


def s59305008(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().normal(size=(20, 2))  # two standardized features, float64
        m = keras.Sequential([layers.Dense(10, input_shape=(2,) if fixed else (3,),
                                           activation="relu"),
                              layers.Dense(10, activation="relu"),
                              layers.Dense(2, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, _onehot(_labels(20, 2), 2), batch_size=10)
    return program


def s59416289(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, x_test = _x(10, 16, 16, 3), _x(4, 16, 16, 3)
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), input_shape=x.shape[1:], padding="same"),
            layers.Activation("relu"), layers.Dropout(0.2), layers.BatchNormalization(),
            *([layers.Flatten(), layers.Dense(2, activation="relu")] if fixed else [])])
        m.compile("adam", loss="categorical_crossentropy")
        return _fit(g(m), x, _onehot(_labels(10, 2), 2),
                    validation_data=(x_test, _onehot(_labels(4, 2), 2)))
    return program


def s59446800(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = np.arange(11, dtype=np.float32).reshape(1, 11)  # eleven samples as one row
        y = 2 * x - 1
        if fixed:
            x, y = x.reshape((-1, 1)), y.reshape((-1, 1))
        m = keras.Sequential([layers.Dense(units=1, input_shape=[1])])
        m.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(0.1))
        return _fit(g(m), x, y)
    return program


def s59619015(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        data = _rng().integers(0, 256, (10, 32, 32, 3)) / 255.0
        labels = keras.utils.to_categorical(_labels(10, 2), 2)
        head = ([layers.Dense(2, activation="sigmoid")] if fixed else
                [layers.Dense(1, activation="relu"), layers.Activation("softmax")])
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), input_shape=(32, 32, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
            layers.Conv2D(8, (1, 1), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
            layers.Conv2D(16, (1, 1), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
            layers.Flatten(), layers.Dense(16, activation="relu"),
            layers.Dense(16, activation="relu"), layers.Dropout(0.5), *head])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        return _fit(g(m), data, labels, validation_split=0.3)
    return program


def s59840678(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        maxlen, vocab_size = 10, 43
        embeddings = _x(500, 16)  # pretrained vectors: 500 words, 16 values each
        rows, dim = (500, 16) if fixed else (vocab_size, 8)
        m = keras.Sequential([keras.Input((maxlen,)),
                              layers.Embedding(rows, dim, weights=[embeddings],
                                               trainable=False),
                              layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        return _predict(g(m), _rng().integers(0, vocab_size, (2, maxlen)))
    return program


def s60127320(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Dense(9, input_shape=(9,), kernel_initializer="normal", activation="relu"),
            layers.Dense(1, kernel_initializer="normal")])
        m.compile(loss="mean_squared_error", optimizer="adam")
        m = g(m)
        _fit(m, _x(20, 9), _x(20))
        prediction = []
        for point in _x(2, 9):
            batch = np.expand_dims(point, 0) if fixed else [point]
            prediction.append(_predict(m, batch)[0])
        return prediction
    return program


def s60129234(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        codes = {"stableAD": [0, 0, 1], "stableMCI": [0, 1, 0], "stableNL": [1, 0, 0]}
        names = ["stableAD", "stableMCI", "stableNL", "stableAD", "stableNL", "stableMCI"]
        y = np.asarray([np.array(codes[n]).reshape(1, 3) for n in names])  # (6, 1, 3)
        if fixed:
            y = np.squeeze(y, 1)
        x = _x(6, 16, 16, 16, 1)
        m = keras.Sequential([
            layers.Conv3D(4, kernel_size=(3, 3, 3), activation="relu",
                          input_shape=(16, 16, 16, 1), padding="same", strides=2),
            layers.MaxPooling3D(pool_size=(2, 2, 2), strides=2), layers.Dropout(0.1),
            layers.Conv3D(4, kernel_size=(2, 2, 2), activation="relu"),
            layers.MaxPooling3D(pool_size=(1, 1, 1), strides=2), layers.Dropout(0.1),
            layers.Flatten(), layers.Dense(3, activation="softmax")])
        m.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=0.0015))
        return _fit(g(m), x, y, batch_size=4)
    return program


def dense_input_width(width: int, given: int, loss: str, fixed: bool) -> Any:
    """A Dense network whose first layer is told `given` input features; the data has `width`."""
    def program(g: Guard) -> Any:
        keras, layers = _k()
        units = 2 if loss.startswith("sparse") else 1
        m = keras.Sequential([
            layers.Dense(6, activation="relu", input_shape=(width if fixed else given,)),
            layers.Dense(6, activation="relu"),
            layers.Dense(units, activation="softmax" if units == 2 else "sigmoid")])
        m.compile(loss=loss, optimizer="adam")
        return _fit(g(m), _x(18, width), _labels(18, 2))
    return program


def s60711423(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(20, 7, 1)
        m = keras.Sequential([
            layers.LSTM(8, activation="sigmoid", return_sequences=True,
                        input_shape=x.shape[1:] if fixed else x.shape),
            layers.Dropout(0.2)])
        return _predict(g(m), x)
    return program


def s60949314(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = np.reshape(_x(20, 784) / 255.0, (-1, 28, 28, 1))  # MNIST rows as images
        y = _labels(20, 10)
        if fixed:
            y = keras.utils.to_categorical(y, 10)
        m = keras.Sequential([
            layers.Conv2D(input_shape=(28, 28, 1), filters=8, kernel_size=(3, 3)),
            layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(),
            layers.Conv2D(filters=8, kernel_size=(3, 3)), layers.BatchNormalization(),
            layers.Activation("relu"), layers.MaxPooling2D(), layers.Flatten(),
            layers.Dense(units=32, activation="relu"), layers.Dropout(0.2),
            layers.Dense(units=10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, y, validation_split=0.33)
    return program


def s61116088(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        categorical_labels = keras.utils.to_categorical(_labels(20, 5), 5)
        m = keras.Sequential([layers.Dense(30, activation="relu", input_shape=(50,)),
                              layers.Dense(30, activation="relu"),
                              layers.Dense(5, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy" if fixed
                  else "sparse_categorical_crossentropy")
        return _fit(g(m), _x(20, 50), categorical_labels)
    return program


def s61435176(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        m = keras.Sequential([
            layers.Conv2D(filters=8, kernel_size=(4, 4), input_shape=(32, 32, 3),
                          activation="relu"),
            layers.Conv2D(filters=8, kernel_size=(4, 4), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(filters=16, kernel_size=(3, 3), activation="relu"),
            layers.Conv2D(filters=16, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)), layers.Flatten(),
            layers.Dense(units=16, activation="relu"), layers.Dense(units=8, activation="relu"),
            layers.Dropout(rate=0.35), layers.Dense(units=8, activation="relu"),
            layers.Dense(units=1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        # flow_from_directory's labels: one-hot by default (class_mode='categorical'),
        # 0/1 with class_mode='binary'
        classes = _labels(6, 2)
        y = classes.astype(np.float32) if fixed else _onehot(classes, 2)
        return _fit(g(m), _x(6, 32, 32, 3), y)
    return program


def s61550026(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, x_test = _x(16, 10, 12), _x(4, 10, 12)
        m = keras.Sequential([
            layers.LSTM(8, return_sequences=True, stateful=False,
                        input_shape=(10, 12) if fixed else (10, 12, 1)),
            layers.LSTM(6), layers.Dense(3, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, _onehot(_labels(16, 3), 3),
                    validation_data=(x_test, _onehot(_labels(4, 3), 3)))
    return program


def s62148508(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        y = _labels(14, 7)
        if fixed:
            y = _onehot(y, 7)
        m = keras.Sequential([
            layers.Conv2D(filters=8, kernel_size=5, input_shape=(24, 24, 1)),
            layers.Conv2D(filters=8, kernel_size=5, strides=(1, 1), padding="valid"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(pool_size=(2, 2), strides=1, padding="valid"),
            layers.Activation("relu"),
            layers.Conv2D(filters=16, kernel_size=5), layers.Conv2D(filters=16, kernel_size=5),
            layers.BatchNormalization(), layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Activation("relu"),
            layers.Flatten(), layers.Dense(16), layers.BatchNormalization(),
            layers.Activation("relu"), layers.Dropout(0.25),
            layers.Dense(7, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return _fit(g(m), _x(14, 24, 24, 1), y, validation_split=0.1)
    return program


def s62206004(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rng = _rng()
        train_images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
        train_labels = _labels(20, 10)
        if fixed:
            train_images = np.reshape(train_images, (-1, 784))
            train_labels = np.eye(10)[train_labels]
        m = keras.Sequential([layers.Dense(32, activation="relu", input_shape=(784,)),
                              layers.Dense(16, activation="relu"),
                              layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        return _fit(g(m), train_images, train_labels)
    return program


def s62299824(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        cnn = keras.Sequential([
            layers.Conv2D(filters=8, kernel_size=2, activation="relu", input_shape=[16, 16, 3]),
            layers.MaxPooling2D(pool_size=2, strides=2),
            layers.Conv2D(filters=8, kernel_size=2, activation="relu"),
            layers.MaxPooling2D(pool_size=2, strides=2),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(units=16, activation="relu"),
            layers.Dense(units=2, activation="softmax")])
        cnn.compile(optimizer="adam", loss="categorical_crossentropy")
        # the generator's batches: images and one-hot labels (class_mode='categorical')
        return _fit(g(cnn), _x(6, 16, 16, 3), _onehot(_labels(6, 2), 2))
    return program


def s62300118(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, y = np.zeros((10, 30, 1)), np.zeros((10, 23))
        m = keras.Sequential([
            layers.Conv1D(input_shape=(30, 1), kernel_size=3, filters=16),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(16, activation="relu"), layers.Dropout(0.2),
            layers.Dense(23, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return _fit(g(m), x, y)
    return program


def s62449191(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().integers(0, 256, (20, 28, 28), dtype=np.uint8)
        y = _labels(20, 10)
        if fixed:
            y = keras.utils.to_categorical(y)
        m = keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                              layers.Dense(units=32, activation="relu"),
                              layers.Dense(units=10, activation="softmax")])
        m.compile(optimizer="rmsprop", loss="categorical_crossentropy")
        return _fit(g(m), x, y)
    return program


def s62643682(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        inputs = keras.Input(shape=(29, 29, 1))
        h = inputs
        for i, n in enumerate((4, 4, 8), 1):
            h = layers.Conv2D(n, kernel_size=(3, 3), name=f"Conv_{i}")(h)
            h = layers.LeakyReLU(0.1)(h)
            h = layers.MaxPooling2D((2, 2), name=f"MaxPool_{i}")(h)
        h = layers.Flatten(name="Flatten")(h)
        h = layers.ReLU(name="ReLU_dense_1")(layers.Dense(16, name="Dense_1")(h))
        h = layers.ReLU(name="ReLU_dense_2")(layers.Dense(16, name="Dense_2")(h))
        outputs = layers.Dense(2 if fixed else 4, activation="softmax", name="Output")(h)
        m = keras.Model(inputs=inputs, outputs=outputs, name="VGGlike_CNN")
        m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy")
        return _fit(g(m), _x(10, 29, 29, 1), _onehot(_labels(10, 2), 2), batch_size=10,
                    shuffle=True)
    return program


def s63141076(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x_train = _x(20, 784)  # MNIST as read_data_sets gives it: flat rows
        if fixed:
            x_train = x_train.reshape(20, 28, 28, 1)
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D(2, 2), layers.Conv2D(8, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2), layers.Flatten(), layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x_train, _labels(20, 10))
    return program


def s63279168(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        rng = _rng()
        xtrain = rng.integers(0, 256, (16, 28, 28), dtype=np.uint8)
        xtest = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
        ytrain, ytest = np.eye(10)[_labels(16, 10)], np.eye(10)[_labels(4, 10)]
        if fixed:
            xtrain = np.expand_dims(xtrain, -1).astype(np.float32)
            xtest = np.expand_dims(xtest, -1).astype(np.float32)
        m = keras.Sequential([
            layers.Conv2D(8, kernel_size=3, activation="relu"), layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(8, kernel_size=3, activation="relu"), layers.MaxPooling2D(pool_size=2),
            layers.Flatten(), layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), xtrain, ytrain, validation_data=(xtest, ytest))
    return program


def s63536948(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        train_data = np.expand_dims(_rng().random((10, 20, 30)), axis=3)
        train_labels = np.eye(11)[_rng().choice(1, 10)]
        m = keras.Sequential([
            layers.Conv2D(8, (3, 3), activation="relu",
                          input_shape=train_data.shape[1:] if fixed else train_data.shape),
            layers.MaxPooling2D(2, 2), layers.Conv2D(8, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2), layers.Flatten(), layers.Dense(16, activation="relu"),
            layers.Dense(8, activation="relu"), layers.Dense(11)])
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        return _fit(g(m), train_data, train_labels, validation_split=0.1)
    return program


def s63687794(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().uniform(0, 1, (3, 12, 40)).transpose(2, 0, 1)  # (samples, 3, 12)
        if fixed:
            x = np.expand_dims(x, -1)
        y = keras.utils.to_categorical(_labels(40, 6))
        m = keras.Sequential([
            layers.Conv2D(8, kernel_size=(3, 3), input_shape=(3, 12, 1), padding="same"),
            layers.BatchNormalization(), layers.Activation("relu"),
            layers.Conv2D(8, kernel_size=(3, 3), padding="same"), layers.BatchNormalization(),
            layers.Activation("relu"), layers.Flatten(), layers.Dense(8, activation="relu"),
            layers.Dense(6, activation="softmax")])
        m.compile(optimizer="nadam", loss="categorical_crossentropy")
        return _fit(g(m), x, y, batch_size=32)
    return program


def s63732431(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        cnn = keras.Sequential([
            layers.Conv2D(4, (3, 3), padding="same", input_shape=(16, 16, 1)),
            layers.BatchNormalization(), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)), layers.Dropout(0.5),
            layers.Conv2D(8, (5, 5), padding="same"), layers.BatchNormalization(),
            layers.Activation("relu"), layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.5), layers.Flatten(), layers.Dense(8),
            layers.BatchNormalization(), layers.Activation("relu"), layers.Dropout(0.5)])
        if fixed:  # the answer: a Reshape that gives each image its time axis of 1
            head = [keras.Input((16, 16, 1)), layers.Reshape((1, 16, 16, 1)),
                    layers.TimeDistributed(cnn)]
        else:
            head = [layers.TimeDistributed(cnn, input_shape=(1, 16, 16, 1))]
        m = keras.Sequential([*head, layers.LSTM(2), layers.Dropout(0.2),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        return _fit(g(m), _rng().random((8, 16, 16, 1)), _rng().random(8))
    return program


def s63859629(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        import tensorflow as tf

        keras, layers = _k()
        tokens = _rng().integers(0, 10, (51, 6))
        sequences = tf.data.Dataset.from_tensor_slices(tokens).batch(51, drop_remainder=True)
        dataset = sequences.map(lambda batch: (batch[:-1], batch[1:]))
        m = keras.Sequential([layers.Embedding(input_dim=64, output_dim=8),
                              layers.GRU(16, return_sequences=True), layers.SimpleRNN(8),
                              layers.Dense(6 if fixed else 100, activation="softmax")])
        m.compile(optimizer="adam", loss=keras.losses.categorical_crossentropy)
        return g(m).fit(dataset, epochs=1, verbose=0)
    return program


def s64381457(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(20, 10)
        y = _labels(20, 2)
        if fixed:
            y = np.eye(2)[y]
        m = keras.Sequential([keras.Input((10,)), layers.Embedding(100, 16), layers.Dropout(0.2),
                              layers.LSTM(8), layers.Dense(2, activation="sigmoid")])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x[:16], y[:16])
    return program


def s64435490(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        window = (10, 10, 3)
        width = int(np.prod(window))
        m = keras.Sequential([layers.Input(shape=window), layers.Flatten(),
                              layers.Dense(width // 2, activation="relu"),
                              layers.Dense(width // 2, activation="relu"),
                              layers.Dense(1 if fixed else 2, activation="sigmoid")])
        m.compile(loss="binary_crossentropy", optimizer="adam")
        # flow_from_directory(class_mode='binary'): 0/1 labels
        return _fit(g(m), _x(6, *window), _labels(6, 2).astype(np.float32), batch_size=1)
    return program


def s64577667(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x, y = _x(24, 24), _onehot(_labels(24, 3), 3)
        m = keras.Sequential([
            layers.Dense(32, activation="elu", input_shape=(24,)),
            *(layers.Dense(n, activation="elu") for n in (64, 32, 32, 16)),
            layers.Dense(3 if fixed else 16), layers.Activation("sigmoid")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return _fit(g(m), x[:18], y[:18], validation_data=(x[18:], y[18:]))
    return program


def s64784096(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        nn = [2, 4, 6, 8, 12, 10, 8, 2]
        target = _labels(20, 2)
        if fixed:
            target = np.eye(2)[target]
        m = keras.Sequential([layers.Dense(nn[1], activation="relu", input_shape=(32,)),
                              *(layers.Dense(n, activation="relu") for n in nn[2:7]),
                              layers.Dense(nn[7], activation="sigmoid")])
        m.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.Adagrad(learning_rate=1e-3))
        return _fit(g(m), _x(20, 32), target)
    return program


def s65047573(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        img = _x(12, 16, 16, 3)
        labels = np.eye(5)[_labels(12, 5)]
        conv = layers.Conv2D if fixed else layers.Conv1D
        m = keras.Sequential([
            *([layers.Input(shape=(16, 16, 3))] if fixed else []),
            conv(filters=4, kernel_size=2, strides=1, activation="relu"),
            layers.BatchNormalization(),
            conv(filters=4, kernel_size=2, strides=1, activation="relu"),
            layers.BatchNormalization(), layers.Flatten(), layers.Dense(5, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return _fit(g(m), img, labels, shuffle=True)
    return program


def s65166479(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        vocab_size, seq_len = 100, 20
        embedding_matrix = _x(vocab_size, 8)
        x, x_test = _rng().integers(0, vocab_size, (16, seq_len)), _rng().integers(
            0, vocab_size, (8, seq_len))
        y, y_test = np.eye(5)[_labels(16, 5)], np.eye(5)[_labels(8, 5)]
        review_input = keras.Input(shape=(seq_len,), dtype="int32", name="review_input")
        h = layers.Embedding(vocab_size, 8, weights=[embedding_matrix],
                             trainable=True)(review_input)
        h = layers.Flatten()(h)
        h = layers.Dense(16, activation="relu")(h)
        h = layers.Dense(8, activation="relu")(h)
        predict = layers.Dense(5 if fixed else 2, activation="softmax")(h)
        m = keras.Model(inputs=[review_input], outputs=[predict])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return _fit(g(m), x, y, validation_data=(x_test, y_test))
    return program


def s65215572(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        data = _x(32, 20)
        labels = _labels(32, 16)
        if fixed:
            labels = keras.utils.to_categorical(labels)
        m = keras.Sequential([keras.Input((20,)), layers.Embedding(100, 8), layers.Flatten(),
                              layers.Dense(16, activation="relu"),
                              layers.Dense(16, activation="softmax")])
        m.compile(optimizer="rmsprop", loss="categorical_crossentropy")
        return _fit(g(m), data[:24], labels[:24], validation_data=(data[24:], labels[24:]))
    return program


def s65356923(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()

        class LeNet300(keras.Model):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.flatten = layers.Flatten()
                self.dense1 = layers.Dense(units=32, activation="relu")
                self.dense2 = layers.Dense(units=16, activation="relu")
                self.op = layers.Dense(units=10, activation="softmax")

            def call(self, inputs: Any) -> Any:
                return self.op(self.dense2(self.dense1(self.flatten(inputs))))

        x, x_test = _x(16, 28, 28), _x(8, 28, 28)
        y, y_test = _labels(16, 10), _labels(8, 10)
        if not fixed:  # the asker one-hot encoded the labels for the sparse loss
            y, y_test = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_test, 10)
        m = LeNet300()
        m.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy())
        return _fit(g(m), x, y, shuffle=True, validation_data=(x_test, y_test))
    return program


def s65387184(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _rng().integers(0, 256, (20, 28, 28), dtype=np.uint8)
        y = keras.utils.to_categorical(_labels(20, 10))
        inp = keras.layers.Input(shape=(28, 28))
        h = layers.Flatten()(inp) if fixed else inp
        h = layers.Dense(16, activation="relu")(h)
        h = layers.Dense(16, activation="relu")(h)
        h = layers.Dense(28, activation="relu")(h)
        m = keras.Model(inputs=[inp], outputs=[layers.Dense(10, activation="softmax")(h)])
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        return _fit(g(m), x, y, validation_split=0.2)
    return program


def s65461201(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        inp = keras.Input(shape=(48,) if fixed else (20, 48))
        h = layers.Reshape((-1, 1))(inp)
        h = layers.Conv1D(4, kernel_size=3, activation="relu", padding="valid")(h)
        h = layers.Conv1D(4, kernel_size=3, activation="relu", padding="valid")(h)
        h = layers.SpatialDropout1D(rate=0.01)(layers.MaxPooling1D(pool_size=2)(h))
        h = layers.Conv1D(8, kernel_size=2, activation="relu", padding="valid")(h)
        h = layers.Conv1D(8, kernel_size=2, activation="relu", padding="valid")(h)
        h = layers.SpatialDropout1D(rate=0.01)(layers.MaxPooling1D(pool_size=2)(h))
        h = layers.Conv1D(16, kernel_size=3, activation="relu", padding="valid")(h)
        h = layers.Conv1D(16, kernel_size=3, activation="relu", padding="valid")(h)
        h = layers.Dropout(rate=0.01)(layers.GlobalMaxPooling1D()(h))
        out = layers.Dropout(0.01)(layers.Dense(16, activation="relu", name="dense_1")(h))
        m = keras.Model(inputs=inp, outputs=out)
        m.compile(optimizer=keras.optimizers.Adam(0.001),
                  loss=keras.losses.sparse_categorical_crossentropy)
        return _fit(g(m), _rng().random((20, 48)), _rng().random((20,)))
    return program


def s65519647(fixed: bool) -> Any:
    def program(g: Guard) -> Any:
        keras, layers = _k()
        x = _x(12, 28, 28).reshape(12, 28, 28, 1)
        y = keras.utils.to_categorical(_labels(12, 2), 2)
        m = keras.Sequential([
            layers.Conv2D(8, kernel_size=(3, 3), padding="same", activation="relu",
                          input_shape=(28, 28, 1)),
            layers.Conv2D(8, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(4, 4)), layers.Dropout(0.25),
            *([layers.Flatten()] if fixed else []),
            layers.Dense(16, activation="relu"), layers.Dropout(0.5),
            layers.Dense(8, activation="sigmoid"), layers.Dense(2, activation="sigmoid")])
        m.compile(optimizer="adadelta", loss="binary_crossentropy")
        return _fit(g(m), x, y, batch_size=1)
    return program


# ------------------------------------------------------------------------------------ cases
def _case(qid: int, kind: str, summary: str, fix: str, expect: tuple[Expect, ...],
          program: Any, **notes: Any) -> Case:
    """SFData's program for StackOverflow question `qid`: `program(False)` is the asker's,
    `program(True)` the repaired one."""
    return Case(f"sfdata_{qid}", "keras", kind, f"https://stackoverflow.com/questions/{qid}",
                f"SFData: {summary}", fix, expect, program(False), program(True), **notes)


def _p(f: Any, *args: Any) -> Any:
    """`f` with its leading arguments bound: a program factory of `fixed` alone."""
    return lambda fixed: f(*args, fixed)


FLATTEN = (op(InsertLayer), code("Flatten"))

CASES = [
    _case(36241731, "known-remedy",
          "SimpleRNN fit on one sequence (12 steps, 10 features) given without its batch axis, "
          "with one target row",
          "np.expand_dims(X, 0): a batch of one sequence",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 12, 10)), code("expand_dims")),
          s36241731),
    _case(37085653, "model-build",
          "Conv2D(input_shape=(30, 30)) for grayscale images (n, 30, 30): no channel axis",
          "input_shape=(30, 30, 1) and the images expanded to (n, 30, 30, 1)",
          (setting("input_shape", (12, 12, 1)), code("(12, 12, 1)"), op(InsertAxis, axis=-1)),
          s37085653),
    _case(38584268, "data-blamed",
          "convolutions straight into Dense(50) without Flatten; one-hot targets (n, 50)",
          "Flatten() before the Dense layer", FLATTEN, s38584268),
    _case(38656566, "model-build",
          "Conv1D(kernel 10, input_shape=(1, 101)) for series (n, 101, 1): steps and features "
          "swapped",
          "input_shape=(101, 1)",
          (setting("input_shape", (40, 1)), code("(40, 1)")), s38656566),
    _case(39376169, "model-build",
          "Keras 1's Convolution2D(32, 3, 3) on Keras 2+: the second 3 is the strides, and the "
          "feature maps shrink below the pooling window",
          "Conv2D(32, 3): the kernel size once, strides 1",
          (setting("strides", 1), setting("strides", (1, 1)), code("strides")), s39376169),
    _case(39815518, "data-blamed",
          "VGG-style ZeroPadding2D(input_shape=(3, 224, 224)), channels first, for "
          "channels-last images (n, 224, 224, 3)",
          "input_shape=(224, 224, 3)",
          (setting("input_shape", (32, 32, 3)), code("(32, 32, 3)")), s39815518),
    _case(39950311, "known-remedy",
          "MNIST Dense classifier, predict on one image as a (784,) vector",
          "np.expand_dims(img, 0): a batch of one",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 784)), code("expand_dims")),
          _p(predict_vector, 784, True)),
    _case(40331510, "model-build",
          "two stacked LSTMs, the first without return_sequences, then Flatten",
          "return_sequences=True on both LSTMs",
          (setting("return_sequences", True),), s40331510),
    _case(41563720, "known-remedy",
          "CNN trained on (30, 30, 3) images, predict on one image without the batch axis",
          "np.expand_dims(image, 0)",
          (op(InsertAxis, axis=0), code("expand_dims")), _p(predict_image, (30, 30, 3))),
    _case(42492824, "data-blamed",
          "Dropout(input_shape=(33,)) first for data of 60 features (and Dense(122) softmax "
          "for 0/1 labels)",
          "input_shape=(60,), Dense(2) and one-hot labels",
          (setting("input_shape", (60,)), code("(60,)")), s42492824,
          no_right_fix="caught (33 features expected, 60 given) with only 'no_reshape: "
                       "change the data or the contract'; no input_shape=(60,) repair when"
                       " the first layer is a Dropout"),
    _case(42532386, "model-build",
          "LSTM(input_shape=(look_back,)): the features axis left out",
          "input_shape=(look_back, 3)",
          (setting("input_shape", (3, 3)), code("(3, 3)")), s42532386,
          no_right_fix="explained from the LSTM's ndim=2 build error with keras.Input((3, "
                       "1)): one feature a step, where the data has 3 (the data never "
                       "reached the guard)"),
    _case(42585356, "data-blamed",
          "LSTM(input_shape=(1, 20)) for series (n, 20, 1): steps and features swapped",
          "input_shape=(20, 1)",
          (setting("input_shape", (20, 1)), code("(20, 1)")), lstm_steps_features_swapped),
    _case(42855033, "data-blamed",
          "the same program as 42585356: LSTM(input_shape=(1, 20)) for series (n, 20, 1)",
          "input_shape=(20, 1)",
          (setting("input_shape", (20, 1)), code("(20, 1)")), lstm_steps_features_swapped),
    _case(43396572, "known-remedy",
          "Conv1D(input_shape=(30, 1)) fit on rows (n, 30)",
          "np.expand_dims(X, -1) on the training and test data",
          (op(InsertAxis, axis=-1), op(InsertAxis, axis=2), code("expand_dims")),
          _p(conv1d_flat_rows, 30),
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 30) into Conv1D(input_shape=(30, 1)) trains; the "
                "strict guard still flags it"),
    _case(44472693, "model-build",
          "deep autoencoder: the decoder built from the last Dense layer alone (it takes 128 "
          "features) on the 32-wide code",
          "chain the last three layers (layers[-3], [-2], [-1]) on the code input",
          (code("layers[-3]"),), s44472693,
          no_right_fix="explained while the model is built, but the proven settings are not the answer's"),
    _case(44847446, "known-remedy",
          "CNN trained on (512, 64, 3) images, predict on one image without the batch axis",
          "np.expand_dims(image, 0)",
          (op(InsertAxis, axis=0), code("expand_dims")), _p(predict_image, (32, 16, 3))),
    _case(49392972, "output-vs-target",
          "VGG16-like Sequential, softmax over 3 classes, categorical_crossentropy, integer "
          "labels",
          "one-hot labels (np.eye(3)[y])",
          (op(OneHot, classes=3), code("to_categorical")), s49392972),
    _case(51155356, "known-remedy",
          "LSTM(input_shape=(50, 1)) fit on rows (n, 50)",
          "the data reshaped to (n, 50, 1)",
          (op(InsertAxis, axis=-1), op(Reshape, shape=(20, 50, 1)), code("reshape")),
          s51155356,
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 50) into LSTM(input_shape=(50, 1)) trains; the "
                "strict guard still flags it"),
    _case(51755160, "loss-hint",
          "Dense(2, sigmoid) with binary_crossentropy and 0/1 labels of shape (n,)",
          "one-hot labels (np.eye(2)[labels])",
          (op(OneHot, classes=2), code("to_categorical")), s51755160),
    _case(42235611, "output-vs-target",
          "steering regression: Cropping2D, convolutions, Dense(4) output against one target "
          "a sample, mse",
          "Dense(1): one output a sample",
          (setting("units", 1),), s42235611,
          no_right_fix="caught (targets (n,) for a (n, 4) output) with no_reshape and mse "
                       "advice; no units=1 repair"),
    _case(45499757, "known-remedy",
          "Pima diabetes Dense network, predict on one sample as an (8,) vector",
          "np.expand_dims(test, 0)",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 8)), code("expand_dims")),
          _p(predict_vector, 8, True)),
    _case(46501505, "output-vs-target",
          "spectrogram CNN, softmax over 2 classes, categorical_crossentropy, integer labels",
          "one-hot labels for training and validation",
          (op(OneHot, classes=2), code("to_categorical")), s46501505),
    _case(46858890, "data-blamed",
          "Dense(1, input_dim=5) for five samples of one feature (5, 1)",
          "input_dim=1",
          (setting("input_dim", 1), setting("input_shape", (1,)), setting("shape", (1,))),
          s46858890),
    _case(47842931, "model-build",
          "convolutional autoencoder: the encoder pools twice where the decoder expects a "
          "(4, 4, 8) code, and the decoder ends in 1 channel for RGB targets",
          "a third MaxPooling2D in the encoder and Conv2D(3, ...) at the decoder's end",
          (setting("filters", 3), op(InsertLayer), code("MaxPooling2D")), s47842931,
          known_miss="explain() does not read the nested Functional's 'expected "
                     "shape=(None, 4, 4, 8), found shape=(None, 8, 8, 8)' error, raised "
                     "while the autoencoder is built",
          no_right_fix="not explained"),
    _case(48951409, "model-build",
          "stacked LSTMs with input_shape=X.shape: the sample count given as an axis",
          "input_shape=X.shape[1:]",
          (setting("input_shape", (10, 6)), code("shape[1:]"), code("(10, 6)")), s48951409),
    _case(48978609, "output-vs-target",
          "sequence-to-sequence LSTMs ending in Dense(10) for targets (1, 10, 1)",
          "Dense(1): one value a step",
          (setting("units", 1),), s48978609,
          silent=True),
    _case(49442963, "known-remedy",
          "two-input model, predict with the auxiliary input as a (162,) vector next to a "
          "(1, 54) main input",
          "np.zeros((1, 162)): a batch of one for the auxiliary input too",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 12)), code("(1, 12)")), s49442963),
    _case(50336110, "transpose-vs-reshape",
          "Dense(input_dim=3) model, predict on one sample held as a (3, 1) column",
          "x.transpose(): one row (1, 3)",
          (op(Permute, perm=(1, 0)), op(Reshape, shape=(1, 3)), code("transpose")),
          s50336110),
    _case(50364194, "model-build",
          "stateful LSTM with Input(batch_shape=(32, None, 1)) then Flatten and Dense, for "
          "data (n, 5, 54)",
          "batch_shape=(32, 5, 54): the data's steps and features (the sum of the answer's "
          "output_size=54 reused for Dense's units is left out: Keras 3 does not broadcast it)",
          (setting("batch_shape", (8, 5, 6)), code("(8, 5, 6)")), s50364194,
          no_right_fix="explained while the model is built, but the proven settings are not the answer's"),
    _case(50483715, "pipeline-layout",
          "CNN with input_shape=(150, 150, 1) trained from flow_from_directory, which yields "
          "RGB images by default",
          "color_mode='grayscale' in both generators",
          (code("grayscale"), code("color_mode")), s50483715,
          no_right_fix="caught (1 channel expected, 3 given); the repair is "
                       "keras.Input((32, 32, 3)), a model for RGB, where the answer loads "
                       "the images as grayscale"),
    _case(50494765, "known-remedy",
          "MNIST images (n, 28, 28) into Conv2D(input_shape=(28, 28, 1))",
          "np.expand_dims(x_train, axis=3)",
          (op(InsertAxis, axis=-1), op(InsertAxis, axis=3), code("expand_dims")),
          s50494765,
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 28, 28) into Conv2D(input_shape=(28, 28, 1)) "
                "trains; the strict guard still flags it"),
    _case(51802524, "output-vs-target",
          "iris-style classifier ending in Dense(3, softmax) for one-hot targets of 4 classes",
          "Dense(4, softmax)",
          (setting("units", 4),), s51802524),
    _case(52210472, "known-remedy",
          "Dense(input_shape=(21,)) model, predict on one sample as a (21,) vector",
          "np.expand_dims(arrTest1, 0)",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 21)), code("expand_dims")),
          s52210472),
    _case(52919464, "model-build",
          "grayscale images that already have their channel axis expanded again "
          "(axis=4): Conv2D(input_shape=(512, 512, 1, 1))",
          "drop the extra expand_dims: input_shape=(512, 512, 1)",
          (setting("input_shape", (32, 32, 1)), code("(32, 32, 1)"), op(DropAxis, axis=-1)),
          s52919464,
          known_miss="explain() does not read Keras 3's Conv 'Kernel shape must have the "
                     "same length as input' error, raised while the Sequential is built",
          no_right_fix="not explained"),
    _case(53697858, "loss-hint",
          "softmax over 6 classes with sparse_categorical_crossentropy and one-hot targets",
          "np.argmax(y_train, axis=1): integer labels for the sparse loss",
          (op(Argmax), code("argmax"), op(SwapLoss)), s53697858),
    _case(54048320, "data-blamed",
          "VGG16 features flattened for training a Dense model, but each test image's "
          "features reshaped to (1, 16, 16, 512) for predict",
          "np.reshape(feature_value, (1, 16 * 16 * 512))",
          (op(Reshape, shape=(1, 128)), op(Reshape, shape=(-1, 128)), code("(1, 128)")),
          s54048320),
    _case(55093959, "output-vs-target",
          "Dense network, softmax over 14 classes, categorical_crossentropy, integer labels",
          "one-hot labels (np.eye(14)[y])",
          (op(OneHot, classes=14), code("to_categorical")), _p(integer_labels_dense, 14)),
    _case(56190344, "output-vs-target",
          "Conv1D classifier of one label a sequence, trained on targets with a label each "
          "step (n, 1452, 8)",
          "y_train[:, -1, :]: the last step's label",
          (code("[:, -1"),), s56190344,
          no_right_fix="caught on the targets (n, 20, 8) against the output (n, 8); "
                       "suggestions: no_reshape and to_categorical advice, no selection of"
                       " the last step"),
    _case(56437157, "output-vs-target",
          "Dense layers on images (50, 50, 3) without Flatten, one 0/1 target a sample",
          "Flatten() before the output Dense(1)", FLATTEN, s56437157),
    _case(56479008, "output-vs-target",
          "sign-language CNN, softmax over 24 classes, categorical_crossentropy, integer "
          "labels",
          "to_categorical(y, 24) for training and validation",
          (op(OneHot, classes=24), code("to_categorical")), s56479008),
    _case(56912176, "data-blamed",
          "CIFAR-10 CNN with Flatten commented out: Dense(10) on 4-D feature maps",
          "Flatten() before Dense(10)", FLATTEN, s56912176),
    _case(57423915, "known-remedy",
          "Conv1D(input_shape=(6, 1)) fit on rows (n, 6)",
          "np.expand_dims(X, -1)",
          (op(InsertAxis, axis=-1), code("expand_dims")), _p(conv1d_flat_rows, 6),
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 6) into Conv1D(input_shape=(6, 1)) trains; the "
                "strict guard still flags it"),
    _case(57928270, "data-blamed",
          "Conv3D and MaxPooling3D straight into Dense(32) without Flatten, targets (n, 32)",
          "Flatten() before Dense(32)", FLATTEN, s57928270),
    _case(58277932, "data-blamed",
          "Conv1D straight into Dense(9) without Flatten, one-hot targets (n, 9)",
          "Flatten() after the Conv1D", FLATTEN, s58277932),
    _case(58398491, "loss-hint",
          "CNN, softmax over 3 classes, sparse_categorical_crossentropy, one-hot targets",
          "np.argmax(y, -1): integer labels",
          (op(Argmax), code("argmax"), op(SwapLoss)), s58398491),
    _case(58644645, "known-remedy",
          "MNIST test images (10000, 28, 28) reshaped with the training count (60000, 784)",
          "test_images.reshape((10000, 28 * 28))",
          (op(Reshape, shape=(10, 784)), op(Reshape, shape=(-1, 784)), code("(10, 784)")),
          s58644645,
          known_miss="the crash is numpy's 'cannot reshape array of size 7840 into shape "
                     "(60,784)' in the data preparation, before any model: explain() does "
                     "not read numpy errors",
          no_right_fix="not explained"),
    _case(58963889, "data-blamed",
          "Dense(input_shape=x.shape) with x of shape (7, 1): the sample count as an axis",
          "input_shape=(1,)",
          (setting("input_shape", (1,)), code("(1,)")), s58963889,
          stale="Keras 3 adds the missing trailing axis of size 1 itself: x (7, 1) is "
                "taken as (7, 1, 1) for input_shape=(7, 1) and trains (the output is "
                "squeezed back to the targets' shape); the strict guard still flags it"),
    _case(59305008, "data-blamed",
          "Dense(input_dim=3) first for data of 2 features",
          "input_dim=2",
          (setting("input_dim", 2), setting("input_shape", (2,)), setting("shape", (2,))),
          s59305008),
    _case(59416289, "data-blamed",
          "Conv2D, Dropout, BatchNormalization and nothing else, fit on one-hot targets (n, 2)",
          "Flatten() and Dense(2) at the end", FLATTEN, s59416289,
          no_right_fix="caught on the targets; the suggestion is to_categorical for the "
                       "4-D output (batch, 16, 16, 8), not Flatten and Dense(2)"),
    _case(59446800, "transpose-vs-reshape",
          "Dense(input_shape=[1]) fit on 11 samples held as one row (1, 11)",
          "x.reshape((-1, 1)) and y.reshape((-1, 1))",
          (op(Reshape, shape=(-1, 1)), op(Reshape, shape=(11, 1)), op(Permute, perm=(1, 0)),
           code("reshape")), s59446800),
    _case(59619015, "output-vs-target",
          "CNN ending in Dense(1, relu) then softmax, binary_crossentropy on one-hot "
          "targets (n, 2)",
          "Dense(2, activation='sigmoid')",
          (setting("units", 2),), s59619015),
    _case(59840678, "model-build",
          "Embedding(vocab_size, 100, weights=[embeddings]) with a pretrained matrix of "
          "another size (412457, 400)",
          "Embedding(412457, 400, ...): the matrix's own sizes",
          (setting("input_dim", 500), setting("output_dim", 16), code("(500, 16)")),
          s59840678,
          known_miss="explain() does not read Keras 3's 'Layer embedding weight shape (43,"
                     " 8) is not compatible with provided weight shape (500, 16)', raised "
                     "in Embedding's constructor",
          no_right_fix="not explained"),
    _case(60127320, "known-remedy",
          "predict([point]) on one (9,) sample wrapped in a list",
          "np.expand_dims(point, 0)",
          (op(InsertAxis, axis=0), op(Reshape, shape=(1, 9)), code("expand_dims")),
          s60127320),
    _case(60129234, "output-vs-target",
          "3-D CNN, softmax over 3 classes, labels one-hot encoded as (n, 1, 3)",
          "np.squeeze(y, 1): labels (n, 3)",
          (op(DropAxis, axis=1), op(DropAxis, axis=-2), op(Reshape, shape=(6, 3)),
           code("squeeze")), s60129234),
    _case(60226423, "data-blamed",
          "Dense(input_shape=(X_train.shape[0],)): the sample count as the features",
          "input_shape=X_train.shape[1:]",
          (setting("input_shape", (10,)), code("shape[1:]"), code("(10,)")),
          _p(dense_input_width, 10, 18, "sparse_categorical_crossentropy")),
    _case(60297871, "data-blamed",
          "Dense(input_dim=11) first for data of 16934 features",
          "input_dim=16934",
          (setting("input_dim", 40), setting("input_shape", (40,)), code("(40,)")),
          _p(dense_input_width, 40, 11, "binary_crossentropy")),
    _case(60711423, "model-build",
          "LSTM with input_shape=X_train.shape: the sample count given as an axis",
          "input_shape=X_train.shape[1:]",
          (setting("input_shape", (7, 1)), code("shape[1:]"), code("(7, 1)")), s60711423),
    _case(60949314, "output-vs-target",
          "MNIST CNN, softmax over 10 classes, categorical_crossentropy, integer labels",
          "to_categorical(y, 10)",
          (op(OneHot, classes=10), code("to_categorical")), s60949314),
    _case(61116088, "loss-hint",
          "Dense classifier of 5 classes with sparse_categorical_crossentropy and one-hot "
          "labels (n, 5)",
          "loss='categorical_crossentropy' for the one-hot labels",
          (op(SwapLoss),), s61116088),
    _case(61435176, "output-vs-target",
          "binary CNN (Dense(1, sigmoid)) trained from flow_from_directory's default "
          "class_mode='categorical': one-hot labels (n, 2)",
          "class_mode='binary': 0/1 labels",
          (code("class_mode"), op(Argmax)), s61435176,
          no_right_fix="caught (1 unit, 2 targets a sample); the repair is Dense(units=2) "
                       "for the one-hot labels, where the answer makes the labels 0/1 "
                       "(class_mode='binary')"),
    _case(61550026, "model-build",
          "LSTM(input_shape=(20, 85, 1)): an extra axis for sequences (n, 20, 85)",
          "input_shape=(20, 85)",
          (setting("input_shape", (10, 12)), code("(10, 12)")), s61550026,
          no_right_fix="explained while the model is built, but the proven settings are not the answer's"),
    _case(62148508, "output-vs-target",
          "facial-expression CNN, softmax over 7 classes, categorical_crossentropy, integer "
          "labels",
          "one-hot labels (np.eye(7)[y])",
          (op(OneHot, classes=7), code("to_categorical")), s62148508),
    _case(62206004, "known-remedy",
          "MNIST images (n, 28, 28) into Dense(input_shape=(784,)), integer labels with "
          "categorical_crossentropy",
          "np.reshape(images, (-1, 784)) and one-hot labels",
          (op(Reshape, shape=(-1, 784)), op(Reshape, shape=(20, 784)), code("reshape")),
          s62206004),
    _case(62299824, "data-blamed",
          "CNN from a directory generator: convolutions straight into Dense without Flatten",
          "Flatten() before the Dense layers", FLATTEN, s62299824),
    _case(62300118, "data-blamed",
          "Conv1D straight into Dense layers without Flatten, targets (n, 23)",
          "Flatten() after the Conv1D", FLATTEN, s62300118),
    _case(62449191, "output-vs-target",
          "MNIST Flatten/Dense classifier, categorical_crossentropy, integer labels",
          "to_categorical(y_train)",
          (op(OneHot, classes=10), code("to_categorical")), s62449191),
    _case(62643682, "output-vs-target",
          "functional VGG-like CNN ending in Dense(4, softmax) for one-hot targets of 2 "
          "classes",
          "Dense(2, softmax)",
          (setting("units", 2),), s62643682),
    _case(63141076, "known-remedy",
          "MNIST flat rows (n, 784) into Conv2D(input_shape=(28, 28, 1))",
          "x_train.reshape(n, 28, 28, 1)",
          (op(Reshape, shape=(20, 28, 28, 1)), op(Reshape, shape=(-1, 28, 28, 1)),
           code("reshape")), s63141076),
    _case(63279168, "known-remedy",
          "MNIST images (n, 28, 28) into a Sequential CNN given no input shape",
          "np.expand_dims(x, -1).astype(np.float32)",
          (op(InsertAxis, axis=-1), op(InsertAxis, axis=3), code("expand_dims")),
          s63279168),
    _case(63205737, "data-blamed",
          "Dense(5, input_shape=(1,)) first for document vectors of 5000 features",
          "input_shape=(5000,)",
          (setting("input_shape", (50,)), setting("shape", (50,)), code("(50,)")),
          _p(dense_input_width, 50, 1, "binary_crossentropy")),
    _case(63536948, "model-build",
          "Conv2D(input_shape=train_data.shape): the sample count given as an axis",
          "input_shape=train_data.shape[1:]",
          (setting("input_shape", (20, 30, 1)), code("shape[1:]"), code("(20, 30, 1)")),
          s63536948),
    _case(63687794, "known-remedy",
          "samples (n, 3, 12) into Conv2D(input_shape=(3, 12, 1))",
          "np.expand_dims(X_train, -1)",
          (op(InsertAxis, axis=-1), code("expand_dims")), s63687794,
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 3, 12) into Conv2D(input_shape=(3, 12, 1)) trains;"
                " the strict guard still flags it"),
    _case(63732431, "known-remedy",
          "TimeDistributed(cnn, input_shape=(1, 48, 48, 1)) fit on single images "
          "(n, 48, 48, 1)",
          "a Reshape((1, 48, 48, 1)) layer first: a time axis of one",
          (op(InsertAxis, axis=1), op(Reshape, shape=(-1, 1, 16, 16, 1)), op(InsertLayer),
           code("Reshape")), s63732431),
    _case(63859629, "output-vs-target",
          "Embedding/GRU/SimpleRNN ending in Dense(100, softmax) for targets of 6 a sample",
          "Dense(6, softmax)",
          (setting("units", 6),), s63859629,
          no_right_fix="caught (100 units, 6 targets a sample) with no_reshape and "
                       "to_categorical(y, 100) advice; no units=6 repair for a model fit "
                       "on a tf.data dataset"),
    _case(64277744, "known-remedy",
          "Conv1D(input_shape=(3841, 1)) fit on rows (n, 3841)",
          "np.expand_dims(trainX, -1) and the same for the validation data",
          (op(InsertAxis, axis=-1), code("expand_dims")), _p(conv1d_flat_rows, 40),
          stale="Keras 3 adds the missing trailing axis of size 1 itself (Functional input"
                " standardization): (n, 3841) into Conv1D(input_shape=(3841, 1)) trains; "
                "the strict guard still flags it"),
    _case(64381457, "output-vs-target",
          "Embedding/LSTM ending in Dense(2, sigmoid), categorical_crossentropy, integer "
          "labels",
          "one-hot labels (np.eye(2)[Y])",
          (op(OneHot, classes=2), code("to_categorical")), s64381457),
    _case(64435490, "output-vs-target",
          "MLP ending in Dense(2, sigmoid) trained with binary_crossentropy on 0/1 labels "
          "(class_mode='binary')",
          "Dense(1, sigmoid)",
          (setting("units", 1),), s64435490),
    _case(64577667, "output-vs-target",
          "Dense network ending in Dense(16) and sigmoid for one-hot targets of 3 classes",
          "Dense(3)",
          (setting("units", 3),), s64577667),
    _case(64784096, "output-vs-target",
          "Dense network ending in Dense(2, sigmoid), categorical_crossentropy, integer "
          "labels",
          "one-hot labels (np.eye(2)[target])",
          (op(OneHot, classes=2), code("to_categorical")), s64784096),
    _case(65047573, "model-build",
          "Conv1D layers on RGB images (n, 150, 150, 3), no input shape given",
          "Conv2D layers after Input(shape=(150, 150, 3))",
          (code("Conv2D"),), s65047573,
          no_right_fix="caught (Conv1D on 4-D images) with no suggestion at all; the "
                       "answer swaps Conv1D for Conv2D"),
    _case(65166479, "output-vs-target",
          "functional Embedding/Flatten/Dense model ending in Dense(2, softmax) for one-hot "
          "targets of 5 classes",
          "Dense(5, softmax)",
          (setting("units", 5),), s65166479),
    _case(65215572, "output-vs-target",
          "Embedding/Flatten/Dense, softmax over 16 classes, categorical_crossentropy, "
          "integer labels",
          "to_categorical(labels)",
          (op(OneHot, classes=16), code("to_categorical")), s65215572),
    _case(65356923, "loss-hint",
          "subclassed LeNet-300-100 with SparseCategoricalCrossentropy and one-hot labels",
          "keep the integer labels (no to_categorical) for the sparse loss",
          (op(Argmax), code("argmax"), op(SwapLoss)), s65356923,
          known_miss="the guard's contract of the subclassed model's input is (batch,) (it"
                     " rejects the control too); the loss error 'output must have rank "
                     "target.ndim - 1' is not explained",
          no_right_fix="not explained"),
    _case(65387184, "data-blamed",
          "functional MNIST model: Dense layers on (28, 28) images without Flatten",
          "Flatten() after the Input", FLATTEN, s65387184),
    _case(65461201, "data-blamed",
          "functional Conv1D model with Input(shape=(335, 48)), the whole data's shape, "
          "for rows of 48",
          "Input(shape=(48,))",
          (setting("shape", (48,)), setting("input_shape", (48,)), code("(48,)")),
          s65461201),
    _case(65519647, "output-vs-target",
          "CNN whose pooled feature maps go into Dense layers without Flatten, one-hot "
          "targets (n, 2)",
          "Flatten() before the Dense layers", FLATTEN, s65519647),
]
