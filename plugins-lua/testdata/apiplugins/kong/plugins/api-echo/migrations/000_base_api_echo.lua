return { postgres = { up = [[ CREATE TABLE IF NOT EXISTS api_echo (id UUID PRIMARY KEY); ]] } }
