-- Dead letters (sales.rejected), kept for the same time as the sales, for audit screens.
CREATE TABLE IF NOT EXISTS rejections
(
    rejection_id String,
    source String,
    line_number Int64,
    reason LowCardinality(String),
    detail String,
    raw String,
    rejected_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX rejection_id_bloom rejection_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (source, rejected_at, rejection_id)
TTL toDate(rejected_at) + INTERVAL $retention_days DAY;
