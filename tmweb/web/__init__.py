"""tmweb.web: the web framework (Starlette app, routes in .tm, suspend/resume, stores)."""
