"""Pay: commission plans (``app.pay.plans``) and the pay they give (``app.pay.compute``).

Pure domain code, no I/O: the worker, the API and the dashboards wrap it. See ``docs/pay.md``.
"""
