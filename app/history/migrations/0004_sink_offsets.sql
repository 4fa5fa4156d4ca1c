-- The sink's progress, kept with the data it describes: per topic partition, the offset after
-- the last message whose rows are stored. agents/clickhouse_sink.py writes it after each
-- batch's rows and seeks every assigned partition to it, whatever the Kafka consumer group
-- says: a wiped or replaced history is refilled from the start, and a new consumer group
-- goes on where the history is. One row per partition and batch; merges keep the latest
-- (ReplacingMergeTree by updated_at), and reads take it with argMax, so they need no FINAL.
-- No TTL: one row per partition after merges.
CREATE TABLE IF NOT EXISTS sink_offsets
(
    topic String,
    partition Int32,
    next_offset Int64,
    updated_at DateTime64(6, 'UTC') DEFAULT now64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topic, partition);
