"""Root of the test suite. gateway/ holds both the gateway package and its tests; importing the package first keeps
pytest (importlib mode) from standing in an empty `gateway` module for the test folder's parent."""
import gateway.app  # noqa: F401
