-- Example queries on the analytics sink's tables (docs/node.md, "Analytics sink (PostgreSQL)").
-- node/tests/analytics.rs runs every statement in this file against a mirrored chain.
-- Statements are separated by a semicolon at the end of a line.

-- Disclosures per custodian per month: access decisions that let a custodian share a
-- patient's data (permits and break-glass accesses), by the custodian holding the data
-- and the month of block time (UTC).
SELECT custodian,
       date_trunc('month', decided_at AT TIME ZONE 'UTC') AS month,
       count(*)                                         AS disclosures,
       count(*) FILTER (WHERE outcome = 'break-glass')  AS emergency,
       count(DISTINCT patient)                          AS patients
FROM panacea_decisions
WHERE outcome IN ('permit', 'break-glass')
GROUP BY custodian, month
ORDER BY custodian, month;

-- Break-glass rate per organisation: the share of an organisation's access requests that
-- were break-glass (emergency) accesses, over every request its staff made.
SELECT requester_org                                                        AS organisation,
       count(*)                                                             AS requests,
       count(*) FILTER (WHERE outcome = 'break-glass')                      AS break_glass,
       round(count(*) FILTER (WHERE outcome = 'break-glass')::numeric / count(*), 4) AS break_glass_rate
FROM panacea_decisions
GROUP BY requester_org
ORDER BY break_glass_rate DESC, organisation;
