-- Daily rollups, filled by materialized views on every insert into sale_lines. They hold
-- every metric of tables/totals.py: sums as SimpleAggregateFunction(sum), distinct orders
-- and customers as exact uniq states (merged with uniqExactIfMerge at query time), so a
-- query over any date range is exact, and no query needs FINAL: it aggregates anyway.
-- Column names differ from sale_lines' on purpose: an alias equal to a source column would
-- be read inside the other aggregates of the view.

CREATE TABLE IF NOT EXISTS daily_store
(
    store_id LowCardinality(String),
    local_date Date,
    sum_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_cost_cents SimpleAggregateFunction(sum, Int64),
    sum_costed_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_units SimpleAggregateFunction(sum, Int64),
    sum_returned_units SimpleAggregateFunction(sum, Int64),
    line_count SimpleAggregateFunction(sum, UInt64),
    orders_state AggregateFunction(uniqExactIf, String, UInt8),
    customers_state AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(local_date)
ORDER BY (store_id, local_date)
TTL local_date + INTERVAL $retention_days DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_store_mv TO daily_store AS
SELECT
    store_id,
    local_date,
    sum(revenue_cents) AS sum_revenue_cents,
    sum(ifNull(cost_cents, 0)) AS sum_cost_cents,
    sumIf(revenue_cents, cost_cents IS NOT NULL) AS sum_costed_revenue_cents,
    sum(toInt64(quantity)) AS sum_units,
    sumIf(-toInt64(quantity), quantity < 0) AS sum_returned_units,
    count() AS line_count,
    uniqExactIfState(order_id, quantity > 0) AS orders_state,
    uniqExactIfState(customer_ref, customer_ref != '') AS customers_state
FROM sale_lines
GROUP BY store_id, local_date;

CREATE TABLE IF NOT EXISTS daily_seller
(
    store_id LowCardinality(String),
    seller_id LowCardinality(String),
    local_date Date,
    sum_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_cost_cents SimpleAggregateFunction(sum, Int64),
    sum_costed_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_units SimpleAggregateFunction(sum, Int64),
    sum_returned_units SimpleAggregateFunction(sum, Int64),
    line_count SimpleAggregateFunction(sum, UInt64),
    orders_state AggregateFunction(uniqExactIf, String, UInt8),
    customers_state AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(local_date)
ORDER BY (store_id, seller_id, local_date)
TTL local_date + INTERVAL $retention_days DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_seller_mv TO daily_seller AS
SELECT
    store_id,
    seller_id,
    local_date,
    sum(revenue_cents) AS sum_revenue_cents,
    sum(ifNull(cost_cents, 0)) AS sum_cost_cents,
    sumIf(revenue_cents, cost_cents IS NOT NULL) AS sum_costed_revenue_cents,
    sum(toInt64(quantity)) AS sum_units,
    sumIf(-toInt64(quantity), quantity < 0) AS sum_returned_units,
    count() AS line_count,
    uniqExactIfState(order_id, quantity > 0) AS orders_state,
    uniqExactIfState(customer_ref, customer_ref != '') AS customers_state
FROM sale_lines
GROUP BY store_id, seller_id, local_date;

-- product_name_state keeps the latest non-empty name of the sku (argMax by event time).
CREATE TABLE IF NOT EXISTS daily_product
(
    store_id LowCardinality(String),
    local_date Date,
    sku String,
    product_name_state AggregateFunction(argMaxIf, String, DateTime64(3, 'UTC'), UInt8),
    sum_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_cost_cents SimpleAggregateFunction(sum, Int64),
    sum_costed_revenue_cents SimpleAggregateFunction(sum, Int64),
    sum_units SimpleAggregateFunction(sum, Int64),
    sum_returned_units SimpleAggregateFunction(sum, Int64),
    line_count SimpleAggregateFunction(sum, UInt64),
    orders_state AggregateFunction(uniqExactIf, String, UInt8),
    customers_state AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(local_date)
ORDER BY (store_id, local_date, sku)
TTL local_date + INTERVAL $retention_days DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_product_mv TO daily_product AS
SELECT
    store_id,
    local_date,
    sku,
    argMaxIfState(product_name, event_time, product_name != '') AS product_name_state,
    sum(revenue_cents) AS sum_revenue_cents,
    sum(ifNull(cost_cents, 0)) AS sum_cost_cents,
    sumIf(revenue_cents, cost_cents IS NOT NULL) AS sum_costed_revenue_cents,
    sum(toInt64(quantity)) AS sum_units,
    sumIf(-toInt64(quantity), quantity < 0) AS sum_returned_units,
    count() AS line_count,
    uniqExactIfState(order_id, quantity > 0) AS orders_state,
    uniqExactIfState(customer_ref, customer_ref != '') AS customers_state
FROM sale_lines
GROUP BY store_id, local_date, sku;
