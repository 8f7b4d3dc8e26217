"""tmweb's own pages, shipped in the wheel as the package `tmweb.pages`.

An app overrides one by creating templates/tmweb/<name>.html in its own folder.
"""
