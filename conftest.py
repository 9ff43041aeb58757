"""Root of the test suite. gateway/ and web/ each hold a package of that name and its tests; importing the packages
first keeps pytest (importlib mode) from standing in an empty module for the test folders' parent."""
import gateway.app  # noqa: F401
import web.app  # noqa: F401
