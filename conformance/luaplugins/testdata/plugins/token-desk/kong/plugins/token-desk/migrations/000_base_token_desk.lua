return {
  postgres = {
    up = [[
      CREATE TABLE IF NOT EXISTS "token_desk_notes" (
        "id"          UUID PRIMARY KEY,
        "created_at"  TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
        "consumer_id" UUID REFERENCES "consumers" ("id") ON DELETE CASCADE,
        "text"        TEXT
      );
    ]],
  },
  cassandra = {
    up = [[
      CREATE TABLE IF NOT EXISTS token_desk_notes (id uuid PRIMARY KEY, created_at timestamp, consumer_id uuid, text text);
    ]],
  },
}
