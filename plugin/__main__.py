"""Plugin entry of the `uploads` component package (PulumiPlugin.yaml's `main`).

The engine runs it with its own address as the argument; it prints the port it serves on. Not the
stack's program (`__main__.py` at the top), which stays a plain Pulumi Python program.
"""

import sys
from pathlib import Path

# The package's checkout (this file's parent's parent) holds `components/`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.multilang import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
