"""Panel (Bokeh) dashboards for managers and sellers, reading everything through the lookup
API with the signed-in user's token.

``server.py`` serves them (``dataapp dashboard``); ``auth.py`` signs users in against the
API; ``manager.py`` and ``seller.py`` are the two pages, ``dashboard.py`` what they share;
``periods.py`` and ``i18n.py`` (catalogue in ``locales/``) are pure.
"""
