return {
  postgres = {
    up = [[
      CREATE TABLE IF NOT EXISTS "jwt_minter_tokens" (
        "id"          UUID PRIMARY KEY,
        "created_at"  TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
        "consumer_id" UUID REFERENCES "consumers" ("id") ON DELETE CASCADE,
        "jti"         TEXT UNIQUE,
        "expires_at"  BIGINT
      );
    ]],
  },
}
