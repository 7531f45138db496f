-- the sign-in throttle: failed sign-ins counted per (login name, client address) pair, so that
-- guessing from one address slows that address down without locking the account's owner out
-- anywhere else. The login name is the one typed, lower-cased (unknown names are throttled
-- alike, so a pause tells nothing about which accounts exist); the client is its address, or
-- the /64 network of an IPv6 address. The rules live in server/src/auth/rate.rs.
create table login_throttle (
    login text not null,
    client inet not null,
    -- failures in a row of this pair (a forgotten pair starts again at 1)
    failures integer not null check (failures > 0),
    last_failure_at timestamptz not null default now(),
    -- attempts of this pair are refused unchecked until then; null within the free failures
    blocked_until timestamptz,
    primary key (login, client)
);

-- housekeeping drops pairs whose last failure is old
create index login_throttle_last_failure_idx on login_throttle (last_failure_at);
