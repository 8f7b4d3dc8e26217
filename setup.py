"""Build configuration beyond pyproject.toml: the optional C decoder of format 2.

`optional=True`: where no C compiler is found, the install still succeeds and the
serializer reads with msgpack's Unpacker instead (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("tmweb.lang.serial._decode", ["tmweb/lang/serial/_decode.c"], optional=True),
    ]
)
