"""Run a local single-node Apache Kafka broker from Maven Central jars, or use an external one."""
