package udplog

import (
	httplog "github.com/gatehouse/gatehouse/runtime/plugins/http-log"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/udp-log/schema.lua. Protocols are typedefs.protocols.
func Schema() *store.PluginSchema {
	port := store.PortField("port", nil)
	port.Required = true
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			store.HostField("host", true), port,
			{Name: "timeout", Type: schema.Number, Default: float64(10000),
				Description: "An optional timeout in milliseconds when sending data to the upstream server."},
			httplog.LuaCodeField("Lua code as a key-value map"),
		}},
	}
}
