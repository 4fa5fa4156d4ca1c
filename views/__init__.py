"""Panel (Bokeh) dashboards for managers and sellers, reading through the lookup API.

Arrives with the dashboards issue.
"""
