"""RocksDB-backed Faust tables (rocksdict) holding the rolling aggregates the agents keep.

Arrives with the live-aggregates issue, together with the table lookup endpoints.
"""
