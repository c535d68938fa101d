"""Training: :class:`Trainer` (the one set-up path and the loops of ``fit``, ``evaluate``,
``predict``), losses by name (Keras's probability losses included), metrics, callbacks and
checkpoints. ``Module.compile`` / ``fit`` / ``evaluate`` / ``predict`` are methods of
:class:`shendu.nn.Module` that create and call a Trainer (docs/training.md)."""
from .batches import ArrayBatches, make_batches
from .callbacks import (Callback, CSVLogger, EarlyStopping, History, LambdaCallback, LearningRateScheduler,
                        ModelCheckpoint, ProgressBar)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, resolve_loss
from .metrics import (F1, Accuracy, ConfusionMatrix, MeanAbsoluteError, MeanSquaredError, Metric, Precision, Recall,
                      TopKAccuracy, accuracy, confusion_matrix, get_metric)
from .trainer import NonFiniteError, Trainer, resolve_optimizer
