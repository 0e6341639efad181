return {
  "000_base_jwt_minter",
}
