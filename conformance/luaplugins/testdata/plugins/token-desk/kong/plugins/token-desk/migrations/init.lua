return {
  "000_base_token_desk",
  "001_300_to_310",
}
