"""Code shared by the `uploads` and `on_upload` functions.

The packaging copies this folder into each function's archive root, so at runtime the modules are
imported as `uploads_common.<module>`. Nothing here imports third-party packages.
"""
