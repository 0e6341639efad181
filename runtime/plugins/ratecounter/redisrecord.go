package ratecounter

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// RedisRecord is kong/tools/redis/schema.lua's config_schema: the
// `redis` record of the rate-limiting plugins' configurations.
func RedisRecord() *schema.Field {
	describe := func(f *schema.Field, d string) *schema.Field {
		f.Description = d
		return f
	}
	return &schema.Field{Name: "redis", Type: schema.Record, Fields: []*schema.Field{
		describe(store.HostField("host", false), "A string representing a host name, such as example.com."),
		describe(store.PortField("port", nil), "An integer representing a port number between 0 and 65535, inclusive."),
		describe(store.TimeoutField("timeout", 0, int64(2000)), "An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2."),
		{Name: "username", Type: schema.String, Referenceable: true,
			Description: "Username to use for Redis connections. If undefined, ACL authentication won't be performed. This requires Redis v6.0.0+. To be compatible with Redis v5.x.y, you can set it to `default`."},
		{Name: "password", Type: schema.String, Encrypted: true, Referenceable: true,
			Description: "Password to use for Redis connections. If undefined, no AUTH commands are sent to Redis."},
		{Name: "database", Type: schema.Integer, Default: int64(0),
			Description: "Database to use for the Redis connection when using the `redis` strategy"},
		{Name: "ssl", Type: schema.Boolean, Default: false,
			Description: "If set to true, uses SSL to connect to Redis."},
		{Name: "ssl_verify", Type: schema.Boolean, Default: false,
			Description: "If set to true, verifies the validity of the server SSL certificate. If setting this parameter, also configure `lua_ssl_trusted_certificate` in `kong.conf` to specify the CA (or server) certificate used by your Redis server. You may also need to configure `lua_ssl_verify_depth` accordingly."},
		describe(store.HostField("server_name", false), "A string representing an SNI (server name indication) value for TLS."),
	}, EntityChecks: []schema.EntityCheck{{MutuallyRequired: []string{"host", "port"}}}}
}
