package udplog

import (
	httplog "github.com/gatehouse/gatehouse/runtime/plugins/http-log"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/udp-log/schema.lua. Protocols are typedefs.protocols.
func Schema() *store.PluginSchema {
	// typedefs.host and typedefs.port keep their own descriptions here.
	host := store.HostField("host", true)
	host.Description = "A string representing a host name, such as example.com."
	port := store.PortField("port", nil)
	port.Required = true
	port.Description = "An integer representing a port number between 0 and 65535, inclusive."
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			host, port,
			{Name: "timeout", Type: schema.Number, Default: float64(10000),
				Description: "An optional timeout in milliseconds when sending data to the upstream server."},
			httplog.LuaCodeField("Lua code as a key-value map"),
		}},
	}
}
