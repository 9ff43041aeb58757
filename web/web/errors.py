"""The error body of the portal's few JSON answers (pages render their own errors)."""
from kernel.errors import default_shape as error_shape

__all__ = ["error_shape"]
