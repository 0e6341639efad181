package filelog

import (
	httplog "github.com/gatehouse/gatehouse/runtime/plugins/http-log"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/file-log/schema.lua. Protocols are typedefs.protocols.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "path", Type: schema.String, Required: true, Pattern: `^[^*&%%\` + "`" + `]+$`,
				Description: "The file path of the output log file. The plugin creates the log file if it doesn't exist yet."},
			{Name: "reopen", Type: schema.Boolean, Required: true, Default: false,
				Description: "Determines whether the log file is closed and reopened on every request."},
			httplog.LuaCodeField("Lua code as a key-value map"),
		}},
	}
}
