-- Daily request counts per model version
CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY,
    model_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    latency_ms REAL NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

SELECT model_version,
       date_trunc('day', created_at) AS day,
       count(*) AS requests,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
FROM requests
WHERE created_at > now() - interval '7 days'
GROUP BY model_version, day
ORDER BY day, model_version;
