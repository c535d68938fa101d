"""``shendu.utils``: PyTorch's ``torch.utils`` path; :mod:`shendu.utils.data` holds the data pipeline."""
from . import data  # noqa: F401
