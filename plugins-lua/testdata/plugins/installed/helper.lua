return { value = "from-folder" }
