-- bylaw history store, version 1 (SQLite). The PostgreSQL migration of
-- the same version creates the same tables, columns and indexes; only
-- the types' spelling differs (INTEGER/BIGINT, the id's identity).
-- Times are RFC 3339 UTC with whole seconds (`2026-05-01T09:30:00Z`),
-- so they sort as text. Lists are JSON arrays of strings.

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    repository      TEXT,
    git_ref         TEXT,
    sha             TEXT,
    environment     TEXT,
    platform        TEXT,
    event           TEXT,
    actor           TEXT,
    started_at      TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    source          TEXT    NOT NULL CHECK (source IN ('check', 'ci', 'import-json', 'import-sarif')),
    content_digest  TEXT,
    tool_version    TEXT    NOT NULL,
    report_version  TEXT    NOT NULL,
    verdict         TEXT    NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')),
    fail_on         TEXT    NOT NULL,
    files           INTEGER NOT NULL,
    documents       INTEGER NOT NULL,
    policy_count    INTEGER NOT NULL,
    rule_count      INTEGER NOT NULL,
    finding_count   INTEGER NOT NULL,
    blocking        INTEGER NOT NULL,
    advisory        INTEGER NOT NULL,
    audit           INTEGER NOT NULL,
    excepted        INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    baselined       INTEGER NOT NULL
);
CREATE INDEX runs_repository_time ON runs (repository, started_at);
CREATE INDEX runs_time ON runs (started_at);
CREATE UNIQUE INDEX runs_content_digest ON runs (content_digest);

CREATE TABLE run_policies (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    version     TEXT,
    kind        TEXT    NOT NULL,
    lifecycle   TEXT,
    source      TEXT,
    owners      TEXT    NOT NULL,
    rule_count  INTEGER NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX run_policies_version ON run_policies (name, version);

CREATE TABLE run_rules (
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    rule_id      TEXT    NOT NULL,
    policy       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    enforcement  TEXT    NOT NULL CHECK (enforcement IN ('audit', 'advisory', 'blocking', 'mandatory')),
    kind         TEXT    NOT NULL,
    controls     TEXT    NOT NULL,
    PRIMARY KEY (run_id, rule_id)
);

CREATE TABLE findings (
    run_id                 INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq                    INTEGER NOT NULL,
    fingerprint            TEXT    NOT NULL,
    rule_id                TEXT    NOT NULL,
    policy                 TEXT    NOT NULL,
    severity               TEXT    NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    enforcement            TEXT    NOT NULL CHECK (enforcement IN ('audit', 'advisory', 'blocking', 'mandatory')),
    message                TEXT    NOT NULL,
    path                   TEXT    NOT NULL,
    start_line             INTEGER NOT NULL,
    start_column           INTEGER NOT NULL,
    end_line               INTEGER NOT NULL,
    end_column             INTEGER NOT NULL,
    document               INTEGER,
    pointer                TEXT    NOT NULL,
    resource_api_version   TEXT,
    resource_kind          TEXT,
    resource_namespace     TEXT,
    resource_name          TEXT,
    baseline               TEXT CHECK (baseline IN ('new', 'unchanged')),
    exception_id           TEXT,
    exception_kind         TEXT,
    exception_reason       TEXT,
    exception_approved_by  TEXT,
    exception_expires      TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX findings_fingerprint ON findings (fingerprint, run_id);
CREATE INDEX findings_rule ON findings (rule_id, run_id);

CREATE TABLE run_exceptions (
    run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    exception_id  TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'expiring', 'expired', 'stale', 'rejected')),
    source        TEXT    NOT NULL,
    rules         TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    ticket        TEXT,
    approved_by   TEXT    NOT NULL,
    expires       TEXT,
    matched       INTEGER NOT NULL,
    PRIMARY KEY (run_id, exception_id)
);
CREATE INDEX run_exceptions_id ON run_exceptions (exception_id, run_id);
