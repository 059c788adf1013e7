"""The 散乱污 linkage domain: cases, units, rules. Imports no Kafka, HTTP or SQL."""
