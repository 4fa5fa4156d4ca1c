-- The fact table: one row per sale line, written once by agents/clickhouse_sink.py.
-- Ordered for the API: every query names a store and a local-date range, so the primary
-- key starts (store_id, local_date); seller and sku follow because the hourly series filters
-- by seller and the dedup lookup by line id (with the bloom filter below) finishes the key.
-- local_date / local_hour are the store's local buckets, computed in Python by
-- tables/buckets.py so that ClickHouse and the live tables agree on where a sale belongs.
-- customer_ref is '' when the sale has no customer (not Nullable: cheaper, and '' is never
-- a real pseudonymous reference).
CREATE TABLE IF NOT EXISTS sale_lines
(
    line_id String,
    order_id String,
    store_id LowCardinality(String),
    seller_id LowCardinality(String),
    customer_ref String,
    channel LowCardinality(String),
    sku String,
    product_name String,
    event_time DateTime64(3, 'UTC'),
    time_zone LowCardinality(String),
    local_date Date,
    local_hour UInt8,
    quantity Int32,
    unit_price_cents Int64,
    discount_cents Int64,
    unit_cost_cents Nullable(Int64),
    revenue_cents Int64,
    cost_cents Nullable(Int64),
    kafka_partition Int32,
    kafka_offset Int64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX line_id_bloom line_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(local_date)
ORDER BY (store_id, local_date, seller_id, sku, line_id)
TTL local_date + INTERVAL $retention_days DAY;
