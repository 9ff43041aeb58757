"""The messaging spec's error body."""
from kernel.errors import default_shape as error_shape

__all__ = ["error_shape"]
