"""One browser tab's playground: its settings, data, network, a training thread and the latest frame.

The thread trains while the session plays and publishes a *frame* — the epoch, both losses, the
output heat map, every neuron's heat map, the weights — at most ``fps`` times a second (and after
every :meth:`Session.step`). A reader (the page's event stream) waits for the next frame; frames it
is too slow to take are skipped, never queued. :meth:`Session.close` ends the thread.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from .data import make_data
from .network import Trainer, finite
from .state import PlaygroundError, PlaygroundState

HEATMAP_DENSITY, NEURON_DENSITY = 50, 16
ACTIONS = ("play", "pause", "step", "reset", "regenerate")


def _quantise(values):
    """Heat-map values in [−1, 1] as integers −100…100 (small JSON; clipped: relu/linear outputs may leave it)."""
    return np.clip(np.rint(np.nan_to_num(values) * 100), -100, 100).astype(int).ravel().tolist()


def _thin(history, limit):
    """At most ``limit`` evenly spaced entries of the loss history, the latest always included."""
    if len(history) <= limit:
        return list(history)
    step = -(-len(history) // limit)
    return history[::step][: limit - 1] + [history[-1]]


class Session:
    """A playground session; all methods are thread-safe.

    Args:
        state: a :class:`~shendu.playground.state.PlaygroundState`.
        fps: frames published per second at most while playing.
    """

    def __init__(self, state, fps=12.0):
        self.lock = threading.Condition()
        self.fps = float(fps)
        self.playing = False
        self.closed = False
        self.version = 0            # counts published frames
        self.frame = None
        self.history = []           # (epoch, train loss, test loss)
        self.rng_state = None       # the data's random stream, continued by each reset (as the original)
        with self.lock:
            self._rebuild(state, new_data=True)
        self.thread = threading.Thread(target=self._run, name="shendu-playground", daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ controls (page → server)
    def control(self, action=None, settings=None):
        """Apply a page's control: an action (play, pause, step, reset, regenerate) and/or new settings.

        Settings are ``{name: value}`` in TensorFlow Playground's names; any change resets the network
        (and redraws the data when a data setting changed), as the original does.

        Raises:
            PlaygroundError: an unknown action or a bad setting (nothing is changed then).
        """
        if action is not None and action not in ACTIONS:
            raise PlaygroundError(f"action: expected one of {', '.join(ACTIONS)}, got {action!r}")
        with self.lock:
            if settings:
                if not isinstance(settings, dict):
                    raise PlaygroundError(f"settings: expected an object of name: value, got {type(settings).__name__}")
                candidate = PlaygroundState.from_hash(self.state.to_hash())
                for name, value in settings.items():
                    candidate.set(str(name), value if not isinstance(value, list) else ",".join(map(str, value)),
                                  validate=False)
                candidate.validate()
                data_keys = {"dataset", "regDataset", "problem", "noise", "percTrainData", "seed"}
                self._rebuild(candidate, new_data=bool(data_keys & set(settings)))
            if action == "play":
                self.playing = True
            elif action == "pause":
                self.playing = False
                self._publish(*self.trainer.losses())
            elif action == "step":
                self.playing = False
                self._publish(*self._train_epoch())
            elif action == "reset":
                self.playing = False
                self._rebuild(self.state, new_data=False)
            elif action == "regenerate":
                self.playing = False
                self.state.seed = f"{np.random.default_rng().random():.5f}"
                self._rebuild(self.state, new_data=True)
            self.lock.notify_all()
        return self.describe()

    def describe(self):
        """What the page needs besides frames: the settings (and URL hash), the data points, playing."""
        with self.lock:
            return {"state": self.state.to_dict(), "hash": self.state.to_hash(), "playing": self.playing,
                    "train": np.round(self.train, 4).tolist(), "test": np.round(self.test, 4).tolist()}

    def next_frame(self, after, timeout):
        """The first frame newer than version ``after``, waiting up to ``timeout`` s; None when none came
        or the session closed. Returns (version, frame)."""
        with self.lock:
            self.lock.wait_for(lambda: self.closed or self.version > after, timeout)
            if self.closed or self.version <= after:
                return after, None
            return self.version, self.frame

    def close(self):
        """Stop training and end the thread (a closed tab)."""
        with self.lock:
            self.closed = True
            self.playing = False
            self.lock.notify_all()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)

    # ------------------------------------------------------------ inside (lock held)
    def _rebuild(self, state, new_data):
        self.state = state
        if new_data or self.rng_state is None:
            self.train, self.test, rng = make_data(state)
        else:
            rng = self.rng_state      # reset: fresh weights from the same stream, continued
        self.trainer = Trainer(state, self.train, self.test, rng)
        self.rng_state = rng
        self.history = []
        self._publish(*self.trainer.losses())

    def _train_epoch(self):
        try:
            train_loss, test_loss = self.trainer.epoch()
        except FloatingPointError:
            train_loss = test_loss = float("nan")
        self.history.append((self.trainer.epochs, finite(train_loss), finite(test_loss)))
        return train_loss, test_loss

    def _publish(self, train_loss, test_loss):
        grids = self.trainer.grid(NEURON_DENSITY)
        output = self.trainer.grid(HEATMAP_DENSITY)[-1][0]
        net = self.trainer.net
        self.frame = {
            "epoch": self.trainer.epochs, "lossTrain": finite(train_loss), "lossTest": finite(test_loss),
            "playing": self.playing,
            "heatmap": {"density": HEATMAP_DENSITY, "values": _quantise(output)},
            "neurons": {"density": NEURON_DENSITY, "layers": [[_quantise(g) for g in layer] for layer in grids]},
            "weights": [np.round(layer.weight.numpy(), 4).tolist() for layer in net.linears],
            "biases": [np.round(layer.bias.numpy(), 4).tolist() for layer in net.linears],
            "history": _thin(self.history, 300),
        }
        self.version += 1
        self.lock.notify_all()

    def _run(self):
        last = 0.0
        while True:
            with self.lock:
                if self.closed:
                    return
                if not self.playing:
                    self.lock.wait(0.5)
                    continue
                with np.errstate(all="ignore"):
                    losses = self._train_epoch()
                now = time.monotonic()
                if now - last >= 1.0 / self.fps:
                    self._publish(*losses)
                    last = now
            time.sleep(0)     # let a control or a reader take the lock between epochs
