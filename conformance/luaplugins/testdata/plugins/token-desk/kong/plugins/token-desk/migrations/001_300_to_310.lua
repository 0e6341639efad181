return {
  postgres = {
    up = [[
      DO $$
      BEGIN
        ALTER TABLE IF EXISTS ONLY "token_desk_notes" ADD "level" INTEGER DEFAULT 1;
      EXCEPTION WHEN DUPLICATE_COLUMN THEN
        -- Do nothing, accept existing state
      END;
      $$;
    ]],
    teardown = function(connector)
      -- Kong runs this in `kong migrations finish`.
      return connector:query([[UPDATE "token_desk_notes" SET "level" = 1 WHERE "level" IS NULL]])
    end,
  },
}
