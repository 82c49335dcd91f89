-- Panacea analytics sink, schema version 1: the chain mirrored into relational tables.
-- Written by the node's analytics worker only; every row comes from a committed block.
-- Identifiers are hex (ids, hashes, keys) or the chain's own codes; patients appear only
-- as their pseudonymous references, exactly as on chain.
-- Times: *_ms is milliseconds since the Unix epoch (block time, the chain's clock); the
-- matching timestamptz column is derived from it.

-- The last height mirrored, written in the same transaction as that block's rows.
CREATE TABLE panacea_cursor (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    chain_id   text        NOT NULL,
    height     bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE panacea_blocks (
    height            bigint  PRIMARY KEY,
    id                text    NOT NULL UNIQUE,
    parent            text,
    epoch             bigint  NOT NULL,
    round             bigint  NOT NULL,
    author            integer NOT NULL,
    time_ms           bigint  NOT NULL,
    time              timestamptz GENERATED ALWAYS AS (to_timestamp(time_ms / 1000.0)) STORED,
    state_root        text    NOT NULL,
    transaction_count integer NOT NULL,
    audit_from        bigint  NOT NULL,
    audit_count       integer NOT NULL
);

CREATE TABLE panacea_transactions (
    id            text    PRIMARY KEY,
    height        bigint  NOT NULL REFERENCES panacea_blocks (height) DEFERRABLE INITIALLY DEFERRED,
    position      integer NOT NULL,
    signer        text    NOT NULL,
    nonce         bigint  NOT NULL,
    module        text    NOT NULL,
    call          text    NOT NULL,
    ok            boolean NOT NULL,
    error_code    text,
    error_message text,
    body          jsonb   NOT NULL,
    UNIQUE (height, position)
);
CREATE INDEX panacea_transactions_signer ON panacea_transactions (signer);
CREATE INDEX panacea_transactions_call ON panacea_transactions (module, call);

CREATE TABLE panacea_audit_events (
    seq             bigint  PRIMARY KEY,
    height          bigint  NOT NULL REFERENCES panacea_blocks (height) DEFERRABLE INITIALLY DEFERRED,
    tx              text    REFERENCES panacea_transactions (id) DEFERRABLE INITIALLY DEFERRED,
    kind            text    NOT NULL,
    action          text    NOT NULL,
    outcome         text    NOT NULL,
    time_ms         bigint  NOT NULL,
    time            timestamptz GENERATED ALWAYS AS (to_timestamp(time_ms / 1000.0)) STORED,
    patient         text,
    requester_org   text,
    requester       text,
    consent_id      text,
    consent_version integer,
    decision        text,
    purpose         text,
    data_class      text,
    agents          jsonb   NOT NULL,
    entity          jsonb   NOT NULL,
    hash            text    NOT NULL,
    prev            text    NOT NULL
);
CREATE INDEX panacea_audit_events_height ON panacea_audit_events (height);
CREATE INDEX panacea_audit_events_kind_time ON panacea_audit_events (kind, time_ms);
CREATE INDEX panacea_audit_events_patient ON panacea_audit_events (patient);

-- Access decisions (permit, break-glass, deny), one per AccessDecision or BreakGlass event.
CREATE TABLE panacea_decisions (
    id            text    PRIMARY KEY,
    height        bigint  NOT NULL REFERENCES panacea_blocks (height) DEFERRABLE INITIALLY DEFERRED,
    event_seq     bigint  NOT NULL UNIQUE REFERENCES panacea_audit_events (seq) DEFERRABLE INITIALLY DEFERRED,
    requester     text    NOT NULL,
    requester_org text    NOT NULL,
    custodian     text    NOT NULL,
    patient       text    NOT NULL,
    data_class    text    NOT NULL,
    resource_type text,
    purpose       text    NOT NULL,
    outcome       text    NOT NULL CHECK (outcome IN ('permit', 'break-glass', 'deny')),
    reason        text    NOT NULL,
    decided_at_ms bigint  NOT NULL,
    decided_at    timestamptz GENERATED ALWAYS AS (to_timestamp(decided_at_ms / 1000.0)) STORED,
    expires_at_ms bigint,
    document      text,
    justification text,
    consents      jsonb   NOT NULL,
    overridden    jsonb   NOT NULL
);
CREATE INDEX panacea_decisions_custodian_time ON panacea_decisions (custodian, decided_at_ms);
CREATE INDEX panacea_decisions_requester_org_time ON panacea_decisions (requester_org, decided_at_ms);
CREATE INDEX panacea_decisions_patient ON panacea_decisions (patient);

-- Every version of every consent, one per ConsentRecorded, ConsentAmended or ConsentRevoked event.
CREATE TABLE panacea_consent_versions (
    consent_id        text    NOT NULL,
    version           integer NOT NULL,
    height            bigint  NOT NULL REFERENCES panacea_blocks (height) DEFERRABLE INITIALLY DEFERRED,
    event_seq         bigint  NOT NULL UNIQUE REFERENCES panacea_audit_events (seq) DEFERRABLE INITIALLY DEFERRED,
    change            text    NOT NULL CHECK (change IN ('recorded', 'amended', 'revoked')),
    patient           text    NOT NULL,
    status            text    NOT NULL,
    scope             text    NOT NULL,
    policy_rule       text    NOT NULL,
    recorder_org      text,
    recorder_identity text,
    recorder_key      text,
    recorded_at_ms    bigint  NOT NULL,
    recorded_at       timestamptz GENERATED ALWAYS AS (to_timestamp(recorded_at_ms / 1000.0)) STORED,
    terms             jsonb   NOT NULL,
    PRIMARY KEY (consent_id, version)
);
CREATE INDEX panacea_consent_versions_patient ON panacea_consent_versions (patient);
