return { "000_base_api_echo", "001_functions_only" }
