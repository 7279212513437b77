"""The `uploads` component package's plugin: `python <this folder> <engine address>`.

The Pulumi CLI runs this folder with the python of `venv/` (PulumiPlugin.yaml), where
requirements.txt installed `serverless_uploads` from this checkout; it prints the port it serves
on. Not the stack's program (`__main__.py` at the repository's top), which stays a plain Pulumi
Python program.
"""

import sys

from serverless_uploads.multilang import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
