package tcplog

import (
	httplog "github.com/gatehouse/gatehouse/runtime/plugins/http-log"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/tcp-log/schema.lua. Protocols are typedefs.protocols.
func Schema() *store.PluginSchema {
	host := store.HostField("host", true)
	host.Description = "The IP address or host name to send data to."
	port := store.PortField("port", nil)
	port.Required = true
	port.Description = "The port to send data to on the upstream server."
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			host, port,
			{Name: "timeout", Type: schema.Number, Default: float64(10000),
				Description: "An optional timeout in milliseconds when sending data to the upstream server."},
			{Name: "keepalive", Type: schema.Number, Default: float64(60000),
				Description: "An optional value in milliseconds that defines how long an idle connection lives before being closed."},
			{Name: "tls", Type: schema.Boolean, Required: true, Default: false,
				Description: "Indicates whether to perform a TLS handshake against the remote server."},
			{Name: "tls_sni", Type: schema.String,
				Description: "An optional string that defines the SNI (Server Name Indication) hostname to send in the TLS handshake."},
			httplog.LuaCodeField("A list of key-value pairs, where the key is the name of a log field and the value is a chunk of Lua code, whose return value sets or replaces the log field value."),
		}},
	}
}
