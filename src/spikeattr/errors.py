"""Exceptions raised by spikeattr.

Every error a user can cause derives from :class:`SpikeAttrError` (a ``ValueError``), and its
message says what was wrong, where (file, line, field or shape) and what was expected.
"""

from __future__ import annotations


class SpikeAttrError(ValueError):
    """Base class of all user-facing errors of spikeattr."""


class DataFormatError(SpikeAttrError):
    """A data file or array does not have the expected format."""


class ChecksumError(SpikeAttrError):
    """A file's or array's SHA-256 differs from the expected one."""


class CheckpointError(SpikeAttrError):
    """A model checkpoint is missing, malformed or inconsistent."""


class ModelDataMismatchError(SpikeAttrError):
    """A model is used with data whose inputs or classes differ from the model's."""


class ExplanationError(SpikeAttrError):
    """An explanation was requested with invalid arguments."""


class UnsupportedLayerError(ExplanationError):
    """A model holds a layer (recurrent, convolution, other neuron...) that cannot be explained."""


class LayoutWarning(UserWarning):
    """Input whose layout is ambiguous: read as batch first, but it may be time first."""


class MissingExtraError(ExplanationError, ImportError):
    """An optional dependency is missing; the message names the ``spikeattr[...]`` extra."""


class RunLockedError(SpikeAttrError):
    """A run directory is locked by another process that is writing there."""


class RunStateError(SpikeAttrError):
    """A run directory holds files that contradict its configuration (on resume)."""
