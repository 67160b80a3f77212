"""Scale past one machine: detection over many captures and training on Dask.

:func:`detect_many` judges each capture on a Dask worker; :func:`train_on_dask`
fits both folds on a partitioned flow dataset with LightGBM's Dask interface.
Both use a local cluster unless given a scheduler address.
"""

from twinai.scale.cluster import CaptureVerdicts, connect, detect_many, train_on_dask

__all__ = ["CaptureVerdicts", "connect", "detect_many", "train_on_dask"]
