"""A corpus of correct Keras 3 programs (TensorFlow backend), each re-created from widely copied
public material (keras.io examples and guides, tensorflow.org tutorials, popular blog
tutorials), run unguarded and then guarded with `shapecontract.guard` at the default level:
`guard(model)` before `fit`/`predict`/`evaluate`, exactly as a user would. The guard must not
refuse correct programs nor change what they compute. Tiny data, `epochs=1`, `verbose=0`.

Programs the guard currently breaks are strict xfails (XFAIL below, one line each): they turn
red when the bug is fixed, and the mark comes off then.
"""

# The programs keep their sources' code as written (unused unpacked names and all).
# ruff: noqa: RUF059, RUF005

from __future__ import annotations

import math
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
if keras.backend.backend() != "tensorflow":  # pragma: no cover - the corpus is the TF backend's
    pytest.skip("the Keras corpus runs on the TensorFlow backend", allow_module_level=True)

from keras import layers, ops  # noqa: E402

from shapecontract import Array, Float  # noqa: E402

from .corpus_programs import Corpus, hist, rng, run_twice  # noqa: E402
from .corpus_programs import keras_seed as seed  # noqa: E402

tf.get_logger().setLevel("ERROR")

corpus = Corpus()
program = corpus.program




# ================================================================ time series forecasting
@program
def keras_io_weather_forecasting(g: Any) -> Any:
    """keras.io 'Timeseries forecasting for weather prediction': timeseries_dataset_from_array windows (sampling_rate 6), LSTM(32) -> Dense(1), validation dataset, EarlyStopping."""
    features = rng().normal(size=(300, 7)).astype("float32")
    past, future, step, sequence_length, batch_size = 60, 12, 6, 10, 16
    train_split = 200
    train_data, val_data = features[:train_split], features[train_split:]
    start = past + future
    x_train = train_data
    y_train = features[start:start + train_split][:, [1]]
    dataset_train = keras.utils.timeseries_dataset_from_array(
        x_train, y_train, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
    x_val = val_data[:-(past + future)]
    label_start = train_split + past + future
    y_val = features[label_start:][:, [1]]
    dataset_val = keras.utils.timeseries_dataset_from_array(
        x_val, y_val, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
    for batch in dataset_train.take(1):
        inputs, targets = batch
    inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    model = g(keras.Model(inputs=inputs, outputs=outputs))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
    es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
    history = model.fit(dataset_train, epochs=1, validation_data=dataset_val,
                        callbacks=[es_callback], verbose=0)
    preds = [model.predict(x, verbose=0) for x, y in dataset_val.take(2)]
    return hist(history), preds


@program
def keras_docs_timeseries_dataset_dense(g: Any) -> Any:
    """keras.utils.timeseries_dataset_from_array docs example: input_data = data[:-10], targets = data[10:], sequence_length=10; a Dense model on (batch, 10) windows."""
    data = np.sin(np.arange(120, dtype="float32") / 8)
    sequence_length = 10
    dataset = keras.utils.timeseries_dataset_from_array(
        data[:-sequence_length], data[sequence_length:], sequence_length=sequence_length,
        batch_size=16)
    model = g(keras.Sequential([keras.Input((sequence_length,)), layers.Dense(16, activation="relu"),
                                layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(dataset, epochs=1, verbose=0)
    return hist(history), model.evaluate(dataset, verbose=0), model.predict(dataset, verbose=0)


def split_sequence(sequence: list[float], n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """machinelearningmastery split_sequence."""
    X, y = [], []
    for i in range(len(sequence)):
        end_ix = i + n_steps
        if end_ix > len(sequence) - 1:
            break
        X.append(sequence[i:end_ix])
        y.append(sequence[end_ix])
    return np.array(X), np.array(y)


RAW_SEQ = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]


@program
def mlm_vanilla_lstm_input_shape(g: Any) -> Any:
    """machinelearningmastery 'How to Develop LSTM Models for Time Series Forecasting': Vanilla LSTM(50, activation='relu', input_shape=(3, 1)), X.reshape((n, 3, 1)), y of shape (n,)."""
    n_steps, n_features = 3, 1
    X, y = split_sequence(RAW_SEQ, n_steps)
    X = X.reshape((X.shape[0], X.shape[1], n_features))
    model = g(keras.Sequential([layers.LSTM(50, activation="relu", input_shape=(n_steps, n_features)),
                                layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    x_input = np.array([70, 80, 90]).reshape((1, n_steps, n_features))
    return model.predict(x_input, verbose=0)


@program
def mlm_stacked_lstm_unbuilt(g: Any) -> Any:
    """machinelearningmastery Stacked LSTM (return_sequences=True) written without an input shape: an unbuilt Sequential, built by the first fit."""
    n_steps, n_features = 3, 1
    X, y = split_sequence(RAW_SEQ, n_steps)
    X = X.reshape((X.shape[0], X.shape[1], n_features)).astype("float32")
    model = g(keras.Sequential([layers.LSTM(16, activation="relu", return_sequences=True),
                                layers.LSTM(16, activation="relu"), layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    return model.predict(np.array([70, 80, 90], dtype="float32").reshape((1, n_steps, n_features)),
                         verbose=0)


@program
def mlm_cnn_lstm_timedistributed(g: Any) -> Any:
    """machinelearningmastery CNN-LSTM: X.reshape((n, 2 subsequences, 2 steps, 1)), TimeDistributed(Conv1D/MaxPooling1D/Flatten) with input_shape=(None, 2, 1), then LSTM."""
    n_steps, n_features, n_seq = 4, 1, 2
    X, y = split_sequence(RAW_SEQ, n_steps)
    n_sub = n_steps // n_seq
    X = X.reshape((X.shape[0], n_seq, n_sub, n_features))
    model = g(keras.Sequential([
        layers.TimeDistributed(layers.Conv1D(filters=8, kernel_size=1, activation="relu"),
                               input_shape=(None, n_sub, n_features)),
        layers.TimeDistributed(layers.MaxPooling1D(pool_size=2)),
        layers.TimeDistributed(layers.Flatten()),
        layers.LSTM(16, activation="relu"),
        layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    x_input = np.array([60, 70, 80, 90]).reshape((1, n_seq, n_sub, n_features))
    return model.predict(x_input, verbose=0)


@program
def mlm_encoder_decoder_repeatvector(g: Any) -> Any:
    """machinelearningmastery multi-step Encoder-Decoder LSTM: LSTM -> RepeatVector(2) -> LSTM(return_sequences) -> TimeDistributed(Dense(1)), y reshaped to (n, 2, 1)."""
    n_steps_in, n_steps_out, n_features = 3, 2, 1
    X, y = [], []
    for i in range(len(RAW_SEQ) - n_steps_in - n_steps_out + 1):
        X.append(RAW_SEQ[i:i + n_steps_in])
        y.append(RAW_SEQ[i + n_steps_in:i + n_steps_in + n_steps_out])
    X = np.array(X).reshape((len(X), n_steps_in, n_features))
    y = np.array(y).reshape((len(y), n_steps_out, n_features))
    model = g(keras.Sequential([
        layers.LSTM(16, activation="relu", input_shape=(n_steps_in, n_features)),
        layers.RepeatVector(n_steps_out),
        layers.LSTM(16, activation="relu", return_sequences=True),
        layers.TimeDistributed(layers.Dense(1))]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    return model.predict(np.array([70, 80, 90]).reshape((1, n_steps_in, n_features)), verbose=0)


@program
def mlm_multivariate_vector_output(g: Any) -> Any:
    """machinelearningmastery multivariate LSTM: np.hstack of two input series -> X (n, 3, 2), vector output Dense(2) for a 2-step forecast, y (n, 2)."""
    in_seq1 = np.array(RAW_SEQ[:10], dtype="float64").reshape((-1, 1))
    in_seq2 = np.array(RAW_SEQ[1:11], dtype="float64").reshape((-1, 1))
    dataset = np.hstack((in_seq1, in_seq2))
    n_steps, n_out = 3, 2
    X = np.array([dataset[i:i + n_steps] for i in range(len(dataset) - n_steps - n_out + 1)])
    y = np.array([dataset[i + n_steps:i + n_steps + n_out, 0]
                  for i in range(len(dataset) - n_steps - n_out + 1)])
    model = g(keras.Sequential([keras.Input((n_steps, 2)), layers.LSTM(16, activation="relu"),
                                layers.Dense(n_out)]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    return model.predict(X[:1], verbose=0)


@program
def gru_variable_length_windows(g: Any) -> Any:
    """TF time-series tutorial style GRU with Input((None, 1)): trained on 8-step windows, predicts on 12-step windows."""
    series = np.sin(np.arange(60) / 5).astype("float32")
    X = np.stack([series[i:i + 8] for i in range(40)])[..., None]
    y = series[8:48].reshape(-1, 1)
    model = g(keras.Sequential([keras.Input((None, 1)), layers.GRU(16), layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    long = np.stack([series[i:i + 12] for i in range(3)])[..., None]
    return hist(history), model.predict(long, verbose=0)


@program
def lstm_autoencoder_composite_two_outputs(g: Any) -> Any:
    """machinelearningmastery composite LSTM autoencoder: one encoder, two decoders (reconstruct and predict), Model(visible, [decoder1, decoder2]), fit(seq_in, [seq_in, seq_out])."""
    seq_in = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    n_in = len(seq_in)
    seq_in = seq_in.reshape((1, n_in, 1))
    seq_out = seq_in[:, 1:, :]
    n_out = n_in - 1
    visible = keras.Input(shape=(n_in, 1))
    encoder = layers.LSTM(16, activation="relu")(visible)
    decoder1 = layers.RepeatVector(n_in)(encoder)
    decoder1 = layers.LSTM(16, activation="relu", return_sequences=True)(decoder1)
    decoder1 = layers.TimeDistributed(layers.Dense(1))(decoder1)
    decoder2 = layers.RepeatVector(n_out)(encoder)
    decoder2 = layers.LSTM(16, activation="relu", return_sequences=True)(decoder2)
    decoder2 = layers.TimeDistributed(layers.Dense(1))(decoder2)
    model = g(keras.Model(inputs=visible, outputs=[decoder1, decoder2]))
    model.compile(optimizer="adam", loss="mse")
    model.fit(seq_in, [seq_in, seq_out], epochs=1, verbose=0)
    return model.predict(seq_in, verbose=0)


# ========================================================================= text models
@program
def keras_imdb_lstm_unbuilt(g: Any) -> Any:
    """keras examples imdb_lstm: pad_sequences(maxlen), Sequential([Embedding, LSTM(dropout, recurrent_dropout), Dense(1, sigmoid)]) without an input shape, binary_crossentropy, validation_data."""
    max_features, maxlen = 100, 12
    r = rng()
    x_train = keras.utils.pad_sequences([list(r.integers(1, max_features, r.integers(4, 20)))
                                         for _ in range(32)], maxlen=maxlen)
    y_train = r.integers(0, 2, 32)
    x_test, y_test = x_train[:8], y_train[:8]
    model = g(keras.Sequential([layers.Embedding(max_features, 16),
                                layers.LSTM(16, dropout=0.2, recurrent_dropout=0.2),
                                layers.Dense(1, activation="sigmoid")]))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=16, epochs=1,
                        validation_data=(x_test, y_test), verbose=0)
    return hist(history), model.evaluate(x_test, y_test, batch_size=16, verbose=0)


@program
def keras_io_bidirectional_lstm_imdb(g: Any) -> Any:
    """keras.io 'Bidirectional LSTM on IMDB': Input(shape=(None,), dtype='int32'), Embedding, two Bidirectional(LSTM), Dense(1, sigmoid), validation_data."""
    max_features, maxlen = 100, 10
    r = rng()
    x_train = keras.utils.pad_sequences([list(r.integers(1, max_features, 8)) for _ in range(24)],
                                        maxlen=maxlen)
    y_train = r.integers(0, 2, 24)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 16)(inputs)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = g(keras.Model(inputs, outputs))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=8, epochs=1,
                        validation_data=(x_train[:8], y_train[:8]), verbose=0)
    return hist(history)


TEXTS = ["a great movie with a great cast", "terrible plot and bad acting", "i loved it",
         "boring and far too long", "what a wonderful film", "the worst thing i have seen",
         "brilliant and moving", "not good at all"] * 3


@program
def keras_io_text_classification_end_to_end(g: Any) -> Any:
    """keras.io 'Text classification from scratch': TextVectorization mapped over tf.data, Embedding/Conv1D(strides=3)/GlobalMaxPooling1D model, then the end-to-end model on Input(shape=(1,), dtype='string')."""
    labels = np.array([1, 0, 1, 0, 1, 0, 1, 0] * 3)
    raw_train_ds = tf.data.Dataset.from_tensor_slices((TEXTS, labels)).batch(8)
    vectorize_layer = layers.TextVectorization(max_tokens=100, output_mode="int",
                                               output_sequence_length=30)
    vectorize_layer.adapt(raw_train_ds.map(lambda x, y: x))

    def vectorize_text(text: Any, label: Any) -> Any:
        text = tf.expand_dims(text, -1)
        return vectorize_layer(text), label

    train_ds = raw_train_ds.map(vectorize_text)
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(100, 8)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(8, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(8, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(8, activation="relu")(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    model = g(keras.Model(inputs, predictions))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(train_ds, validation_data=train_ds, epochs=1, verbose=0)
    inputs = keras.Input(shape=(1,), dtype="string")
    indices = vectorize_layer(inputs)
    outputs = model(indices)
    end_to_end_model = g(keras.Model(inputs, outputs))
    end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return hist(history), end_to_end_model.evaluate(raw_train_ds, verbose=0)


@program
def keras_io_pretrained_embeddings_conv1d(g: Any) -> Any:
    """keras.io 'Using pre-trained word embeddings': frozen Embedding (Constant initializer), Conv1D(5)/MaxPooling1D(5) x2, GlobalMaxPooling1D, softmax over classes, sparse_categorical_crossentropy."""
    num_tokens, embedding_dim, num_classes = 50, 8, 4
    embedding_matrix = rng().normal(size=(num_tokens, embedding_dim))
    int_sequences_input = keras.Input(shape=(None,), dtype="int32")
    embedding_layer = layers.Embedding(num_tokens, embedding_dim, trainable=False,
                                       embeddings_initializer=keras.initializers.Constant(embedding_matrix))
    embedded_sequences = embedding_layer(int_sequences_input)
    x = layers.Conv1D(8, 5, activation="relu")(embedded_sequences)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(8, 5, activation="relu")(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(8, 5, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(8, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    preds = layers.Dense(num_classes, activation="softmax")(x)
    model = g(keras.Model(int_sequences_input, preds))
    r = rng()
    x_train = r.integers(1, num_tokens, (24, 200))
    y_train = r.integers(0, num_classes, 24)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["acc"])
    history = model.fit(x_train, y_train, batch_size=8, epochs=1,
                        validation_data=(x_train[:8], y_train[:8]), verbose=0)
    return hist(history), model.predict(x_train[:2], verbose=0)


@program
def tf_basic_text_classification(g: Any) -> Any:
    """tensorflow.org 'Basic text classification': Sequential([Embedding, Dropout, GlobalAveragePooling1D, Dropout, Dense(1)]), BinaryCrossentropy(from_logits=True), BinaryAccuracy, tf.data of int vectors."""
    r = rng()
    x = r.integers(1, 60, (32, 20)).astype("int64")
    y = r.integers(0, 2, 32).astype("int32")
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).cache().prefetch(tf.data.AUTOTUNE)
    model = g(keras.Sequential([layers.Embedding(60, 8), layers.Dropout(0.2),
                                layers.GlobalAveragePooling1D(), layers.Dropout(0.2), layers.Dense(1)]))
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer="adam",
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.5)])
    history = model.fit(train_ds, validation_data=train_ds, epochs=1, verbose=0)
    return hist(history), model.evaluate(train_ds, verbose=0)


@program
def keras_io_char_lstm_text_generation(g: Any) -> Any:
    """keras.io 'Character-level text generation with LSTM': x and y are np.zeros(..., dtype='bool') one-hot, LSTM(128) -> Dense(chars, softmax), categorical_crossentropy, sampling with predict."""
    text = "the quick brown fox jumps over the lazy dog " * 3
    chars = sorted(set(text))
    char_indices = {c: i for i, c in enumerate(chars)}
    maxlen, step = 10, 3
    sentences = [text[i:i + maxlen] for i in range(0, len(text) - maxlen, step)]
    next_chars = [text[i + maxlen] for i in range(0, len(text) - maxlen, step)]
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
    y = np.zeros((len(sentences), len(chars)), dtype="bool")
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    model = g(keras.Sequential([keras.Input(shape=(maxlen, len(chars))), layers.LSTM(16),
                                layers.Dense(len(chars), activation="softmax")]))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    x_pred = np.zeros((1, maxlen, len(chars)))
    for t, char in enumerate("the quick "):
        x_pred[0, t, char_indices[char]] = 1.0
    preds = model.predict(x_pred, verbose=0)[0]
    return hist(history), preds


@program
def keras_io_lstm_seq2seq_character(g: Any) -> Any:
    """keras.io 'Character-level recurrent sequence-to-sequence model': encoder LSTM(return_state), decoder LSTM(initial_state), fit([enc, dec], target, validation_split=0.2), then the inference encoder/decoder models."""
    num_encoder_tokens, num_decoder_tokens, latent_dim = 12, 14, 16
    n, max_enc, max_dec = 20, 7, 6
    r = rng()
    encoder_input_data = np.zeros((n, max_enc, num_encoder_tokens), dtype="float32")
    decoder_input_data = np.zeros((n, max_dec, num_decoder_tokens), dtype="float32")
    decoder_target_data = np.zeros((n, max_dec, num_decoder_tokens), dtype="float32")
    for i in range(n):
        for t in range(max_enc):
            encoder_input_data[i, t, r.integers(num_encoder_tokens)] = 1.0
        tokens = r.integers(num_decoder_tokens, size=max_dec)
        for t, tok in enumerate(tokens):
            decoder_input_data[i, t, tok] = 1.0
            if t > 0:
                decoder_target_data[i, t - 1, tok] = 1.0
    encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
    encoder = layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
    decoder_lstm = layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = layers.Dense(num_decoder_tokens, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = g(keras.Model([encoder_inputs, decoder_inputs], decoder_outputs))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit([encoder_input_data, decoder_input_data], decoder_target_data,
                        batch_size=8, epochs=1, validation_split=0.2, verbose=0)
    encoder_model = g(keras.Model(encoder_inputs, encoder_states))
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    d_out, d_h, d_c = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
    d_out = decoder_dense(d_out)
    decoder_model = g(keras.Model([decoder_inputs] + decoder_states_inputs, [d_out, d_h, d_c]))
    states_value = encoder_model.predict(encoder_input_data[:1], verbose=0)
    target_seq = np.zeros((1, 1, num_decoder_tokens))
    target_seq[0, 0, 0] = 1.0
    decoded = []
    for _ in range(3):
        output_tokens, h, c = decoder_model.predict([target_seq] + states_value, verbose=0)
        sampled = int(np.argmax(output_tokens[0, -1, :]))
        decoded.append(sampled)
        target_seq = np.zeros((1, 1, num_decoder_tokens))
        target_seq[0, 0, sampled] = 1.0
        states_value = [h, c]
    return hist(history), decoded, output_tokens


@program
def keras_guide_masking_mask_zero(g: Any) -> Any:
    """Keras guide 'Understanding masking & padding': pad_sequences(padding='post'), Embedding(mask_zero=True) -> LSTM, and a Masking(mask_value=0.) layer over float sequences."""
    raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]] * 4
    padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
    labels = np.array([0, 1, 1] * 4)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=8, mask_zero=True)(inputs)
    x = layers.LSTM(8)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = g(keras.Model(inputs, outputs))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    h1 = model.fit(padded_inputs, labels, epochs=1, batch_size=4, verbose=0)
    floats = np.zeros((12, 6, 3), dtype="float32")
    floats[:, :4] = rng().normal(size=(12, 4, 3))
    masked = g(keras.Sequential([keras.Input((6, 3)), layers.Masking(mask_value=0.0), layers.LSTM(8),
                                 layers.Dense(1)]))
    masked.compile(optimizer="adam", loss="mse")
    h2 = masked.fit(floats, labels.astype("float32"), epochs=1, batch_size=4, verbose=0)
    return hist(h1), hist(h2)


# ========================================================================== image models
def mnist_like(n: int = 32, channels_axis: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r = rng()
    x = r.integers(0, 256, (n, 28, 28)).astype("uint8")
    y = r.integers(0, 10, n).astype("uint8")
    return x, y


@program
def keras_io_mnist_convnet(g: Any) -> Any:
    """keras.io 'Simple MNIST convnet': np.expand_dims(x, -1), to_categorical labels, Input((28, 28, 1)) Conv2D/MaxPooling2D/Flatten/Dropout/Dense(softmax), validation_split=0.1, evaluate."""
    (x_train, y_train) = mnist_like(40)
    x_train = x_train.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    y_train = keras.utils.to_categorical(y_train, 10)
    model = g(keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax")]))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=16, epochs=1, validation_split=0.1, verbose=0)
    score = model.evaluate(x_train[:8], y_train[:8], verbose=0)
    return hist(history), score


@program
def tf_beginner_quickstart(g: Any) -> Any:
    """tensorflow.org 'TensorFlow 2 quickstart for beginners': Flatten(input_shape=(28, 28)), Dense(128), Dropout, Dense(10) logits, model(x_train[:1]) called directly, SparseCategoricalCrossentropy(from_logits=True) on uint8 labels, probability_model."""
    x_train, y_train = mnist_like(32)
    x_train = x_train / 255.0
    model = g(keras.models.Sequential([
        layers.Flatten(input_shape=(28, 28)),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10)]))
    predictions = model(x_train[:1]).numpy()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    first_loss = loss_fn(y_train[:1], predictions).numpy()
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=1, verbose=0)
    score = model.evaluate(x_train[:8], y_train[:8], verbose=0)
    probability_model = keras.Sequential([model, layers.Softmax()])
    return predictions, first_loss, score, probability_model(x_train[:5])


@program
def tf_fashion_mnist_basic_classification(g: Any) -> Any:
    """tensorflow.org 'Basic classification: Classify images of clothing': train_images / 255.0, probability_model.predict(test_images), np.expand_dims(img, 0) for a single image."""
    train_images, train_labels = mnist_like(32)
    train_images = train_images / 255.0
    model = g(keras.Sequential([keras.Input((28, 28)), layers.Flatten(),
                                layers.Dense(32, activation="relu"), layers.Dense(10)]))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train_images, train_labels, epochs=1, verbose=0)
    test_loss, test_acc = model.evaluate(train_images[:8], train_labels[:8], verbose=0)
    probability_model = g(keras.Sequential([model, layers.Softmax()]))
    predictions = probability_model.predict(train_images[:4], verbose=0)
    img = np.expand_dims(train_images[1], 0)
    predictions_single = probability_model.predict(img, verbose=0)
    return test_loss, predictions, predictions_single


@program
def tf_cnn_cifar10(g: Any) -> Any:
    """tensorflow.org 'Convolutional Neural Network (CNN)' CIFAR-10: Conv2D(input_shape=(32, 32, 3)), labels of shape (n, 1), SparseCategoricalCrossentropy(from_logits=True), validation_data."""
    r = rng()
    train_images = r.integers(0, 256, (24, 32, 32, 3)).astype("uint8") / 255.0
    train_labels = r.integers(0, 10, (24, 1)).astype("uint8")
    model = g(keras.models.Sequential([
        layers.Conv2D(8, (3, 3), activation="relu", input_shape=(32, 32, 3)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(8, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(8, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.Dense(10)]))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(train_images, train_labels, epochs=1,
                        validation_data=(train_images[:8], train_labels[:8]), verbose=0)
    return hist(history), model.evaluate(train_images[:8], train_labels[:8], verbose=0)


@program
def keras_guide_toy_resnet_cifar(g: Any) -> Any:
    """Keras functional API guide 'A toy ResNet model': add() skip connections, to_categorical of (n, 1) CIFAR labels, CategoricalCrossentropy(from_logits=True), validation_split=0.2."""
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(8, 3, activation="relu")(block_2_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(16, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = g(keras.Model(inputs, outputs, name="toy_resnet"))
    r = rng()
    x_train = r.integers(0, 256, (20, 32, 32, 3)).astype("float32") / 255.0
    y_train = keras.utils.to_categorical(r.integers(0, 10, (20, 1)), 10)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
    history = model.fit(x_train, y_train, batch_size=8, epochs=1, validation_split=0.2, verbose=0)
    return hist(history)


@program
def keras_blog_dense_autoencoder(g: Any) -> Any:
    """Keras blog 'Building Autoencoders in Keras': 784 -> 32 -> 784 autoencoder plus separate encoder and decoder models, binary_crossentropy, fit(x, x, validation_data=(x_test, x_test))."""
    encoding_dim = 32
    input_img = keras.Input(shape=(784,))
    encoded = layers.Dense(encoding_dim, activation="relu")(input_img)
    decoded = layers.Dense(784, activation="sigmoid")(encoded)
    autoencoder = g(keras.Model(input_img, decoded))
    encoder = g(keras.Model(input_img, encoded))
    encoded_input = keras.Input(shape=(encoding_dim,))
    decoder_layer = autoencoder.layers[-1]
    decoder = g(keras.Model(encoded_input, decoder_layer(encoded_input)))
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    x_train, _ = mnist_like(24)
    x_train = x_train.astype("float32") / 255.0
    x_train = x_train.reshape((len(x_train), np.prod(x_train.shape[1:])))
    x_test = x_train[:8]
    history = autoencoder.fit(x_train, x_train, epochs=1, batch_size=8, shuffle=True,
                              validation_data=(x_test, x_test), verbose=0)
    encoded_imgs = encoder.predict(x_test, verbose=0)
    decoded_imgs = decoder.predict(encoded_imgs, verbose=0)
    return hist(history), encoded_imgs, decoded_imgs


@program
def keras_io_denoising_conv_autoencoder(g: Any) -> Any:
    """keras.io 'Convolutional autoencoder for image denoising': np.reshape(array, (n, 28, 28, 1)), Conv2D/MaxPooling2D(padding='same') encoder, Conv2DTranspose(strides=2) decoder, fit(noisy, clean, validation_data)."""
    train_data, _ = mnist_like(16)
    train_data = np.reshape(train_data.astype("float32") / 255.0, (len(train_data), 28, 28, 1))
    noisy = np.clip(train_data + 0.4 * rng().normal(size=train_data.shape), 0.0, 1.0)
    input = layers.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(input)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = g(keras.Model(input, x))
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    history = autoencoder.fit(x=noisy, y=train_data, epochs=1, batch_size=8, shuffle=True,
                              validation_data=(noisy[:4], train_data[:4]), verbose=0)
    return hist(history), autoencoder.predict(noisy[:2], verbose=0)


class Sampling(layers.Layer):
    """keras.io VAE: z = z_mean + exp(0.5 * z_log_var) * epsilon."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs: Any) -> Any:
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    """keras.io 'Variational AutoEncoder': a Model subclass with its own train_step and no call()."""

    def __init__(self, encoder: Any, decoder: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")

    @property
    def metrics(self) -> list[Any]:
        return [self.total_loss_tracker]

    def train_step(self, data: Any) -> Any:
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(ops.sum(
                keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            total_loss = reconstruction_loss + ops.mean(ops.sum(kl_loss, axis=1))
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        return {"loss": self.total_loss_tracker.result()}


@program
def keras_io_vae_custom_train_step(g: Any) -> Any:
    """keras.io 'Variational AutoEncoder': encoder/decoder functional models, VAE(keras.Model) with train_step and no call(), vae.compile(optimizer) without a loss, vae.fit(mnist_digits)."""
    latent_dim = 2
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(8, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(8, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = g(keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder"))
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 8, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 8))(x)
    x = layers.Conv2DTranspose(8, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(8, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    decoder = g(keras.Model(latent_inputs, decoder_outputs, name="decoder"))
    mnist_digits, _ = mnist_like(16)
    mnist_digits = np.expand_dims(mnist_digits, -1).astype("float32") / 255
    vae = g(VAE(encoder, decoder))
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(mnist_digits, epochs=1, batch_size=8, verbose=0)
    z_mean, _, _ = vae.encoder.predict(mnist_digits[:4], verbose=0)
    x_decoded = vae.decoder.predict(np.array([[0.5, -0.5]]), verbose=0)
    return hist(history), z_mean, x_decoded


@program
def keras_io_image_classification_augmentation(g: Any) -> Any:
    """keras.io 'Image classification from scratch': data_augmentation Sequential (RandomFlip, RandomRotation) inside the model, Rescaling(1/255), Dense(1) logits, BinaryCrossentropy(from_logits=True), tf.data with int32 labels."""
    r = rng()
    images = r.integers(0, 256, (16, 32, 32, 3)).astype("float32")
    labels = r.integers(0, 2, 16).astype("int32")
    train_ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).prefetch(tf.data.AUTOTUNE)
    data_augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
    inputs = keras.Input(shape=(32, 32, 3))
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(8, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(1, activation=None)(x)
    model = g(keras.Model(inputs, outputs))
    model.compile(optimizer=keras.optimizers.Adam(3e-4),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="acc")])
    history = model.fit(train_ds, epochs=1, validation_data=train_ds, verbose=0)
    img = np.expand_dims(images[0], 0)
    predictions = model.predict(img, verbose=0)
    return hist(history), float(keras.ops.sigmoid(predictions[0][0]))


@program
def keras_guide_transfer_learning_frozen_base(g: Any) -> Any:
    """Keras guide 'Transfer learning & fine-tuning': frozen base_model called with training=False inside a new Model, GlobalAveragePooling2D, Dense(1) logits; then unfreeze, recompile and fit again."""
    base_in = keras.Input((32, 32, 3))
    b = layers.Conv2D(8, 3, strides=2, activation="relu")(base_in)
    b = layers.BatchNormalization()(b)
    base_model = keras.Model(base_in, layers.Conv2D(8, 3, activation="relu")(b), name="base")
    base_model.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    scale_layer = layers.Rescaling(scale=1 / 127.5, offset=-1)
    x = scale_layer(inputs)
    x = base_model(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1)(x)
    model = g(keras.Model(inputs, outputs))
    r = rng()
    ds = tf.data.Dataset.from_tensor_slices((r.integers(0, 256, (16, 32, 32, 3)).astype("float32"),
                                             r.integers(0, 2, 16))).batch(8)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    h1 = model.fit(ds, epochs=1, validation_data=ds, verbose=0)
    base_model.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    h2 = model.fit(ds, epochs=1, validation_data=ds, verbose=0)
    return hist(h1), hist(h2)


@program
def keras_io_timeseries_classification_fcn(g: Any) -> Any:
    """keras.io 'Timeseries classification from scratch' (FordA): x.reshape((n, len, 1)), labels loaded as floats with -1 -> 0, Conv1D/BatchNorm/ReLU x3, GlobalAveragePooling1D, sparse_categorical_crossentropy, validation_split=0.2."""
    r = rng()
    x_train = r.normal(size=(20, 50))
    y_train = r.choice([-1.0, 1.0], 20)
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    num_classes = len(np.unique(y_train))
    y_train[y_train == -1] = 0
    input_layer = keras.layers.Input(x_train.shape[1:])
    x = input_layer
    for _ in range(3):
        x = layers.Conv1D(filters=8, kernel_size=3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    gap = layers.GlobalAveragePooling1D()(x)
    output_layer = layers.Dense(num_classes, activation="softmax")(gap)
    model = g(keras.Model(inputs=input_layer, outputs=output_layer))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    history = model.fit(x_train, y_train, batch_size=8, epochs=1, validation_split=0.2, verbose=0)
    return hist(history), model.evaluate(x_train, y_train, verbose=0)


# ========================================================== multi-input / multi-output models
def ticket_model(num_tags: int = 12, num_words: int = 100, num_departments: int = 4) -> Any:
    """Keras functional API guide: the ticket-ranking model (title, body, tags -> priority, department)."""
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 8)(title_input)
    body_features = layers.Embedding(num_words, 8)(body_input)
    title_features = layers.LSTM(8)(title_features)
    body_features = layers.LSTM(4)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    return keras.Model(inputs=[title_input, body_input, tags_input],
                       outputs={"priority": priority_pred, "department": department_pred})


def ticket_data(num_tags: int = 12, num_words: int = 100, num_departments: int = 4) -> Any:
    r = rng()
    title_data = r.integers(num_words, size=(16, 10))
    body_data = r.integers(num_words, size=(16, 20))
    tags_data = r.integers(2, size=(16, num_tags)).astype("float32")
    priority_targets = r.random(size=(16, 1))
    dept_targets = r.integers(2, size=(16, num_departments))
    return title_data, body_data, tags_data, priority_targets, dept_targets


@program
def keras_guide_functional_multi_io_dicts(g: Any) -> Any:
    """Keras functional API guide 'Models with multiple inputs and outputs': fit({'title', 'body', 'tags'}, {'priority', 'department'}) with loss and loss_weights dicts."""
    model = g(ticket_model())
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    title_data, body_data, tags_data, priority_targets, dept_targets = ticket_data()
    history = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                        {"priority": priority_targets, "department": dept_targets},
                        epochs=1, batch_size=8, verbose=0)
    preds = model.predict({"title": title_data[:2], "body": body_data[:2], "tags": tags_data[:2]},
                          verbose=0)
    return hist(history), preds


@program
def keras_guide_functional_multi_io_lists(g: Any) -> Any:
    """Keras functional API guide, list form: model with output list, compile(loss=[BinaryCrossentropy, CategoricalCrossentropy], loss_weights=[1.0, 0.2]), fit([title, body, tags], [priority, department])."""
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(12,), name="tags")
    t = layers.LSTM(8)(layers.Embedding(100, 8)(title_input))
    b = layers.LSTM(4)(layers.Embedding(100, 8)(body_input))
    x = layers.concatenate([t, b, tags_input])
    model = g(keras.Model(inputs=[title_input, body_input, tags_input],
                          outputs=[layers.Dense(1, name="priority")(x),
                                   layers.Dense(4, name="department")(x)]))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[keras.losses.BinaryCrossentropy(from_logits=True),
                        keras.losses.CategoricalCrossentropy(from_logits=True)],
                  loss_weights=[1.0, 0.2])
    title_data, body_data, tags_data, priority_targets, dept_targets = ticket_data()
    history = model.fit([title_data, body_data, tags_data], [priority_targets, dept_targets],
                        epochs=1, batch_size=8, verbose=0)
    return hist(history), model.predict([title_data[:2], body_data[:2], tags_data[:2]], verbose=0)


@program
def keras_guide_tf_data_multi_io(g: Any) -> Any:
    """Keras guide 'Training & evaluation': tf.data of ({'img_input', 'ts_input'}, {'score_output', 'class_output'}) into a Conv2D + Conv1D two-input, two-output model, loss=[MeanSquaredError(), CategoricalCrossentropy()]."""
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)
    x2 = layers.Conv1D(3, 3)(timeseries_input)
    x2 = layers.GlobalMaxPooling1D()(x2)
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = g(keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output]))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
    r = rng()
    img_data = r.random(size=(16, 32, 32, 3))
    ts_data = r.random(size=(16, 20, 10))
    score_targets = r.random(size=(16, 1))
    class_targets = r.integers(2, size=(16, 5))
    train_dataset = tf.data.Dataset.from_tensor_slices((
        {"img_input": img_data, "ts_input": ts_data},
        {"score_output": score_targets, "class_output": class_targets})).shuffle(16, seed=0).batch(8)
    history = model.fit(train_dataset, epochs=1, verbose=0)
    h2 = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=8, epochs=1, verbose=0)
    return hist(history), hist(h2)


@program
def keras_io_siamese_contrastive(g: Any) -> Any:
    """keras.io 'Image similarity estimation using a Siamese Network with a contrastive loss': shared tower, Lambda(euclidean_distance), fit([x1, x2], labels, validation_data) with a custom loss function."""

    def euclidean_distance(vects: Any) -> Any:
        x, y = vects
        sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
        return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))

    def loss(margin: float = 1.0) -> Any:
        def contrastive_loss(y_true: Any, y_pred: Any) -> Any:
            square_pred = ops.square(y_pred)
            margin_square = ops.square(ops.maximum(margin - y_pred, 0))
            return ops.mean((1 - y_true) * square_pred + y_true * margin_square)
        return contrastive_loss

    input = keras.layers.Input((28, 28, 1))
    x = layers.BatchNormalization()(input)
    x = layers.Conv2D(4, (5, 5), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(10, activation="tanh")(x)
    embedding_network = keras.Model(input, x)
    input_1 = keras.layers.Input((28, 28, 1))
    input_2 = keras.layers.Input((28, 28, 1))
    tower_1 = embedding_network(input_1)
    tower_2 = embedding_network(input_2)
    merge_layer = layers.Lambda(euclidean_distance, output_shape=(1,))([tower_1, tower_2])
    normal_layer = layers.BatchNormalization()(merge_layer)
    output_layer = layers.Dense(1, activation="sigmoid")(normal_layer)
    siamese = g(keras.Model(inputs=[input_1, input_2], outputs=output_layer))
    siamese.compile(loss=loss(margin=1), optimizer="RMSprop", metrics=["accuracy"])
    r = rng()
    x_train_1 = r.random((16, 28, 28, 1)).astype("float32")
    x_train_2 = r.random((16, 28, 28, 1)).astype("float32")
    labels_train = r.integers(0, 2, 16).astype("float32")
    history = siamese.fit([x_train_1, x_train_2], labels_train,
                          validation_data=([x_train_1[:4], x_train_2[:4]], labels_train[:4]),
                          batch_size=8, epochs=1, verbose=0)
    return hist(history), siamese.evaluate([x_train_1, x_train_2], labels_train, verbose=0)


@program
def keras_io_structured_data_dict_inputs(g: Any) -> Any:
    """keras.io 'Structured data classification from scratch': tf.data of (dict(dataframe), labels) with scalar columns, one keras.Input(shape=(1,), name=...) per feature, Normalization adapted per feature, validation_data."""
    r = rng()
    n = 24
    columns = {"age": r.integers(20, 80, n).astype("int64"),
               "trestbps": r.integers(90, 180, n).astype("int64"),
               "chol": r.integers(150, 350, n).astype("int64"),
               "oldpeak": r.random(n).astype("float64") * 4}
    target = r.integers(0, 2, n)
    train_ds = tf.data.Dataset.from_tensor_slices((dict(columns), target)).shuffle(n, seed=0).batch(8)

    def encode_numerical_feature(feature: Any, name: str, dataset: Any) -> Any:
        normalizer = layers.Normalization()
        feature_ds = dataset.map(lambda x, y: x[name])
        feature_ds = feature_ds.map(lambda x: tf.expand_dims(x, -1))
        normalizer.adapt(feature_ds)
        return normalizer(feature)

    inputs = {name: keras.Input(shape=(1,), name=name) for name in columns}
    all_features = layers.concatenate([encode_numerical_feature(inputs[name], name, train_ds)
                                       for name in columns])
    x = layers.Dense(8, activation="relu")(all_features)
    x = layers.Dropout(0.5)(x)
    output = layers.Dense(1, activation="sigmoid")(x)
    model = g(keras.Model(list(inputs.values()), output))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train_ds, epochs=1, validation_data=train_ds, verbose=0)
    sample = {"age": 60, "trestbps": 145, "chol": 233, "oldpeak": 2.3}
    input_dict = {name: tf.convert_to_tensor([value]) for name, value in sample.items()}
    predictions = model.predict(input_dict, verbose=0)
    return hist(history), predictions


# ======================================================================= subclassed models
class MyModel(keras.Model):
    """tensorflow.org 'TensorFlow 2 quickstart for experts': Conv2D, Flatten, Dense, Dense."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = layers.Conv2D(8, 3, activation="relu")
        self.flatten = layers.Flatten()
        self.d1 = layers.Dense(16, activation="relu")
        self.d2 = layers.Dense(10)

    def call(self, x: Any) -> Any:
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


@program
def tf_quickstart_experts_gradient_tape(g: Any) -> Any:
    """tensorflow.org 'TensorFlow 2 quickstart for experts': subclassed MyModel, x[..., tf.newaxis], tf.data shuffle/batch, @tf.function train_step with GradientTape calling model(images, training=True)."""
    x_train, y_train = mnist_like(24)
    x_train = (x_train / 255.0)[..., tf.newaxis].astype("float32")
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(100, seed=0).batch(8)
    model = g(MyModel())
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam()
    train_loss = keras.metrics.Mean(name="train_loss")

    @tf.function
    def train_step(images: Any, labels: Any) -> Any:
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)

    for images, labels in train_ds:
        train_step(images, labels)
    test_predictions = model(x_train[:4], training=False)
    return float(train_loss.result()), test_predictions


class MLPSub(keras.Model):
    """TF 'Model subclassing' guide MyModel: dense1 (relu) -> dropout -> dense2 (softmax)."""

    def __init__(self) -> None:
        super().__init__()
        self.dense1 = layers.Dense(4, activation="relu")
        self.dense2 = layers.Dense(5, activation="softmax")
        self.dropout = layers.Dropout(0.5)

    def call(self, inputs: Any, training: bool = False) -> Any:
        x = self.dense1(inputs)
        if training:
            x = self.dropout(x, training=training)
        return self.dense2(x)


@program
def tf_guide_subclassed_mlp_fit(g: Any) -> Any:
    """TF/Keras 'Making new layers and models via subclassing' MyModel(dense1, dropout, dense2) with call(inputs, training), compiled and fit on (n, 3) features with integer labels."""
    r = rng()
    x, y = r.random((20, 3)).astype("float32"), r.integers(0, 5, 20)
    model = g(MLPSub())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=1, validation_data=(x[:4], y[:4]), verbose=0)
    return hist(history), model.predict(x[:3], verbose=0), model(x[:2]).numpy()


class UnivariateForecaster(keras.Model):
    """A subclassed forecaster taking (batch, timesteps) series: expand_dims to (batch, timesteps, 1) in call()."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = layers.LSTM(16)
        self.out = layers.Dense(1)

    def call(self, inputs: Any) -> Any:
        x = ops.expand_dims(inputs, -1)
        return self.out(self.lstm(x))


@program
def subclassed_expand_dims_lstm(g: Any) -> Any:
    """Subclassed keras.Model forecasting tutorials: call() does ops.expand_dims(inputs, -1) so a (batch, 12) univariate window feeds an LSTM."""
    series = np.sin(np.arange(60) / 4).astype("float32")
    X = np.stack([series[i:i + 12] for i in range(32)])
    y = series[12:44]
    model = g(UnivariateForecaster())
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, y, epochs=1, batch_size=8, validation_data=(X[:8], y[:8]), verbose=0)
    return hist(history), model.predict(X[:2], verbose=0)


class FlatClassifier(keras.Model):
    """A subclassed classifier whose call() reshapes (batch, 28, 28) images to (batch, 784)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.logits = layers.Dense(10)

    def call(self, images: Any) -> Any:
        x = ops.reshape(images, (-1, 28 * 28))
        return self.logits(self.hidden(x))


@program
def subclassed_reshape_classifier(g: Any) -> Any:
    """Subclassed keras.Model MNIST classifiers that flatten with ops.reshape(images, (-1, 784)) in call(), SparseCategoricalCrossentropy(from_logits=True)."""
    x, y = mnist_like(24)
    x = x.astype("float32") / 255.0
    model = g(FlatClassifier())
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return hist(history), model.evaluate(x[:8], y[:8], verbose=0), model.predict(x[:2], verbose=0)


class TwoTower(keras.Model):
    """A subclassed model with call((a, b)): two Dense towers, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.da = layers.Dense(8, activation="relu")
        self.db = layers.Dense(8, activation="relu")
        self.head = layers.Dense(1, activation="sigmoid")

    def call(self, inputs: Any) -> Any:
        a, b = inputs
        return self.head(ops.concatenate([self.da(a), self.db(b)], axis=-1))


@program
def subclassed_two_inputs_concat(g: Any) -> Any:
    """Subclassed keras.Model with call(inputs) unpacking (a, b) and ops.concatenate of two towers, fit([a, b], y) and predict((a, b))."""
    r = rng()
    a, b = r.random((16, 5)).astype("float32"), r.random((16, 3)).astype("float32")
    y = r.integers(0, 2, (16, 1)).astype("float32")
    model = g(TwoTower())
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit([a, b], y, epochs=1, batch_size=8, verbose=0)
    return hist(history), model.predict((a[:2], b[:2]), verbose=0)


class WideAndDeep(keras.Model):
    """A subclassed recommender taking a dict of inputs: user id embedding + numeric features."""

    def __init__(self) -> None:
        super().__init__()
        self.user_emb = layers.Embedding(20, 4)
        self.deep = layers.Dense(8, activation="relu")
        self.out = layers.Dense(1)

    def call(self, inputs: Any) -> Any:
        u = ops.reshape(self.user_emb(inputs["user_id"]), (-1, 4))
        x = ops.concatenate([u, inputs["numeric"]], axis=-1)
        return self.out(self.deep(x))


@program
def subclassed_dict_inputs_embedding(g: Any) -> Any:
    """Subclassed recommender (TF Recommenders style) with call(inputs) reading inputs['user_id'] (batch, 1) ids and inputs['numeric'] features, fit on a dict and on a tf.data of dicts."""
    r = rng()
    feats = {"user_id": r.integers(0, 20, (16, 1)), "numeric": r.random((16, 3)).astype("float32")}
    y = r.random((16, 1)).astype("float32")
    model = g(WideAndDeep())
    model.compile(optimizer="adam", loss="mse")
    h1 = model.fit(feats, y, epochs=1, batch_size=8, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((feats, y)).batch(8)
    h2 = model.fit(ds, epochs=1, verbose=0)
    return hist(h1), hist(h2), model.predict(ds, verbose=0)


class CustomModel(keras.Model):
    """keras.io 'Customizing what happens in fit()' (TensorFlow): train_step and test_step."""

    def train_step(self, data: Any) -> Any:
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> Any:
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


@program
def keras_io_customizing_fit_train_step(g: Any) -> Any:
    """keras.io 'Customizing what happens in fit() with TensorFlow': CustomModel(inputs, outputs) overriding train_step/test_step, compile(loss='mse', metrics=['mae']), fit and evaluate."""
    inputs = keras.Input(shape=(32,))
    outputs = layers.Dense(1)(inputs)
    model = g(CustomModel(inputs, outputs))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    r = rng()
    x = r.random((32, 32))
    y = r.random((32, 1))
    history = model.fit(x, y, epochs=1, verbose=0)
    return hist(history), model.evaluate(x, y, verbose=0)


# =========================================================================== pipelines
@program
def tf_data_from_tensor_slices_batch(g: Any) -> Any:
    """Keras guide 'Training & evaluation with built-in methods': Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(64) for train/val/test, fit(validation_data=val_dataset), evaluate(test), predict on the (x, y) dataset."""
    r = rng()
    x_train = r.random((40, 784)).astype("float32")
    y_train = r.integers(0, 10, 40)
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1024, seed=0).batch(16)
    val_dataset = tf.data.Dataset.from_tensor_slices((x_train[:10], y_train[:10])).batch(16)
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(16, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(16, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = g(keras.Model(inputs=inputs, outputs=outputs))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(train_dataset, epochs=1, validation_data=val_dataset, verbose=0)
    result = model.evaluate(val_dataset, verbose=0)
    preds = model.predict(val_dataset, verbose=0)
    return hist(history), result, preds


@program
def tf_data_image_pipeline_map_cache_prefetch(g: Any) -> Any:
    """tensorflow.org 'Load and preprocess images' / tf.data performance guide: uint8 images mapped to float32/255 with num_parallel_calls, cache, shuffle, batch, prefetch(AUTOTUNE) into a small CNN."""
    r = rng()
    images = r.integers(0, 256, (20, 28, 28, 1)).astype("uint8")
    labels = r.integers(0, 10, 20).astype("int64")

    def normalize_img(image: Any, label: Any) -> Any:
        return tf.cast(image, tf.float32) / 255.0, label

    ds_train = tf.data.Dataset.from_tensor_slices((images, labels))
    ds_train = ds_train.map(normalize_img, num_parallel_calls=tf.data.AUTOTUNE)
    ds_train = ds_train.cache().shuffle(20, seed=0).batch(8).prefetch(tf.data.AUTOTUNE)
    model = g(keras.models.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                                       layers.Flatten(), layers.Dense(10)]))
    model.compile(optimizer=keras.optimizers.Adam(0.001),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(ds_train, epochs=1, validation_data=ds_train, verbose=0)
    return hist(history)


def batch_generator(x: np.ndarray, y: np.ndarray, batch_size: int) -> Any:
    """The classic infinite Keras generator: yields (x, y) batches forever."""
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


@program
def python_generator_fit_steps_per_epoch(g: Any) -> Any:
    """Classic Keras generator tutorials: an infinite Python generator of (x, y) batches, fit(gen, steps_per_epoch, validation_data=gen, validation_steps)."""
    r = rng()
    x, y = r.random((32, 6)).astype("float32"), r.random((32, 1)).astype("float32")
    model = g(keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(batch_generator(x, y, 8), steps_per_epoch=4, epochs=1,
                        validation_data=batch_generator(x[:16], y[:16], 8), validation_steps=2, verbose=0)
    return hist(history), model.predict(x[:4], verbose=0)


@program
def guarded_generator_with_spec(g: Any) -> Any:
    """The same generator guarded with a spec (docs/pipelines.md 'Guarding a stream you did not write'): sc.guard(gen, tuple[Float['batch 6'], Float['batch 1']]) passed to a guarded model's fit."""
    r = rng()
    x, y = r.random((32, 6)).astype("float32"), r.random((32, 1)).astype("float32")
    spec = tuple[Float[Array, "batch 6"], Float[Array, "batch 1"]]
    model = g(keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(g(batch_generator(x, y, 8), spec), steps_per_epoch=4, epochs=1, verbose=0)
    return hist(history)


class CIFAR10PyDataset(keras.utils.PyDataset):
    """keras.utils.PyDataset docs example: batches by index, the last one smaller."""

    def __init__(self, x_set: Any, y_set: Any, batch_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x, self.y = x_set, y_set
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, idx: int) -> Any:
        low = idx * self.batch_size
        high = min(low + self.batch_size, len(self.x))
        batch_x = self.x[low:high]
        batch_y = self.y[low:high]
        return batch_x.astype("float32") / 255.0, batch_y


@program
def keras_pydataset_subclass(g: Any) -> Any:
    """keras.utils.PyDataset docs example (CIFAR10PyDataset): __len__ = ceil(n / batch), __getitem__ slices (the last batch smaller), fit(train, validation_data=val), evaluate."""
    r = rng()
    x = r.integers(0, 256, (20, 32, 32, 3)).astype("uint8")
    y = r.integers(0, 10, (20, 1))
    train = CIFAR10PyDataset(x, y, batch_size=8)
    val = CIFAR10PyDataset(x[:6], y[:6], batch_size=4)
    model = g(keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, strides=2, activation="relu"),
                                layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")]))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, epochs=1, validation_data=val, verbose=0)
    return hist(history), model.evaluate(val, verbose=0)


@program
def guarded_timeseries_dataset_with_spec(g: Any) -> Any:
    """timeseries_dataset_from_array with sequence_stride and shuffle, guarded with a spec (docs/pipelines.md: a tf.data.Dataset is checked from element_spec), then fit by a guarded LSTM."""
    r = rng()
    data = r.normal(size=(120, 3)).astype("float32")
    targets = data[10:, 0]
    ds = keras.utils.timeseries_dataset_from_array(data[:-10], targets, sequence_length=10,
                                                   sequence_stride=2, shuffle=True, seed=0,
                                                   batch_size=16)
    ds = g(ds, tuple[Float[Array, "batch 10 3"], Float[Array, "batch"]])
    model = g(keras.Sequential([keras.Input((10, 3)), layers.LSTM(8), layers.Dense(1)]))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(ds, epochs=1, verbose=0)
    return hist(history)


@program
def tf_save_and_load_models(g: Any) -> Any:
    """tensorflow.org 'Save and load models': create_model() Dense(512, input_shape=(784,)), ModelCheckpoint(save_weights_only=True) callback with validation_data, model.save('my_model.keras'), load_model, evaluate."""
    import tempfile

    r = rng()
    train_images = r.random((24, 784)).astype("float32")
    train_labels = r.integers(0, 10, 24)
    test_images, test_labels = train_images[:8], train_labels[:8]

    def create_model() -> Any:
        model = keras.models.Sequential([layers.Dense(32, activation="relu", input_shape=(784,)),
                                         layers.Dropout(0.2), layers.Dense(10)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
        return model

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint_path = os.path.join(tmp, "cp.weights.h5")
        model = g(create_model())
        cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True)
        history = model.fit(train_images, train_labels, epochs=1, validation_data=(test_images, test_labels),
                            callbacks=[cp_callback], verbose=0)
        fresh = g(create_model())
        fresh.load_weights(checkpoint_path)
        restored = fresh.evaluate(test_images, test_labels, verbose=0)
        model.save(os.path.join(tmp, "my_model.keras"))
        new_model = g(keras.models.load_model(os.path.join(tmp, "my_model.keras")))
        loaded = new_model.evaluate(test_images, test_labels, verbose=0)
    return hist(history), restored, loaded


# ======================================================================= tabular models
@program
def mlm_pima_diabetes_first_project(g: Any) -> Any:
    """machinelearningmastery 'Your First Deep Learning Project in Python with Keras': X = dataset[:, 0:8] float64, y = dataset[:, 8], Dense 12-8-1 sigmoid, binary_crossentropy, (predict > 0.5).astype(int)."""
    r = rng()
    dataset = np.hstack([r.random((40, 8)) * 100, r.integers(0, 2, (40, 1))]).astype("float64")
    X, y = dataset[:, 0:8], dataset[:, 8]
    model = g(keras.Sequential([keras.Input(shape=(8,)), layers.Dense(12, activation="relu"),
                                layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")]))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    _, accuracy = model.evaluate(X, y, verbose=0)
    predictions = (model.predict(X, verbose=0) > 0.5).astype(int)
    return accuracy, predictions


@program
def dlwp_boston_housing_regression(g: Any) -> Any:
    """'Deep Learning with Python' Boston housing: Dense(64, input_shape=(13,)) -> Dense(1), mse/mae, K-fold style fit(validation_data=(val_data, val_targets)) with (n,) float64 targets."""
    r = rng()
    train_data = r.normal(size=(40, 13))
    train_targets = r.random(40) * 50
    model = g(keras.Sequential([layers.Dense(16, activation="relu", input_shape=(train_data.shape[1],)),
                                layers.Dense(16, activation="relu"), layers.Dense(1)]))
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    val_data, val_targets = train_data[:10], train_targets[:10]
    partial_train_data, partial_train_targets = train_data[10:], train_targets[10:]
    history = model.fit(partial_train_data, partial_train_targets, validation_data=(val_data, val_targets),
                        epochs=1, batch_size=16, verbose=0)
    return hist(history), model.evaluate(val_data, val_targets, verbose=0)


@program
def keras_guide_class_and_sample_weights(g: Any) -> Any:
    """Keras guide 'Training & evaluation': fit(class_weight={...}) and fit(sample_weight=...) with sparse labels on a Dense classifier."""
    r = rng()
    x_train, y_train = r.random((32, 10)).astype("float32"), r.integers(0, 4, 32)
    model = g(keras.Sequential([keras.Input((10,)), layers.Dense(8, activation="relu"),
                                layers.Dense(4, activation="softmax")]))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    class_weight = {0: 1.0, 1: 1.0, 2: 2.0, 3: 0.5}
    h1 = model.fit(x_train, y_train, class_weight=class_weight, batch_size=8, epochs=1, verbose=0)
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 3] = 2.0
    h2 = model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=8, epochs=1, verbose=0)
    return hist(h1), hist(h2)


@program
def classic_gan_train_on_batch(g: Any) -> Any:
    """Classic 'GAN in Keras' tutorials: generator and discriminator Sequentials, combined gan = Sequential([generator, discriminator]) with discriminator.trainable=False, train_on_batch loops."""
    latent_dim = 8
    generator = g(keras.Sequential([keras.Input((latent_dim,)), layers.Dense(16, activation="relu"),
                                    layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))]))
    discriminator = g(keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                        layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")]))
    discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, 0.5))
    discriminator.trainable = False
    gan = g(keras.Sequential([generator, discriminator]))
    gan.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, 0.5))
    r = rng()
    real = r.random((8, 28, 28, 1)).astype("float32") * 2 - 1
    batch_size = 4
    out = []
    for step in range(2):
        imgs = real[step * batch_size:(step + 1) * batch_size]
        noise = r.normal(0, 1, (batch_size, latent_dim))
        gen_imgs = generator.predict(noise, verbose=0)
        d_loss_real = discriminator.train_on_batch(imgs, np.ones((batch_size, 1)))
        d_loss_fake = discriminator.train_on_batch(gen_imgs, np.zeros((batch_size, 1)))
        g_loss = gan.train_on_batch(noise, np.ones((batch_size, 1)))
        out += [d_loss_real, d_loss_fake, g_loss]
    return out, discriminator.predict_on_batch(real[:2]), discriminator.test_on_batch(real[:4], np.ones((4, 1)))


# Programs the guard breaks: {name: (the exception, one line naming the bug)}. Empty since
# 88befcd, which fixed the seven this corpus found (seq2seq encoder/decoder and title/body
# lengths unified, bool and string inputs refused, (batch,) columns for Input((1,)), a
# subclassed call() taking (a, b)).
XFAIL: dict[str, tuple[Any, str]] = {}


FOUND = ("keras_io_text_classification_end_to_end", "keras_io_char_lstm_text_generation",
         "keras_io_lstm_seq2seq_character", "keras_guide_functional_multi_io_dicts",
         "keras_io_structured_data_dict_inputs", "subclassed_two_inputs_concat")
"""The programs the guard once refused: run in `make test` too."""


@pytest.mark.parametrize("program", corpus.params(XFAIL, every=20, always=FOUND))  # TF: ~4 s a program
def test_program(program: Any) -> None:
    """A correct public Keras program runs guarded exactly as it runs unguarded."""
    run_twice(program, seed, guard_limit=20.0, rtol=1e-4, atol=1e-5)


def test_corpus_is_large_enough() -> None:
    """The corpus keeps at least 40 Keras programs, each with a one-line docstring."""
    assert len(corpus.programs) >= 40
