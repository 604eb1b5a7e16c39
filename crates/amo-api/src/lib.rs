//! amoCRM REST API v4 wire types: the only crate that knows amoCRM JSON field names.
