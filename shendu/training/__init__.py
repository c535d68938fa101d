"""Training workflow: Keras-style ``compile`` / ``fit`` / ``evaluate`` / ``predict`` on any
Module, metrics, callbacks and checkpoints. Importing this package adds those methods
to :class:`shendu.nn.Module`."""
from .callbacks import (Callback, CSVLogger, EarlyStopping, History, LambdaCallback, LearningRateScheduler,
                        ModelCheckpoint, ProgressBar)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .metrics import (F1, Accuracy, ConfusionMatrix, MeanAbsoluteError, MeanSquaredError, Metric, Precision, Recall,
                      TopKAccuracy, accuracy, confusion_matrix, get_metric)
from .trainer import NonFiniteError, Trainer, compile, evaluate, fit, predict
