import os
import sys

# Tests run from a checkout without installing the package.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

CREATED = "2026-01-01T00:00:00Z"
