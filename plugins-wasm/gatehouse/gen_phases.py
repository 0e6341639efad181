# Regenerates phases_gen.go (see the header there); kept for reference:
# one wrapper type per combination of the six request phases, with exactly
# those phase methods, since the chain finds a plugin's phases by the
# interfaces its instance implements.
