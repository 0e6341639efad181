local typedefs = require "kong.db.schema.typedefs"

-- The tokens jwt-minter issued, one row each.
return {
  {
    name = "jwt_minter_tokens",
    primary_key = { "id" },
    endpoint_key = "jti",
    cache_key = { "jti" },
    admin_api_name = "jwt-minter-tokens",
    generate_admin_api = true,
    ttl = true,
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { jti = { type = "string", required = true, unique = true } },
      { expires_at = { type = "integer", required = true } },
    },
  },
}
