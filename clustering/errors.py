"""Named errors of the clustering stages; only the CLI turns them into messages."""


class ClusteringError(Exception):
    """Base class of the clustering package's errors."""


class ModelNotAvailableError(ClusteringError):
    """The embedding model cannot be loaded; the message names what to install or set."""


class UnknownNarrativeError(ClusteringError, LookupError):
    """No narrative (or watched narrative) with that id."""


class EmbeddingSettingError(ClusteringError, ValueError):
    """An embedding setting (environment variable) has a value that cannot be used."""
