return require("kong.plugins.pre-function._schema")("post-function")
