return { fields = {} }
